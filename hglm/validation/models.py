"""The small GLMMs hglm's calibration is checked on: one per family, correlated slopes.

Each is ``y ~ x + (x | g)`` on 10 groups of 8 rows (x standard normal, binomial with 10
trials a row) under fixed, proper priors that do not depend on the data, as SBC requires;
the scales keep simulated responses plausible (poisson means mostly below 100).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hglm.model import Model
from hglm.spec.families import FAMILIES, Family

__all__ = ["SBC_PRIORS", "sbc_model", "dpar_priors", "sparse_glmm", "SPARSE_EFFECTS"]

#: each family's calibration priors, where it defines them (``FamilyDef.calibration_priors``)
SBC_PRIORS = {name: dict(f.calibration_priors) for name, f in FAMILIES.items()
              if f.calibration_priors}


def dpar_priors(family: str, dpars: dict[str, str], design) -> dict[str, str]:
    """Fixed calibration priors of auxiliary formulas: the intercept Normal(link(m), 0.3),
    m the median of the constant parameter's calibration prior; slopes Normal(0, 0.3); group
    sds HalfNormal(0.3); correlations LKJ(2) (only the keys the design has)."""
    import pymc as pm

    from hglm.graph.priors import valid_keys
    from hglm.spec.priors import as_prior

    fam, out = Family(family), {}
    for name in dpars:
        prior = as_prior(SBC_PRIORS[family][name])
        dist = getattr(pm, type(prior).__name__).dist(**prior.pymc_kwargs(prior.args))
        median = float(np.median(pm.draw(dist, 4000, random_seed=0)))
        location = round(float(fam.aux_link(name).numpy(median)), 2)
        out.update({f"{name}:Intercept": f"Normal({location}, 0.3)",
                    f"{name}:fixed": "Normal(0, 0.3)", f"{name}:sd": "HalfNormal(0.3)",
                    f"{name}:cor": "LKJ(2)"})
    keys = set(valid_keys(design))
    return {k: v for k, v in out.items() if k in keys}


def sbc_model(family: str, link: str | None = None, n_groups: int = 10, per_group: int = 8,
              seed: int = 2026, dpars: dict[str, str] | None = None) -> Model:
    """The calibration model of ``family`` (``link`` to build a deliberately wrong
    simulator); ``dpars`` gives auxiliary parameters formulas on the same data (x, g), with
    :func:`dpar_priors`."""
    if family not in SBC_PRIORS:
        raise ValueError(f"no SBC model for family {family!r}; choose one of "
                         f"{', '.join(SBC_PRIORS)}")
    rng = np.random.default_rng(seed)
    n = n_groups * per_group
    data = pd.DataFrame({"x": rng.normal(size=n),
                         "g": np.repeat([f"g{j}" for j in range(n_groups)], per_group),
                         # a placeholder response of the right kind; SBC replaces it
                         "y": Family(family).example_response(n), "trials": 10})
    binomial = Family(family).response == "binomial"
    formula = ("cbind(y, trials - y)" if binomial else "y") + " ~ x + (x | g)"
    priors = dict(SBC_PRIORS[family])
    if dpars:
        from hglm.design.matrices import make_design

        design = make_design(formula, data, Family(family, link), dpars=dpars)
        priors = {k: v for k, v in priors.items() if k not in dpars}
        priors.update(dpar_priors(family, dpars, design))
    return Model(formula, data, family, priors=priors, link=link, **(dpars or {}))


#: the non-zero coefficients of :func:`sparse_glmm` (the first five predictors)
SPARSE_EFFECTS = (1.0, -0.8, 0.6, -0.5, 0.4)


def sparse_glmm(n_groups: int = 20, per_group: int = 15, n_predictors: int = 50,
                seed: int = 1) -> pd.DataFrame:
    """A gaussian GLMM with many candidate predictors, few of them real (the shrinkage-prior
    check): ``y = 1 + sum_j b_j x_j + u_g + e``, x standard normal, the first five ``b_j``
    :data:`SPARSE_EFFECTS`, the rest zero, ``u_g ~ N(0, 0.5^2)``, ``e ~ N(0, 1)``."""
    rng = np.random.default_rng(seed)
    n = n_groups * per_group
    X = rng.normal(size=(n, n_predictors))
    b = np.zeros(n_predictors)
    k = min(len(SPARSE_EFFECTS), n_predictors)
    b[:k] = SPARSE_EFFECTS[:k]
    g = np.repeat(np.arange(n_groups), per_group)
    y = 1 + X @ b + rng.normal(0, 0.5, n_groups)[g] + rng.normal(size=n)
    data = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(n_predictors)])
    data["g"] = [f"g{j}" for j in g]
    data["y"] = y
    return data

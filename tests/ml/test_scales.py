"""fit_ml on unscaled predictors: every family and link, predictors on scales 1, 100 and
10,000 with a quadratic term, fits and reaches the optimum of the standardized fit.

The model is the same whatever the predictor's scale (``x`` and ``x**2`` span the space of
``z`` and ``z**2`` for a standardized ``z``), so the maximized log-likelihood and the
group sd must agree; 1e-6 in logLik is the optimizer's tolerance (GRAD_TOL), not a fudge.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special

import hglm
from hglm.spec.families import FAMILIES

CASES = [(name, link) for name, info in FAMILIES.items() for link in info.links]
#: the first families run in the default suite; the later ones (slow compiles: the beta
#: family's Laplace objective differentiates log-gamma functions three times) with the slow
#: tests, except the gamma family on its default link
FIRST = ("gaussian", "student", "poisson", "negbinomial", "binomial", "bernoulli")
SCALE_CASES = [c if c[0] in FIRST or c == ("gamma", "log") else
               pytest.param(*c, marks=pytest.mark.slow) for c in CASES]
SCALES = (1.0, 100.0, 10_000.0)
#: auxiliary parameters of the simulations that use the family's own simulator
AUX = {"shape": 6.0, "sigma": 0.4, "phi": 12.0, "alpha": 5.0, "zi": 0.25, "hu": 0.3,
       "thresholds": np.array([-0.5, 0.3, 1.2])}


def simulate(family: str, link: str, n_groups: int = 20, per_group: int = 15,
             seed: int = 1) -> pd.DataFrame:
    """A quadratic effect of an age-like predictor (mean 4, sd 1 before scaling) and a
    random intercept, on the family's link scale."""
    rng = np.random.default_rng(seed)
    n = n_groups * per_group
    g = np.repeat(np.arange(n_groups), per_group)
    z = rng.normal(size=n)
    eta = 0.3 + 0.5 * z - 0.3 * z**2 + rng.normal(0, 0.5, n_groups)[g]
    inverse = {"identity": lambda e: e, "log": np.exp, "logit": special.expit,
               "probit": special.ndtr, "cloglog": lambda e: -np.expm1(-np.exp(e)),
               "inverse": lambda e: 1.0 / e}[link]
    fam = hglm.Family(family, link)
    if fam.mean_range == (0.0, np.inf) and link != "log":
        eta = fam.link_numpy(np.exp(eta))      # a positive mean on the identity/inverse link
    mu = inverse(eta)
    y = {"gaussian": lambda: rng.normal(mu, 0.4),
         "student": lambda: mu + 0.4 * rng.standard_t(4, n),
         "poisson": lambda: rng.poisson(mu),
         "negbinomial": lambda: rng.negative_binomial(5, 5 / (5 + mu)),
         "binomial": lambda: rng.binomial(10, mu),
         "bernoulli": lambda: rng.binomial(1, mu)}.get(family)
    # the other families: their own simulator (checked against SciPy in tests/spec)
    y = y() if y else fam.simulate_numpy(eta, AUX, np.full(n, 10), rng)
    return pd.DataFrame({"y": y, "z": z, "age": 4 + z, "g": [f"g{j}" for j in g],
                         "trials": 10})


def _fit(formula: str, data: pd.DataFrame, family: str, link: str):
    response = "cbind(y, trials - y)" if hglm.Family(family).response == "binomial" else "y"
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # no convergence or singularity warning
        return hglm.Model(f"{response} ~ {formula} + (1 | g)", data, family, link=link).fit_ml()


@pytest.mark.parametrize("family,link", SCALE_CASES)
def test_unscaled_quadratic_reaches_the_standardized_optimum(family, link):
    data = simulate(family, link)
    reference = _fit("z + I(z**2)", data, family, link)
    assert reference.converged
    for scale in SCALES:
        scaled = data.assign(x=data.age * scale, x2=(data.age * scale) ** 2)
        ml = _fit("x + x2", scaled, family, link)
        assert ml.converged, (scale, ml.messages)
        assert abs(ml.logLik - reference.logLik) < 1e-6, (scale, ml.logLik, reference.logLik)
        assert ml.sd("g") == pytest.approx(reference.sd("g"), rel=1e-4)
        # the same curve: the coefficients map through x = s (4 + z)
        b = ml.fixef
        s = scale
        assert b["x2"] * s**2 == pytest.approx(reference.fixef["I(z ** 2)"], rel=1e-4, abs=1e-6)

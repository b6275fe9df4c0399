"""The small GLMMs hglm's calibration is checked on: one per family, correlated slopes.

Each is ``y ~ x + (x | g)`` on 10 groups of 8 rows (x standard normal, binomial with 10
trials a row) under fixed, proper priors that do not depend on the data, as SBC requires;
the scales keep simulated responses plausible (poisson means mostly below 100).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hglm.model import Model

__all__ = ["SBC_PRIORS", "sbc_model"]

_SLOPES = {"fixed": "Normal(0, 1)", "sd": "HalfNormal(1)", "cor": "LKJ(2)"}
SBC_PRIORS = {
    "gaussian": {"Intercept": "Normal(0, 1)", **_SLOPES, "sigma": "HalfNormal(1)"},
    "poisson": {"Intercept": "Normal(1, 0.5)", "fixed": "Normal(0, 0.5)",
                "sd": "HalfNormal(0.5)", "cor": "LKJ(2)"},
    "binomial": {"Intercept": "Normal(0, 1)", **_SLOPES},
    "bernoulli": {"Intercept": "Normal(0, 1)", **_SLOPES},
}


def sbc_model(family: str, link: str | None = None, n_groups: int = 10, per_group: int = 8,
              seed: int = 2026) -> Model:
    """The calibration model of ``family`` (``link`` to build a deliberately wrong simulator)."""
    if family not in SBC_PRIORS:
        raise ValueError(f"no SBC model for family {family!r}; choose one of "
                         f"{', '.join(SBC_PRIORS)}")
    rng = np.random.default_rng(seed)
    n = n_groups * per_group
    data = pd.DataFrame({"x": rng.normal(size=n),
                         "g": np.repeat([f"g{j}" for j in range(n_groups)], per_group),
                         # a placeholder response of the right kind; SBC replaces it
                         "y": np.arange(n) % 2, "trials": 10})
    formula = ("cbind(y, trials - y)" if family == "binomial" else "y") + " ~ x + (x | g)"
    return Model(formula, data, family, priors=SBC_PRIORS[family], link=link)

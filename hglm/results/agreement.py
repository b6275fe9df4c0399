"""Do two fits of the same model agree?  The check behind strategy and sampler cross-checks."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd

from hglm.results.tables import population_vars, scalar_draws

__all__ = ["posterior_agreement"]


def posterior_agreement(a, b, var_names: list[str] | None = None) -> pd.DataFrame:
    """Per element of each population parameter: both means, their difference in combined
    Monte Carlo standard errors (``z``; ~N(0, 1) when both samplers target one posterior)
    and the ratio of posterior sds (``sd_ratio``, a - b relative).

    ``a`` and ``b`` are :class:`hglm.Fit` objects of the same model (e.g. NUTS and Gibbs, or
    two strategies); ``var_names`` defaults to the population parameters.
    """
    names = var_names or population_vars(a.design, a.posterior)
    draws_b = scalar_draws(b.posterior, names)
    rows = []
    for label, xa in scalar_draws(a.posterior, names).items():
        xb = draws_b[label]
        rows.append({"parameter": label, "mean_a": xa.mean(), "mean_b": xb.mean(),
                     "mcse": np.hypot(az.mcse(xa), az.mcse(xb)).item(),
                     "sd_a": xa.std(ddof=1), "sd_b": xb.std(ddof=1)})
    out = pd.DataFrame(rows)
    out["z"] = (out["mean_a"] - out["mean_b"]).abs() / out["mcse"]
    out["sd_ratio"] = out["sd_a"] / out["sd_b"]
    return out

"""Do two fits of the same model agree?  The check behind strategy and sampler cross-checks."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd

from hglm.results.tables import population_vars

__all__ = ["posterior_agreement"]

_SAMPLE = ("chain", "draw")


def posterior_agreement(a, b, var_names: list[str] | None = None) -> pd.DataFrame:
    """Per element of each population parameter: both means, their difference in combined
    Monte Carlo standard errors (``z``; ~N(0, 1) when both samplers target one posterior)
    and the ratio of posterior sds (``sd_ratio``, a - b relative).

    ``a`` and ``b`` are :class:`hglm.Fit` objects of the same model (e.g. NUTS and Gibbs, or
    two strategies); ``var_names`` defaults to the population parameters.
    """
    names = var_names or population_vars(a.design, a.posterior)
    rows = []
    for name in names:
        pa, pb = a.posterior[name], b.posterior[name]
        se = np.sqrt(az.mcse(a.posterior[[name]])[name] ** 2
                     + az.mcse(b.posterior[[name]])[name] ** 2)
        table = {"mean_a": pa.mean(_SAMPLE), "mean_b": pb.mean(_SAMPLE), "mcse": se,
                 "sd_a": pa.std(_SAMPLE, ddof=1), "sd_b": pb.std(_SAMPLE, ddof=1)}
        for idx in np.ndindex(*pa.shape[2:]):
            labels = [str(pa[d].values[i]) for d, i in zip(pa.dims[2:], idx)]
            row = {"parameter": f"{name}[{', '.join(labels)}]" if labels else name}
            row.update({k: float(np.asarray(v)[idx]) for k, v in table.items()})
            rows.append(row)
    out = pd.DataFrame(rows)
    out["z"] = (out["mean_a"] - out["mean_b"]).abs() / out["mcse"]
    out["sd_ratio"] = out["sd_a"] / out["sd_b"]
    return out

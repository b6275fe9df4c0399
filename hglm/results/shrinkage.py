"""``Fit.shrinkage()``: which slopes matter in practice, and how hard the prior pulled them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hglm.design.matrices import Design

__all__ = ["shrinkage_table", "default_threshold"]

_SAMPLE = ("chain", "draw")


def default_threshold(design: Design, j: int) -> float:
    """0.1 sd(y) / sd(x) on the identity link, 0.1 / sd(x) on the others: a tenth of a
    response sd (or of a unit on the link scale) per predictor sd."""
    from hglm.spec.families.responses import sample_sd

    return 0.1 * design.family.prior_scale(design.y) / sample_sd(design.X[:, j])


def shrinkage_table(design: Design, posterior,
                    threshold: float | dict[str, float] | None = None) -> pd.DataFrame:
    slopes = [(j, n) for j, n in enumerate(design.fixed_names) if n != "Intercept"]
    kappa = posterior["kappa_b"] if "kappa_b" in posterior else None
    rows = []
    for j, name in slopes:
        draws = posterior["beta"].sel(coef=name).values.ravel()
        if isinstance(threshold, dict):
            thr = threshold.get(name, default_threshold(design, j))
        else:
            thr = default_threshold(design, j) if threshold is None else float(threshold)
        k = float(kappa.sel({kappa.dims[-1]: name}).mean(_SAMPLE)) if kappa is not None \
            else np.nan
        rows.append({"term": name, "mean": draws.mean(), "sd": draws.std(ddof=1),
                     "threshold": thr, "p_exceeds": float(np.mean(np.abs(draws) > thr)),
                     "kappa": k})
    return pd.DataFrame(rows)

"""Shrinkage priors on all fixed slopes, on standardized predictors (brms's horseshoe, R2D2).

Each returns the standardized slopes ``b_std`` and adds ``kappa_b``, the shrinkage factor of
each coefficient, ``kappa_j = 1 / (1 + N v_j / scale^2)`` with ``v_j`` its prior variance
(Piironen & Vehtari 2017, eq. 2.4; standardized predictors have unit variance): 0 means left
alone, 1 means shrunk to zero.  For the Laplace prior, whose scale is not per coefficient, it
is not defined.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from hglm.spec.priors import R2D2, Horseshoe, Laplace, Prior

__all__ = ["shrinkage_slopes", "NOTES"]

#: what each variable of a shrinkage prior is (``Model.describe()``)
NOTES = {
    "b_std": "the slopes on standardized predictors (Laplace prior)",
    "z_b": "standard-normal offsets of the standardized slopes (non-centered)",
    "tau_b": "the horseshoe's global scale, HalfCauchy(par_ratio / sqrt(N))",
    "lambda_b": "the horseshoe's local scale of each slope",
    "c2_b": "the horseshoe's slab variance (regularizes the largest slopes)",
    "R2_b": "R2D2's proportion of explained variance",
    "phi_b": "R2D2's split of the explained variance among the slopes",
    "kappa_b": "each slope's shrinkage factor (0 none, 1 all the way to zero)",
}


def shrinkage_slopes(prior: Prior, values: dict, k: int, n: int, scale, dims: str):
    """``b_std`` (k standardized slopes) under ``prior``; ``scale`` is sigma or 1."""
    if isinstance(prior, Laplace):
        return pm.Laplace("b_std", mu=values["mu"], b=values["b"] * scale, dims=dims)
    z = pm.Normal("z_b", 0.0, 1.0, dims=dims)
    if isinstance(prior, Horseshoe):
        ratio = prior.args["par_ratio"]
        # global scale from the expected number of non-zero coefficients (Piironen & Vehtari)
        tau0 = ratio / np.sqrt(n) if ratio is not None else 1.0
        tau = pm.HalfCauchy("tau_b", tau0)
        lam = pm.HalfCauchy("lambda_b", 1.0, dims=dims)
        df, slab = prior.args["df_slab"], prior.args["scale_slab"]
        c2 = pm.InverseGamma("c2_b", df / 2, df * slab**2 / 2)
        lam_tilde = pt.sqrt(c2 * lam**2 / (c2 + tau**2 * lam**2))
        relative_sd = tau * lam_tilde
    elif isinstance(prior, R2D2):
        mean, prec = prior.args["mean_R2"], prior.args["prec_R2"]
        r2 = pm.Beta("R2_b", mean * prec, (1 - mean) * prec)
        phi = pm.Dirichlet("phi_b", np.full(k, prior.args["cons_D2"]), dims=dims)
        relative_sd = pt.sqrt(phi * r2 / (1 - r2))
    else:
        raise ValueError(f"{prior!r} is not a shrinkage prior")
    pm.Deterministic("kappa_b", 1 / (1 + n * relative_sd**2), dims=dims)
    return z * relative_sd * scale

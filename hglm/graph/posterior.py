"""NumPy views of posterior draws of the model's parameters (shared by strategies, results)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from hglm import names
from hglm.design.matrices import Design, GroupBlock, evaluate_new_data

__all__ = ["draws_matrix", "covariance_cholesky", "linear_predictor", "aux_draws"]


def draws_matrix(posterior, name: str) -> np.ndarray:
    """A posterior variable with chains and draws stacked into one leading axis."""
    values = posterior[name].values
    return values.reshape((-1,) + values.shape[2:])


def covariance_cholesky(posterior, block: GroupBlock) -> np.ndarray:
    """(S, q, q) Cholesky factors of the block covariance, from the sd and cor draws."""
    sd = draws_matrix(posterior, names.sd(block.label))
    S, q = sd.shape
    corr = np.broadcast_to(np.eye(q), (S, q, q)).copy()
    if block.has_correlation:
        cor = draws_matrix(posterior, names.cor(block.label))
        rows, cols = np.tril_indices(q, -1)
        corr[:, rows, cols] = cor
        corr[:, cols, rows] = cor
    cov = sd[:, :, None] * corr * sd[:, None, :]
    return np.linalg.cholesky(cov + 1e-12 * np.eye(q))


def aux_draws(design: Design, posterior, newdata: pd.DataFrame | None = None,
              include_random: bool = True, allow_new_levels: bool = True,
              rng: np.random.Generator | None = None,
              draws: slice = slice(None)) -> dict[str, np.ndarray]:
    """Auxiliary parameters: scalars (sigma, alpha) as (S, 1) arrays, ready to broadcast over
    rows; vectors (ordinal thresholds) as (S, values); those with a formula of their own as
    (S, rows), from their linear predictor on the rows (or ``newdata``)."""
    out = {}
    for name in design.family.aux:
        sub = design.dpar_design(name)
        if sub is not None:
            eta = linear_predictor(sub, posterior, newdata, include_random, allow_new_levels,
                                   rng, draws)
            out[name] = design.family.aux_link(name).inverse_numpy(eta)
            continue
        values = draws_matrix(posterior, name)[draws]
        out[name] = values[:, None] if values.ndim == 1 else values
    return out


def linear_predictor(design: Design, posterior, newdata: pd.DataFrame | None = None,
                     include_random: bool | Mapping[str, Sequence[int]] = True,
                     allow_new_levels: bool = True, rng: np.random.Generator | None = None,
                     draws: slice = slice(None)) -> np.ndarray:
    """Draws of the linear predictor, shape (draws, rows); ``draws`` picks a range of the
    stacked draws (to bound memory on big data).  ``design`` may be an auxiliary parameter's
    (``Design.dpars``): its own coefficients and group effects.  ``include_random``: all group
    effects, none, or a mapping from block labels to the term columns kept (brms's
    ``re_formula`` naming some terms)."""
    rng = np.random.default_rng(rng)
    if newdata is None:
        X, offset = design.X, design.offset
        Zs = [b.Z for b in design.blocks]
        index = [b.index for b in design.blocks]
    else:
        new = evaluate_new_data(design, newdata)
        X, offset, Zs, index = new.X, new.offset, new.Z, new.index
    beta = draws_matrix(posterior, names.beta(design.dpar))[draws] if design.fixed_names \
        else np.zeros((1, 0))
    eta = beta @ X.T
    if offset is not None:
        eta = eta + offset
    if not include_random:
        return eta
    for block, Z, idx in zip(design.blocks, Zs, index):
        kept = range(block.q) if include_random is True else include_random.get(block.label, ())
        if not kept:
            continue
        r = draws_matrix(posterior, names.r(block.label))[draws]    # (S, levels, q)
        unseen = idx < 0
        if unseen.any():
            if not allow_new_levels:
                raise ValueError(f"new data has levels of {block.factor!r} the model has not "
                                 f"seen; pass allow_new_levels=True to draw their effects")
            n_new = int(-idx.min())
            chol = covariance_cholesky(posterior, block)[draws]   # (S, q, q)
            z = rng.standard_normal((r.shape[0], n_new, block.q))
            r = np.concatenate([r, np.einsum("sij,snj->sni", chol, z)], axis=1)
            idx = np.where(unseen, r.shape[1] - n_new + (-idx - 1), idx)
        for k in kept:                    # term by term: no (draws, rows, q) temporary
            term = r[:, :, k][:, idx]
            eta = eta + (term if np.all(Z[:, k] == 1.0) else term * Z[:, k])
    return eta

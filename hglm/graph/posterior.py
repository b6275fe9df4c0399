"""NumPy views of posterior draws of the model's parameters (shared by strategies, results)."""

from __future__ import annotations

import numpy as np

from hglm import names
from hglm.design.matrices import GroupBlock

__all__ = ["draws_matrix", "covariance_cholesky"]


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

"""Which rows a linear predictor is built for, and how per-level values reach them.

``rows`` is None (every row, in order), an index array (the collapsed strategy's
representative rows) or :class:`PaddedRows`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hglm.design.matrices import GroupBlock
from hglm.lazy import lazy

pt = lazy("pytensor.tensor")

__all__ = ["PaddedRows", "select", "take"]


@dataclass(frozen=True)
class PaddedRows:
    """Rows laid out as (levels of one factor) x (most rows of a level), padded with a copy
    of a row of the same level and masked: that factor's per-level values then reach the
    rows by broadcasting instead of a gather (and their gradient by a dense sum instead of a
    scatter), 3.3x faster for a poisson log density at 200,000 rows under JAX."""

    order: np.ndarray          # (levels * width,) the row in each cell
    mask: np.ndarray           # (levels * width,) real cells
    factor: str
    levels: int
    width: int

    @classmethod
    def of(cls, block: GroupBlock) -> PaddedRows:
        counts = np.bincount(block.index, minlength=block.n_levels)
        width = int(counts.max())
        sorted_rows = np.argsort(block.index, kind="stable")
        starts = np.cumsum(counts) - counts
        position = np.arange(len(sorted_rows)) - np.repeat(starts, counts)
        order = np.repeat(sorted_rows[starts], width).reshape(block.n_levels, width)
        mask = np.zeros((block.n_levels, width), dtype=bool)
        order[block.index[sorted_rows], position] = sorted_rows
        mask[block.index[sorted_rows], position] = True
        return cls(order.ravel(), mask.ravel(), block.factor, block.n_levels, width)


def select(array: np.ndarray | None, rows):
    """The rows' part of a per-row array (``rows``: None, row indices or PaddedRows)."""
    if array is None or rows is None:
        return array
    return array[rows.order] if isinstance(rows, PaddedRows) else array[rows]


def take(values, block: GroupBlock, rows):
    """Per-level ``values`` (levels, ...) at the rows."""
    if isinstance(rows, PaddedRows) and rows.factor == block.factor:
        # one column at a time, with static shapes: XLA slices columns out of a broadcast
        # (levels, width, q) slowly (6.2 vs 0.9 ms), and PyTensor's symbolic shapes would
        # reach JAX as traced values
        assert values.ndim == 1, "take() broadcasts one column at a time"
        wide = pt.broadcast_to(values[:, None], (rows.levels, rows.width))
        return wide.reshape((rows.levels * rows.width,))
    return values[block.index if rows is None else select(block.index, rows)]

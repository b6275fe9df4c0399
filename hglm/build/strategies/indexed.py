"""Group effects as sampled parameters, looked up by level index (never a dense Z)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from hglm.build.strategies.base import BlockParams, FixedPart, Strategy
from hglm.build.strategies.centering import prefers_centred
from hglm.design.matrices import Design, GroupBlock

__all__ = ["IndexedStrategy", "group_effects", "block_contribution"]


class IndexedStrategy(Strategy):
    """Every block's effects sampled: non-centred ``r = (diag(sd) L z')'`` or centred
    ``r ~ MvNormal(0, Sigma)``, per block as :func:`prefers_centred` decides from the data.

    Parameters
    ----------
    centered : bool or mapping, optional
        Force the parameterisation: ``True``/``False`` for every block, or a mapping
        ``{group label: bool}`` for some; blocks not named are chosen from the data.
        Correlated blocks are always non-centred (centred ones cost 8-20x more per gradient
        in PyMC's C backend, measured on sleepstudy).
    """

    name = "indexed"

    def __init__(self, centered: bool | Mapping[str, bool] | None = None) -> None:
        self.centered = centered

    def is_centred(self, design: Design, block: GroupBlock) -> bool:
        if block.has_correlation:
            return False
        if isinstance(self.centered, bool):
            return self.centered
        if isinstance(self.centered, Mapping) and block.label in self.centered:
            return bool(self.centered[block.label])
        return prefers_centred(design, block)

    def likelihood(self, design: Design, fixed: FixedPart, blocks: list[BlockParams],
                   aux: dict) -> None:
        eta = self.linear_predictor(design, fixed, blocks)
        design.family.likelihood(design.response_name, eta, aux, observed=design.y,
                                 trials=design.trials, dims="obs")

    def linear_predictor(self, design: Design, fixed: FixedPart, blocks: list[BlockParams],
                         rows: np.ndarray | None = None):
        """Fixed part + offset + group effects, for all rows or the given ``rows``."""
        eta = fixed.eta(rows)
        if design.offset is not None:
            eta = eta + (design.offset if rows is None else design.offset[rows])
        for params in blocks:
            r = group_effects(params, self.is_centred(design, params.block))
            eta = eta + block_contribution(params.block, r, rows)
        return eta

    def describe(self, design: Design) -> dict[str, str]:
        return {b.label: "centred" if self.is_centred(design, b) else "non-centred"
                for b in design.blocks}


def group_effects(params: BlockParams, centred: bool):
    """``r_<group>`` (levels x terms): a free variable when centred, else from ``z_<group>``."""
    block = params.block
    dims = (block.label, f"{block.label}__term")
    if centred:
        if params.corr_chol is None:
            return pm.Normal(f"r_{block.label}", 0.0, params.sd, dims=dims)
        # correlated centred effects measured 8-20x slower per gradient in PyMC's C
        # backend (MvNormal or a hand-written triangular solve); they stay non-centred
        raise ValueError(f"centred effects need an uncorrelated block; {block.label!r} has "
                         f"correlations (use || or centered=False)")
    z = pm.Normal(f"z_{block.label}", 0.0, 1.0, dims=dims)
    r = z * params.sd if params.corr_chol is None else (z @ params.corr_chol.T) * params.sd
    return pm.Deterministic(f"r_{block.label}", r, dims=dims)


def block_contribution(block: GroupBlock, r, rows: np.ndarray | None = None):
    """``sum_k Z[:, k] * r[index, k]``: the block's part of the linear predictor."""
    index = block.index if rows is None else block.index[rows]
    Z = block.Z if rows is None else block.Z[rows]
    per_row = r[index]                                  # N x q
    total = 0.0
    for k in range(block.q):
        column = Z[:, k]
        total = total + (per_row[:, k] if np.all(column == 1.0) else column * per_row[:, k])
    return total

"""Rows laid out per level of the largest factor, so its effects broadcast (big GLMMs)."""

from __future__ import annotations

from hglm.design.matrices import Design, GroupBlock
from hglm.graph.strategies.base import BlockParams, FixedPart, likelihood_name
from hglm.graph.strategies.indexed import IndexedStrategy
from hglm.graph.strategies.layout import PaddedRows
from hglm.lazy import lazy

pm = lazy("pymc")

__all__ = ["PaddedStrategy", "MIN_ROWS", "MAX_PADDING"]

#: "auto" pads from this many rows (below, the gather costs nothing worth saving) ...
MIN_ROWS = 20_000
#: ... when padding adds at most this share of cells (balanced enough levels)
MAX_PADDING = 0.6


class PaddedStrategy(IndexedStrategy):
    """The indexed strategy's model with the rows laid out as (levels of the factor with
    most levels) x (rows of its largest level), masked.  The log density is the same sum;
    only the work per gradient changes (see :class:`~hglm.graph.strategies.layout.PaddedRows`).
    The likelihood enters as a potential; the pointwise log-likelihood is computed after
    sampling on the user's rows, as for every strategy."""

    name = "padded"

    def unsupported(self, design: Design) -> str | None:
        if not design.blocks:
            return "the model has no random effects to lay the rows out by"
        if design.dpars:
            return "auxiliary parameters with formulas of their own are laid out by row"
        return None

    def worthwhile(self, design: Design) -> bool:
        if design.n < MIN_ROWS or not design.family.pads_rows or self.unsupported(design):
            return False
        rows = PaddedRows.of(self.layout_block(design))
        return rows.mask.size <= (1 + MAX_PADDING) * design.n

    @staticmethod
    def layout_block(design: Design) -> GroupBlock:
        return max(design.blocks, key=lambda b: b.n_levels)

    def likelihood(self, design: Design, fixed: FixedPart, blocks: list[BlockParams],
                   aux: dict) -> None:
        rows = PaddedRows.of(self.layout_block(design))
        eta = self.linear_predictor(design, fixed, blocks, rows)
        trials = None if design.trials is None else design.trials[rows.order]
        y, mask = design.y[rows.order], rows.mask
        if design.weights is not None:
            mask = mask * design.weights[rows.order]
        pm.Potential(likelihood_name(design, "_padded"), _masked_logp(design, y, eta, aux, trials,
                                                                    mask))


    def notes(self, design: Design) -> dict[str, str]:
        rows = PaddedRows.of(self.layout_block(design))
        return {**super().notes(design),
                design.response_name + "_padded": (
                    f"the {design.family.description} log-likelihood summed over the rows "
                    f"laid out as {rows.levels} levels of {rows.factor} x {rows.width} rows, "
                    "padding masked out")}


def _masked_logp(design: Design, y, eta, aux, trials, mask):
    """Sum of the real cells' log-likelihood (the family writes out the cheap forms)."""
    return design.family.summed_logp(y, eta, aux, trials, mask)

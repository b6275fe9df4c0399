"""Rows with identical covariates, offset and groups summed into counts.

Rows that share every column of X, the offset and every block's level and terms share their
mean, so the family can add them up (:meth:`hglm.Family.summed`): binomial and bernoulli
rows into binomial successes of trials, poisson rows (log link) into a poisson count with
the number of rows as its exposure.  Bernoulli rows with a handful of distinct covariate
patterns become a few binomial observations.  A constant (binomial: ``log C(n_i, y_i)`` of
the rows less ``log C(N_c, K_c)`` of the counts) keeps the model's log density equal to the
uncollapsed one, so marginal likelihoods and Bayes factors do not move.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hglm.design.matrices import Design
from hglm.graph.strategies.base import BlockParams, FixedPart, Strategy, likelihood_name
from hglm.graph.strategies.indexed import IndexedStrategy
from hglm.lazy import lazy

pm = lazy("pymc")
pt = lazy("pytensor.tensor")

__all__ = ["CollapsedStrategy", "collapse_rows"]

#: "auto" collapses when that removes at least this share of the rows
MIN_REDUCTION = 0.25


def collapse_rows(design: Design) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each distinct pattern, pattern of each row)."""
    parts = [design.X]
    if design.offset is not None:
        parts.append(design.offset[:, None])
    for block in design.blocks:
        parts += [block.index[:, None].astype(float), block.Z]
    key = np.concatenate(parts, axis=1) if parts else np.zeros((design.n, 0))
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


class CollapsedStrategy(Strategy):
    """The family's summed likelihood on the distinct (covariates, groups) patterns; effects
    as :class:`IndexedStrategy` places them."""

    name = "collapsed"

    def __init__(self, centered: bool | Mapping[str, bool] | None = None) -> None:
        self.indexed = IndexedStrategy(centered)

    def unsupported(self, design: Design) -> str | None:
        if design.family.counts_family is None:
            return ("only binomial, bernoulli and poisson (log link) rows can be summed into "
                    "counts")
        if design.weights is not None and np.any(design.weights != np.round(design.weights)):
            return "rows with fractional weights cannot be summed into counts"
        if design.dpars:
            return "rows whose auxiliary parameters have formulas are not summed"
        return None

    def worthwhile(self, design: Design) -> bool:
        if self.unsupported(design):
            return False
        first, _ = collapse_rows(design)
        return len(first) <= (1 - MIN_REDUCTION) * design.n_rows

    def _summed(self, design: Design):
        first, inverse = collapse_rows(design)
        # integer weights are frequencies: a row of weight k is k identical rows
        freq = np.ones(design.n) if design.weights is None else design.weights
        return first, design.family.summed(design.y, design.trials, freq, inverse)

    def likelihood(self, design: Design, fixed: FixedPart, blocks: list[BlockParams],
                   aux: dict) -> None:
        first, summed = self._summed(design)
        model = pm.modelcontext(None)
        model.add_coord("pattern", np.arange(len(first)))
        eta = self.indexed.linear_predictor(design, fixed, blocks, rows=first)
        if summed.log_exposure is not None:
            eta = eta + summed.log_exposure
        design.family.counts_family.likelihood(
            likelihood_name(design), eta, aux, observed=summed.observed, trials=summed.trials,
            dims="pattern")
        pm.Potential("collapse_constant", pt.as_tensor(summed.constant))

    def notes(self, design: Design) -> dict[str, str]:
        first, summed = self._summed(design)
        return {**self.indexed.notes(design),
                design.response_name: f"{summed.kind}: the {design.n_rows} rows summed into "
                                      f"{len(first)} patterns of identical covariates and "
                                      "groups",
                "collapse_constant": "the log-likelihood's constant the summing changes, so "
                                     "log p(y) stays that of the rows"}

    def describe(self, design: Design) -> dict[str, str]:
        first, summed = self._summed(design)
        return {label: f"{kind}, {design.n_rows} rows summed into {len(first)} {summed.kind}"
                for label, kind in self.indexed.describe(design).items()}

"""Likelihood strategies: how the random effects enter the likelihood.

A strategy receives the fixed part of the linear predictor, each block's population
parameters (sds, Cholesky factor of the correlations) and the family's auxiliary
parameters, and adds the group effects and the observed variable.  This is the one piece a
faster strategy (random effects integrated out, rows collapsed to counts) replaces.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from hglm.design.matrices import Design, GroupBlock

__all__ = ["BlockParams", "Strategy", "IndexedStrategy", "get_strategy", "STRATEGIES"]


@dataclass
class BlockParams:
    """A block's population parameters as PyTensor variables."""

    block: GroupBlock
    sd: object                    # (q,) standard deviations
    corr_chol: object | None      # (q, q) Cholesky factor of the correlations, None if independent

    def scale_tril(self):
        """Cholesky factor of the block's covariance, diag(sd) @ L."""
        if self.corr_chol is None:
            return pt.diag(self.sd)
        return self.sd[:, None] * self.corr_chol


class Strategy(ABC):
    """Adds the group effects and the likelihood to the model under construction."""

    name: str = ""

    @abstractmethod
    def likelihood(self, design: Design, eta_fixed, blocks: list[BlockParams],
                   aux: dict) -> None:
        """Create the observed variable, named after the response, with dims ``obs``."""


class IndexedStrategy(Strategy):
    """Non-centred group effects ``r = (diag(sd) L z')'``, looked up by level index.

    Each block contributes ``sum_k Z[:, k] * r[index, k]`` to the linear predictor: no
    dense N x levels matrix is ever formed.
    """

    name = "indexed"

    def likelihood(self, design: Design, eta_fixed, blocks: list[BlockParams], aux: dict) -> None:
        eta = eta_fixed
        if design.offset is not None:
            eta = eta + design.offset
        for params in blocks:
            eta = eta + self.block_contribution(params.block, self.group_effects(params))
        design.family.likelihood(design.response_name, eta, aux, observed=design.y,
                                 trials=design.trials, dims="obs")

    @staticmethod
    def group_effects(params: BlockParams):
        block = params.block
        dims = (block.label, f"{block.label}__term")
        z = pm.Normal(f"z_{block.label}", 0.0, 1.0, dims=dims)
        if params.corr_chol is None:
            r = z * params.sd
        else:
            r = (z @ params.corr_chol.T) * params.sd
        return pm.Deterministic(f"r_{block.label}", r, dims=dims)

    @staticmethod
    def block_contribution(block: GroupBlock, r):
        per_row = r[block.index]                  # N x q
        total = 0.0
        for k in range(block.q):
            column = block.Z[:, k]
            total = total + (per_row[:, k] if np.all(column == 1.0) else column * per_row[:, k])
        return total


STRATEGIES: dict[str, type[Strategy]] = {"indexed": IndexedStrategy}


def get_strategy(strategy: str | Strategy, design: Design) -> Strategy:
    """The strategy object for a name; ``"auto"`` picks the best one for the design."""
    if isinstance(strategy, Strategy):
        return strategy
    if strategy == "auto":
        return IndexedStrategy()
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose 'auto' or one of "
                         f"{', '.join(STRATEGIES)}")
    return STRATEGIES[strategy]()

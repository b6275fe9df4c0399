"""Likelihood strategies: how the random effects enter the likelihood.

A strategy receives the fixed part of the linear predictor, each block's population
parameters and the family's auxiliary parameters, and adds the group effects and the
likelihood.  All strategies define the same posterior over the population parameters; they
differ in speed and geometry:

* ``indexed``: group effects sampled, looked up by level index (never a dense Z), each block
  centered or non-centered as the data suggest (:mod:`.centering`);
* ``marginal``: gaussian models with the random effects of one factor integrated out exactly
  (per-group Woodbury algebra on sufficient statistics); the effects are drawn afterwards from
  their exact conditional, so ``ranef()`` and predictions stay complete;
* ``collapsed``: binomial/bernoulli rows with identical covariates and groups summed to counts
  (poisson rows on the log link: to a count with its exposure);
* ``padded``: the indexed model with rows laid out per level of the largest factor, so its
  effects broadcast instead of being gathered (large, balanced non-gaussian data).

``strategy="auto"`` picks marginal for gaussian identity-link models, collapsed where
collapsing removes at least a quarter of the rows, padded for non-gaussian data of 20,000
rows or more whose levels are balanced enough, indexed otherwise.
"""

import dataclasses
from collections.abc import Mapping

from hglm.design.matrices import Design
from hglm.graph.strategies.base import BlockParams, FixedPart, Strategy
from hglm.graph.strategies.collapsed import CollapsedStrategy
from hglm.graph.strategies.indexed import IndexedStrategy
from hglm.graph.strategies.marginal import MarginalStrategy
from hglm.graph.strategies.padded import PaddedStrategy

__all__ = ["BlockParams", "FixedPart", "Strategy", "IndexedStrategy", "MarginalStrategy",
           "CollapsedStrategy", "PaddedStrategy", "get_strategy", "STRATEGIES"]

STRATEGIES: dict[str, type[Strategy]] = {
    "indexed": IndexedStrategy, "marginal": MarginalStrategy, "collapsed": CollapsedStrategy,
    "padded": PaddedStrategy}


def get_strategy(strategy: "str | Strategy", design: Design,
                 centered: "bool | Mapping[str, bool] | None" = None) -> Strategy:
    """The strategy object for a name; ``"auto"`` picks the fastest one that applies."""
    if isinstance(strategy, Strategy):
        chosen = strategy
    elif strategy == "auto":
        candidates = [MarginalStrategy(centered), CollapsedStrategy(centered),
                      PaddedStrategy(centered)]
        chosen = next((s for s in candidates if s.worthwhile(design)), IndexedStrategy(centered))
    elif strategy in STRATEGIES:
        chosen = STRATEGIES[strategy](centered)
    else:
        raise ValueError(f"unknown strategy {strategy!r}; choose 'auto' or one of "
                         f"{', '.join(STRATEGIES)}")
    problem = chosen.unsupported(design)
    if design.dpars and problem is None and strategy == "auto":
        passed = [(s.name, s.unsupported(design)) for s in (PaddedStrategy(centered),)
                  if s.worthwhile(dataclasses.replace(design, dpars=()))]
        chosen.passed_over = {name: why for name, why in passed if why}
    if problem:
        raise ValueError(f"strategy {chosen.name!r} does not apply to this model: {problem}")
    return chosen

"""Hierarchical centring of a random intercept (Gelfand, Sahu & Carlin 1995).

Plain centring, ``r_j ~ N(0, sd)``, still leaves each level's effect entangled with whatever
else is constant within the level: the fixed intercept, covariates measured per level, and
the effects of the factors the level is nested in.  The sampler then walks a ridge (the
intercept against every ``r_j``) or, for nested factors, a weakly identified split of each
level's total between inner and outer factor.  Hierarchical centring samples each level's
whole linear predictor instead,

    eta_j ~ Normal(X_j beta + r_outer[outer(j)], sd),    r_j = eta_j - X_j beta - r_outer[...],

so that the likelihood sees ``eta_j`` alone and the population parameters only its prior.
When the data inform each level strongly this is the efficient form (Papaspiliopoulos,
Roberts & Sköld 2007); grouseticks (broods within locations, brood-level year and
location-level altitude) is the textbook case.

A block qualifies when it is a random intercept ``(1 | g)`` and the data inform its levels
more than the prior does (:func:`hglm.build.strategies.centering.information_ratios`); of
those, the one with the most levels becomes the anchor.  Its mean absorbs the fixed columns
constant within its levels and the random intercepts of factors it is nested in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hglm.design.matrices import Design, GroupBlock

__all__ = ["Plan", "plan", "is_intercept_only", "nested_in"]


def is_intercept_only(block: GroupBlock) -> bool:
    return block.q == 1 and not block.has_correlation and bool(np.all(block.Z[:, 0] == 1.0))


def nested_in(inner: GroupBlock, outer: GroupBlock) -> np.ndarray | None:
    """For each level of ``inner``, its level of ``outer``; None unless inner is nested."""
    mapping = np.full(inner.n_levels, -1)
    mapping[inner.index] = outer.index
    if np.any(mapping[inner.index] != outer.index) or np.any(mapping < 0):
        return None
    return mapping


@dataclass(frozen=True)
class Plan:
    """How the anchor's per-level linear predictor is assembled."""

    anchor: GroupBlock
    level_X: np.ndarray            # (levels, k) fixed columns, zero where not absorbed
    absorbed_columns: np.ndarray   # (k,) bool: fixed columns carried by the level means
    outer: tuple[tuple[GroupBlock, np.ndarray], ...]   # absorbed blocks and level maps


def plan(design: Design, X: np.ndarray, anchor: GroupBlock) -> Plan:
    """Which fixed columns (of the sampler's design ``X``) and which outer random
    intercepts the anchor's level means absorb."""
    G, index = anchor.n_levels, anchor.index
    first = np.zeros(G, dtype=int)
    first[index[::-1]] = np.arange(len(index))[::-1]       # a row of each level
    level_X = X[first]
    constant = np.all(X == level_X[index], axis=0) if X.shape[1] else np.zeros(0, bool)
    outer = []
    for block in design.blocks:
        if block is anchor or not is_intercept_only(block):
            continue
        mapping = nested_in(anchor, block)
        if mapping is not None and block.factor != anchor.factor:
            outer.append((block, mapping))
    return Plan(anchor, np.where(constant, level_X, 0.0), constant, tuple(outer))

"""Hierarchical centering of a random intercept (Gelfand, Sahu & Carlin 1995).

Plain centering, ``r_j ~ N(0, sd)``, still leaves each level's effect entangled with whatever
else is constant within the level: the fixed intercept, covariates measured per level, and
the effects of the factors the level is nested in.  The sampler then walks a ridge (the
intercept against every ``r_j``) or, for nested factors, a weakly identified split of each
level's total between inner and outer factor.  Hierarchical centering samples each level's
whole linear predictor instead,

    eta_j ~ Normal(X_j beta + r_outer[outer(j)], sd),    r_j = eta_j - X_j beta - r_outer[...],

so that the likelihood sees ``eta_j`` alone and the population parameters only its prior.
When the data inform each level strongly this is the efficient form (Papaspiliopoulos,
Roberts & Sköld 2007); grouseticks (broods within locations, brood-level year and
location-level altitude) is the textbook case.

A block qualifies when it is a random intercept ``(1 | g)`` and the data inform its levels
more than the prior does (:func:`hglm.graph.strategies.centering.informed`); of
those, the one with the most levels becomes the anchor, unless another is crossed with it
(then the one with the fewest levels: ``IndexedStrategy.anchor``).  The random intercepts
it is nested in form a chain of tiers (lecturers in departments, broods in locations), each
tier's level predictors centered on the next tier out; a fixed column constant within a
tier's levels (the intercept, a brood's year, a location's altitude) is carried by the
outermost such tier.
Every tier is centered level by level only as far as the data inform it (partial centering).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hglm.design.matrices import Design, GroupBlock

__all__ = ["Plan", "Tier", "plan", "is_intercept_only", "nested_in"]


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
class Tier:
    """One level of the chain: a random intercept whose levels' linear predictors are
    sampled, centered on the fixed columns it carries and on the next tier out."""

    block: GroupBlock
    columns: np.ndarray            # (k,) bool: fixed columns carried by this tier's means
    level_X: np.ndarray            # (levels, k) the design's values at each level
    up: np.ndarray | None          # level -> level of the next tier out; None: outermost


@dataclass(frozen=True)
class Plan:
    """The chain of nested random intercepts, the anchor (finest) first, and the other
    intercepts the anchor is nested in but which do not nest in the chain (added to the
    anchor's mean as plain effects)."""

    tiers: tuple[Tier, ...]
    others: tuple[tuple[GroupBlock, np.ndarray], ...]

    @property
    def anchor(self) -> GroupBlock:
        return self.tiers[0].block

    @property
    def absorbed_columns(self) -> np.ndarray:
        return np.logical_or.reduce([t.columns for t in self.tiers])


def _level_rows(block: GroupBlock) -> np.ndarray:
    first = np.zeros(block.n_levels, dtype=int)
    first[block.index[::-1]] = np.arange(len(block.index))[::-1]     # a row of each level
    return first


def _constant(X: np.ndarray, level_X: np.ndarray, block: GroupBlock) -> np.ndarray:
    """Which columns of X are constant within each of the block's levels."""
    return np.all(X == level_X[block.index], axis=0)


def plan(design: Design, X: np.ndarray, anchor: GroupBlock,
         sampled: list[GroupBlock] | None = None) -> Plan:
    """The chain from ``anchor`` outwards through the ``sampled`` random intercepts it is
    nested in, and which fixed columns (of the sampler's design ``X``) each tier carries:
    a column constant within a tier's levels goes to the outermost such tier."""
    outer = []
    for block in (design.blocks if sampled is None else sampled):
        if block is anchor or block.factor == anchor.factor or not is_intercept_only(block):
            continue
        mapping = nested_in(anchor, block)
        if mapping is not None:
            outer.append((block, mapping))
    chain, ups, others = [anchor], [], []
    for block, mapping in sorted(outer, key=lambda bm: -bm[0].n_levels):
        up = nested_in(chain[-1], block)
        if up is not None and block.n_levels < chain[-1].n_levels:
            chain.append(block)
            ups.append(up)
        else:
            others.append((block, mapping))
    level_X = [X[_level_rows(b)] for b in chain]
    constant = [_constant(X, lx, b) for lx, b in zip(level_X, chain)]
    constant.append(np.zeros(X.shape[1], dtype=bool))
    tiers = tuple(Tier(b, constant[i] & ~constant[i + 1], level_X[i],
                       ups[i] if i < len(ups) else None) for i, b in enumerate(chain))
    return Plan(tiers, tuple(others))

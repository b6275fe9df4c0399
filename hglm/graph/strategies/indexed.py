"""Group effects as sampled parameters, looked up by level index (never a dense Z).

Each sampled block is partially centered level by level and term by term, as far as the data
inform it (:mod:`.centering`; :func:`partially_centered`): weight 0 is the non-centered form
``r = diag(sd) L z``, weight 1 the centered ``r ~ MvNormal(0, Sigma)``.  A block whose
levels the data barely inform stays plainly non-centered (``z_<group>``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hglm import names
from hglm.design.matrices import Design, GroupBlock
from hglm.graph.strategies.base import BlockParams, FixedPart, Strategy, likelihood_name
from hglm.graph.strategies.centering import (
    chain_ratios,
    informed,
    level_weights,
    nested,
    partly_informed,
)
from hglm.graph.strategies.hierarchical import Plan, is_intercept_only, nested_in
from hglm.graph.strategies.hierarchical import plan as hierarchical_plan
from hglm.graph.strategies.layout import select, take
from hglm.lazy import lazy

pm = lazy("pymc")
pt = lazy("pytensor.tensor")

__all__ = ["IndexedStrategy", "group_effects", "partially_centered", "block_contribution",
           "NON_CENTRED_BELOW"]

#: a block whose every level and term has a centering weight below this is sampled in the
#: plain non-centered form (the partial form would differ from it by a few percent)
NON_CENTRED_BELOW = 0.1


class IndexedStrategy(Strategy):
    """Every block's effects sampled, each level and term centered as far as the data inform
    it (:func:`partially_centered`); the best-informed random intercept, or correlated blocks
    whose terms are fixed effects, centered hierarchically on the fixed effects
    (:mod:`.hierarchical`).

    Parameters
    ----------
    centered : bool or mapping, optional
        Force the parameterization: ``True``/``False`` (fully centered / non-centered) for
        every block, or a mapping ``{group label: bool}`` for some; blocks not named are
        chosen from the data.
    """

    name = "indexed"

    def __init__(self, centered: bool | Mapping[str, bool] | None = None) -> None:
        self.centered = centered

    def _forced(self, block: GroupBlock) -> bool | None:
        if isinstance(self.centered, bool):
            return self.centered
        if isinstance(self.centered, Mapping) and block.label in self.centered:
            return bool(self.centered[block.label])
        return None

    def weights(self, design: Design, block: GroupBlock) -> np.ndarray:
        """Per level and term, how far to centre (0 non-centered, 1 centered).  Blocks that
        are not hierarchical anchors: correlated ones are centered only on request (centered
        on zero, well-informed levels leave a ridge between the fixed effects and all
        levels' effects: poisson, 2,000 groups of 100 rows, bulk ESS 86 of 800 for the
        intercept), and so are factors nested in another (a centered inner factor and its
        outer factor share each group's total, a weakly identified split: grouseticks,
        hundreds of divergences centered)."""
        forced = self._forced(block)
        if forced is not None:
            return np.full((block.n_levels, block.q), float(forced))
        if block.has_correlation or nested(design, block):
            return np.zeros((block.n_levels, block.q))
        return level_weights(design, block)

    def anchor(self, design: Design, sampled: list[GroupBlock] | None = None
               ) -> GroupBlock | None:
        """The random intercept to centre hierarchically: of the ``sampled`` blocks (default:
        all), among those the data inform (or that ``centered`` forces), the one with the
        most levels (its outer tiers then carry the intercept), unless another is crossed
        with it: then the one with the fewest levels, which carries the intercept itself.
        The intercept's posterior spread is mostly that of the mean of the factor with the
        fewest levels; centred on that factor's levels it is sampled with them.  Simulated
        crossed binary GLMM (7,500 rows, 300 subjects x 40 items, sds 1 and 0.6): the
        subjects anchored, bulk ESS of the intercept 184 of 4,000; the items, 2,103."""
        def wanted(block):
            forced = self._forced(block)
            return informed(design, block) if forced is None else forced
        candidates = [b for b in (design.blocks if sampled is None else sampled)
                      if is_intercept_only(b) and wanted(b)]
        inner = max(candidates, key=lambda b: b.n_levels, default=None)
        crossed = [b for b in candidates
                   if b is not inner and nested_in(inner, b) is None]
        return min([inner, *crossed], key=lambda b: b.n_levels) if crossed else inner

    def likelihood(self, design: Design, fixed: FixedPart, blocks: list[BlockParams],
                   aux: dict) -> None:
        eta = self.linear_predictor(design, fixed, blocks)
        if design.weights is not None:     # each row's log-likelihood times its weight
            pm.Potential(likelihood_name(design, "_weighted"), design.family.summed_logp(
                design.y, eta, aux, design.trials, design.weights))
            return
        design.family.likelihood(likelihood_name(design), eta, aux, observed=design.y,
                                 trials=design.trials, dims="obs")

    def linear_predictor(self, design: Design, fixed: FixedPart, blocks: list[BlockParams],
                         rows: np.ndarray | None = None):
        """Fixed part + offset + group effects, for all rows or the given ``rows``."""
        sampled = [p.block for p in blocks]
        anchor = self.anchor(design, sampled)
        anchors = {} if anchor is not None else self.correlated_anchors(design, sampled)
        if anchor is not None:
            eta, rest = self._hierarchical(design, fixed, blocks, anchor, rows)
        elif anchors:
            eta, rest = self._coefficients(design, fixed, blocks, anchors, rows)
        else:
            eta, rest = fixed.eta(rows), blocks
        if design.offset is not None:
            eta = eta + select(design.offset, rows)
        for params in rest:
            r = group_effects(params, self.weights(design, params.block))
            eta = eta + block_contribution(params.block, r, rows)
        return eta

    def _hierarchical(self, design: Design, fixed: FixedPart, blocks: list[BlockParams],
                      anchor: GroupBlock, rows: np.ndarray | None):
        """Per-level linear predictors of the chain's tiers, outermost first, each centered
        (partially) on the fixed columns it carries and the next tier out; returns the
        rows' linear predictor without the other blocks, and those blocks."""
        p = self.plan(design, fixed.X, anchor, [params.block for params in blocks])
        by_label = {params.block.label: params for params in blocks}
        weights = self._weights(design, p)
        upper = None
        for tier, weight in reversed(list(zip(p.tiers, weights))):
            block = tier.block
            parts = []
            if tier.columns.any():
                cols = np.flatnonzero(tier.columns)
                parts.append(pt.as_tensor(tier.level_X[:, cols]) @ fixed.coef[cols])
            if upper is not None:
                parts.append(upper[tier.up])
            if block is anchor:
                for other, mapping in p.others:
                    r = group_effects(by_label[other.label], self.weights(design, other))
                    parts.append(r[mapping, 0])
            # no fixed part (an ordinal model's absorbed intercept): a literal 0, since a
            # constant zero vector trips a PyTensor rewrite (local_inline_composite_constants)
            mean = sum(parts[1:], parts[0]) if parts else 0.0
            upper = _partially_centered(block, mean, by_label[block.label].sd[0], weight)
            pm.Deterministic(names.r(block.label), (upper - mean)[:, None],
                             dims=(block.label, names.term_dim(block.label)))
        eta = take(upper, anchor, rows)
        varying = np.flatnonzero(~p.absorbed_columns)
        if varying.size:
            X = select(fixed.X, rows)[:, varying]
            eta = eta + pt.as_tensor(X) @ fixed.coef[varying]
        taken = {t.block.label for t in p.tiers} | {b.label for b, _ in p.others}
        return eta, [params for params in blocks if params.block.label not in taken]

    def correlated_anchors(self, design: Design, sampled: list[GroupBlock]
                           ) -> dict[str, np.ndarray]:
        """Correlated blocks to centre hierarchically, label -> the fixed column of each
        term: every term must also be a fixed effect (``y ~ x + (x | g)``), the data must
        inform the levels (or ``centered`` say so), and no column may serve two blocks.
        Only when no random intercept is centered hierarchically (the two would share the
        intercept)."""
        if self.anchor(design, sampled) is not None:
            return {}
        out, used = {}, set()
        for block in sorted(sampled, key=lambda b: -b.n_levels):
            forced = self._forced(block)
            if not block.has_correlation or forced is False:
                continue
            if forced is None and (nested(design, block) or not partly_informed(design, block)):
                continue
            cols = _matching_columns(design, block)
            if cols is None or used & set(cols):
                continue
            used |= set(cols)
            out[block.label] = np.asarray(cols)
        return out

    def _coefficients(self, design: Design, fixed: FixedPart, blocks: list[BlockParams],
                      anchors: dict[str, np.ndarray], rows: np.ndarray | None):
        """Per-level coefficients ``beta[terms] + r_<g>`` sampled around the fixed effects
        (``MvNormal(beta[terms], Sigma)``, partially centered term by term) for the
        correlated anchors; the linear predictor is written on the user's scale, ``X beta``
        for the other columns."""
        # the sampler's (centered) coefficients -> the user's: fixed.X @ coef = X @ beta
        T = np.linalg.lstsq(design.X, fixed.X, rcond=None)[0]
        beta = pt.as_tensor(T) @ fixed.coef
        claimed = np.zeros(design.X.shape[1], dtype=bool)
        eta = 0.0
        for params in blocks:
            if params.block.label not in anchors:
                continue
            block, cols = params.block, anchors[params.block.label]
            claimed[cols] = True
            dims = (block.label, names.term_dim(block.label))
            weight = self._anchor_weights(design, block)
            coef = partially_centered(params, dims, weight, mean=beta[cols])
            eta = eta + block_contribution(block, coef, rows)
        free = np.flatnonzero(~claimed)
        if free.size:
            X = select(design.X, rows)[:, free]
            eta = eta + pt.as_tensor(X) @ beta[free]
        return eta, [p for p in blocks if p.block.label not in anchors]

    @staticmethod
    def plan(design: Design, X: np.ndarray, anchor: GroupBlock,
             sampled: list[GroupBlock]) -> Plan:
        return hierarchical_plan(design, X, anchor, sampled)

    def _anchor_weights(self, design: Design, block: GroupBlock) -> np.ndarray:
        """A hierarchical anchor's weights: the data's, or 1 where ``centered`` asks."""
        if self._forced(block):
            return np.ones((block.n_levels, block.q))
        return level_weights(design, block)

    def _weights(self, design: Design, p: Plan) -> list[np.ndarray]:
        """Per tier and level, how far to centre it (:mod:`.centering`); a chain of nested
        tiers from :func:`~.centering.chain_ratios`, ratio / (1 + ratio); ``centered=True``
        for a tier's group centres it fully."""
        if len(p.tiers) == 1:
            return [self._anchor_weights(design, p.anchor)[:, 0]]
        ratios = chain_ratios(design, [t.block for t in p.tiers], [t.up for t in p.tiers[:-1]])
        return [np.ones(t.block.n_levels) if self._forced(t.block) else r / (1.0 + r)
                for t, r in zip(p.tiers, ratios)]

    def describe(self, design: Design, sampled: list[GroupBlock] | None = None
                 ) -> dict[str, str]:
        sampled = design.blocks if sampled is None else sampled
        anchor = self.anchor(design, sampled)
        tiers = set(self.correlated_anchors(design, sampled)) if anchor is None else \
            {t.block.label for t in hierarchical_plan(design, design.X, anchor, sampled).tiers}
        return {b.label: "hierarchically centered" if b.label in tiers else
                _kind(self.weights(design, b)) for b in sampled}


    def notes(self, design: Design, sampled: list[GroupBlock] | None = None
              ) -> dict[str, str]:
        sampled = design.blocks if sampled is None else sampled
        kinds = self.describe(design, sampled)
        out = {design.response_name: "each row's likelihood given its linear predictor ("
                                     f"{design.family.description})",
               design.response_name + "_weighted": "sum over rows of weight x log-likelihood "
                                                   f"({design.family.description})"}
        for block in sampled:
            out.update(_block_notes(block, kinds[block.label], self.weights(design, block)))
        return out


def _block_notes(block: GroupBlock, kind: str, weights: np.ndarray) -> dict[str, str]:
    """Comments on a sampled block's variables, in the parameterization it got."""
    g, z = block.label, names.z(block.label)
    product = f"({z} {names.L(g)}') * {names.sd(g)}" if block.has_correlation else \
        f"{z} * {names.sd(g)}"
    out = {z: f"standard-normal offsets (non-centered): {names.r(g)} = {product}"}
    if kind == "hierarchically centered":
        out[names.eta(g)] = (f"{g}'s per-level intercepts, centered on the fixed effects (and the "
                             "enclosing group's intercept) as far as the data inform each level")
        out[names.partial(g, True)] = (f"{g}'s per-level coefficients, fixed effect + r_{g}, "
                                       "each level and term centered on the fixed effects by "
                                       "its own weight (0 non-centered, 1 centered)")
    else:
        medians = ", ".join(f"{t} {np.median(weights[:, k]):.2f}"
                            for k, t in enumerate(block.terms))
        out[names.partial(g, False)] = (f"{g}'s effects, each level and term centered by its "
                                        f"own weight (median per term: {medians})")
    for around_mean in (False, True):
        name = names.partial(g, around_mean)
        out[f"{name}_prior"] = (f"the normal prior of {name}, written out for its weights "
                                "(t ~ N(w c, s^w); the same distribution for any w)")
    return out


def _partially_centered(block: GroupBlock, mean, sd, weight: np.ndarray):
    """Per-level linear predictors, each level centered by its own weight ``w`` in [0, 1]
    (Papaspiliopoulos, Roberts & Sköld 2003; Gorinova, Moore & Hoffman 2020):
    ``eta_<group> ~ N(w mean, sd^w)`` and ``eta = mean + sd^(1-w) (eta_<group> - w mean)``,
    so ``eta ~ N(mean, sd)`` for any ``w``; ``w = 1`` is centered, ``w = 0`` non-centered.
    The weight is the data's share of the information, ratio / (1 + ratio), optimal for a
    normal level with known variances."""
    # one weight where all are equal (balanced levels): a constant vector of them makes
    # PyTensor's rewrite local_inline_composite_constants fail noisily on sigma's check
    w = pt.as_tensor(float(weight[0]) if np.all(weight == weight[0]) else weight)
    if isinstance(mean, float):         # no fixed part: a zero mean
        tilde = pm.Normal(names.eta(block.label), 0.0, sd ** w, dims=block.label)
        return sd ** (1.0 - w) * tilde
    tilde = pm.Normal(names.eta(block.label), w * mean, sd ** w, dims=block.label)
    return mean + sd ** (1.0 - w) * (tilde - w * mean)


def _matching_columns(design: Design, block: GroupBlock) -> list[int] | None:
    """For each of the block's terms, the fixed column with the same values; None if any
    term has none."""
    cols = []
    for k in range(block.q):
        match = next((j for j in range(design.X.shape[1])
                      if np.array_equal(design.X[:, j], block.Z[:, k])), None)
        if match is None:
            return None
        cols.append(match)
    return cols


def _kind(weights: np.ndarray) -> str:
    if np.all(weights < NON_CENTRED_BELOW):
        return "non-centered"
    return "centered" if np.all(weights == 1.0) else "partially centered"


def partially_centered(params: BlockParams, dims: tuple[str, str], weight: np.ndarray,
                      mean=None):
    """A block's effects, each level and term centered by its own weight ``w`` in [0, 1]
    (weight: levels x terms); with ``mean`` (the fixed effects of the block's terms), the
    per-level coefficients ``mean + r`` instead, centered on it.

    Term by term, each level's effect given the earlier terms is normal, with mean ``m_k``
    (from the correlations) and sd ``s_k = sd_k L_kk``.  The variationally inferred
    parameterization of that conditional (Gorinova, Moore & Hoffman 2020) samples
    ``t_k ~ N(w c_k, s_k^w)``, ``c_k = mean_k + m_k``, and sets the coefficient to
    ``c_k + s_k^(1-w) (t_k - w c_k)``: ``w = 0`` is exactly the non-centered form
    (``t = z``), ``w = 1`` the centered one, and any ``w`` the same distribution.  The terms
    are taken most-centered first: a later term's ``s_k`` shrinks as its correlation with the
    earlier ones nears +-1, a funnel a centered term would meet (poisson SBC: a centered slope
    after a non-centered intercept diverged at correlations near 0.9), a non-centered one not.
    The sampled variable is free with this density as a potential (written out: elementwise
    work, where pm.MvNormal solves a q x q system per level), so the prior predictive comes
    from the non-centered form of the same model.
    """
    block, sd = params.block, params.sd
    L = params.corr_chol if params.corr_chol is not None else pt.eye(block.q)
    order = np.argsort(-np.median(weight, axis=0), kind="stable")
    if np.any(order != np.arange(block.q)):
        corr = (L @ L.T)[order][:, order]
        L, sd, weight = pt.linalg.cholesky(corr), sd[order], weight[:, order]
        mean = None if mean is None else mean[order]
    name = names.partial(block.label, around_mean=mean is not None)
    tilde = pm.Flat(name, dims=dims)
    w = pt.as_tensor(np.asarray(weight, dtype=float))
    whitened, effects, logp = [], [], 0.0
    for k in range(block.q):
        m_k = sum((sd[k] * L[k, j] * whitened[j] for j in range(k)), pt.zeros(block.n_levels))
        log_s = pt.log(sd[k]) + pt.log(L[k, k])
        centre = m_k if mean is None else mean[k] + m_k
        z = (tilde[:, order[k]] - w[:, k] * centre) * pt.exp(-w[:, k] * log_s)
        logp = logp + pt.sum(-0.5 * z**2 - w[:, k] * log_s) \
            - 0.5 * block.n_levels * np.log(2 * np.pi)
        whitened.append(z)
        effects.append(m_k + pt.exp(log_s) * z)
    pm.Potential(f"{name}_prior", logp)
    unpermuted = [effects[k] for k in np.argsort(order)]
    r = pm.Deterministic(names.r(block.label), pt.stack(unpermuted, axis=1), dims=dims)
    original_mean = None if mean is None else mean[np.argsort(order)]
    return r if original_mean is None else r + original_mean[None, :]


def group_effects(params: BlockParams, weights: np.ndarray | None = None):
    """``r_<group>`` (levels x terms): plainly non-centered from ``z_<group>`` where every
    weight is below :data:`NON_CENTRED_BELOW` (or none is given), else partially centered."""
    block = params.block
    dims = (block.label, names.term_dim(block.label))
    if weights is not None and not np.all(weights < NON_CENTRED_BELOW):
        return partially_centered(params, dims, weights)
    z = pm.Normal(names.z(block.label), 0.0, 1.0, dims=dims)
    r = z * params.sd if params.corr_chol is None else (z @ params.corr_chol.T) * params.sd
    return pm.Deterministic(names.r(block.label), r, dims=dims)


def block_contribution(block: GroupBlock, r, rows=None):
    """``sum_k Z[:, k] * r[index, k]``: the block's part of the linear predictor."""
    Z = select(block.Z, rows)
    total = 0.0
    for k in range(block.q):
        # column by column: XLA is slow to slice columns out of a broadcast (PaddedRows)
        per_row = take(r[:, k], block, rows)
        column = Z[:, k]
        total = total + (per_row if np.all(column == 1.0) else column * per_row)
    return total

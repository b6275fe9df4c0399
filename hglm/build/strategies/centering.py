"""Centred or non-centred group effects, chosen from the data.

Non-centred effects (``r = L z``) sample well when the data say little about each level;
centred ones (``r ~ N(0, Sigma)``) when they say a lot (Papaspiliopoulos, Roberts & Sköld
2007; Betancourt & Girolami 2015): the funnel moves from the prior to the likelihood.  The
deciding quantity is, per level, the prior variance of an effect over its likelihood
variance.  Both are estimated roughly, without fitting the model: one IRLS-style step at the
overall mean gives working responses and weights on the link scale; fixed effects are
removed by weighted least squares; then a few backfitting sweeps (an EM-like moment method)
estimate each block's per-level effects, their sampling variances and the variance of the
true effects, each block on the residual of the others' shrunken effects, so nested or
crossed factors do not claim each other's variation.  A block is centred when the median
level's ratio exceeds ``THRESHOLD`` for every term.
"""

from __future__ import annotations

import numpy as np

from hglm.design.matrices import Design, GroupBlock

__all__ = ["information_ratios", "informed", "level_ratios", "chain_ratios", "prefers_centred",
           "nested", "THRESHOLD"]

#: prior-to-likelihood variance ratio of the median level above which a block is centred
THRESHOLD = 1.0
SWEEPS = 10


def _working(design: Design) -> tuple[np.ndarray, np.ndarray]:
    """Working response and weights on the link scale (counts: each row's own log count;
    binomial: one IRLS step from the overall proportion)."""
    y = design.y.astype(float)
    if design.family.response == "continuous":
        return y, np.ones_like(y)
    trials = design.trials.astype(float) if design.trials is not None else np.ones_like(y)
    if design.family.response == "count":
        mu = np.maximum(y, 0.5)             # each row's own mean: Fisher information mu
        return np.log(mu), mu
    p = (y.sum() + 0.5) / (trials.sum() + 1.0)
    return np.log(p / (1 - p)) + (y / trials - p) / (p * (1 - p)), trials * p * (1 - p)


def _per_level(block: GroupBlock, z: np.ndarray, w: np.ndarray):
    """Per-level weighted LS of z on the block's terms: estimates, (G,q,q) information, ok."""
    q, G = block.q, block.n_levels
    WZ = block.Z * w[:, None]
    A = np.zeros((G, q, q))
    np.add.at(A, block.index, WZ[:, :, None] * block.Z[:, None, :])
    b = np.zeros((G, q))
    np.add.at(b, block.index, WZ * z[:, None])
    counts = np.bincount(block.index, minlength=G)
    ok = (counts > q) & (np.linalg.cond(A + 1e-300) < 1e8)
    est = np.zeros((G, q))
    if ok.any():
        est[ok] = np.linalg.solve(A[ok], b[ok][..., None])[..., 0]
    return est, A, ok


def _contribution(block: GroupBlock, effects: np.ndarray) -> np.ndarray:
    return np.einsum("nk,nk->n", block.Z, effects[block.index])


_CACHE: dict[int, tuple[Design, dict]] = {}


def _ratios(design: Design) -> dict[str, np.ndarray]:
    # keyed by identity (a Design holds arrays); the design is kept so the id stays its own
    if id(design) not in _CACHE:
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[id(design)] = (design, _estimate(design))
    return _CACHE[id(design)][1]


def _residual(design: Design) -> tuple[np.ndarray, np.ndarray]:
    """Working response less the offset and a weighted least-squares fit of the fixed part."""
    z, w = _working(design)
    if design.offset is not None:
        z = z - design.offset
    if design.X.shape[1]:
        sw = np.sqrt(w)
        z = z - design.X @ np.linalg.lstsq(design.X * sw[:, None], z * sw, rcond=None)[0]
    return z, w


def _estimate(design: Design) -> dict[str, np.ndarray]:
    z, w = _residual(design)
    gaussian = design.family.response == "continuous"
    scale = float(np.var(z)) if gaussian else 1.0        # sigma^2, refined below
    effects = {b.label: np.zeros((b.n_levels, b.q)) for b in design.blocks}
    ratios = {b.label: np.zeros((b.n_levels, b.q)) for b in design.blocks}
    for _ in range(SWEEPS):
        for block in design.blocks:
            partial = z - sum((_contribution(o, effects[o.label]) for o in design.blocks
                               if o is not block), np.zeros_like(z))
            est, A, ok = _per_level(block, partial, w)
            if ok.sum() < 3:
                effects[block.label] = np.zeros_like(est)
                continue
            sampling = np.diagonal(np.linalg.inv(A[ok]), axis1=1, axis2=2) * scale
            tau2 = np.maximum(est[ok].var(axis=0, ddof=1) - sampling.mean(axis=0), 1e-12)
            shrunk = np.zeros_like(est)
            shrunk[ok] = est[ok] * tau2 / (tau2 + sampling)
            effects[block.label] = shrunk
            ratios[block.label] = np.full(est.shape, np.nan)    # nan: level not estimable
            ratios[block.label][ok] = tau2[None, :] / sampling
        if gaussian:
            fitted = sum((_contribution(b, effects[b.label]) for b in design.blocks),
                         np.zeros_like(z))
            scale = float(np.mean((z - fitted) ** 2))
    return ratios


def information_ratios(design: Design) -> dict[str, np.ndarray]:
    """Per block label and term, the median over levels of prior / likelihood variance."""
    return {label: np.nanmedian(r, axis=0) for label, r in _ratios(design).items()}


def level_ratios(design: Design, block: GroupBlock) -> np.ndarray:
    """Per level and term, prior / likelihood variance (0 where a level has too few rows to
    estimate it)."""
    return np.nan_to_num(_ratios(design)[block.label])


def chain_ratios(design: Design, chain: list[GroupBlock], ups: list[np.ndarray]
                 ) -> list[np.ndarray]:
    """Per level of each tier of a chain of nested random intercepts (finest first; ``ups``
    maps each tier's levels to the next one's), prior / likelihood variance.

    Backfitting cannot split variation between nested factors (the inner one claims it
    all), so here the tiers are estimated bottom-up: the finest tier's level means and their
    sampling variances, then each tier out from the precision-weighted means of the levels
    inside it, each variance by the method of moments on the within-group spread.
    """
    z, w = _residual(design)
    index = chain[0].index
    W = np.bincount(index, w, minlength=chain[0].n_levels)
    est = np.bincount(index, w * z, minlength=chain[0].n_levels) / np.maximum(W, 1e-300)
    scale = 1.0
    if design.family.response == "continuous":
        scale = float(np.sum(w * (z - est[index]) ** 2) / max(len(z) - chain[0].n_levels, 1))
    var = scale / np.maximum(W, 1e-300)
    ratios = []
    for up, outer in zip(ups + [None], chain[1:] + [None]):
        if up is None:
            tau2 = max(float(np.var(est, ddof=1) - np.mean(var)), 1e-12) if len(est) > 2 else 0
            ratios.append(tau2 / var)
            break
        size = np.bincount(up, minlength=outer.n_levels)
        prec = 1.0 / var
        means = np.bincount(up, prec * est, outer.n_levels) / np.bincount(up, prec, outer.n_levels)
        dev = (est - means[up]) ** 2
        dof = max(int(np.sum(size - 1)), 1)
        tau2 = max(float(np.sum(dev) / dof - np.mean(var)), 1e-12)
        ratios.append(tau2 / var)
        prec = 1.0 / (tau2 + var)
        est = np.bincount(up, prec * est, outer.n_levels) / np.bincount(up, prec, outer.n_levels)
        var = 1.0 / np.bincount(up, prec, outer.n_levels)
    return ratios


def nested(design: Design, block: GroupBlock) -> bool:
    """Whether the block's factor is nested in another block's factor, or nests one."""
    for other in design.blocks:
        if other.factor == block.factor:
            continue
        pairs = np.unique(np.column_stack([block.index, other.index]), axis=0)
        if len(pairs) == block.n_levels or len(pairs) == other.n_levels:
            return True
    return False


def informed(design: Design, block: GroupBlock) -> bool:
    """Whether the data inform every term of the typical level more than its prior does."""
    return bool(np.all(information_ratios(design)[block.label] > THRESHOLD))


def prefers_centred(design: Design, block: GroupBlock) -> bool:
    """Whether the data inform every term of the typical level more than its prior does.

    Nested factors stay non-centred: a centred inner factor and its outer factor share each
    group's total effect, and the split between them is weakly identified (grouseticks,
    broods within locations: hundreds of divergences centred, a handful non-centred); a
    nested random intercept is centred hierarchically instead
    (:mod:`hglm.build.strategies.hierarchical`).
    """
    return not nested(design, block) and informed(design, block)

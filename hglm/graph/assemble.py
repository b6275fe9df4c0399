"""Design + priors -> a PyMC model, one readable block per model part (like brms's Stan code).

Population-level parameters are built here; how the random effects enter the likelihood is
the strategy's business (:mod:`hglm.graph.strategies`).  Variable names follow brms:

* ``Intercept_centered`` (the intercept at the predictors' means), ``b`` (slopes),
  ``beta`` (all fixed effects on the user's scale, a deterministic with dims ``coef``);
* ``sd_<group>``, ``L_<group>`` (packed Cholesky factor of the correlation matrix),
  ``cor_<group>``, ``z_<group>`` (standard-normal offsets), ``r_<group>`` (group effects);
* ``sigma``, ``alpha`` and hyperpriors named ``<key>_<parameter>``, e.g. ``sd_sigma``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from hglm import names
from hglm.design.matrices import Design, GroupBlock
from hglm.graph.distributions import (
    inverse_wishart_cholesky,
    lkj_cholesky_corr,
    ordered_iid,
    unpack_corr_cholesky,
    unpack_cov_cholesky,
)
from hglm.graph.priors import PriorEntry, PriorSet, shrinks
from hglm.graph.shrinkage import shrinkage_slopes
from hglm.graph.strategies import BlockParams, FixedPart, Strategy, get_strategy
from hglm.graph.strategies.indexed import block_contribution, group_effects
from hglm.spec.families.responses import sample_mean, sample_sd
from hglm.spec.priors import LKJ, Prior

__all__ = ["build_model"]


def build_model(design: Design, priors: PriorSet, strategy: str | Strategy = "auto",
                centered: bool | Mapping[str, bool] | None = None) -> pm.Model:
    """Compile the design and priors into a PyMC model (lme4's ``mkLmerDevfun`` step).

    ``strategy`` decides how the random effects enter (:mod:`hglm.graph.strategies`);
    ``centered`` forces the parameterization of sampled effects (default: from the data).
    """
    strategy = get_strategy(strategy, design, centered)
    with pm.Model(coords=_coords(design)) as model:
        maker = _PriorMaker(design.fixed_names)
        aux = _auxiliary(design, priors, maker)
        scales = dict(aux)
        for sub in design.dpars:     # each auxiliary formula: a value per row
            aux[sub.dpar], scales[sub.dpar] = _dpar_predictor(sub, priors, maker)
        fixed = _fixed_effects(design, priors, maker, scales)
        blocks = [_block_params(block, priors, maker) for block in design.blocks]
        strategy.likelihood(design, fixed, blocks, aux)
    return model


def _dpar_predictor(design: Design, priors: PriorSet, maker: _PriorMaker):
    """An auxiliary parameter's formula: its fixed effects (predictors centered, as the
    mean's) and group effects, non-centered (``z_g__sigma``), on the parameter's link scale;
    returns the parameter per row and its value at the predictors' means."""
    fixed = _fixed_effects(design, priors, maker, {})
    eta = fixed.eta()
    if design.offset is not None:
        eta = eta + design.offset
    for block in design.blocks:
        eta = eta + block_contribution(block, group_effects(_block_params(block, priors,
                                                                          maker)))
    link = design.family.aux_link(design.dpar)
    typical = link.inverse(fixed.coef[0]) if design.has_intercept else link.inverse(0.0)
    return link.inverse(eta), typical


def _coords(design: Design) -> dict:
    coords = {"obs": np.arange(design.n)}
    for sub in design.predictors:
        coords.update(_predictor_coords(sub))
    for name in design.family.aux:
        labels = design.family.aux_coords(name, design.categories)
        if labels is not None:
            coords[names.aux_dim(name)] = list(labels)
    return coords


def _predictor_coords(design: Design) -> dict:
    """The dims of one linear predictor's coefficients and group blocks."""
    coords = {names.coef_dim(design.dpar): list(design.fixed_names)}
    if design.has_intercept and len(design.fixed_names) > 1:
        coords[names.slope_dim(design.dpar)] = [n for n in design.fixed_names
                                                if n != "Intercept"]
    for block in design.blocks:
        coords[block.label] = list(block.levels)
        coords[names.term_dim(block.label)] = list(block.terms)
        if block.has_correlation:
            coords[names.cor_dim(block.label)] = names.cor_pairs(block.terms)
    return coords


class _PriorMaker:
    """Creates prior variables; a hyperprior is created once per key, so it is shared."""

    def __init__(self, coefficients: tuple[str, ...] = ()) -> None:
        self.hyper: dict[tuple[str, str], object] = {}
        self.coefficients = coefficients      # design columns, so "Days" reads as a key

    def values(self, entry_key: str, prior: Prior) -> dict:
        out = {}
        for param, value in prior.args.items():
            if isinstance(value, Prior):
                name = names.hyper(entry_key, param, self.coefficients)
                if (entry_key, param) not in self.hyper:
                    self.hyper[(entry_key, param)] = value.create(name, self.values(name, value))
                out[param] = self.hyper[(entry_key, param)]
            else:
                out[param] = value
        return out

    def scalar(self, name: str, entry: PriorEntry):
        return entry.prior.create(name, self.values(entry.key, entry.prior))

    def vector(self, name: str, entries: list[PriorEntry], dims: str):
        """One vector variable when the entries' priors can share it, else one per entry."""
        first = entries[0].prior
        if all(type(e.prior) is type(first) and e.prior.is_constant() for e in entries):
            values = {p: np.array([e.prior.args[p] for e in entries]) for p in first.params}
            return first.create(name, values, dims=dims)
        if all(e.key == entries[0].key for e in entries):  # one key: hyperpriors shared
            return first.create(name, self.values(entries[0].key, first), dims=dims)
        parts = [self.scalar(f"{name}[{e.term or e.parameter}]", e) for e in entries]
        return pm.Deterministic(name, pt.stack(parts), dims=dims)


def _slopes(design: Design, entries: list[PriorEntry], cols: list[int], maker: _PriorMaker,
            scales: dict, dims: str):
    """The slope vector ``b``: each slope's own prior, or one shrinkage prior on them all."""
    name = names.slopes(design.dpar)
    if not (entries[0].key == names.dpar_key(design.dpar, "fixed")
            and shrinks(entries[0].prior)):
        return maker.vector(name, entries, dims=dims)
    sd = np.array([sample_sd(design.X[:, j], design.counts) for j in cols])
    # families with a residual scale: coefficient scales relative to it (brms); others: 1
    scale = scales.get(design.family.scale_parameter, 1.0) if design.dpar is None else 1.0
    b_std = shrinkage_slopes(entries[0].prior, maker.values(entries[0].key, entries[0].prior),
                             len(cols), design.n_rows, scale, dims)
    return pm.Deterministic(name, b_std / sd, dims=dims)  # back on the predictors' scales


def _fixed_effects(design: Design, priors: PriorSet, maker: _PriorMaker,
                   scales: dict) -> FixedPart:
    """Fixed part of a linear predictor; predictors centered around the intercept.
    ``scales``: the auxiliary parameters' (typical) values, for shrinkage priors."""
    X, dpar = design.X, design.dpar
    beta_name, coef_dim = names.beta(dpar), names.coef_dim(dpar)
    if not design.fixed_names:
        return FixedPart(np.zeros((design.n, 0)), None)
    joint = priors.of_kind("beta", dpar=dpar)
    if joint:
        entry = joint[0]
        beta = entry.prior.create(beta_name, maker.values(entry.key, entry.prior),
                                  dims=coef_dim)
        return FixedPart(X, beta)

    entries = {e.term: e for e in priors.of_kind("coef", dpar=dpar)}
    slopes = [j for j, n in enumerate(design.fixed_names) if n != "Intercept"]
    if not design.has_intercept:
        b = _slopes(design, [entries[n] for n in design.fixed_names],
                    list(range(len(design.fixed_names))), maker, scales, coef_dim)
        pm.Deterministic(beta_name, b, dims=coef_dim)
        return FixedPart(X, b)

    icol = design.fixed_names.index("Intercept")
    intercept_c = maker.scalar(names.intercept_centered(dpar), entries["Intercept"])
    if not slopes:
        pm.Deterministic(beta_name, intercept_c[None], dims=coef_dim)
        return FixedPart(np.ones((design.n, 1)), intercept_c[None])
    means = np.array([sample_mean(X[:, j], design.counts) for j in slopes])
    b = _slopes(design, [entries[design.fixed_names[j]] for j in slopes], slopes, maker,
                scales, names.slope_dim(dpar))
    intercept = intercept_c - pt.dot(means, b)
    order = np.argsort([icol] + slopes)
    pm.Deterministic(beta_name, pt.concatenate([intercept[None], b])[order], dims=coef_dim)
    centered = np.column_stack([np.ones(design.n), X[:, slopes] - means])
    return FixedPart(centered, pt.concatenate([intercept_c[None], b]))


def _block_params(block: GroupBlock, priors: PriorSet, maker: _PriorMaker) -> BlockParams:
    label = block.label
    cov = priors.of_kind("cov", label)
    if cov:
        prior = cov[0].prior
        packed = inverse_wishart_cholesky(names.chol_cov(label), prior.args["nu"], prior.args["S"])
        chol = unpack_cov_cholesky(packed, block.q)
        sd = pt.sqrt(pt.sum(chol**2, axis=1))
        pm.Deterministic(names.sd(label), sd, dims=names.term_dim(block.label))
        corr_chol = chol / sd[:, None]
        _correlations(block, corr_chol)
        return BlockParams(block, sd, corr_chol)

    sd = maker.vector(names.sd(label), priors.of_kind("sd", label), dims=names.term_dim(label))
    if not block.has_correlation:
        return BlockParams(block, sd, None)
    entry = priors.of_kind("cor", label)[0]
    eta = maker.values(entry.key, entry.prior)["eta"] if isinstance(entry.prior, LKJ) else 1.0
    packed = lkj_cholesky_corr(names.L(label), block.q, eta, dims=names.cor_dim(block.label))
    corr_chol = unpack_corr_cholesky(packed, block.q)
    _correlations(block, corr_chol)
    return BlockParams(block, sd, corr_chol)


def _correlations(block: GroupBlock, corr_chol) -> None:
    corr = corr_chol @ corr_chol.T
    rows, cols = np.tril_indices(block.q, -1)
    pm.Deterministic(names.cor(block.label), corr[rows, cols], dims=names.cor_dim(block.label))


def _auxiliary(design: Design, priors: PriorSet, maker: _PriorMaker) -> dict:
    aux = {}
    family = design.family
    for name in family.aux:
        coords = family.aux_coords(name, design.categories)
        if design.dpar_design(name) is not None:     # a formula of its own
            continue
        if coords is not None:      # an ordered vector: ordinal thresholds
            entry = priors.of_kind(name)[0]
            start = family.aux_start(design.y, design.categories, design.counts)[name]
            aux[name] = ordered_iid(name, entry.prior, maker.values(entry.key, entry.prior),
                                    len(coords), dims=names.aux_dim(name), initval=start)
        elif name == "sigma" and priors.of_kind("sigma2"):
            sigma2 = maker.scalar("sigma2", priors.of_kind("sigma2")[0])
            aux["sigma"] = pm.Deterministic("sigma", pt.sqrt(sigma2))
        else:
            aux[name] = maker.scalar(name, priors.of_kind(name)[0])
    return aux

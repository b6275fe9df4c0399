"""How much a model explains: Bayesian R² and LOO-R² on the response scale, and on the latent
(link) scale the variance decomposition, ICC and Nakagawa's R², per posterior draw.

Response scale, as brms: ``bayes_r2`` (Gelman, Goodrich, Gabry & Vehtari 2019) and
``loo_r2`` (its PSIS-LOO version).  Latent scale, as R's ``performance::icc`` and
``r2_nakagawa`` (Nakagawa, Johnson & Schielzeth 2017; Johnson 2014 for random slopes):

- sigma²_fixed: the variance over the fitted rows of X beta without the intercept (an offset,
  known, is no part of it);
- sigma²_g of each group term: the mean over rows of z_i' Sigma z_i (sd² for an intercept);
- sigma²_epsilon: the family's distribution-specific variance on the link scale
  (:meth:`hglm.Family.latent_variance`), at the mean fixed predictor (offset included).

Only the mean's linear predictor is decomposed; an auxiliary parameter with a formula of its
own (``sigma ~ x``) enters sigma²_epsilon at each draw's mean over rows of the parameter.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hglm import names
from hglm.graph.posterior import aux_draws, covariance_cholesky, draws_matrix
from hglm.notices import HglmWarning
from hglm.results.predict import predict_draws

if TYPE_CHECKING:
    from hglm.design.matrices import Design, GroupBlock
    from hglm.results.fit import Fit

__all__ = ["bayes_r2", "loo_r2", "variance_decomposition", "icc", "r2_nakagawa"]

#: the columns of a summary: posterior mean, sd and the equal-tailed 95% interval
SUMMARY = ["estimate", "sd", "lower", "upper"]
FIXED, RESIDUAL, ALL = "fixed", "residual", "all"


def summarize(draws: pd.DataFrame) -> pd.DataFrame:
    """One row per column of ``draws``: estimate (mean), sd, lower, upper (2.5%, 97.5%);
    undefined (NaN) draws left out."""
    lower, upper = draws.quantile(0.025), draws.quantile(0.975)
    table = pd.DataFrame({"estimate": draws.mean(), "sd": draws.std(ddof=1),
                          "lower": lower, "upper": upper})
    return table[SUMMARY]


# -- response scale ------------------------------------------------------------------------
def _expected(fit: Fit, include_random: bool) -> np.ndarray:
    """(draws, rows) expected responses (binomial: successes).  An ordinal family's are its
    category probabilities: reduced to the expected category code, sum_k k p_k, as brms's
    ``bayes_R2`` does (codes 0 .. K-1, as ``design.y``; R² is shift-invariant)."""
    mean = predict_draws(fit.design, fit.posterior, kind="mean", include_random=include_random)
    if mean.ndim == 3:
        warnings.warn("R² of an ordinal response treats its category codes as equally spaced "
                      "numbers (as brms's bayes_R2 and loo_R2), which is rarely meaningful; "
                      "icc() and variance_decomposition() work on the latent scale instead",
                      HglmWarning, stacklevel=3)
        mean = mean @ np.arange(mean.shape[-1], dtype=float)
    return mean


def _r2_draws(y: np.ndarray, ypred: np.ndarray) -> np.ndarray:
    """var(ypred_s) / (var(ypred_s) + var(y - ypred_s)) per draw s (brms's ``.bayes_R2``)."""
    fitted = ypred.var(axis=1, ddof=1)
    return fitted / (fitted + (y - ypred).var(axis=1, ddof=1))


def bayes_r2(fit: Fit, summary: bool = True) -> pd.DataFrame:
    """Bayesian R² (Gelman, Goodrich, Gabry & Vehtari 2019; brms's ``bayes_R2``): per draw
    var(ypred) / (var(ypred) + var(y - ypred)), ypred the expected response per row.
    ``conditional`` with the group effects, ``marginal`` without (brms's ``re_formula = NA``).

    Returns estimate, sd, lower, upper indexed by ["marginal", "conditional"], or with
    ``summary=False`` the draws, one column each.
    """
    y = np.asarray(fit.design.y, dtype=float)
    draws = pd.DataFrame({"marginal": _r2_draws(y, _expected(fit, False)),
                          "conditional": _r2_draws(y, _expected(fit, True))})
    return summarize(draws) if summary else draws


def loo_r2(fit: Fit, summary: bool = True, n_simulations: int = 4000) -> pd.DataFrame:
    """LOO-adjusted R² (brms's ``loo_R2``): e = y - E_loo[ypred], the PSIS-LOO expectation of
    each row's expected response (with group effects), and the Bayesian-bootstrap
    distribution (Dirichlet(1, ..., 1) weights, ``n_simulations`` draws seeded from the
    fit's seed) of 1 - var(e) / var(y), clipped to [-1, 1].

    Returns estimate, sd, lower, upper indexed by ["conditional"], or with ``summary=False``
    the bootstrap draws in one column.
    """
    # arviz-stats 0.8 does each step: PSIS, the weighted expectation and loo_r2's bootstrap.
    # Its top-level loo_r2 averages posterior *predictive* draws (noisier than brms's expected
    # responses) and its loo_expectations adds a function-specific Pareto k per row, a
    # Python loop (4 s at 600 rows), so the array functions are called here.
    from arviz_stats.base import array_stats

    log_lik = fit.log_likelihood()[fit.design.response_name].values     # (chain, draw, row)
    # r_eff as brms (loo::relative_eff of the likelihood), averaged: psislw takes a scalar
    r_eff = np.nanmean(array_stats.ess(np.exp(log_lik), method="mean", relative=True,
                                       chain_axis=0, draw_axis=1))
    # psislw takes the log-likelihood itself (it negates it into the log ratios)
    log_weights, khat = array_stats.psislw(log_lik, r_eff=float(r_eff) if r_eff > 0 else 1.0,
                                           axis=(0, 1))                  # (row, chain, draw)
    _warn_pareto_k(khat, log_lik.shape[0] * log_lik.shape[1])
    ypred = np.moveaxis(_expected(fit, True).reshape(log_lik.shape), -1, 0)
    ypred_loo = array_stats.loo_expectation(ypred, log_weights, kind="mean")
    values = array_stats.loo_r2(np.asarray(fit.design.y, dtype=float), ypred_loo,
                                n_simulations=n_simulations, random_state=fit.settings.seed)
    draws = pd.DataFrame({"conditional": values})
    return summarize(draws) if summary else draws


def _warn_pareto_k(khat: np.ndarray, draws: int) -> None:
    """Rows whose PSIS weights are unreliable (k above min(1 - 1/log10(S), 0.7), Vehtari et
    al. 2024)."""
    bad = int(np.sum(khat > min(1 - 1 / np.log10(draws), 0.7)))
    if bad:
        warnings.warn(f"loo_r2: Pareto k is high for {bad} row(s), so their leave-one-out "
                      f"means, and the LOO-R², may be off (influential rows; K-fold "
                      f"cross-validation does not rely on PSIS)", HglmWarning, stacklevel=3)


# -- latent scale --------------------------------------------------------------------------
def _group_variance(block: GroupBlock, posterior) -> np.ndarray:
    """Johnson (2014): mean_i z_i' Sigma z_i = trace(Sigma Z'Z / N), per draw."""
    chol = covariance_cholesky(posterior, block)
    sigma = chol @ np.swapaxes(chol, -1, -2)
    return np.einsum("sij,ij->s", sigma, block.Z.T @ block.Z / len(block.Z))


def _fixed_parts(design: Design, posterior) -> tuple[np.ndarray, np.ndarray]:
    """Per draw: the variance over the rows of X beta without the intercept (exactly 0 for
    an intercept-only model), and the mean over the rows of the fixed predictor with the
    intercept and the offset (where the latent variance is evaluated)."""
    S = posterior.sizes["chain"] * posterior.sizes["draw"]
    offset = 0.0 if design.offset is None else float(np.mean(design.offset))
    if not design.fixed_names:
        return np.zeros(S), np.full(S, offset)
    beta = draws_matrix(posterior, names.beta())
    slopes = [k for k, name in enumerate(design.fixed_names) if name != "Intercept"]
    varying = beta[:, slopes] @ design.X[:, slopes].T
    return varying.var(axis=1, ddof=1), beta @ design.X.mean(axis=0) + offset


def _mean_aux(design: Design, posterior) -> dict[str, np.ndarray]:
    """Auxiliary parameters per draw: a parameter with a formula of its own at its mean over
    the rows (an ordinal model's thresholds as they are)."""
    return {name: value.mean(axis=1, keepdims=True) if design.dpar_design(name) else value
            for name, value in aux_draws(design, posterior).items()}


def _variance_draws(fit: Fit) -> pd.DataFrame:
    """(draws, components): sigma²_fixed, each group term's sigma²_g by its label, and the
    residual (distribution-specific) sigma²_epsilon, all on the link scale."""
    design, posterior = fit.design, fit.posterior
    fixed, mean = _fixed_parts(design, posterior)
    groups = {block.label: _group_variance(block, posterior) for block in design.blocks}
    total = np.sum(list(groups.values()), axis=0) if groups else np.zeros(len(fixed))
    residual = design.family.latent_variance(mean, total, _mean_aux(design, posterior))
    undefined = int(np.isnan(residual).sum())
    if undefined:
        warnings.warn(f"the residual variance is undefined in {undefined} of {len(residual)} "
                      f"draws (e.g. a Student-t with nu <= 2 has none); summaries leave those "
                      f"draws out", HglmWarning, stacklevel=3)
    return pd.DataFrame({FIXED: fixed, **groups, RESIDUAL: residual})


def variance_decomposition(fit: Fit, summary: bool = True) -> pd.DataFrame:
    """The variance of the fixed effects, each group term (by its label, e.g. "Subject") and
    the residual on the latent scale, and each one's share of their total (Nakagawa, Johnson
    & Schielzeth 2017; Johnson 2014 for random slopes), per draw.

    Returns estimate, sd, lower, upper indexed by (component, quantity), quantity
    "variance" or "share"; with ``summary=False`` the draws, one column per (component,
    quantity).
    """
    variances = _variance_draws(fit)
    shares = variances.div(variances.sum(axis=1, skipna=False), axis=0)
    draws = pd.concat({"variance": variances, "share": shares}, axis=1)
    draws = draws.swaplevel(axis=1)[[(c, q) for c in variances for q in ("variance", "share")]]
    draws.columns.names = ["component", "quantity"]
    return summarize(draws) if summary else draws


def icc(fit: Fit, summary: bool = True) -> pd.DataFrame:
    """Intraclass correlations on the latent scale (Nakagawa, Johnson & Schielzeth 2017, as
    ``performance::icc``), per group term and for all of them together ("all"):
    adjusted = sigma²_g / (sum sigma²_g + sigma²_epsilon), conditional = sigma²_g /
    (sigma²_fixed + sum sigma²_g + sigma²_epsilon).

    Returns estimate, sd, lower, upper indexed by (group, kind), kind "adjusted" or
    "conditional"; with ``summary=False`` the draws, one column per (group, kind).
    """
    if not fit.design.blocks:
        raise ValueError("the model has no group terms, so there is no intraclass correlation; "
                         "add a term such as (1 | group), or see r2() for the variance "
                         "explained")
    variances = _variance_draws(fit)
    groups = variances.drop(columns=[FIXED, RESIDUAL])
    adjusted = groups.sum(axis=1) + variances[RESIDUAL]
    conditional = adjusted + variances[FIXED]
    columns = {}
    for name, part in [*groups.items(), (ALL, groups.sum(axis=1))]:
        columns[(name, "adjusted")] = part / adjusted
        columns[(name, "conditional")] = part / conditional
    draws = pd.DataFrame(columns)
    draws.columns.names = ["group", "kind"]
    return summarize(draws) if summary else draws


def r2_nakagawa(fit: Fit, summary: bool = True) -> pd.DataFrame:
    """Nakagawa, Johnson & Schielzeth's (2017) R² on the latent scale: marginal =
    sigma²_fixed / total, conditional = (sigma²_fixed + sum sigma²_g) / total, total the sum
    of every component with sigma²_epsilon.  Shaped as :func:`bayes_r2`."""
    variances = _variance_draws(fit)
    total = variances.sum(axis=1, skipna=False)
    explained = total - variances[RESIDUAL]
    draws = pd.DataFrame({"marginal": variances[FIXED] / total,
                          "conditional": explained / total})
    return summarize(draws) if summary else draws

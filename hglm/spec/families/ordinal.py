"""Ordered categorical responses: the cumulative model (proportional odds on the logit link).

``P(y <= k) = F(theta_k - eta)`` for ``k = 1 .. K - 1``, with ``F`` the inverse link and
``theta_1 < ... < theta_{K-1}`` the thresholds (cutpoints): brms's ``cumulative`` and
ordinal's ``clm``/``clmm``.  The linear predictor has no intercept -- it is absorbed into the
thresholds -- so ``y ~ x + (1 | g)`` is read as written.  The design codes the response
0 .. K-1 in the order of its categories (``Design.categories``).

The thresholds are one auxiliary parameter with a value per cut (``aux_coords``), sampled
under PyMC's ordered transform; their prior is ``K - 1`` independent draws of one
distribution, sorted (:func:`hglm.graph.distributions.ordered_iid`), brms's Student-t(3, 0,
2.5) by default.
"""

from __future__ import annotations

import numpy as np

from hglm.spec.families.base import FamilyDef, register
from hglm.spec.families.responses import check_counts

__all__ = ["Cumulative"]


def _logs_numpy(link_name: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log F(x), log(1 - F(x))) in NumPy, stable in both tails."""
    from scipy import special

    if link_name == "logit":
        return special.log_expit(x), special.log_expit(-x)
    return special.log_ndtr(x), special.log_ndtr(-x)


def _log1mexp(xp, x):
    return xp.log1mexp(x) if xp is not np else np.log(-np.expm1(x))


def _category_logp(xp, logs, theta_upper, theta_lower, eta, k, last: int):
    """log P(y = k) = log(F(u) - F(l)), u = theta_k - eta, l = theta_{k-1} - eta; the first
    category is log F(u), the last log(1 - F(l)).  Each branch stays finite (a dummy cut one
    unit away stands in for the missing one), so no gradient is nan; the difference is taken
    in whichever tail keeps its digits."""
    eq = np.equal if xp is np else xp.eq
    first, final = eq(k, 0), eq(k, last)
    u, lo = theta_upper - eta, theta_lower - eta
    lo = xp.where(first, u - 1.0, lo)
    u = xp.where(final, lo + 1.0, u)
    # each tail's form gets a harmless stand-in (-1, 0) where the other is used: far in the
    # tail it does not use, F(u) and F(l) round to the same value, and log1mexp(0)'s
    # infinite slope would make the gradient nan (a stuck probit chain in the wine fit)
    upper_tail = lo + u > 0
    lo_in_lower, u_in_lower = xp.where(upper_tail, -1.0, lo), xp.where(upper_tail, 0.0, u)
    lo_in_upper, u_in_upper = xp.where(upper_tail, lo, -1.0), xp.where(upper_tail, u, 0.0)
    log_f_u, log_f_l = logs(u_in_lower)[0], logs(lo_in_lower)[0]
    log_s_u, log_s_l = logs(u_in_upper)[1], logs(lo_in_upper)[1]
    middle = xp.where(upper_tail, log_s_l + _log1mexp(xp, log_s_u - log_s_l),
                      log_f_u + _log1mexp(xp, log_f_l - log_f_u))
    return xp.where(first, logs(u)[0], xp.where(final, logs(lo)[1], middle))


def _cut_indices(k, last: int, xp):
    """The thresholds above and below category ``k`` (clamped to the ends)."""
    return xp.minimum(k, last - 1), xp.maximum(k - 1, 0)


@register
class Cumulative(FamilyDef):
    """Cumulative ordinal model, ``P(y <= k) = F(theta_k - eta)`` (brms's ``cumulative``,
    ordinal's ``clmm``; logit: proportional odds, probit: a latent normal)."""

    name = "cumulative"
    links = ("logit", "probit")
    aux = ("thresholds",)
    aux_meaning = {"thresholds": "the cutpoints theta_1 < ... < theta_{K-1}, P(y <= k) = "
                                 "F(theta_k - eta); their prior: K-1 independent draws, "
                                 "sorted"}
    ordered = ("thresholds",)
    response = "ordinal"
    absorbs_intercept = True
    pymc = None
    pads_rows = False
    # slopes and sds as the other families; thresholds Normal(0, 1.5), so the K = 4
    # categories of the calibration model are each plausible
    calibration_priors = {"fixed": "Normal(0, 0.5)", "sd": "HalfNormal(0.5)", "cor": "LKJ(2)",
                          "thresholds": "Normal(0, 1.5)"}

    def aux_coords(self, name, categories):
        return tuple(f"{a}|{b}" for a, b in zip(categories[:-1], categories[1:]))

    def aux_start(self, link, y, categories, counts=None):
        """Thresholds at the link of the cumulative proportions (half a count added to every
        category, so a category no row has still gets its own, distinct cut)."""
        counts = np.bincount(np.asarray(y, dtype=np.int64), weights=counts,
                             minlength=len(categories)) + 0.5
        cumulative = np.cumsum(counts)[:-1] / counts.sum()
        return {"thresholds": link.numpy(cumulative)}

    def working_response(self, link, y, trials, eta, counts=None):
        """One Fisher-scoring step on the latent scale, from thresholds at the marginal
        cumulative proportions: ``z = eta + U / I`` with the score ``U = d log p(y) / d eta``
        and the expected information ``I = sum_k (f_k - f_{k-1})^2 / p_k`` (f the latent
        density at the cuts), so levels are weighed by what an ordinal row says about eta
        (at most 1/3 of a unit-variance observation on the logit scale), not by its code."""
        codes = np.asarray(y, dtype=np.int64)
        categories = tuple(range(int(codes.max()) + 1))
        theta = self.aux_start(link, codes, categories, counts)["thresholds"]
        eta = np.zeros(len(codes)) if eta is None else np.clip(eta, -20.0, 20.0)
        cuts = theta[None, :] - eta[:, None]
        edge = np.zeros((len(codes), 1))
        F = np.hstack([edge, link.inverse_numpy(cuts), edge + 1.0])
        f = np.hstack([edge, link.derivative_numpy(cuts), edge])
        p = np.maximum(np.diff(F, axis=1), 1e-12)            # (rows, K)
        df = f[:, :-1] - f[:, 1:]                            # d p_k / d eta
        info = np.sum(df**2 / p, axis=1)
        rows = np.arange(len(codes))
        score = df[rows, codes] / p[rows, codes]
        return eta + score / np.maximum(info, 1e-12), info

    def default_aux_priors(self, y, counts=None):
        from hglm.spec.priors import StudentT

        return {"thresholds": StudentT(3.0, 0.0, 2.5)}      # brms's default on cutpoints

    def check_response(self, y, name, trials):
        check_counts(y, f"{name} (category codes)", self.name)

    def example_response(self, n):
        return np.arange(n) % 4

    # -- densities ---------------------------------------------------------------------
    def log_density(self, link, y, eta, aux, trials):
        import pytensor.tensor as pt

        theta = pt.as_tensor(aux["thresholds"])
        last = theta.shape[-1]
        k = pt.cast(pt.round(pt.cast(y, "float64")), "int64")     # codes, as ints or floats
        upper, lower = _cut_indices(k, last, pt)
        if theta.ndim == 1:
            at_upper, at_lower = theta[upper], theta[lower]
        else:           # PyMC broadcasts the thresholds to one row of them per observation
            rows = pt.arange(theta.shape[0])
            at_upper, at_lower = theta[rows, upper], theta[rows, lower]
        return _category_logp(pt, link.binary_logs, at_upper, at_lower, eta, k, last)

    def logpdf_numpy(self, link, y, eta, aux, trials):
        theta = np.asarray(aux["thresholds"])
        last = theta.shape[-1]
        k = np.asarray(y).astype(np.int64)
        upper, lower = _cut_indices(k, last, np)
        logs = lambda x: _logs_numpy(link.name, x)        # noqa: E731
        return _category_logp(np, logs, np.take(theta, upper, axis=-1),
                              np.take(theta, lower, axis=-1), eta, k, last)

    def cumulative_probabilities(self, link, eta, theta) -> np.ndarray:
        """P(y <= k), shape (..., rows, K - 1), for eta (..., rows) and thresholds (..., K-1)."""
        theta = np.asarray(theta)
        return link.inverse_numpy(theta[..., None, :] - np.asarray(eta)[..., None])

    def response_mean(self, link, eta, aux, trials):
        """The category probabilities, shape (..., rows, K) (brms's ``posterior_epred``)."""
        cum = self.cumulative_probabilities(link, eta, aux["thresholds"])
        shape = cum.shape[:-1] + (1,)
        return np.diff(np.concatenate([np.zeros(shape), cum, np.ones(shape)], axis=-1), axis=-1)

    def simulate_eta(self, link, eta, aux, trials, rng):
        """Category codes 0 .. K-1 by inverting the cumulative probabilities."""
        cum = self.cumulative_probabilities(link, eta, aux["thresholds"])
        u = rng.random(cum.shape[:-1])
        return np.sum(u[..., None] > cum, axis=-1)

"""Counts and positive responses with extra zeros: zero-inflated and hurdle families.

A zero-inflated model mixes a structural zero (probability ``zi``) with the count
distribution, which has zeros of its own; a hurdle model gives every zero probability ``hu``
and the positive values the count (or lognormal) distribution truncated at zero.  ``zi`` and
``hu`` are constants here, each with its own prior (brms's Beta(1, 1)).  The linear
predictor is that of the count part's mean, as in brms and glmmTMB.  The likelihoods are
these definitions' own densities (``pymc = None``): PyMC's hurdle distributions truncate
through a CDF whose gradient JAX lacks for the negative binomial, and its zero-inflated ones
would be a second implementation of the same formulas to keep in step.
"""

from __future__ import annotations

import numpy as np

from hglm.spec.families.base import GaussianPart, register
from hglm.spec.families.definitions import NegBinomial, Poisson
from hglm.spec.families.links import LINKS
from hglm.spec.families.positive import LogNormal
from hglm.spec.families.responses import check_response_numeric

__all__ = ["ZeroInflatedPoisson", "ZeroInflatedNegBinomial", "HurdlePoisson",
           "HurdleNegBinomial", "HurdleLogNormal"]

_ZERO = {"Intercept": "Normal(1, 0.5)", "fixed": "Normal(0, 0.5)", "sd": "HalfNormal(0.5)",
         "cor": "LKJ(2)"}


def _uniform_probability():
    from hglm.spec.priors import Beta

    return Beta(1.0, 1.0)


def _xp(*values):
    """PyTensor where any value is a tensor, else NumPy: one formula serves both."""
    import pytensor.tensor as pt

    return pt if any(isinstance(v, pt.TensorVariable) for v in values) else np


def _zero_inflated(log_count, log_count_zero, zi, y):
    """log p(y) of a zero-inflated model from the count part's log p(y) and log p(0)."""
    xp = _xp(log_count, zi, y)
    log_zi, log_not = xp.log(zi), xp.log1p(-zi)
    return xp.where(y > 0, log_not + log_count,
                    xp.logaddexp(log_zi, log_not + log_count_zero))


def _hurdle(log_count, log_count_positive, hu, y):
    """log p(y) of a hurdle model: log hu at zero, else the positive part truncated at zero
    (``log_count_positive`` = log P(count > 0))."""
    xp = _xp(log_count, hu, y)
    return xp.where(y > 0, xp.log1p(-hu) + log_count - log_count_positive,
                    xp.log(hu))


def _nb_log_zero(eta, alpha):
    """log NB(0 | mu = exp(eta), alpha) = alpha (log alpha - log(mu + alpha))."""
    xp = _xp(eta, alpha)
    return alpha * (xp.log(alpha) - xp.logaddexp(eta, xp.log(alpha)))


def _nb_log_positive(eta, alpha):
    """log P(NB > 0) = log(1 - (1 + mu / alpha)^-alpha), finite for every finite eta: with
    x = eta - log alpha, t = alpha softplus(x) = -log NB(0); where mu is negligible against
    alpha (x < -30), 1 - exp(-t) = t to machine precision, and log t = log alpha + x.  (Both
    branches are kept finite, so neither's gradient is nan.)"""
    xp = _xp(eta, alpha)
    x = eta - xp.log(alpha)
    small = x < -30.0
    safe = xp.where(small, 0.0, x)
    t = alpha * xp.logaddexp(0.0, safe)
    large = xp.log1mexp(-t) if xp is not np else np.log(-np.expm1(-t))
    return xp.where(small, xp.log(alpha) + x, large)


def _positive_only(y, working: tuple[np.ndarray, np.ndarray]):
    """The count part's working response with no weight on the zeros: a hurdle models them
    apart, and a zero-inflated zero may be structural, so they say little or nothing about
    the count part's mean.  Weighed as counts (Poisson information mu each), the zeros made
    the data-chosen centering center levels the data barely inform: in the first full SBC
    every divergent fit of the zero-inflated families (55 of 200, 20 of 200) was centered,
    none of the non-centered ones.  Too little weight only leans to non-centering."""
    z, w = working
    return z, np.where(np.asarray(y) > 0, w, 0.0)


def _summed(self, link, y, eta, aux, trials, weights):
    """sum_i weights_i log p(y_i) (rows of weight 0, such as padding, left out)."""
    import pytensor.tensor as pt

    logp = self.log_density(link, y, eta, aux, trials)
    w = np.asarray(weights, dtype=float)
    return pt.sum(pt.where(w > 0, w * logp, 0.0))


class _ZeroCounts:
    """What zero-inflated and hurdle counts share: the zero probability's name and prior,
    and the count part's density (``Poisson`` or ``NegBinomial``, the next class in the
    MRO) with its log P(0) and log P(> 0)."""

    zero: str = "zi"
    pymc = None
    gibbs = gibbs_link = None
    summed_family = None       # each row has its own zero process: rows do not sum
    probabilities = ("zi", "hu")
    summed_logp = _summed
    aux_groups = {"zi": "Zero-inflation", "hu": "Hurdle"}
    aux_meaning = {**NegBinomial.aux_meaning, "zi": "the probability of a structural zero",
                   "hu": "the probability of a zero (the hurdle)"}

    def default_aux_priors(self, y, counts=None):
        return {**super().default_aux_priors(y, counts), self.zero: _uniform_probability()}

    def working_response(self, link, y, trials, eta, counts=None):
        return _positive_only(y, super().working_response(link, y, trials, eta, counts))

    def _count_aux(self, aux):
        return {k: v for k, v in aux.items() if k != self.zero}

    def _count(self, numpy: bool, link, y, eta, aux, trials):
        density = super().logpdf_numpy if numpy else super().log_density
        return density(link, y, eta, self._count_aux(aux), trials)

    def _log_zero(self, eta, aux):
        """log P(count = 0) (PyTensor or NumPy)."""
        if "alpha" in aux:
            return _nb_log_zero(eta, aux["alpha"])
        return -_xp(eta).exp(eta)

    def _log_positive(self, eta, aux):
        """log P(count > 0), finite for every finite eta (PyTensor or NumPy)."""
        if "alpha" in aux:
            return _nb_log_positive(eta, aux["alpha"])
        if _xp(eta) is np:
            return np.log(-np.expm1(-np.exp(eta)))
        return LINKS["cloglog"].binary_logs(eta)[0]    # 1 - exp(-exp(eta)): cloglog's p


    def log_density(self, link, y, eta, aux, trials):
        return self._mix(self._count(False, link, y, eta, aux, trials), eta, aux, y)

    def logpdf_numpy(self, link, y, eta, aux, trials):
        aux = {k: np.asarray(v) for k, v in aux.items()}
        return self._mix(self._count(True, link, y, eta, aux, trials), eta, aux, y)


class _ZeroInflated(_ZeroCounts):
    # group effects non-centered: the mixture ties zi to the count part's mean, and centered
    # effects made funnels with it.  Full SBC (200 fits each): every divergent fit was
    # centered (negbinomial 55 of 115 centered fits, 0 of 85 non-centered; poisson 19 of 84
    # against 1 of 116), and with the zeros out of the working weights still 6 of 10
    # centered negbinomial fits diverged, 0 of 30 non-centered (40 simulations, seed 0)
    centers = False

    def _mix(self, count, eta, aux, y):
        return _zero_inflated(count, self._log_zero(eta, aux), aux["zi"], y)

    def simulate(self, mu, aux, trials, rng):
        counts = super().simulate(mu, self._count_aux(aux), trials, rng)
        return np.where(rng.random(np.shape(mu)) < aux["zi"], 0, counts)

    def response_mean(self, link, eta, aux, trials):
        return (1.0 - np.asarray(aux["zi"])) * link.inverse_numpy(eta)

    def response_variance(self, link, eta, aux, trials):
        """(1 - zi) E[count^2] - E[y]^2; poisson: (1 - zi) mu (1 + zi mu)."""
        mu, zi = link.inverse_numpy(eta), np.asarray(aux["zi"])
        count = super().response_variance(link, eta, self._count_aux(aux), trials)
        return (1.0 - zi) * (count + mu**2) - ((1.0 - zi) * mu) ** 2


class _Hurdle(_ZeroCounts):
    zero = "hu"

    def _mix(self, count, eta, aux, y):
        return _hurdle(count, self._log_positive(eta, aux), aux["hu"], y)

    def simulate(self, mu, aux, trials, rng):
        count_aux = self._count_aux(aux)
        draw = lambda m: super(_Hurdle, self).simulate(m, count_aux, trials, rng)  # noqa: E731
        return _positive_counts(draw, mu, aux["hu"], rng)

    def response_mean(self, link, eta, aux, trials):
        aux = {k: np.asarray(v) for k, v in aux.items()}
        positive = np.exp(self._log_positive(eta, aux))
        return (1.0 - aux["hu"]) * link.inverse_numpy(eta) / positive

    def response_variance(self, link, eta, aux, trials):
        """(1 - hu) E[count^2 | count > 0] - E[y]^2, E[count^2 | count > 0] = E[count^2] /
        P(count > 0)."""
        aux = {k: np.asarray(v) for k, v in aux.items()}
        mu, positive = link.inverse_numpy(eta), np.exp(self._log_positive(eta, aux))
        count = super().response_variance(link, eta, self._count_aux(aux), trials)
        second = (1.0 - aux["hu"]) * (count + mu**2) / positive
        return second - self.response_mean(link, eta, aux, trials) ** 2


@register
class ZeroInflatedPoisson(_ZeroInflated, Poisson):
    # the data's choice again since zeros weigh nothing in the centering's working response:
    # 14 of the 19 sims whose centered fits diverged in the first full SBC refitted clean (at
    # 0.99 where needed), and the 3 with the worst R-hat non-centered (cor_g bulk ESS
    # 343-642) reached 2,725-3,856 for cor_g, 1,064-1,525 over all parameters
    centers = True
    name = "zero_inflated_poisson"
    aux = ("zi",)
    ml_aux_start = {"zi": 0.2}
    boundary_of = {"poisson": "zero-inflation zi at 0"}
    calibration_priors = {**_ZERO, "zi": "Beta(2, 6)"}


@register
class ZeroInflatedNegBinomial(_ZeroInflated, NegBinomial):
    name = "zero_inflated_negbinomial"
    aux = ("alpha", "zi")
    ml_aux_start = {"zi": 0.2, "alpha": 2.0}
    boundary_of = {"negbinomial": "zero-inflation zi at 0"}
    calibration_priors = {**_ZERO, "alpha": "Gamma(4, 1)", "zi": "Beta(2, 6)"}


@register
class HurdlePoisson(_Hurdle, Poisson):
    name = "hurdle_poisson"
    aux = ("hu",)
    ml_aux_start = {"hu": 0.3}
    calibration_priors = {**_ZERO, "hu": "Beta(2, 6)"}


@register
class HurdleNegBinomial(_Hurdle, NegBinomial):
    # non-centered: in its first full SBC (200 fits) 22 of 83 fits with centered effects had
    # divergent transitions and 9 R-hat above 1.01, against 0 and 1 of 117 non-centered
    # (hurdle poisson: 0 of 58 centered fits diverged, so it keeps the data's choice)
    centers = False
    name = "hurdle_negbinomial"
    aux = ("alpha", "hu")
    ml_aux_start = {"hu": 0.3, "alpha": 2.0}
    boundary_of = {}
    calibration_priors = {**_ZERO, "alpha": "Gamma(4, 1)", "hu": "Beta(2, 6)"}


@register
class HurdleLogNormal(LogNormal):
    """Zeros with probability ``hu``, positive values lognormal (brms's
    ``hurdle_lognormal``): e.g. costs, rainfall, time spent, where zero means none."""

    name = "hurdle_lognormal"
    # non-centered: in its first full SBC (200 fits) 14 of 149 fits with centered effects had
    # divergent transitions, 0 of 51 non-centered (this matters only where its effects are
    # sampled: strategy="indexed", or factors the marginal strategy leaves sampled)
    centers = False
    aux = ("sigma", "hu")
    probabilities = ("hu",)
    aux_meaning = {**LogNormal.aux_meaning, "hu": "the probability of a zero (the hurdle)"}
    pymc = None
    aux_groups = {"hu": "Hurdle"}
    calibration_priors = {**LogNormal.calibration_priors, "hu": "Beta(2, 6)"}

    def location(self, y):
        y = np.asarray(y, dtype=float)
        positive = y[y > 0]
        floor = positive.min() if positive.size else 1.0
        return np.log(np.where(y > 0, y, floor))

    def check_response(self, y, name, trials):
        check_response_numeric(y, name, self.name)
        y = np.asarray(y, dtype=float)
        if np.any(y < 0):
            raise ValueError(f"family {self.name!r} needs a response of zeros and positive "
                             f"values, but {name!r} has {int((y < 0).sum())} negative value(s)")
        if not np.any(y > 0):
            raise ValueError(f"family {self.name!r} needs some positive values in {name!r}")

    def example_response(self, n):
        return np.arange(n) % 3 * 1.0

    def default_aux_priors(self, y, counts=None):
        y = np.asarray(y, dtype=float)
        positive = None if counts is None else counts[y > 0]
        return {**super().default_aux_priors(y[y > 0], positive), "hu": _uniform_probability()}

    def working_response(self, link, y, trials, eta, counts=None):
        return _positive_only(y, super().working_response(link, y, trials, eta, counts))

    def gaussian_part(self, link, y):
        """log y of the positive rows is normal; the zeros do not involve the mean."""
        positive = np.asarray(y) > 0
        return GaussianPart(positive, np.log(np.asarray(y, dtype=float)[positive]))

    def gaussian_remainder(self, link, y, aux, weights):
        """The zeros' log hu, the positives' log(1 - hu) and their Jacobian -log y."""
        y = np.asarray(y, dtype=float)
        positive = y > 0
        jacobian = -float(np.sum(weights * np.log(np.where(positive, y, 1.0))))
        # the rows' weights as float data, not a boolean mask: the JAX driver lifts float
        # constants into arguments, so refits with another response reuse one program
        zeros, positives = weights * ~positive, weights * positive
        hu = aux["hu"]
        xp = _xp(hu)
        return jacobian + xp.sum(zeros * xp.log(hu) + positives * xp.log1p(-hu))

    summed_logp = _summed

    def log_density(self, link, y, eta, aux, trials):
        safe = _xp(y).where(y > 0, y, 1.0)        # log y, taken at zeros too, is not used
        positive = LogNormal.log_density(self, link, safe, eta, aux, trials)
        return _hurdle(positive, 0.0, aux["hu"], y)

    def logpdf_numpy(self, link, y, eta, aux, trials):
        safe = np.where(y > 0, y, 1.0)
        positive = LogNormal.logpdf_numpy(self, link, safe, eta, aux, trials)
        return _hurdle(positive, 0.0, aux["hu"], y)

    def simulate(self, mu, aux, trials, rng):
        values = LogNormal.simulate(self, mu, aux, trials, rng)
        return np.where(rng.random(np.shape(mu)) < aux["hu"], 0.0, values)

    def response_mean(self, link, eta, aux, trials):
        return (1.0 - np.asarray(aux["hu"])) * LogNormal.response_mean(self, link, eta, aux,
                                                                      trials)

    def response_variance(self, link, eta, aux, trials):
        sigma2, hu = np.asarray(aux["sigma"]) ** 2, np.asarray(aux["hu"])
        second = (1.0 - hu) * np.exp(2.0 * eta + 2.0 * sigma2)
        return second - self.response_mean(link, eta, aux, trials) ** 2

    def latent_variance(self, link, eta, group_variance, aux):
        """sigma^2 - log(1 - hu): the lognormal approximation log(1 + Var(y) / E[y]^2) of the
        whole response, zeros included, as the zero-inflated counts' (sigma^2 without
        zeros, the lognormal's)."""
        sigma2, hu = np.asarray(aux["sigma"]) ** 2, np.asarray(aux["hu"])
        return sigma2 - np.log1p(-hu) + np.zeros(np.shape(eta))


def _positive_counts(draw, mu, hu, rng: np.random.Generator) -> np.ndarray:
    """Zeros with probability ``hu``, else draws from the count distribution conditioned on
    being positive (redrawn where zero; the few left after 200 rounds, at means near zero,
    are set to 1, the conditional distribution's mode there)."""
    mu = np.asarray(mu, dtype=float)
    out = draw(mu)
    for _ in range(200):
        zero = out == 0
        if not zero.any():
            break
        out = np.where(zero, draw(mu), out)
    out = np.where(out == 0, 1, out)
    return np.where(rng.random(mu.shape) < np.broadcast_to(hu, mu.shape), 0, out)

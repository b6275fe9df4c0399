"""The families: one class each, everything that differs by family in one place.

Adding a family is one class here (with ``@register``) and its tests; see ``Student``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from hglm.spec.families.base import FamilyDef, Summed, register
from hglm.spec.families.links import Link
from hglm.spec.families.responses import (
    check_binary,
    check_binomial,
    check_counts,
    sample_sd,
)

__all__ = ["Gaussian", "Poisson", "NegBinomial", "Binomial", "Bernoulli", "Student"]

_LOG_2PI = float(np.log(2 * np.pi))
#: NumPy's count samplers refuse larger means; only absurd draws from wide priors reach it
_MAX_COUNT_MEAN = 1e15
#: calibration priors of the slopes and group effects (hglm.validation.models)
_SLOPES = {"fixed": "Normal(0, 1)", "sd": "HalfNormal(1)", "cor": "LKJ(2)"}


def _half_student_sd(y: np.ndarray, counts: np.ndarray | None = None):
    """brms's default on a residual scale: HalfStudentT(3, sd(y))."""
    from hglm.spec.priors import HalfStudentT

    return HalfStudentT(3.0, sample_sd(y, counts))


def _like(value, eta) -> np.ndarray:
    """``value`` broadcast to the shape of ``eta`` (and of itself): a variance that does not
    depend on the mean."""
    return np.asarray(value, dtype=float) + np.zeros(np.shape(eta))


def _gamma(alpha: float, beta: float):
    from hglm.spec.priors import Gamma

    return Gamma(alpha, beta)


def _log_choose(n: np.ndarray, k: np.ndarray) -> np.ndarray:
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


@register
class Gaussian(FamilyDef):
    name = "gaussian"
    links = ("identity", "log")
    aux = ("sigma",)
    aux_meaning = {"sigma": "the residual standard deviation"}
    pymc = "Normal"
    scale_parameter = "sigma"
    working_dispersion = True
    # the marginal strategy takes gaussian models; padding measured no faster for the others
    pads_rows = False
    # the InstEval-shaped gaussian model gained no effective draws per second at 0.95
    nested_target_accept = 0.9
    supports_reml = True
    gibbs, gibbs_link = "gaussian", "identity"
    calibration_priors = {"Intercept": "Normal(0, 1)", **_SLOPES, "sigma": "HalfNormal(1)"}

    def exact_marginal(self, link: Link) -> bool:
        return link.name == "identity"

    def default_aux_priors(self, y, counts=None):
        return {"sigma": _half_student_sd(y, counts)}

    def log_density(self, link, y, eta, aux, trials):
        import pytensor.tensor as pt

        sigma = aux["sigma"]
        return -0.5 * ((y - link.inverse(eta)) / sigma) ** 2 - pt.log(sigma) - 0.5 * _LOG_2PI

    def logpdf_numpy(self, link, y, eta, aux, trials):
        # written out: scipy's generic logpdf is ~5x slower on (draws x rows) arrays
        sigma = np.asarray(aux["sigma"])
        mu = link.inverse_numpy(eta)
        return -0.5 * ((y - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * _LOG_2PI

    def simulate(self, mu, aux, trials, rng):
        return rng.normal(mu, aux["sigma"])

    def response_variance(self, link, eta, aux, trials):
        return _like(np.asarray(aux["sigma"]) ** 2, eta)


class _Counts(FamilyDef):
    links = ("log",)
    response = "count"
    mean_range = (0.0, np.inf)

    def check_response(self, y, name, trials):
        check_counts(y, name, self.name)

    def working_response(self, link, y, trials, eta, counts=None):
        """On the log scale: from each row's own count (Fisher information mu), or one IRLS
        step at ``eta``."""
        y = np.asarray(y, dtype=float)
        if eta is None:
            mu = np.maximum(y, 0.5)
            return np.log(mu), mu
        eta = np.clip(eta, -20.0, 20.0)
        mu = np.exp(eta)
        return eta + (y - mu) / mu, mu


@register
class Poisson(_Counts):
    name = "poisson"
    pymc = "Poisson"
    summed_family = "poisson"
    gibbs, gibbs_link = "poisson", "log"
    calibration_priors = {"Intercept": "Normal(1, 0.5)", "fixed": "Normal(0, 0.5)",
                          "sd": "HalfNormal(0.5)", "cor": "LKJ(2)"}

    def summed(self, link, y, trials, freq, inverse):
        """On the log link, the rows of a pattern (rate mu each) sum to a poisson count of
        mean N mu (N rows: the exposure); the constant: sum log y_i! of the rows less
        log K! - K log N of the sums."""
        if link.name != "log":
            return None
        counts = np.bincount(inverse, weights=freq * y)
        exposure = np.bincount(inverse, weights=freq)
        constant = -(freq * gammaln(np.asarray(y, float) + 1)).sum() \
            + (gammaln(counts + 1) - counts * np.log(exposure)).sum()
        return Summed(counts.astype(np.int64), None, np.log(exposure), float(constant),
                      "poisson counts with their exposure")

    def summed_logp(self, link, y, eta, aux, trials, weights):
        """Written out, its constant summed once in NumPy: PyMC's generic form recomputes
        gammaln(y + 1) and log(exp(eta)) at every gradient (2.0 ms of 2.3 at 200,000 rows)."""
        import pytensor.tensor as pt
        w = np.asarray(weights, dtype=float)
        return pt.sum(w * (y * eta - pt.exp(eta))) - float(np.sum(w * gammaln(y + 1.0)))

    def log_density(self, link, y, eta, aux, trials):
        import pytensor.tensor as pt

        return y * eta - pt.exp(eta) - pt.gammaln(y + 1.0)

    def logpdf_numpy(self, link, y, eta, aux, trials):
        return y * eta - np.exp(eta) - gammaln(y + 1.0)

    def simulate(self, mu, aux, trials, rng):
        return rng.poisson(np.minimum(mu, _MAX_COUNT_MEAN))

    def response_variance(self, link, eta, aux, trials):
        return link.inverse_numpy(eta)


@register
class NegBinomial(_Counts):
    """PyMC's parametrization: variance mu + mu^2 / alpha, so a large ``alpha`` means little
    overdispersion."""

    name = "negbinomial"
    aux = ("alpha",)
    aux_meaning = {"alpha": "the shape, so variance mu + mu^2 / alpha (poisson as alpha -> inf)"}
    pymc = "NegativeBinomial"
    # Poisson is the negative binomial's limit 1/alpha -> 0, on the boundary (Lawless 1987)
    boundary_of = {"poisson": "overdispersion 1/alpha at 0"}

    def default_aux_priors(self, y, counts=None):
        return {"alpha": _gamma(2.0, 0.1)}     # mean 20: mild overdispersion

    def log_density(self, link, y, eta, aux, trials):
        import pytensor.tensor as pt

        alpha = aux["alpha"]
        log_total = pt.logaddexp(eta, pt.log(alpha))            # log(mu + alpha)
        return (y * (eta - log_total) + alpha * (pt.log(alpha) - log_total)
                + pt.gammaln(y + alpha) - pt.gammaln(alpha) - pt.gammaln(y + 1.0))

    def logpdf_numpy(self, link, y, eta, aux, trials):
        from scipy import stats

        alpha, mu = aux["alpha"], link.inverse_numpy(eta)
        return stats.nbinom.logpmf(y, alpha, alpha / (alpha + mu))

    def simulate(self, mu, aux, trials, rng):
        mu = np.minimum(mu, _MAX_COUNT_MEAN)
        alpha = np.broadcast_to(aux["alpha"], np.shape(mu))
        return rng.negative_binomial(alpha, alpha / (alpha + mu))

    def response_variance(self, link, eta, aux, trials):
        """mu + mu^2 / alpha: on the log link, the latent variance log(1 + 1/lambda +
        1/alpha) (Nakagawa et al. 2017's theta is alpha)."""
        mu = link.inverse_numpy(eta)
        return mu + mu**2 / np.asarray(aux["alpha"])


@register
class Binomial(FamilyDef):
    name = "binomial"
    links = ("logit", "probit", "cloglog")
    response = "binomial"
    pymc = "Binomial"
    mean_range = (0.0, 1.0)
    summed_family = "binomial"
    gibbs, gibbs_link = "binomial", "logit"
    calibration_priors = {"Intercept": "Normal(0, 1)", **_SLOPES}

    def summed(self, link, y, trials, freq, inverse):
        """Successes and trials added up; the constant: the log binomial coefficients of
        the rows less those of the sums."""
        trials = np.ones(len(y), dtype=np.int64) if trials is None else trials
        successes = np.bincount(inverse, weights=freq * y).astype(np.int64)
        totals = np.bincount(inverse, weights=freq * trials).astype(np.int64)
        constant = (freq * _log_choose(trials, y)).sum() - _log_choose(totals, successes).sum()
        return Summed(successes, totals, None, float(constant), "binomial counts")

    def params(self, link, eta, aux, trials):
        # logit_p keeps the log-likelihood stable far into the tails
        p = {"logit_p": eta} if link.name == "logit" else {"p": link.inverse(eta)}
        return {**p, "n": trials, **aux}

    def _trials(self, y, trials):
        return np.ones_like(y, dtype=float) if trials is None else np.asarray(trials, float)

    def summed_logp(self, link, y, eta, aux, trials, weights):
        """The logit link written out, its constant summed once in NumPy (as Poisson's)."""
        if link.name != "logit":
            return super().summed_logp(link, y, eta, aux, trials, weights)
        import pytensor.tensor as pt
        w, n = np.asarray(weights, dtype=float), self._trials(y, trials)
        const = float(np.sum(w * _log_choose(n, y)))
        return pt.sum(w * (y * eta - n * pt.softplus(eta))) + const

    def log_density(self, link, y, eta, aux, trials):
        import pytensor.tensor as pt

        n = 1.0 if trials is None else trials
        log_p, log_q = link.binary_logs(eta)
        choose = pt.gammaln(n + 1.0) - pt.gammaln(y + 1.0) - pt.gammaln(n - y + 1.0)
        return y * log_p + (n - y) * log_q + choose

    def logpdf_numpy(self, link, y, eta, aux, trials):
        from scipy import stats

        return stats.binom.logpmf(y, trials, link.inverse_numpy(eta))

    def simulate(self, mu, aux, trials, rng):
        n = (np.ones_like(mu, dtype=np.int64) if trials is None
             else np.broadcast_to(trials, np.shape(mu)))
        return rng.binomial(n, mu)

    def response_variance(self, link, eta, aux, trials):
        mu = link.inverse_numpy(eta)
        return (1.0 if trials is None else np.asarray(trials, float)) * mu * (1.0 - mu)

    def check_response(self, y, name, trials):
        check_binomial(y, trials, name)

    def working_response(self, link, y, trials, eta, counts=None):
        """On the logit scale whatever the link (close enough to weigh levels): one IRLS
        step from the overall proportion, or at ``eta``."""
        y = np.asarray(y, dtype=float)
        n = self._trials(y, trials)
        if eta is None:
            c = 1 if counts is None else counts
            p = ((c * y).sum() + 0.5) / ((c * n).sum() + 1.0)
            z = np.log(p / (1 - p))
        else:
            z = np.clip(eta, -20.0, 20.0)
            p = np.clip(1.0 / (1.0 + np.exp(-z)), 1e-6, 1 - 1e-6)
        return z + (y / n - p) / (p * (1 - p)), n * p * (1 - p)


@register
class Bernoulli(Binomial):
    name = "bernoulli"
    response = "binary"
    pymc = "Bernoulli"

    def params(self, link, eta, aux, trials):
        return {"logit_p": eta, **aux} if link.name == "logit" else \
            {"p": link.inverse(eta), **aux}

    def logpdf_numpy(self, link, y, eta, aux, trials):
        from scipy import stats

        return stats.bernoulli.logpmf(y, link.inverse_numpy(eta))

    def check_response(self, y, name, trials):
        check_binary(y, name)


@register
class Student(FamilyDef):
    """Student-t (brms's ``student``): location on the identity link, scale ``sigma`` and
    degrees of freedom ``nu``: a gaussian model whose residuals may have heavy tails."""

    name = "student"
    links = ("identity",)
    aux = ("sigma", "nu")
    aux_meaning = {"sigma": "the residual scale",
                   "nu": "the degrees of freedom (gaussian as nu -> inf)"}
    pymc = "StudentT"
    scale_parameter = "sigma"
    working_dispersion = True
    ml_aux_start = {"nu": 10.0}
    # nu: mean 8, sd 4 (between heavy tails and near-normal, as the calibration needs)
    calibration_priors = {"Intercept": "Normal(0, 1)", **_SLOPES, "sigma": "HalfNormal(1)",
                          "nu": "Gamma(4, 0.5)"}

    def default_aux_priors(self, y, counts=None):
        # brms's defaults: student_t(3, 0, scale) on sigma, gamma(2, 0.1) on nu (mean 20;
        # P(nu < 1) = 0.5%)
        return {"sigma": _half_student_sd(y, counts), "nu": _gamma(2.0, 0.1)}

    def log_density(self, link, y, eta, aux, trials):
        import pytensor.tensor as pt

        sigma, nu = aux["sigma"], aux["nu"]
        z = (y - link.inverse(eta)) / sigma
        return (pt.gammaln((nu + 1.0) / 2.0) - pt.gammaln(nu / 2.0)
                - 0.5 * pt.log(nu * np.pi) - pt.log(sigma)
                - (nu + 1.0) / 2.0 * pt.log1p(z**2 / nu))

    def logpdf_numpy(self, link, y, eta, aux, trials):
        sigma, nu = np.asarray(aux["sigma"]), np.asarray(aux["nu"])
        z = (y - link.inverse_numpy(eta)) / sigma
        return (gammaln((nu + 1.0) / 2.0) - gammaln(nu / 2.0) - 0.5 * np.log(nu * np.pi)
                - np.log(sigma) - (nu + 1.0) / 2.0 * np.log1p(z**2 / nu))

    def simulate(self, mu, aux, trials, rng):
        nu = np.broadcast_to(aux["nu"], np.shape(mu))
        return mu + aux["sigma"] * rng.standard_t(nu)

    def response_variance(self, link, eta, aux, trials):
        """sigma^2 nu / (nu - 2); NaN where nu <= 2, whose variance is infinite or undefined."""
        sigma, nu = np.asarray(aux["sigma"], float), np.asarray(aux["nu"], float)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(nu > 2, sigma**2 * nu / (nu - 2.0), np.nan)
        return _like(value, eta)

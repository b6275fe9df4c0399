"""Families of positive, continuous responses and of proportions: gamma, lognormal, beta,
beta-binomial."""

from __future__ import annotations

import numpy as np

from hglm.spec.families.base import (
    THRESHOLD_VARIANCE,
    FamilyDef,
    GaussianPart,
    delta_variance,
    register,
)
from hglm.spec.families.definitions import Binomial
from hglm.spec.families.links import Link
from hglm.spec.families.responses import check_positive, check_unit_interval, sample_sd

__all__ = ["GammaFamily", "LogNormal", "BetaFamily", "BetaBinomial"]

_LOG_2PI = float(np.log(2 * np.pi))
#: calibration priors of the slopes and group effects (hglm.validation.models)
_SLOPES = {"fixed": "Normal(0, 0.5)", "sd": "HalfNormal(0.5)", "cor": "LKJ(2)"}


def _brms_precision():
    """brms's default on a gamma shape or beta precision: Gamma(0.01, 0.01), vague."""
    from hglm.spec.priors import Gamma

    return Gamma(0.01, 0.01)


def _beta_shapes(link: Link, eta, phi):
    """The beta shapes mu phi and (1 - mu) phi (PyTensor), floored where the mean underflows:
    finite for every finite eta."""
    import pytensor.tensor as pt

    log_p, log_q = link.binary_logs(eta)
    return pt.maximum(pt.exp(log_p) * phi, 1e-300), pt.maximum(pt.exp(log_q) * phi, 1e-300)


def _beta_latent_variance(link: Link, eta, phi) -> np.ndarray:
    """The variance of g(p) for p ~ Beta(mu phi, (1 - mu) phi), mu = g^-1(eta): exactly
    trigamma(mu phi) + trigamma((1 - mu) phi) on the logit link (logit p is a difference of
    two log-gamma variables), the delta method on the others."""
    from scipy.special import polygamma

    mu, phi = link.inverse_numpy(eta), np.asarray(phi, dtype=float)
    if link.name == "logit":
        return polygamma(1, mu * phi) + polygamma(1, (1.0 - mu) * phi)
    return delta_variance(link, eta, mu * (1.0 - mu) / (1.0 + phi))


def _irls(link: Link, y: np.ndarray, eta: np.ndarray | None, variance, low: float, high: float
          ) -> tuple[np.ndarray, np.ndarray]:
    """IRLS's working response and weights at ``eta`` (from the data: the link of y, kept
    inside the mean's range), the variance function up to the dispersion."""
    y = np.asarray(y, dtype=float)
    if eta is None:
        eta = link.numpy(np.clip(y, low, high))
    mu = np.clip(link.inverse_numpy(eta), low, high)
    d = link.derivative_numpy(eta)
    d = np.where(np.abs(d) < 1e-12, 1e-12, d)
    return eta + (y - mu) / d, d**2 / variance(mu)


@register
class GammaFamily(FamilyDef):
    """Gamma with mean ``mu`` and shape: variance ``mu^2 / shape`` (brms's and PyMC's shape;
    glmmTMB reports ``sigma = 1 / sqrt(shape)``, the coefficient of variation)."""

    name = "gamma"
    links = ("log", "inverse", "identity")
    aux = ("shape",)
    aux_meaning = {"shape": "the shape, so variance mu^2 / shape and coefficient of variation "
                            "1 / sqrt(shape)"}
    pymc = "Gamma"
    mean_range = (0.0, np.inf)
    working_dispersion = True
    ml_aux_start = {"shape": 1.0}
    # shape: mean 10, sd 5 (coefficient of variation about 0.3)
    calibration_priors = {"Intercept": "Normal(1, 0.5)", **_SLOPES, "shape": "Gamma(4, 0.4)"}

    def params(self, link, eta, aux, trials):
        return {"alpha": aux["shape"], "beta": aux["shape"] / link.inverse(eta)}

    def check_response(self, y, name, trials):
        check_positive(y, name, self.name)

    def example_response(self, n):
        return 1.0 + np.arange(n) % 2

    def default_aux_priors(self, y, counts=None):
        return {"shape": _brms_precision()}

    def working_response(self, link, y, trials, eta, counts=None):
        return _irls(link, y, eta, np.square, 1e-10, np.inf)

    def log_density(self, link, y, eta, aux, trials):
        import pytensor.tensor as pt

        shape, log_mu = aux["shape"], link.log_mean(eta)
        return (shape * (pt.log(shape) - log_mu) + (shape - 1.0) * pt.log(y)
                - shape * y * pt.exp(-log_mu) - pt.gammaln(shape))

    def logpdf_numpy(self, link, y, eta, aux, trials):
        from scipy.special import gammaln

        shape, mu = np.asarray(aux["shape"]), link.inverse_numpy(eta)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (shape * np.log(shape / mu) + (shape - 1.0) * np.log(y) - shape * y / mu
                   - gammaln(shape))
        return np.where(mu > 0, out, -np.inf)

    def simulate(self, mu, aux, trials, rng):
        shape = np.broadcast_to(aux["shape"], np.shape(mu))
        return rng.gamma(shape, np.maximum(mu, 1e-300) / shape)

    def response_variance(self, link, eta, aux, trials):
        return link.inverse_numpy(eta) ** 2 / np.asarray(aux["shape"])

    def latent_variance(self, link, eta, group_variance, aux):
        """Log link: trigamma(shape), the exact variance of log y (Nakagawa et al. 2017
        recommend it over the lognormal approximation log(1 + 1/shape)); the other links as
        the default (the delta method)."""
        if link.name != "log":
            return super().latent_variance(link, eta, group_variance, aux)
        from scipy.special import polygamma

        return polygamma(1, np.asarray(aux["shape"], dtype=float)) + np.zeros(np.shape(eta))


@register
class LogNormal(FamilyDef):
    """log y ~ Normal(eta, sigma): the linear predictor and ``sigma`` on the log scale, as in
    brms; the mean of y is ``exp(eta + sigma^2 / 2)``."""

    name = "lognormal"
    links = ("identity",)
    aux = ("sigma",)
    aux_meaning = {"sigma": "the residual standard deviation of log y"}
    pymc = "LogNormal"
    working_dispersion = True
    calibration_priors = {"Intercept": "Normal(1, 0.5)", **_SLOPES, "sigma": "HalfNormal(0.5)"}

    def params(self, link, eta, aux, trials):
        return {"mu": eta, "sigma": aux["sigma"]}

    def location(self, y):
        return np.log(np.asarray(y, dtype=float))

    def check_response(self, y, name, trials):
        check_positive(y, name, self.name)

    def example_response(self, n):
        return 1.0 + np.arange(n) % 2

    def default_aux_priors(self, y, counts=None):
        from hglm.spec.priors import HalfStudentT

        return {"sigma": HalfStudentT(3.0, sample_sd(self.location(y), counts))}

    def working_response(self, link, y, trials, eta, counts=None):
        z = self.location(y)
        return z, np.ones_like(z)

    def gaussian_part(self, link, y):
        """log y is normal: the marginal strategy integrates the effects out of it."""
        return GaussianPart(None, self.location(y))

    def gaussian_remainder(self, link, y, aux, weights):
        """The Jacobian of y -> log y: -sum_i w_i log y_i."""
        return -float(np.sum(weights * self.location(y)))

    def response_mean(self, link, eta, aux, trials):
        return np.exp(eta + np.asarray(aux["sigma"]) ** 2 / 2)

    def log_density(self, link, y, eta, aux, trials):
        import pytensor.tensor as pt

        sigma, log_y = aux["sigma"], pt.log(y)
        return -0.5 * ((log_y - eta) / sigma) ** 2 - pt.log(sigma) - 0.5 * _LOG_2PI - log_y

    def logpdf_numpy(self, link, y, eta, aux, trials):
        sigma, log_y = np.asarray(aux["sigma"]), np.log(y)
        return -0.5 * ((log_y - eta) / sigma) ** 2 - np.log(sigma) - 0.5 * _LOG_2PI - log_y

    def simulate(self, mu, aux, trials, rng):
        return np.exp(rng.normal(mu, aux["sigma"]))

    def response_variance(self, link, eta, aux, trials):
        sigma2 = np.asarray(aux["sigma"]) ** 2
        return np.expm1(sigma2) * np.exp(2.0 * eta + sigma2)

    def latent_variance(self, link, eta, group_variance, aux):
        """sigma^2: the linear predictor is that of log y, whose residual variance it is."""
        return np.asarray(aux["sigma"], dtype=float) ** 2 + np.zeros(np.shape(eta))


@register
class BetaFamily(FamilyDef):
    """Beta with mean ``mu`` and precision ``phi``: shapes ``mu phi`` and ``(1 - mu) phi``,
    variance ``mu (1 - mu) / (1 + phi)`` (brms's and glmmTMB's parametrization)."""

    name = "beta"
    links = ("logit", "probit", "cloglog")
    aux = ("phi",)
    aux_meaning = {"phi": "the precision: variance mu (1 - mu) / (1 + phi)"}
    pymc = "Beta"
    mean_range = (0.0, 1.0)
    working_dispersion = True
    ml_aux_start = {"phi": 10.0}
    # phi: mean 20, sd 10
    calibration_priors = {"Intercept": "Normal(0, 1)", **_SLOPES, "phi": "Gamma(4, 0.2)"}

    def params(self, link, eta, aux, trials):
        mu = link.inverse(eta)
        return {"alpha": mu * aux["phi"], "beta": (1.0 - mu) * aux["phi"]}

    def check_response(self, y, name, trials):
        check_unit_interval(y, name, self.name)

    def example_response(self, n):
        return 0.25 + 0.5 * (np.arange(n) % 2)

    def default_aux_priors(self, y, counts=None):
        return {"phi": _brms_precision()}

    def working_response(self, link, y, trials, eta, counts=None):
        return _irls(link, y, eta, lambda mu: mu * (1.0 - mu), 1e-6, 1.0 - 1e-6)

    def log_density(self, link, y, eta, aux, trials):
        import pytensor.tensor as pt

        phi = aux["phi"]
        a, b = _beta_shapes(link, eta, phi)
        return (pt.gammaln(phi) - pt.gammaln(a) - pt.gammaln(b)
                + (a - 1.0) * pt.log(y) + (b - 1.0) * pt.log1p(-y))

    def logpdf_numpy(self, link, y, eta, aux, trials):
        from scipy import stats

        phi, mu = np.asarray(aux["phi"]), link.inverse_numpy(eta)
        return stats.beta.logpdf(y, mu * phi, (1.0 - mu) * phi)

    def simulate(self, mu, aux, trials, rng):
        phi = np.broadcast_to(aux["phi"], np.shape(mu))
        mu = np.clip(mu, 1e-12, 1 - 1e-12)
        # a draw within rounding of 0 or 1 comes back as exactly 0 or 1 in double precision,
        # which the family refuses as data: kept at the nearest representable inside values
        return np.clip(rng.beta(mu * phi, (1.0 - mu) * phi), np.finfo(float).tiny,
                       np.nextafter(1.0, 0.0))

    def response_variance(self, link, eta, aux, trials):
        mu = link.inverse_numpy(eta)
        return mu * (1.0 - mu) / (1.0 + np.asarray(aux["phi"]))

    def latent_variance(self, link, eta, group_variance, aux):
        """The variance of g(y) at mu = g^-1(eta): on the logit link exactly trigamma(mu phi)
        + trigamma((1 - mu) phi), the analogue of the gamma's trigamma(shape); the delta
        method mu (1 - mu) / (1 + phi) / (dmu/deta)^2 on the others.  (Not the threshold
        constants: a beta response has no latent binary variable.)"""
        return _beta_latent_variance(link, eta, aux["phi"])


@register
class BetaBinomial(Binomial):
    """Successes of ``n`` trials with a beta-distributed probability (mean ``mu``, precision
    ``phi``): variance ``n mu (1 - mu) (1 + (n - 1) / (phi + 1))``, overdispersed proportions
    (brms's ``beta_binomial``; glmmTMB's ``betabinomial``, whose ``sigma`` is ``phi``).  Its
    rows cannot be summed into counts: each row has its own beta draw."""

    name = "betabinomial"
    aux = ("phi",)
    aux_meaning = {"phi": "the precision: binomial as phi -> inf"}
    pymc = "BetaBinomial"
    summed_family = None
    working_dispersion = True
    gibbs = gibbs_link = None
    ml_aux_start = {"phi": 10.0}
    boundary_of = {"binomial": "overdispersion 1/phi at 0"}
    calibration_priors = {"Intercept": "Normal(0, 1)", **_SLOPES, "phi": "Gamma(4, 0.2)"}

    def params(self, link, eta, aux, trials):
        mu = link.inverse(eta)
        return {"alpha": mu * aux["phi"], "beta": (1.0 - mu) * aux["phi"], "n": trials}

    def default_aux_priors(self, y, counts=None):
        return {"phi": _brms_precision()}

    def summed_logp(self, link, y, eta, aux, trials, weights):
        return FamilyDef.summed_logp(self, link, y, eta, aux, trials, weights)

    def log_density(self, link, y, eta, aux, trials):
        import pytensor.tensor as pt

        phi, n = aux["phi"], 1.0 if trials is None else trials
        a, b = _beta_shapes(link, eta, phi)
        choose = pt.gammaln(n + 1.0) - pt.gammaln(y + 1.0) - pt.gammaln(n - y + 1.0)
        return (choose + pt.gammaln(y + a) + pt.gammaln(n - y + b) - pt.gammaln(n + phi)
                - pt.gammaln(a) - pt.gammaln(b) + pt.gammaln(phi))

    def logpdf_numpy(self, link, y, eta, aux, trials):
        from scipy import stats

        phi, mu = np.asarray(aux["phi"]), link.inverse_numpy(eta)
        return stats.betabinom.logpmf(y, trials, mu * phi, (1.0 - mu) * phi)

    def simulate(self, mu, aux, trials, rng):
        phi = np.broadcast_to(aux["phi"], np.shape(mu))
        mu = np.clip(mu, 1e-12, 1 - 1e-12)
        p = rng.beta(mu * phi, (1.0 - mu) * phi)
        return super().simulate(p, aux, trials, rng)

    def response_variance(self, link, eta, aux, trials):
        n = 1.0 if trials is None else np.asarray(trials, float)
        return (super().response_variance(link, eta, aux, trials)
                * (1.0 + (n - 1.0) / (np.asarray(aux["phi"]) + 1.0)))

    def latent_variance(self, link, eta, group_variance, aux):
        """The binomial's latent variance (logit pi^2/3, ...) plus that of g(p), the beta
        probability's own variation on the link scale: as a binomial model with an
        observation-level effect, whose variance Nakagawa et al. (2017) add to the residual."""
        return THRESHOLD_VARIANCE[link.name] + _beta_latent_variance(link, eta, aux["phi"])

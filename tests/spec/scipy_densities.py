"""Every family's log density written from SciPy's distributions, independently of hglm's
code: the reference the families' own densities are checked against."""

from __future__ import annotations

import numpy as np
from scipy import special, stats

INVERSE_LINKS = {"identity": lambda e: e, "log": np.exp, "logit": special.expit,
                 "probit": special.ndtr, "cloglog": lambda e: -np.expm1(-np.exp(e)),
                 "inverse": lambda e: 1.0 / e}


def _nb(y, mu, alpha):
    return stats.nbinom.logpmf(y, alpha, alpha / (alpha + mu))


def _with_zeros(family, y, count, count0, a):
    """Zero-inflated and hurdle mixtures of the count part's log p(y) and log p(0)."""
    if family.startswith("zero_inflated"):
        zero = a["zi"]
        return np.where(y > 0, np.log1p(-zero) + count,
                        np.log(zero + (1 - zero) * np.exp(count0)))
    zero = a["hu"]
    return np.where(y > 0, np.log1p(-zero) + count - np.log1p(-np.exp(count0)), np.log(zero))


def _cumulative(link, y, eta, thresholds):
    """P(y = k) = F(theta_k - eta) - F(theta_{k-1} - eta), theta_0 = -inf, theta_K = inf,
    by scipy's logistic and normal distribution functions (survival functions in the upper
    tail, where 1 - F would cancel)."""
    dist = {"logit": stats.logistic, "probit": stats.norm}[link]
    cuts = np.r_[-np.inf, thresholds, np.inf]
    k = np.asarray(y, dtype=int)
    lower, upper = cuts[k] - eta, cuts[k + 1] - eta
    return np.log(np.where(lower + upper < 0, dist.cdf(upper) - dist.cdf(lower),
                           dist.sf(lower) - dist.sf(upper)))


def scipy_logpdf(family: str, link: str, y, eta, a: dict, trials=None) -> np.ndarray:
    """log p(y | eta, auxiliary parameters ``a``) of ``family`` with ``link``."""
    if family == "cumulative":
        return _cumulative(link, y, np.asarray(eta, dtype=float), a["thresholds"])
    y = np.asarray(y, dtype=float)
    mu = INVERSE_LINKS[link](np.asarray(eta, dtype=float))
    simple = {
        "gaussian": lambda: stats.norm.logpdf(y, mu, a["sigma"]),
        "student": lambda: stats.t.logpdf(y, a["nu"], mu, a["sigma"]),
        "poisson": lambda: stats.poisson.logpmf(y, mu),
        "negbinomial": lambda: _nb(y, mu, a["alpha"]),
        "binomial": lambda: stats.binom.logpmf(y, trials, mu),
        "bernoulli": lambda: stats.bernoulli.logpmf(y, mu),
        "gamma": lambda: stats.gamma.logpdf(y, a["shape"], scale=mu / a["shape"]),
        "lognormal": lambda: stats.norm.logpdf(np.log(y), mu, a["sigma"]) - np.log(y),
        "beta": lambda: stats.beta.logpdf(y, mu * a["phi"], (1 - mu) * a["phi"]),
        "betabinomial": lambda: stats.betabinom.logpmf(y, trials, mu * a["phi"],
                                                       (1 - mu) * a["phi"]),
    }
    if family in simple:
        return simple[family]()
    if family.endswith("poisson"):
        count, count0 = stats.poisson.logpmf(y, mu), stats.poisson.logpmf(0, mu)
    elif family.endswith("negbinomial"):
        count, count0 = _nb(y, mu, a["alpha"]), _nb(0, mu, a["alpha"])
    else:                                                       # hurdle lognormal
        positive = np.where(y > 0, y, 1.0)
        count = stats.norm.logpdf(np.log(positive), mu, a["sigma"]) - np.log(positive)
        count0 = -np.inf
    return _with_zeros(family, y, count, count0, a)

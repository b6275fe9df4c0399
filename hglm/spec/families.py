"""Response families as one declarative table: links, auxiliary parameters, likelihood."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Family", "FAMILIES", "as_family"]


@dataclass(frozen=True)
class _FamilyInfo:
    links: tuple[str, ...]          # first one is the default
    aux: tuple[str, ...]            # auxiliary parameters, each with its own prior key
    response: str                   # "continuous" | "count" | "binomial" | "binary"
    pymc: str                       # the PyMC likelihood


FAMILIES: dict[str, _FamilyInfo] = {
    "gaussian": _FamilyInfo(("identity", "log"), ("sigma",), "continuous", "Normal"),
    "poisson": _FamilyInfo(("log",), (), "count", "Poisson"),
    "negbinomial": _FamilyInfo(("log",), ("alpha",), "count", "NegativeBinomial"),
    "binomial": _FamilyInfo(("logit", "probit", "cloglog"), (), "binomial", "Binomial"),
    "bernoulli": _FamilyInfo(("logit", "probit", "cloglog"), (), "binary", "Bernoulli"),
}


@dataclass(frozen=True)
class Family:
    """A response distribution with its link, e.g. ``Family("binomial", link="probit")``.

    ``negbinomial`` is parametrised like PyMC's NegativeBinomial: variance mu + mu^2 / alpha,
    so a large ``alpha`` means little overdispersion.
    """

    name: str
    link: str | None = None
    info: _FamilyInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.name not in FAMILIES:
            raise ValueError(f"unknown family {self.name!r}; choose one of "
                             f"{', '.join(FAMILIES)}")
        info = FAMILIES[self.name]
        link = self.link or info.links[0]
        if link not in info.links:
            raise ValueError(f"family {self.name!r} has no link {link!r}; "
                             f"its links are {', '.join(info.links)}")
        object.__setattr__(self, "link", link)
        object.__setattr__(self, "info", info)

    @property
    def aux(self) -> tuple[str, ...]:
        return self.info.aux

    @property
    def response(self) -> str:
        return self.info.response

    # -- links --------------------------------------------------------------------------
    def inverse_link(self, eta: Any) -> Any:
        """Mean of the response given the linear predictor (PyTensor)."""
        import pymc as pm
        import pytensor.tensor as pt

        return {
            "identity": lambda e: e,
            "log": pt.exp,
            "logit": pm.math.invlogit,
            "probit": pm.math.invprobit,
            "cloglog": lambda e: -pt.expm1(-pt.exp(e)),
        }[self.link](eta)

    def inverse_link_numpy(self, eta: np.ndarray) -> np.ndarray:
        """Mean of the response given the linear predictor (NumPy)."""
        from scipy import special

        return {
            "identity": lambda e: e,
            "log": np.exp,
            "logit": special.expit,
            "probit": special.ndtr,
            "cloglog": lambda e: -np.expm1(-np.exp(e)),
        }[self.link](eta)

    def link_numpy(self, mu: np.ndarray) -> np.ndarray:
        """The link function itself (NumPy), used to centre default intercept priors."""
        from scipy import special

        return {
            "identity": lambda m: m,
            "log": np.log,
            "logit": special.logit,
            "probit": special.ndtri,
            "cloglog": lambda m: np.log(-np.log1p(-m)),
        }[self.link](mu)

    # -- likelihood ---------------------------------------------------------------------
    def _params(self, eta: Any, aux: dict[str, Any], trials: np.ndarray | None) -> dict:
        if self.name in ("binomial", "bernoulli") and self.link == "logit":
            # logit_p keeps the log-likelihood stable far into the tails
            params = {"logit_p": eta}
        elif self.name in ("binomial", "bernoulli"):
            params = {"p": self.inverse_link(eta)}
        else:
            params = {"mu": self.inverse_link(eta)}
        if self.name == "binomial":
            params["n"] = trials
        return {**params, **aux}

    def likelihood(self, name: str, eta: Any, aux: dict[str, Any], observed: np.ndarray,
                   trials: np.ndarray | None = None, **kwargs: Any):
        """Add the observed variable ``name`` with linear predictor ``eta``."""
        import pymc as pm

        dist = getattr(pm, self.info.pymc)
        return dist(name, **self._params(eta, aux, trials), observed=observed, **kwargs)

    def logp(self, y: np.ndarray, eta: Any, aux: dict[str, Any],
             trials: np.ndarray | None = None):
        """Pointwise log-likelihood (PyTensor), normalising constants included."""
        import pymc as pm

        dist = getattr(pm, self.info.pymc).dist(**self._params(eta, aux, trials))
        return pm.logp(dist, y)

    def log_density(self, y: np.ndarray, eta: Any, aux: dict[str, Any],
                    trials: np.ndarray | None = None):
        """Pointwise log-likelihood (PyTensor) written on the link scale, without parameter
        checks: finite and smooth for every finite ``eta``, so an optimiser can step
        anywhere (maximum likelihood, :mod:`hglm.ml`).  Normalising constants included."""
        return _log_density(self, y, eta, aux, trials)

    def logpdf_numpy(self, y: np.ndarray, eta: np.ndarray, aux: dict[str, np.ndarray],
                     trials: np.ndarray | None = None) -> np.ndarray:
        """Pointwise log-likelihood (NumPy/SciPy), broadcasting over draws."""
        return _logpdf_numpy(self, y, eta, aux, trials)

    def simulate_numpy(self, eta: np.ndarray, aux: dict[str, np.ndarray],
                       trials: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
        """Draw responses given the linear predictor (prior and posterior predictive).

        Count means are capped at 1e15 (NumPy's samplers refuse larger ones), which only
        matters for absurd draws from wide priors.
        """
        mu = self.inverse_link_numpy(eta)
        if self.response == "count":
            mu = np.minimum(mu, 1e15)
        if self.name == "gaussian":
            return rng.normal(mu, aux["sigma"])
        if self.name == "poisson":
            return rng.poisson(mu)
        if self.name == "negbinomial":
            alpha = np.broadcast_to(aux["alpha"], np.shape(mu))
            return rng.negative_binomial(alpha, alpha / (alpha + mu))
        n = (np.ones_like(mu, dtype=np.int64) if trials is None
             else np.broadcast_to(trials, np.shape(mu)))
        return rng.binomial(n, mu)


def _log_cdf_normal(x):
    """log Phi(x) = log(erfcx(-x / sqrt2) / 2) - x^2 / 2, one expression stable in the lower
    tail (no underflow); x is capped at 37, where Phi is 1 to machine precision and
    erfcx(-x / sqrt2) would overflow.  Above zero the two terms cancel to about 1e-13, far
    below what a log-likelihood resolves.  (One branch, not two under a switch: the graph's
    third derivatives, which the Laplace objective takes, stay half the size.)"""
    import pytensor.tensor as pt

    capped = pt.minimum(x, 37.0)
    return pt.log(0.5 * pt.erfcx(-capped / np.sqrt(2.0))) - 0.5 * capped**2


def _binary_logs(link: str, eta):
    """(log p, log(1 - p)) of a success probability given on the link scale."""
    import pytensor.tensor as pt

    if link == "logit":
        return -pt.softplus(-eta), -pt.softplus(eta)
    if link == "probit":
        return _log_cdf_normal(eta), _log_cdf_normal(-eta)
    # cloglog: p = 1 - exp(-exp(eta)); eta clipped where exp(eta) would under- or overflow
    rate = pt.exp(pt.clip(eta, -700.0, 700.0))
    return pt.log1mexp(-rate), -rate


def _log_density(family: Family, y, eta, aux, trials):
    import pytensor.tensor as pt

    if family.name == "gaussian":
        mu = eta if family.link == "identity" else pt.exp(eta)
        sigma = aux["sigma"]
        return -0.5 * ((y - mu) / sigma) ** 2 - pt.log(sigma) - 0.5 * np.log(2 * np.pi)
    if family.name in ("poisson", "negbinomial"):
        if family.name == "poisson":
            return y * eta - pt.exp(eta) - pt.gammaln(y + 1.0)
        alpha = aux["alpha"]
        log_total = pt.logaddexp(eta, pt.log(alpha))            # log(mu + alpha)
        return (y * (eta - log_total) + alpha * (pt.log(alpha) - log_total)
                + pt.gammaln(y + alpha) - pt.gammaln(alpha) - pt.gammaln(y + 1.0))
    n = 1.0 if trials is None else trials
    log_p, log_q = _binary_logs(family.link, eta)
    choose = pt.gammaln(n + 1.0) - pt.gammaln(y + 1.0) - pt.gammaln(n - y + 1.0)
    return y * log_p + (n - y) * log_q + choose


def _logpdf_numpy(family: Family, y, eta, aux, trials):
    from scipy import stats
    from scipy.special import gammaln

    mu = family.inverse_link_numpy(eta)
    if family.name == "gaussian":
        # written out: scipy's generic logpdf is ~5x slower on (draws x rows) arrays
        sigma = np.asarray(aux["sigma"])
        return -0.5 * ((y - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)
    if family.name == "poisson" and family.link == "log":
        return y * eta - mu - gammaln(y + 1.0)
    if family.name == "poisson":
        return stats.poisson.logpmf(y, mu)
    if family.name == "negbinomial":
        alpha = aux["alpha"]
        return stats.nbinom.logpmf(y, alpha, alpha / (alpha + mu))
    if family.name == "binomial":
        return stats.binom.logpmf(y, trials, mu)
    return stats.bernoulli.logpmf(y, mu)


def as_family(family: str | Family, link: str | None = None) -> Family:
    """Accept a family name or a :class:`Family`."""
    if isinstance(family, Family):
        if link is not None and link != family.link:
            return Family(family.name, link)
        return family
    if isinstance(family, str):
        return Family(family.lower(), link)
    raise ValueError(f"family must be a name ({', '.join(FAMILIES)}) or hglm.Family, "
                     f"got {type(family).__name__}")

"""Link functions, each once: the inverse link in PyTensor and NumPy, the link in NumPy,
and, for probabilities, log p and log(1 - p) written on the link scale."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Link", "LINKS"]


def _log_cdf_normal(x):
    """log Phi(x) = log(erfcx(-x / sqrt2) / 2) - x^2 / 2, one expression stable in the lower
    tail (no underflow); x is capped at 37, where Phi is 1 to machine precision and
    erfcx(-x / sqrt2) would overflow.  Above zero the two terms cancel to about 1e-13, far
    below what a log-likelihood resolves.  (One branch, not two under a switch: the graph's
    third derivatives, which the Laplace objective takes, stay half the size.)"""
    import pytensor.tensor as pt

    capped = pt.minimum(x, 37.0)
    return pt.log(0.5 * pt.erfcx(-capped / np.sqrt(2.0))) - 0.5 * capped**2


def _pt(name: str):
    import pymc as pm
    import pytensor.tensor as pt

    # probit written out: pm.math.invprobit's sqrt(2.0) is a float32 constant under
    # PyTensor's autocasting, so its probabilities were off by ~1e-8 relative
    return {"identity": lambda e: e, "log": pt.exp, "logit": pm.math.invlogit,
            "probit": lambda e: 0.5 * pt.erfc(-e / np.float64(np.sqrt(2.0))),
            "cloglog": lambda e: -pt.expm1(-pt.exp(e)),
            "inverse": lambda e: 1.0 / e}[name]


def _binary_logs(name: str, eta):
    import pytensor.tensor as pt

    if name == "logit":
        return -pt.softplus(-eta), -pt.softplus(eta)
    if name == "probit":
        return _log_cdf_normal(eta), _log_cdf_normal(-eta)
    # cloglog: p = 1 - exp(-exp(eta)); eta clipped where exp(eta) would under- or overflow
    rate = pt.exp(pt.clip(eta, -700.0, 700.0))
    return pt.log1mexp(-rate), -rate


@dataclass(frozen=True)
class Link:
    """One link function ``g``: ``eta = g(mu)``."""

    name: str

    def inverse(self, eta: Any) -> Any:
        """mu = g^-1(eta) in PyTensor."""
        return _pt(self.name)(eta)

    def inverse_numpy(self, eta: np.ndarray) -> np.ndarray:
        from scipy import special

        return {"identity": lambda e: e, "log": np.exp, "logit": special.expit,
                "probit": special.ndtr,
                "cloglog": lambda e: -np.expm1(-np.exp(e)),
                "inverse": lambda e: 1.0 / e}[self.name](eta)

    def numpy(self, mu: np.ndarray) -> np.ndarray:
        from scipy import special

        return {"identity": lambda m: m, "log": np.log, "logit": special.logit,
                "probit": special.ndtri,
                "cloglog": lambda m: np.log(-np.log1p(-m)),
                "inverse": lambda m: 1.0 / m}[self.name](mu)

    def log_mean(self, eta: Any) -> Any:
        """log mu of a positive mean given on this link's scale (PyTensor): exact on the log
        link, and finite for every finite ``eta`` on the others (mu floored at 1e-10, where
        a positive response's log density is far below any optimum)."""
        import pytensor.tensor as pt

        if self.name == "log":
            return eta
        if self.name == "inverse":      # eta <= 0 has no positive mean: the floor's
            return -pt.log(pt.switch(eta > 0, pt.maximum(eta, 1e-300), 1e10))
        return pt.log(pt.maximum(self.inverse(eta), 1e-10))

    def derivative_numpy(self, eta: np.ndarray) -> np.ndarray:
        """d mu / d eta (NumPy), by central differences: for IRLS's working weights."""
        h = 1e-6 * np.maximum(1.0, np.abs(eta))
        return (self.inverse_numpy(eta + h) - self.inverse_numpy(eta - h)) / (2 * h)

    def binary_logs(self, eta: Any):
        """(log p, log(1 - p)) of a probability given on this link's scale (PyTensor), finite
        for every finite ``eta``."""
        return _binary_logs(self.name, eta)


LINKS = {name: Link(name)
         for name in ("identity", "log", "logit", "probit", "cloglog", "inverse")}

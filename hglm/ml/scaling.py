"""Internal coordinates for maximum likelihood, and the way back to the user's.

The optimizer works on a copy of the design in which

* the fixed-effect columns are orthonormal (scaled to unit RMS, then QR), so an unscaled
  quadratic term (``age + age2``, columns a thousand-fold apart and correlated 0.99) is as
  easy as a designed experiment: ``beta = c * T @ gamma``;
* each group-effect column has unit RMS (scaling only, never centering, so a diagonal block
  ``(x || g)`` stays diagonal): ``Lambda = D^-1 Lambda'``;
* a gaussian response is divided by its RMS ``s`` (the log link takes ``-log s`` into the
  offset instead): sigma, and on the identity link the coefficients, scale with it.

Every map is an exact reparametrization, so the maximized likelihood is the user's; only
the constant Jacobian terms are added back (:meth:`Scaling.loglik`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from hglm.design.matrices import Design

__all__ = ["Scaling", "internal"]


def _rms(values: np.ndarray) -> np.ndarray:
    scale = np.sqrt(np.mean(values**2, axis=0))
    return np.where(scale > 0, scale, 1.0)


@dataclass(frozen=True)
class Scaling:
    """How the internal design relates to the user's."""

    T: np.ndarray                   # (p, p): beta = coef_scale * T @ gamma
    z_scale: tuple[np.ndarray, ...]  # per block of every formula, (q,) RMS of the Z columns
    y_scale: float                  # gaussian response divided by it (1 otherwise)
    coef_scale: float               # y_scale on the gaussian identity link, else 1
    #: each auxiliary formula's map, beta_sigma = T @ gamma (a scale's log shift is in the
    #: internal offset, so nothing is added back)
    dpar_T: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    def beta(self, gamma: np.ndarray) -> np.ndarray:
        return self.coef_scale * self.T @ gamma

    def lam(self, k: int, lam_internal: np.ndarray) -> np.ndarray:
        """A block's covariance factor on the user's scale (relative to sigma for gaussian)."""
        return lam_internal / self.z_scale[k][:, None]

    def loglik(self, value: float, n: int, reml: bool) -> float:
        """The internal log-likelihood on the user's scale (Jacobians of y, and of beta for
        REML, which integrates beta out and so depends on its parametrization as lme4's
        REML criterion does)."""
        out = value - n * np.log(self.y_scale)      # n: the weights' sum where weighted
        if reml:
            p = self.T.shape[0]
            out += p * np.log(self.coef_scale) + np.linalg.slogdet(self.T)[1]
        return float(out)


def _orthonormal(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(X', T) with X' = X @ T, columns orthogonal with unit RMS."""
    n, p = X.shape
    if p == 0:
        return X, np.zeros((0, 0))
    scale = _rms(X)
    Q, R = np.linalg.qr(X / scale)
    signs = np.where(np.diag(R) < 0, -1.0, 1.0)       # keep each column's direction
    Q, R = Q * signs, R * signs[:, None]
    if np.min(np.abs(np.diag(R))) < 1e-10 * np.max(np.abs(np.diag(R))):
        raise ValueError("the fixed-effect columns are linearly dependent; remove the "
                         "aliased terms from the formula")
    T = np.linalg.solve(R, np.eye(p)) * np.sqrt(n) / scale[:, None]
    return Q * np.sqrt(n), T


def internal(design: Design) -> tuple[Design, Scaling]:
    """The design in internal coordinates, and the map back."""
    X, T = _orthonormal(design.X)
    y, offset, y_scale, coef_scale = design.y, design.offset, 1.0, 1.0
    if design.family.scale_parameter:     # a location-scale density in y's units
        y_scale = float(_rms(design.y.astype(float)))
        y = design.y / y_scale
        if design.family.identity_link:
            coef_scale = y_scale
            offset = None if offset is None else offset / y_scale
        else:
            offset = (0.0 if offset is None else offset) - np.log(y_scale) + np.zeros(design.n)
    subs, dpar_T = [], {}
    for sub in design.dpars:
        X_d, dpar_T[sub.dpar] = _orthonormal(sub.X)
        off = sub.offset
        if sub.dpar == design.family.scale_parameter and y_scale != 1.0:   # log(sigma / s)
            off = (0.0 if off is None else off) - np.log(y_scale) + np.zeros(design.n)
        subs.append(dataclasses.replace(sub, X=X_d, y=y, offset=off,
                                        blocks=_unit_blocks(sub.blocks)))
    inner = dataclasses.replace(design, X=X, y=y, offset=offset,
                                blocks=_unit_blocks(design.blocks), dpars=tuple(subs))
    z_scale = tuple(_rms(b.Z) for b in design.all_blocks)
    return inner, Scaling(T, z_scale, y_scale, coef_scale, dpar_T)


def _unit_blocks(blocks) -> tuple:
    """Each group-effect column scaled to unit RMS."""
    return tuple(dataclasses.replace(b, Z=b.Z / _rms(b.Z)) for b in blocks)

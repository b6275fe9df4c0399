"""The Laplace-approximated marginal log-likelihood as a PyTensor graph (exact for gaussian).

Parametrisation as in lme4: each block's group effects are ``b = s * u @ Lambda'`` with
spherical ``u ~ Normal(0, I)``, ``Lambda`` lower triangular with non-negative diagonal
(``theta`` holds its elements) and ``s = sigma`` for gaussian models (``Lambda`` is then the
*relative* covariance factor) or 1 otherwise.  For fixed outer parameters ``phi``
(beta, theta, log sigma / log alpha) the inner variable ``w`` (``u``, plus ``beta`` for REML)
is found by Newton's method; then

    log L(phi) = loglik(y | w*) - |u*|^2 / 2 - log det H(w*) / 2  (+ p/2 log 2 pi for REML)

with ``H = -d^2 G / dw^2``, ``G = loglik - |u|^2 / 2``.  It is exact for gaussian models
(the integrand is Gaussian in ``w``) and glmer's default Laplace approximation otherwise.
REML integrates ``beta`` out under a flat prior the same way.

Every derivative comes from PyTensor; the outer gradient follows from the implicit function
theorem with one extra vector-Jacobian product (see :meth:`LaplaceObjective.value_and_grad`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytensor
import pytensor.tensor as pt

from hglm.design.matrices import Design

__all__ = ["LaplaceObjective", "ParamLayout"]


@dataclass
class ParamLayout:
    """Where each parameter lives in the outer vector ``phi`` and inner vector ``w``."""

    p: int                                  # fixed effects
    reml: bool
    theta: list[slice] = field(default_factory=list)   # one slice per block
    tri: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    u: list[slice] = field(default_factory=list)
    aux: dict[str, int] = field(default_factory=dict)  # log sigma / log alpha position
    n_phi: int = 0
    n_w: int = 0
    n_u: int = 0

    @classmethod
    def from_design(cls, design: Design, reml: bool) -> "ParamLayout":
        layout = cls(p=len(design.fixed_names), reml=reml)
        pos = 0 if reml else layout.p
        for block in design.blocks:
            rows, cols = np.tril_indices(block.q) if block.correlated else \
                (np.arange(block.q), np.arange(block.q))
            layout.tri.append((rows, cols))
            layout.theta.append(slice(pos, pos + len(rows)))
            pos += len(rows)
        for name in design.family.aux:
            layout.aux[name] = pos
            pos += 1
        layout.n_phi = pos
        upos = 0
        for block in design.blocks:
            layout.u.append(slice(upos, upos + block.n_levels * block.q))
            upos += block.n_levels * block.q
        layout.n_u = upos
        layout.n_w = upos + (layout.p if reml else 0)
        return layout

    def theta_is_diagonal(self) -> np.ndarray:
        """Mask over phi: True where a parameter is a diagonal element of some Lambda."""
        mask = np.zeros(self.n_phi, dtype=bool)
        for sl, (rows, cols) in zip(self.theta, self.tri):
            mask[sl] = rows == cols
        return mask


class LaplaceObjective:
    """Compiled PyTensor functions for the inner Newton steps and the outer objective."""

    def __init__(self, design: Design, reml: bool = False) -> None:
        if reml and design.family.name != "gaussian":
            raise ValueError("REML is defined for gaussian models only; use reml=False")
        self.design = design
        self.layout = ParamLayout.from_design(design, reml)
        phi, w = pt.dvector("phi"), pt.dvector("w")
        loglik, G, H, F = self._graph(phi, w)
        grad_w = pt.grad(G, w, disconnected_inputs="ignore")
        self._inner = pytensor.function([phi, w], [G, grad_w, H])
        dF_phi, dF_w = pt.grad(F, [phi, w], disconnected_inputs="ignore")
        self._outer = pytensor.function([phi, w], [F, dF_phi, dF_w, H, loglik])
        v = pt.dvector("v")
        self._cross = pytensor.function(
            [phi, w, v], pt.grad(pt.dot(v, grad_w), phi, disconnected_inputs="ignore"),
            on_unused_input="ignore")

    # -- graph ------------------------------------------------------------------------------
    def _graph(self, phi, w):
        d, lay = self.design, self.layout
        aux = {name: pt.exp(phi[i]) for name, i in lay.aux.items()}
        scale = aux.get("sigma", 1.0)
        beta = w[lay.n_u:] if lay.reml else phi[: lay.p]
        eta = pt.as_tensor(d.X) @ beta if lay.p else pt.zeros(d.n)
        if d.offset is not None:
            eta = eta + d.offset
        columns = []  # d eta / d w, block by block (dense: ML fits are for moderate sizes)
        for block, th, (rows, cols), us in zip(d.blocks, lay.theta, lay.tri, lay.u):
            lam = pt.set_subtensor(pt.zeros((block.q, block.q))[rows, cols], phi[th])
            u = w[us].reshape((block.n_levels, block.q))
            b = scale * u @ lam.T
            per_row = b[block.index]
            eta = eta + pt.sum(pt.as_tensor(block.Z) * per_row, axis=1)
            A = scale * pt.as_tensor(block.Z) @ lam                      # N x q
            M = pt.zeros((d.n, block.n_levels * block.q))
            cols_idx = block.index[:, None] * block.q + np.arange(block.q)[None, :]
            M = pt.set_subtensor(M[np.arange(d.n)[:, None], cols_idx], A)
            columns.append(M)
        if lay.reml:
            columns.append(pt.as_tensor(d.X))
        pointwise = d.family.logp(d.y, eta, {k: v for k, v in aux.items()}, d.trials)
        loglik = pt.sum(pointwise)
        u_all = w[: lay.n_u]
        G = loglik - 0.5 * pt.sum(u_all**2)
        if not columns:
            return loglik, G, pt.zeros((0, 0)), G
        M = pt.concatenate(columns, axis=1) if len(columns) > 1 else columns[0]
        weights = -pt.grad(pt.sum(pt.grad(loglik, eta)), eta)  # diagonal of -d2 loglik / d eta2
        prior = np.r_[np.ones(lay.n_u), np.zeros(lay.n_w - lay.n_u)]
        H = M.T @ (weights[:, None] * M) + pt.diag(prior)
        logdet = 2.0 * pt.sum(pt.log(pt.diag(pt.linalg.cholesky(H))))
        F = G - 0.5 * logdet
        if lay.reml:
            F = F + 0.5 * lay.p * np.log(2 * np.pi)
        return loglik, G, H, F

    # -- numerics ---------------------------------------------------------------------------
    def mode(self, phi: np.ndarray, w0: np.ndarray, tol: float = 1e-10,
             max_iter: int = 100) -> np.ndarray:
        """Maximise G over w by damped Newton steps (one step is exact for gaussian)."""
        w = w0.copy()
        if w.size == 0:
            return w
        G, grad, H = self._inner(phi, w)
        for _ in range(max_iter):
            step = np.linalg.solve(H, grad)
            t = 1.0
            while True:
                G_new, grad_new, H_new = self._inner(phi, w + t * step)
                if np.isfinite(G_new) and G_new >= G - 1e-12 * abs(G) or t < 1e-8:
                    break
                t /= 2
            w = w + t * step
            converged = abs(G_new - G) < tol * (1 + abs(G)) and np.max(np.abs(t * step)) < 1e-7
            G, grad, H = G_new, grad_new, H_new
            if converged:
                break
        return w

    def value_and_grad(self, phi: np.ndarray, w0: np.ndarray):
        """log L(phi), its total gradient, the inner mode w* and the log-likelihood at w*.

        d logL / d phi = dF/dphi + (dF/dw)' dw*/dphi, and dw*/dphi = H^{-1} d2G/dw dphi
        (from grad_w G(phi, w*(phi)) = 0), so the second term is d/dphi [v' grad_w G] with
        v = H^{-1} dF/dw held fixed: one vector-Jacobian product.
        """
        w = self.mode(phi, w0)
        F, dF_phi, dF_w, H, loglik = self._outer(phi, w)
        if w.size:
            v = np.linalg.solve(H, dF_w)
            dF_phi = dF_phi + self._cross(phi, w, v)
        return float(F), np.asarray(dF_phi), w, float(loglik)

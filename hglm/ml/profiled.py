"""The exact gaussian LMM likelihood, profiled over beta and sigma, with a blocked Cholesky.

lme4's formulation (Bates, Mächler, Bolker & Walker 2015, section 3): for the relative
covariance factors ``theta`` the penalized least-squares system

    [L'Z'WZL + I   L'Z'WX] [u]   [L'Z'Wy]
    [X'WZL         X'WX  ] [b] = [X'Wy  ]          (L = Lambda(theta))

gives beta-hat, the penalized residual sum of squares ``r2`` and the log-determinants in
closed form, so only ``theta`` (a handful of numbers) is left to the optimizer:

    ML:   -2 log L = log|L_Z|^2 + n (1 + log(2 pi r2 / n))
    REML: -2 log L = log|L_Z|^2 + log|R_X|^2 + (n - p) (1 + log(2 pi r2 / (n - p)))

with ``n`` the weights' sum (frequency weights).  The Cholesky factor of
``L'Z'WZL + I`` is blocked as in MixedModels.jl (Bates et al., "MixedModels.jl", JOSS
2023): the grouping factor with the most levels comes first, and its diagonal block is
block-diagonal (each row belongs to one level), so it factors level by level; the other
factors form a dense Schur complement whose size is their level count.  All cross-products
with the rows are formed once, so an evaluation never touches the data: InstEval's shape
(73k rows; 2,972, 1,128 and 14 levels) costs a 1,142 x 1,142 Cholesky per evaluation.
SciPy has no sparse Cholesky and scikit-sparse needs SuiteSparse from the system, which a
plain ``pip install`` cannot promise; the blocked form needs neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy import optimize

from hglm.design.matrices import Design
from hglm.ml.layout import ParamLayout
from hglm.ml.optimize import Optimum

__all__ = ["applies", "ProfiledLMM", "maximize_profiled"]

#: central-difference step for the curvature along each theta (internal, unit-scale columns:
#: theta is of order 0.1-1; truncation ~1e-8, rounding ~eps |log L| / 1e-8, 1e-5 at 1M rows)
CURVATURE_STEP = 1e-4
#: Newton polishing steps at most, and the predicted gain of log-likelihood under which the
#: fit counts as converged (a likelihood-ratio statistic then moves by under 2e-6)
POLISH_STEPS = 5
GAIN_TOL = 1e-6
#: polishing goes on while a step promises more than this: the estimates then agree with the
#: joint Laplace optimum to ~1e-7 (the log-likelihood is flat in them to second order)
POLISH_TOL = 1e-11
#: entries of :attr:`_Products.gram`'s matrix at most (~0.3 GB with its index arrays)
GRAM_MAX = 20_000_000
#: a relative sd this small is a candidate for an exact zero (:meth:`ProfiledLMM.snapped`)
ZERO = 1e-5


def applies(design: Design) -> bool:
    """Whether the profiled form is this model's likelihood: group effects that integrate
    out exactly (a gaussian response on the identity link), sigma constant (no formula of
    its own)."""
    return design.family.exact_marginal and not design.dpars and bool(design.blocks)


@dataclass
class _Products:
    """The cross-products of the weighted rows, formed once."""

    first: np.ndarray           # (levels, q, q): Z1'WZ1 per level of the first factor
    rest: sp.csr_matrix         # (S, S): Z2'WZ2 over the other factors
    cross: sp.csr_matrix        # (S, levels * q): Z2'WZ1
    zx: np.ndarray              # (Q, p + 1): Z'W[X y], the first factor's rows first
    xx: np.ndarray              # (p + 1, p + 1): [X y]'W[X y]
    n: float

    @cached_property
    def cross_rows(self) -> np.ndarray:
        return np.repeat(np.arange(self.cross.shape[0]), np.diff(self.cross.indptr))

    @cached_property
    def gram(self) -> tuple[np.ndarray, sp.csr_matrix] | None:
        """``(pairs, K)`` with ``(Z2'WZ1 D Z1'WZ2).flat[pairs] = K @ diag(D)`` on and below
        the diagonal, for a diagonal ``D``: K holds the products of every two entries sharing
        a column of Z2'WZ1.  One sparse matrix-vector product then forms C C' (InstEval's
        shape: 2M products, 6 ms against 60 for a sparse matrix product); None where K would
        have more than :data:`GRAM_MAX` entries."""
        csc = self.cross.tocsc()
        counts = np.diff(csc.indptr)
        if int(np.sum(counts.astype(np.int64) ** 2)) > GRAM_MAX:
            return None
        S, parts = self.cross.shape[0], []
        for j in np.flatnonzero(counts):
            rows = csc.indices[csc.indptr[j]:csc.indptr[j + 1]]
            vals = csc.data[csc.indptr[j]:csc.indptr[j + 1]]
            lower = rows[:, None] >= rows      # the Cholesky reads the lower triangle only
            parts.append(((rows[:, None] * S + rows)[lower], np.outer(vals, vals)[lower],
                          np.full(int(lower.sum()), j)))
        flat, value, column = (np.concatenate(x) for x in zip(*parts))
        pairs, row = np.unique(flat, return_inverse=True)
        return pairs, sp.csr_matrix((value, (row, column)), shape=(pairs.size, csc.shape[1]))

    @cached_property
    def rest_dense(self) -> np.ndarray:
        return self.rest.toarray()


def _products(design: Design, order: list[int]) -> _Products:
    w = np.ones(design.n) if design.weights is None else np.asarray(design.weights, float)
    y = design.y - (0.0 if design.offset is None else design.offset)
    Xy = np.column_stack([design.X, y])
    Z = [design.blocks[k].sparse() for k in order]
    head, tail = Z[0], sp.hstack(Z[1:], format="csr") if len(Z) > 1 else None
    b0 = design.blocks[order[0]]
    q = b0.q
    WZ = head.multiply(w[:, None]).tocsr()
    # the first factor's diagonal blocks, level by level (never a levels^2 matrix)
    outer = np.einsum("ni,nj->nij", b0.Z * w[:, None], b0.Z)
    first = np.zeros((b0.n_levels, q, q))
    np.add.at(first, b0.index, outer)
    if tail is None:
        rest, cross = sp.csr_matrix((0, 0)), sp.csr_matrix((0, head.shape[1]))
    else:
        WT = tail.multiply(w[:, None]).tocsr()
        rest, cross = (tail.T @ WT).tocsr(), (WT.T @ head).tocsr()
        for m in (rest, cross):      # canonical: each entry once, columns sorted
            m.sum_duplicates()
    zx = np.vstack([WZ.T @ Xy] + ([] if tail is None else [WT.T @ Xy]))
    return _Products(first, rest, cross, zx, Xy.T @ (Xy * w[:, None]), float(w.sum()))


class ProfiledLMM:
    """-2 log L of a gaussian LMM as a function of theta (internal coordinates)."""

    def __init__(self, design: Design, reml: bool) -> None:
        self.design, self.reml = design, reml
        self.layout = ParamLayout.from_design(design, reml)
        # the factor with the most group-effect columns first: its block factors level by level
        self.order = sorted(range(len(design.blocks)),
                            key=lambda k: -design.blocks[k].n_levels * design.blocks[k].q)
        self.products = _products(design, self.order)
        self.theta_index = np.concatenate(
            [np.arange(self.layout.n_phi)[self.layout.theta[k]] for k in self.order])
        self.diagonal = self.layout.theta_is_diagonal()[self.theta_index]
        self.scalar = all(b.q == 1 for b in design.blocks)
        self.rest_levels = [design.blocks[k].n_levels for k in self.order[1:]]

    def _lams(self, theta: np.ndarray) -> list[np.ndarray]:
        phi = np.zeros(self.layout.n_phi)
        phi[self.theta_index] = theta
        return [self.layout.lam(phi, k, self.design.blocks[k].q) for k in self.order]

    def _blockdiag(self, lams: list[np.ndarray]) -> sp.csr_matrix:
        """Lambda over the other factors, (S, S)."""
        parts = [sp.kron(sp.identity(self.design.blocks[k].n_levels), lam)
                 for k, lam in zip(self.order[1:], lams[1:])]
        return sp.block_diag(parts, format="csr") if parts else sp.csr_matrix((0, 0))

    def _first(self, lam1: np.ndarray):
        """The first factor's Cholesky blocks ``L11_j = chol(lam1' A_j lam1 + I)``, and
        ``L11_j^-1 lam1'`` (n1, q, q)."""
        F = self.products.first
        if F.shape[1] == 1:         # scalar effects: square roots, no LAPACK calls
            L11 = np.sqrt(lam1[0, 0] ** 2 * F + 1.0)
            return L11, lam1[0, 0] / L11
        L11 = np.linalg.cholesky(lam1.T @ F @ lam1 + np.eye(F.shape[1]))
        return L11, np.linalg.solve(L11, np.broadcast_to(lam1.T, L11.shape))

    def _rest(self, lams: list[np.ndarray], right: np.ndarray):
        """``(schur, C, L2)`` of the other factors: ``C = L2' Z2'WZ1 lam1 L11^-T`` and the
        Schur complement ``L2' Z2'WZ2 L2 + I - C C'`` (dense, S x S)."""
        P = self.products
        if self.scalar and P.gram is not None:
            return self._rest_scalar(lams, right)
        L2 = self._blockdiag(lams)
        q = right.shape[1]
        R = sp.block_diag(list(np.swapaxes(right, 1, 2)), format="csr") if q > 1 else \
            sp.diags(right.ravel())
        C = (L2.T @ P.cross @ R).tocsr()
        schur = (L2.T @ P.rest @ L2).toarray()
        schur[np.diag_indices_from(schur)] += 1.0
        schur -= (C @ C.T).toarray()
        return schur, C, L2

    def _rest_scalar(self, lams: list[np.ndarray], right: np.ndarray):
        """:meth:`_rest` where every Lambda is diagonal: the stored entries are scaled, and
        C C' comes from :attr:`_Products.gram` (the lower triangle only, which is all the
        Cholesky reads)."""
        P = self.products
        l2 = np.repeat([lam[0, 0] for lam in lams[1:]], self.rest_levels)
        C = P.cross.copy()
        C.data = P.cross.data * l2[P.cross_rows] * right.ravel()[P.cross.indices]
        pairs, K = P.gram
        schur = P.rest_dense.copy()
        schur.reshape(-1)[pairs] -= K @ right.ravel() ** 2
        schur *= l2[:, None]
        schur *= l2
        schur[np.diag_indices_from(schur)] += 1.0
        return schur, C, sp.diags(l2)

    def solve(self, theta: np.ndarray):
        """(-2 log L, beta-hat, r2) at ``theta``; LinAlgError where a factor is not positive
        definite (cannot happen for finite theta: every diagonal block is I + PSD)."""
        P, p = self.products, self.design.X.shape[1]
        lams = self._lams(theta)
        L11, right = self._first(lams[0])
        n1, q = L11.shape[:2]
        # forward substitution of L' Z'W[X y] through the blocked factor
        rhs1 = np.einsum("ji,ljk->lik", lams[0], P.zx[: n1 * q].reshape(n1, q, -1))
        c = (rhs1 / L11 if q == 1 else np.linalg.solve(L11, rhs1)).reshape(n1 * q, -1)
        logdet = 2.0 * np.sum(np.log(np.diagonal(L11, axis1=1, axis2=2)))
        if P.rest.shape[0]:
            schur, C, L2 = self._rest(lams, right)
            L22 = sla.cholesky(schur, lower=True, overwrite_a=True, check_finite=False)
            c2 = sla.solve_triangular(L22, L2.T @ P.zx[n1 * q:] - C @ c, lower=True,
                                      check_finite=False)
            logdet += 2.0 * np.sum(np.log(np.diag(L22)))
            c = np.vstack([c, c2])
        # [X y]'W[X y] - c'c: the fixed effects' normal equations and the residual, profiled
        S = P.xx - c.T @ c
        RX = np.linalg.cholesky(S[:p, :p]) if p else np.zeros((0, 0))
        beta = sla.cho_solve((RX, True), S[:p, p]) if p else np.zeros(0)
        r2 = float(S[p, p] - S[:p, p] @ beta)
        if self.reml:
            dof = P.n - p
            value = logdet + 2.0 * np.sum(np.log(np.diag(RX))) + dof * (
                1.0 + np.log(2.0 * np.pi * r2 / dof))
        else:
            value = logdet + P.n * (1.0 + np.log(2.0 * np.pi * r2 / P.n))
        return value, beta, r2

    def deviance(self, theta: np.ndarray) -> float:
        try:
            return float(self.solve(theta)[0])
        except np.linalg.LinAlgError:
            return np.inf

    def start(self) -> np.ndarray:
        """lme4's start: unit relative factors (internal columns have unit scale)."""
        return self.diagonal.astype(float)

    def canonical(self, theta: np.ndarray) -> np.ndarray:
        """The same covariances with every diagonal element non-negative (a column of Lambda
        and its negative give the same Lambda Lambda')."""
        out = theta.copy()
        lay, pos = self.layout, 0
        for k in self.order:
            rows, cols = lay.tri[k]
            part = out[pos: pos + len(rows)]
            flip = {c for r, c, v in zip(rows, cols, part) if r == c and v < 0}
            part[np.isin(cols, list(flip))] *= -1.0
            pos += len(rows)
        return out

    def snapped(self, theta: np.ndarray) -> np.ndarray:
        """Diagonal elements within :data:`ZERO` of zero set to exactly zero where that costs
        no likelihood (under 1e-9): the boundary estimate lme4 reports as a variance of 0."""
        value = self.deviance(theta)
        for i in np.flatnonzero(self.diagonal & (np.abs(theta) < ZERO)):
            trial = theta.copy()
            trial[i] = 0.0
            if self.deviance(trial) <= value + 2e-9:
                theta = trial
        return theta

    def curvature(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(-2 log L, its gradient and the diagonal of its Hessian) by central differences."""
        f0, step = self.deviance(theta), CURVATURE_STEP
        grad, diag = np.zeros_like(theta), np.zeros_like(theta)
        for i in range(theta.size):
            e = np.zeros_like(theta)
            e[i] = step
            up, down = self.deviance(theta + e), self.deviance(theta - e)
            grad[i], diag[i] = (up - down) / (2 * step), (up - 2 * f0 + down) / step**2
        return f0, grad, diag

    def optimum(self, theta: np.ndarray, gain: float, iterations: int) -> Optimum:
        """The estimates in the layout of :class:`hglm.ml.objective.LaplaceObjective`, so
        the rest of ``fit_ml`` reads them alike; converged when a Newton step along each
        parameter would gain less than :data:`GAIN_TOL` of log-likelihood."""
        lay, p = self.layout, self.design.X.shape[1]
        value, beta, r2 = self.solve(theta)
        phi, w = np.zeros(lay.n_phi), np.zeros(lay.n_w)
        phi[self.theta_index] = theta
        phi[lay.aux["sigma"]] = 0.5 * np.log(r2 / (self.products.n - (p if self.reml else 0)))
        if self.reml:
            w[lay.n_u:] = beta
        else:
            phi[:p] = beta
        out = Optimum(phi, w, -0.5 * value, np.zeros(lay.n_phi), gain < GAIN_TOL,
                      np.zeros(lay.n_phi, dtype=bool), [], iterations)
        if not out.converged:
            out.messages.append(f"the optimizer stopped {gain:.2g} short of the maximum "
                                f"log-likelihood; refit, or simplify the random effects")
        return out


def maximize_profiled(objective: ProfiledLMM) -> Optimum:
    """Minimize the profiled deviance over theta, unbounded: it depends on theta only through
    Lambda Lambda', so a diagonal element may pass through zero (a bound at zero, as lme4
    sets, made L-BFGS-B stop on hsb82's correlated slope 123 log-likelihood units short: the
    deviance is even in a block's last diagonal element, so zero is a stationary point).
    L-BFGS-B gets close; Newton steps along each parameter (curvatures by central
    differences) then polish while they gain, and the last one measures how far from the
    maximum the fit stopped."""
    result = optimize.minimize(objective.deviance, objective.start(), method="L-BFGS-B",
                               options={"ftol": 1e-12, "gtol": 1e-8, "maxiter": 1000})
    theta, iterations = result.x, result.nit
    for _ in range(POLISH_STEPS):
        value, grad, diag = objective.curvature(theta)
        curved = diag > 0
        step = np.where(curved, -grad / np.where(curved, diag, 1.0), 0.0)
        gain = 0.25 * float(np.sum(grad[curved] ** 2 / diag[curved]))   # in log L units
        if gain < POLISH_TOL or not objective.deviance(theta + step) < value:
            break
        theta, iterations = theta + step, iterations + 1
    return objective.optimum(objective.snapped(objective.canonical(theta)), gain, iterations)

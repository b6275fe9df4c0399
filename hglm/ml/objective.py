"""The Laplace-approximated marginal log-likelihood as a PyTensor graph (exact for gaussian).

Parametrization as in lme4: each block's group effects are ``b = s * u @ Lambda'`` with
spherical ``u ~ Normal(0, I)``, ``Lambda`` lower triangular with non-negative diagonal
(``theta`` holds its elements) and ``s = sigma`` for gaussian models (``Lambda`` is then the
*relative* covariance factor) or 1 otherwise.  For fixed outer parameters ``phi``
(beta, theta, log sigma / log alpha) the inner variable ``w`` (``u``, plus ``beta`` for REML)
is found by Newton's method; then

    log L(phi) = loglik(y | w*) - |u*|^2 / 2 - log det H(w*) / 2  (+ p/2 log 2 pi for REML)

with ``H = -d^2 G / dw^2``, ``G = loglik - |u|^2 / 2``.  It is exact for gaussian models
(the integrand is Gaussian in ``w``) and glmer's default Laplace approximation otherwise.
REML integrates ``beta`` out under a flat prior the same way.

The log density is the family's link-scale form (:meth:`hglm.Family.log_density`), finite
for every finite linear predictor, so no trial point of the optimizer can make it fail.
``H`` is assembled by scatter-adding each row's ``q x q`` outer products at its levels'
positions (work linear in the rows; a dense ``N x levels`` matrix is never formed).  Every
derivative comes from PyTensor; the outer gradient follows from the implicit function
theorem with one extra vector-Jacobian product (see :meth:`LaplaceObjective.value_and_grad`).

The data enter the compiled functions as arguments, not constants, so PyTensor's rewrites
never fold large arrays (which took seconds) and models of the same structure (family, link,
fixed-effect count, block shapes) share one compiled program in this process
(:data:`_PROGRAMS`).  The functions run on PyTensor's Python linker after its quick
(``fast_compile``) rewrites: every node is one vectorized NumPy/SciPy call, there is nothing
for a C compiler to build, so a first fit on a fresh machine costs seconds rather than a
minute of gcc (sleepstudy 5 s against 43 s with the C backend, hsb82 6 s against 20 s; once
PyTensor's C cache is warm the C backend is 1-3 s faster per fit).
The objective is meant for the internal coordinates of :mod:`hglm.ml.scaling`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pytensor
import pytensor.scalar as ps
import pytensor.tensor as pt
from pytensor.compile import optdb
from pytensor.compile.mode import Mode
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.rewriting.basic import in2out, node_rewriter
from pytensor.graph.rewriting.db import RewriteDatabaseQuery
from pytensor.tensor.elemwise import Elemwise

from hglm.design.matrices import Design
from hglm.ml.layout import ParamLayout

__all__ = ["LaplaceObjective", "ParamLayout"]

#: inner Newton iterations at most; each is exact for gaussian models, GLMMs take 5-15
INNER_MAX_ITER = 100
#: compiled programs kept, by model structure
CACHE_SIZE = 32
_PROGRAMS: OrderedDict = OrderedDict()


def _structure(design: Design, reml: bool) -> tuple:
    """What the compiled program depends on; everything else is data."""
    return (design.family, reml, None if design.categories is None else len(design.categories),
            design.trials is not None, design.weights is not None,
            tuple((d.dpar, len(d.fixed_names), d.offset is not None,
                   tuple((b.q, b.correlated) for b in d.blocks)) for d in design.predictors))


def _data(design: Design) -> list[np.ndarray]:
    """The arrays the program takes after ``phi`` and ``w``, in :class:`_Graph`'s order."""
    out = [design.y.astype(float)]
    out += [design.trials.astype(float)] if design.trials is not None else []
    out += [design.weights.astype(float)] if design.weights is not None else []
    start = 0
    for sub in design.predictors:
        out += [sub.X.astype(float)]
        out += [sub.offset.astype(float)] if sub.offset is not None else []
        for block in sub.blocks:
            positions = start + block.index[:, None] * block.q + np.arange(block.q)[None, :]
            out += [block.Z.astype(float), block.index.astype(np.int64),
                    positions.astype(np.int64), np.int64(block.n_levels)]
            start += block.n_levels * block.q
    return out


@dataclass
class _Predictor:
    """One linear predictor's symbolic data: X, offset, and per block (Z, index, positions,
    levels)."""

    design: Design
    X: object
    offset: object | None
    blocks: list

    @classmethod
    def of(cls, design: Design, k: int) -> _Predictor:
        offset = pt.dvector(f"offset{k}") if design.offset is not None else None
        blocks = [(pt.dmatrix(f"Z{k}_{j}"), pt.lvector(f"index{k}_{j}"),
                   pt.lmatrix(f"pos{k}_{j}"), pt.lscalar(f"levels{k}_{j}"))
                  for j in range(len(design.blocks))]
        return cls(design, pt.dmatrix(f"X{k}"), offset, blocks)

    @property
    def inputs(self) -> list:
        return [self.X] + ([self.offset] if self.offset is not None else []) \
            + [v for block in self.blocks for v in block]


class _Graph:
    """Symbolic data of one model structure and the objective's pieces built on them."""

    def __init__(self, design: Design, reml: bool) -> None:
        self.design, self.reml = design, reml
        self.y = pt.dvector("y")
        self.trials = pt.dvector("trials") if design.trials is not None else None
        self.weights = pt.dvector("weights") if design.weights is not None else None
        self.predictors = [_Predictor.of(d, k) for k, d in enumerate(design.predictors)]
        self.X = self.predictors[0].X
        self.inputs = [self.y] + [v for v in (self.trials, self.weights) if v is not None]
        self.inputs += [v for pred in self.predictors for v in pred.inputs]

    def build(self, phi, w, lay: ParamLayout):
        """(loglik, G, H, F) as functions of phi, w and the data."""
        d = self.design
        aux = {name: d.family.aux_from_internal(name, phi[i]) for name, i in lay.aux.items()}
        # lme4: group effects relative to the residual scale, where the family has a
        # constant one
        scale = aux.get(d.family.scale_parameter, 1.0)
        p = lay.p
        n_w = w.shape[0]
        n_u = n_w - p if lay.reml else n_w
        beta = w[n_u:] if lay.reml else phi[:p]
        etas, loadings, start, k = [], [], 0, 0
        for i, pred in enumerate(self.predictors):
            coef = beta if i == 0 else phi[lay.dpar_fixed[pred.design.dpar]]
            eta = pred.X @ coef if pred.design.fixed_names else pt.zeros_like(self.y)
            if pred.offset is not None:
                eta = eta + pred.offset
            s = scale if i == 0 else 1.0
            for block, (Z, index, pos, levels) in zip(pred.design.blocks, pred.blocks):
                rows, cols = lay.tri[k]
                lam = pt.set_subtensor(pt.zeros((block.q, block.q))[rows, cols],
                                       phi[lay.theta[k]])
                u = w[start:start + levels * block.q].reshape((levels, block.q))
                eta = eta + pt.sum(Z * (s * u @ lam.T)[index], axis=1)
                loadings.append((s * Z @ lam, pos, block.q, i))
                start, k = start + levels * block.q, k + 1
            if i > 0:
                aux[pred.design.dpar] = d.family.aux_link(pred.design.dpar).inverse(eta)
            etas.append(eta)
        rows = d.family.log_density(self.y, etas[0], aux, self.trials)
        loglik = pt.sum(rows if self.weights is None else self.weights * rows)
        G = loglik - 0.5 * pt.sum(w[:n_u] ** 2)
        if lay.n_w == 0:
            return loglik, G, pt.zeros((0, 0)), G
        H = self._hessian(_curvatures(loglik, etas, loadings), loadings, n_w, n_u)
        H = H + pt.diag(pt.concatenate([pt.ones(n_u), pt.zeros(n_w - n_u)]))
        logdet = 2.0 * pt.sum(pt.log(pt.diag(pt.linalg.cholesky(H))))
        F = G - 0.5 * logdet
        if lay.reml:
            F = F + 0.5 * p * np.log(2 * np.pi)
        return loglik, G, H, F

    def _hessian(self, curvature, loadings, n_w, n_u):
        """``M' W M`` for the sparse ``M = d eta / d w``, one scatter-add per pair of
        columns: each row adds ``w_ab a_k a_l`` at its levels' positions (``w_ab``: minus the
        second derivative of its log-likelihood in linear predictors a and b)."""
        H = pt.zeros((n_w, n_w))
        for i, (A, pos, q, a) in enumerate(loadings):
            for j, (A2, pos2, q2, b) in enumerate(loadings[i:], start=i):
                weights = curvature[(a, b)]
                for k in range(q):
                    for m in range(q2):
                        values = weights * A[:, k] * A2[:, m]
                        H = pt.inc_subtensor(H[pos[:, k], pos2[:, m]], values)
                        if j != i:
                            H = pt.inc_subtensor(H[pos2[:, m], pos[:, k]], values)
        if self.reml:   # the fixed effects are inner variables too
            X, weights = self.X, curvature[(0, 0)]
            H = pt.inc_subtensor(H[n_u:, n_u:], X.T @ (weights[:, None] * X))
            for A, pos, q, _ in loadings:
                for k in range(q):
                    cross = (weights * A[:, k])[:, None] * X             # N x p
                    H = pt.inc_subtensor(H[pos[:, k], n_u:], cross)
                    H = pt.inc_subtensor(H[n_u:, pos[:, k]], cross.T)
        return H


def _curvatures(loglik, etas, loadings) -> dict:
    """Per pair (a, b) of linear predictors with group effects, each row's
    ``-d2 loglik / d eta_a d eta_b`` (rows are independent, so the Hessian in the linear
    predictors is diagonal in the rows)."""
    used = sorted({0} | {a for *_, a in loadings})      # 0, the mean's: REML needs it
    out = {}
    for a in used:
        grad_a = pt.sum(pt.grad(loglik, etas[a]))
        for b in used[used.index(a):]:
            out[(a, b)] = -pt.grad(grad_a, etas[b])
            out[(b, a)] = out[(a, b)]
    return out


@node_rewriter([Elemwise])
def _binary_elemwise(fgraph, node):
    """n-ary add/mul -> a chain of binary ones: PyTensor's Python implementation of an
    n-ary Elemwise loops over elements in Python (hsb82: 2 million calls, 16 s a fit)."""
    scalar_op = node.op.scalar_op
    if isinstance(scalar_op, (ps.Add, ps.Mul)) and len(node.inputs) > 2:
        combine = pt.add if isinstance(scalar_op, ps.Add) else pt.mul
        out = node.inputs[0]
        for x in node.inputs[1:]:
            out = combine(out, x)
        return [out]
    return None


def _function(inputs: list, outputs: list):
    """A PyTensor function on the Python linker after the quick rewrites (module docstring)."""
    graph = FunctionGraph(inputs, outputs, clone=True)
    optdb.query(RewriteDatabaseQuery(include=["fast_compile"])).rewrite(graph)
    in2out(_binary_elemwise).rewrite(graph)
    return pytensor.function(graph.inputs, graph.outputs, on_unused_input="ignore",
                             mode=Mode(linker="py", optimizer=None))


def _compile(design: Design, reml: bool, lay: ParamLayout):
    """(inner, outer, cross) functions of ``(phi, w[, v], *data)`` for the design's structure."""
    graph = _Graph(design, reml)
    phi, w, v = pt.dvector("phi"), pt.dvector("w"), pt.dvector("v")
    loglik, G, H, F = graph.build(phi, w, lay)
    grad_w = pt.grad(G, w, disconnected_inputs="ignore")
    dF_phi, dF_w = pt.grad(F, [phi, w], disconnected_inputs="ignore")
    cross = pt.grad(pt.dot(v, grad_w), phi, disconnected_inputs="ignore")
    data = graph.inputs
    inner = _function([phi, w, *data], [G, grad_w, H])
    outer = _function([phi, w, *data], [F, dF_phi, dF_w, H, loglik])
    cross = _function([phi, w, v, *data], [cross])
    return inner, outer, lambda *args: cross(*args)[0]


def _programs(design: Design, reml: bool, lay: ParamLayout):
    key = _structure(design, reml)
    if key not in _PROGRAMS:
        if len(_PROGRAMS) >= CACHE_SIZE:
            _PROGRAMS.popitem(last=False)
        _PROGRAMS[key] = _compile(design, reml, lay)
    _PROGRAMS.move_to_end(key)
    return _PROGRAMS[key]


class LaplaceObjective:
    """The compiled inner Newton steps and outer objective of one design."""

    def __init__(self, design: Design, reml: bool = False) -> None:
        if reml and not design.family.supports_reml:
            from hglm.spec.families import FAMILIES

            names = ", ".join(n for n, f in FAMILIES.items() if f.supports_reml)
            raise ValueError(f"REML is defined for {names} models only; use reml=False")
        if reml and design.dpars:
            raise ValueError("REML is defined here for a constant sigma; with a formula for "
                             f"{', '.join(d.dpar for d in design.dpars)} use reml=False")
        self.design = design
        self.layout = ParamLayout.from_design(design, reml)
        inner, outer, cross = _programs(design, reml, self.layout)
        data = _data(design)
        self._inner = lambda phi, w: inner(phi, w, *data)
        self._outer = lambda phi, w: outer(phi, w, *data)
        self._cross = lambda phi, w, v: cross(phi, w, v, *data)

    # -- numerics ---------------------------------------------------------------------------
    def mode(self, phi: np.ndarray, w0: np.ndarray, tol: float = 1e-10) -> np.ndarray:
        """Maximize G over w by damped Newton steps (one step is exact for gaussian).

        ``G`` is concave for the canonical links; where it is not (the gaussian log link,
        far from the mode), a Levenberg-Marquardt ridge keeps each step an ascent step."""
        w = w0.copy()
        if w.size == 0:
            return w
        G, grad, H = self._inner(phi, w)
        if w.any():
            # the last mode may be far off at the new phi (on an identity or inverse link it
            # can put means below zero, where the density is floored and flat): start from
            # zero effects instead when they do better
            start = self._inner(phi, np.zeros_like(w))
            if not np.isfinite(G) or start[0] > G:
                w = np.zeros_like(w)
                G, grad, H = start
        for _ in range(INNER_MAX_ITER):
            step = _ascent_step(H, grad)
            t = 1.0
            while True:
                G_new, grad_new, H_new = self._inner(phi, w + t * step)
                if np.isfinite(G_new) and G_new >= G - 1e-12 * abs(G) or t < 1e-8:
                    break
                t /= 2
            if not np.isfinite(G_new):
                break
            w = w + t * step
            converged = abs(G_new - G) < tol * (1 + abs(G)) and np.max(np.abs(t * step)) < 1e-8
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
        if w.size and np.isfinite(F):
            v = np.linalg.solve(H, dF_w)
            dF_phi = dF_phi + self._cross(phi, w, v)
        return float(F), np.asarray(dF_phi), w, float(loglik)


def _ascent_step(H: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """Newton's step ``H^-1 grad`` where ``H`` is positive definite, else with a ridge
    ``H + lambda I`` grown until it is (Levenberg-Marquardt)."""
    ridge = 0.0
    scale = max(float(np.max(np.abs(np.diag(H)))), 1.0)
    for _ in range(30):
        try:
            L = np.linalg.cholesky(H + ridge * np.eye(len(H)))
            return np.linalg.solve(L.T, np.linalg.solve(L, grad))
        except np.linalg.LinAlgError:
            ridge = max(2 * ridge, 1e-8 * scale)
    return grad / scale

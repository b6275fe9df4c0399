"""Gaussian models with one factor's random effects integrated out exactly.

For the chosen factor, group ``j``'s rows are ``y_j ~ N(m_j, sigma^2 I + Z_j Sigma Z_j')``
with ``Sigma = L L'`` (all the factor's blocks together, block-diagonal across blocks).  With
``r_j = y_j - m_j``, ``w_j = L' Z_j' r_j`` and ``M_j = I + L' Z_j'Z_j L / sigma^2`` (q x q),
Woodbury and the determinant lemma give

    log p(y_j) = -1/2 [n_j log(2 pi sigma^2) + log|M_j|
                       + (r_j'r_j - w_j' M_j^-1 w_j / sigma^2) / sigma^2].

When the factor is the only one, ``r_j'r_j`` and ``Z_j'r_j`` come from sufficient statistics
(``y'y``, ``X'y``, ``X'X``, ``Z_j'y``, ``Z_j'X``, ``Z_j'Z_j``): a gradient costs
O(levels q^2 p), whatever the number of rows.  Other factors' effects stay sampled
(:class:`IndexedStrategy`) and the residual is then formed row by row.  After sampling,
:meth:`MarginalStrategy.complete` draws the integrated effects from their exact conditional
``u_j ~ N(M_j^-1 w_j / sigma^2, M_j^-1)``, ``r_j = L u_j``.

Other families take this path on the rows where they are gaussian after a fixed transform
(``family.gaussian_part``): a lognormal's log y; a hurdle lognormal's positive rows, whose
zeros and hurdle probability add terms free of the effects (``family.gaussian_remainder``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from hglm import names
from hglm.design.matrices import Design, GroupBlock, take_rows
from hglm.graph.posterior import covariance_cholesky, draws_matrix
from hglm.graph.strategies.base import BlockParams, FixedPart, Strategy, likelihood_name
from hglm.graph.strategies.indexed import IndexedStrategy
from hglm.lazy import lazy

pm = lazy("pymc")
pt = lazy("pytensor.tensor")
xr = lazy("xarray")

__all__ = ["MarginalStrategy", "marginal_factor", "gaussian_design"]


def gaussian_design(design: Design) -> tuple[Design, np.ndarray | None]:
    """The rows on which the likelihood is gaussian in the mean's linear predictor, as a
    gaussian design of the transformed response (a gaussian model's own design), and those
    rows (None: all)."""
    from hglm.spec.families import Family

    part = design.family.gaussian_part(design.y)
    sub = design if part.rows is None else take_rows(design, part.rows)
    sub = dataclasses.replace(sub, y=part.z, family=Family("gaussian", "identity"),
                              dpars=tuple(d for d in sub.dpars if d.dpar == "sigma"))
    return sub, part.rows


def marginal_factor(design: Design) -> str:
    """The factor to integrate out: the one with the most effects (levels x terms)."""
    size: dict[str, int] = {}
    for block in design.blocks:
        size[block.factor] = size.get(block.factor, 0) + block.n_levels * block.q
    return max(size, key=size.get)


@dataclass
class _Stats:
    """Per-level cross products of the integrated factor's terms Z with X, y and Z."""

    ZtZ: np.ndarray       # (G, Q, Q)
    ZtX: np.ndarray       # (G, Q, k)
    Zty: np.ndarray       # (G, Q)
    XtX: np.ndarray       # (k, k)
    Xty: np.ndarray       # (k,)
    yty: float


def _cross(Z: np.ndarray, index: np.ndarray, n_levels: int, V: np.ndarray) -> np.ndarray:
    """Per-level sums of Z_i V_i' over rows: (G, Q, cols)."""
    out = np.zeros((n_levels, Z.shape[1], V.shape[1]))
    for a in range(Z.shape[1]):
        for c in range(V.shape[1]):
            out[:, a, c] = np.bincount(index, weights=Z[:, a] * V[:, c], minlength=n_levels)
    return out


def _stats(Z: np.ndarray, index: np.ndarray, n_levels: int, X: np.ndarray,
           y: np.ndarray) -> _Stats:
    return _Stats(ZtZ=_cross(Z, index, n_levels, Z), ZtX=_cross(Z, index, n_levels, X),
                  Zty=_cross(Z, index, n_levels, y[:, None])[:, :, 0],
                  XtX=X.T @ X, Xty=X.T @ y, yty=float(y @ y))


def _logdet_quad(ZtZ, Ztr, L, scale, Q: int):
    """log|M_j| and w_j' M_j^-1 w_j for every level j, with ``M_j = I + scale L' ZtZ_j L``
    and ``w_j = L' Ztr_j``.  For Q <= 2 the entries are written out elementwise from the
    upper triangle of ZtZ: XLA on CPU runs batched 2 x 2 products as one tiny GEMM per level
    (gaussian-1M's 10,000 levels: a gradient took 3x as long with tensordot)."""
    if Q <= 2:
        z = {(b, c): ZtZ[:, b, c] for b in range(Q) for c in range(b, Q)}
        r = [Ztr[:, b] for b in range(Q)]

        def A(a, d):       # (L' ZtZ L)[a, d] = sum_bc L[b, a] ZtZ[b, c] L[c, d]
            return sum(L[b, a] * L[c, d] * z[min(b, c), max(b, c)]
                       for b in range(Q) for c in range(Q))
        w = [sum(r[b] * L[b, a] for b in range(Q)) for a in range(Q)]
        if Q == 1:
            m = 1.0 + scale * A(0, 0)
            return pt.log(m), w[0] ** 2 / m
        a, b, d = 1.0 + scale * A(0, 0), scale * A(0, 1), 1.0 + scale * A(1, 1)
        det = a * d - b**2
        return pt.log(det), (d * w[0] ** 2 - 2 * b * w[0] * w[1] + a * w[1] ** 2) / det
    M = pt.eye(Q)[None] + scale * pt.tensordot(pt.tensordot(pt.as_tensor(ZtZ), L, axes=[[2], [0]]),
                                               L, axes=[[1], [0]]).dimshuffle(0, 2, 1)
    C = pt.linalg.cholesky(M)
    v = pt.linalg.solve_triangular(C, pt.dot(Ztr, L)[:, :, None], lower=True)[:, :, 0]
    logdet = 2 * pt.sum(pt.log(pt.diagonal(C, axis1=1, axis2=2)), axis=1)
    return logdet, pt.sum(v**2, axis=1)


class MarginalStrategy(Strategy):
    """Gaussian identity-link models: one factor's effects integrated out, the rest sampled."""

    name = "marginal"

    def __init__(self, centered: bool | Mapping[str, bool] | None = None) -> None:
        self.others = IndexedStrategy(centered)
        self._last: tuple = (None, None)

    def _gaussian(self, design: Design) -> tuple[Design, np.ndarray | None]:
        """:func:`gaussian_design`, remembered for the last design: describe, notes, the
        likelihood and the conditional draws ask about the same one, and a hurdle's copies
        its rows."""
        if self._last[0] is not design:
            self._last = (design, gaussian_design(design))
        return self._last[1]

    def unsupported(self, design: Design) -> str | None:
        if design.family.gaussian_part(design.y) is None:
            return ("it integrates random effects out of gaussian models with the identity "
                    "link (and lognormal ones)")
        if not design.blocks:
            return "the model has no random effects to integrate out"
        return None

    def split(self, design: Design) -> tuple[list[GroupBlock], list[GroupBlock]]:
        factor = marginal_factor(design)
        chosen = [b for b in design.blocks if b.factor == factor]
        return chosen, [b for b in design.blocks if b.factor != factor]

    def _integrated(self, design: Design):
        """The integrated factor's blocks, the others, its terms Z (all blocks side by side),
        level index, number of levels, and the response less the offset."""
        chosen, outside = self.split(design)
        Z = np.concatenate([b.Z for b in chosen], axis=1)
        y = design.y - (design.offset if design.offset is not None else 0.0)
        return chosen, outside, Z, chosen[0].index, chosen[0].n_levels, y



    def likelihood(self, design: Design, fixed: FixedPart, blocks: list[BlockParams],
                   aux: dict) -> None:
        weights = np.ones(design.n) if design.weights is None else design.weights
        remainder = design.family.gaussian_remainder(design.y, aux, weights)
        sub, rows = self._gaussian(design)
        sigma = aux["sigma"]
        if rows is not None:
            fixed = FixedPart(fixed.X[rows], fixed.coef)
            sigma = sigma[rows] if sub.dpars else sigma
        by_label = {b.label: b for b in sub.blocks}
        blocks = [dataclasses.replace(p, block=by_label[p.block.label]) for p in blocks]
        pm.Potential(likelihood_name(design, "_marginal"),
                     self._loglik(sub, fixed, blocks, sigma) + remainder)

    def _loglik(self, design: Design, fixed: FixedPart, blocks: list[BlockParams], sigma):
        """The gaussian design's log-likelihood with the chosen factor integrated out."""
        chosen, _, Z, index, G, y = self._integrated(design)
        sw = _root_weights(design)
        labels = {b.label for b in chosen}
        inside = [p for p in blocks if p.block.label in labels]
        outside = [p for p in blocks if p.block.label not in labels]
        Q, n = Z.shape[1], float(np.sum(sw**2))
        Z = Z * sw[:, None]
        L = pt.linalg.block_diag(*[p.scale_tril() for p in inside]) if len(inside) > 1 \
            else inside[0].scale_tril()
        if design.dpars:        # sigma per row (a formula of its own): whiten row by row
            return self._heteroscedastic(design, fixed, outside, sigma, index, G, L)
        if not outside:
            s = _stats(Z, index, G, fixed.X * sw[:, None], y * sw)
            coef = fixed.coef if fixed.X.shape[1] else pt.zeros(0)
            rtr = s.yty - 2 * pt.dot(coef, s.Xty) + pt.dot(coef, pt.dot(s.XtX, coef))
            k = fixed.X.shape[1]      # one matrix-vector product over the levels' rows
            Ztr = s.Zty - pt.dot(s.ZtX.reshape(G * Q, k), coef).reshape((G, Q)) if k \
                else pt.as_tensor(s.Zty)
            ZtZ = s.ZtZ
        else:
            # the other factors' effects stay sampled, placed as the indexed strategy does
            resid = (design.y - self.others.linear_predictor(design, fixed, outside)) * sw
            rtr = pt.sum(resid**2)
            Ztr = pt.zeros((G, Q))[index].inc(pt.as_tensor(Z) * resid[:, None])
            ZtZ = _cross(Z, index, G, Z)
        sigma2 = sigma ** 2
        logdet, quad = _logdet_quad(ZtZ, Ztr, L, 1.0 / sigma2, Q)
        return -0.5 * (n * pt.log(2 * np.pi * sigma2) + pt.sum(logdet)
                       + (rtr - pt.sum(quad) / sigma2) / sigma2)

    def _heteroscedastic(self, design: Design, fixed: FixedPart, outside, sigma, index, G, L):
        """The same integral with a sigma per row: with ``v_i = w_i / sigma_i^2``, ``M_j = I +
        L' (sum_i v_i Z_i Z_i') L`` and ``w_j = L' sum_i v_i Z_i r_i``, log p(y_j) = -1/2 [sum_i
        w_i log(2 pi sigma_i^2) + log|M_j| + sum_i v_i r_i^2 - w_j' M_j^-1 w_j] (Woodbury with
        D = diag(sigma^2); sufficient statistics no longer apply, the cost is per row)."""
        Zu = self._integrated(design)[2]         # unscaled by sqrt(w): v carries the weights
        Q = Zu.shape[1]
        weights = 1.0 if design.weights is None else design.weights
        v = weights / sigma**2
        resid = design.y - self.others.linear_predictor(design, fixed, outside)
        Zt = pt.as_tensor(Zu)
        ZtZ = pt.zeros((G, Q, Q))[index].inc(Zt[:, :, None] * Zt[:, None, :] * v[:, None, None])
        Ztr = pt.zeros((G, Q))[index].inc(Zt * (v * resid)[:, None])
        logdet, quad = _logdet_quad(ZtZ, Ztr, L, 1.0, Q)
        return -0.5 * (pt.sum(weights * pt.log(2 * np.pi * sigma**2)) + pt.sum(logdet)
                       + pt.sum(v * resid**2) - pt.sum(quad))

    def complete(self, idata, design: Design, seed: int | None = None) -> None:
        design = self._gaussian(design)[0]
        chosen, outside, Z, index, G, y = self._integrated(design)
        sw = _root_weights(design)
        Zs = Z * sw[:, None]
        Q = Z.shape[1]
        post = idata.posterior
        rng = np.random.default_rng(seed)
        beta = draws_matrix(post, "beta") if design.fixed_names else np.zeros((1, 0))
        sigma2 = _sigma2_draws(design, post)          # (S, 1), or (S, rows) with a formula
        S = sigma2.shape[0]
        L = np.zeros((S, Q, Q))
        pos = 0
        for block in chosen:
            L[:, pos:pos + block.q, pos:pos + block.q] = covariance_cholesky(post, block)
            pos += block.q
        ZtZ = _cross(Zs, index, G, Zs)
        per_row = sigma2.shape[1] > 1
        stats = _stats(Zs, index, G, design.X * sw[:, None], y * sw) \
            if not (outside or per_row) else None
        others = [(b, draws_matrix(post, names.r(b.label))) for b in outside]
        r = np.empty((S, G, Q))
        # draws per chunk: about 5e6 values in the largest array (per row where rows enter)
        width = G * Q * Q if stats is not None else max(design.n, G * Q * Q)
        chunk = max(1, min(S, int(5e6 // width)))
        for start in range(0, S, chunk):
            s = slice(start, min(S, start + chunk))
            if stats is not None:
                Ztr = stats.Zty[None] - np.einsum("gqk,sk->sgq", stats.ZtX, beta[s])
            else:
                resid = y[None] - beta[s] @ design.X.T
                for block, rb in others:
                    resid = resid - np.einsum("snk,nk->sn", rb[s][:, block.index], block.Z)
                # whitened: each row weighs w_i / sigma_i^2 (sigma_i^2 constant: divided below)
                v = sw**2 / (sigma2[s] if per_row else 1.0) * np.ones_like(resid)
                Ztr = np.stack([_cross(Z, index, G, (res * vs)[:, None])[:, :, 0]
                                for res, vs in zip(resid, v)])
            Ls = L[s]
            if per_row:
                ZtZ_v = np.stack([_cross(Z * vs[:, None], index, G, Z) for vs in v])
                Ztr_v = Ztr
            else:
                s2 = sigma2[s][:, :, None]                     # (draws, 1, 1)
                ZtZ_v, Ztr_v = ZtZ[None] / s2[..., None], Ztr / s2
            M = np.eye(Q) + np.einsum("sba,sgbc,scd->sgad", Ls, ZtZ_v, Ls, optimize=True)
            w = np.einsum("sgb,sba->sga", Ztr_v, Ls, optimize=True)
            u = _gaussian_draw(M, w, rng.standard_normal(w.shape))
            r[s] = np.einsum("sab,sgb->sga", Ls, u, optimize=True)
        chains, draws = post.sizes["chain"], post.sizes["draw"]
        pos = 0
        for block in chosen:
            dims = ("chain", "draw", block.label, names.term_dim(block.label))
            values = r[:, :, pos:pos + block.q].reshape(chains, draws, G, block.q)
            post[names.r(block.label)] = xr.DataArray(
                values, dims=dims, coords={"chain": post.chain, "draw": post.draw,
                                           block.label: list(block.levels),
                                           dims[3]: list(block.terms)})
            pos += block.q

    def notes(self, design: Design) -> dict[str, str]:
        transformed = not design.family.exact_marginal
        design = self._gaussian(design)[0]
        chosen, outside = self.split(design)
        out = self.others.notes(design, outside)
        factor = chosen[0].factor
        out[design.response_name + "_marginal"] = (
            f"log p({design.response_name} | fixed effects, sds, correlations, sigma) with "
            f"{factor}'s effects integrated out exactly (per-level Woodbury identity"
            + (", on sufficient statistics)" if not (outside or design.dpars)
               else ", each row whitened by its own sigma)" if design.dpars else ")")
            + ("; normal on the family's transformed response (log y) where it is, plus the "
               "terms free of the effects (the Jacobian; a hurdle's zeros)" if transformed
               else ""))
        for block in chosen:
            out[names.r(block.label)] = (f"{block.label}'s effects, drawn after sampling from "
                                         "their exact conditional posterior, draw by draw")
        return out

    def completes(self, design: Design) -> list[str]:
        return [names.r(block.label) for block in self.split(design)[0]]

    def describe(self, design: Design) -> dict[str, str]:
        design = self._gaussian(design)[0]
        chosen, outside = self.split(design)
        out = {b.label: "marginalized" for b in chosen}
        out.update(self.others.describe(design, outside))
        return out


def _gaussian_draw(M: np.ndarray, w: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """``M^-1 w + C'^-1 eps`` with ``M = C C'``: a draw from N(M^-1 w, M^-1) for stacks of
    small SPD matrices (..., Q, Q); Q <= 2 written out (NumPy's batched solves of 2 x 2
    systems cost more than the arithmetic), larger Q by NumPy's solves."""
    Q = M.shape[-1]
    if Q == 1:
        c = np.sqrt(M[..., 0, 0])
        return ((w[..., 0] / c + eps[..., 0]) / c)[..., None]
    if Q == 2:
        c00 = np.sqrt(M[..., 0, 0])
        c10 = M[..., 1, 0] / c00
        c11 = np.sqrt(M[..., 1, 1] - c10**2)
        v0 = w[..., 0] / c00 + eps[..., 0]                    # C^-1 w + eps
        v1 = (w[..., 1] - c10 * w[..., 0] / c00) / c11 + eps[..., 1]
        x1 = v1 / c11                                         # C'^-1 v
        return np.stack([(v0 - c10 * x1) / c00, x1], axis=-1)
    C = np.linalg.cholesky(M)
    mean = np.linalg.solve(M, w[..., None])[..., 0]
    return mean + np.linalg.solve(np.swapaxes(C, -1, -2), eps[..., None])[..., 0]


def _sigma2_draws(design: Design, posterior) -> np.ndarray:
    """sigma^2 per draw, (S, 1); or per draw and row, (S, rows), where sigma has a formula."""
    if design.dpar_design("sigma") is None:
        return draws_matrix(posterior, "sigma")[:, None] ** 2
    from hglm.graph.posterior import aux_draws

    return aux_draws(design, posterior)["sigma"] ** 2


def _root_weights(design: Design) -> np.ndarray:
    """sqrt of each row's likelihood weight (ones without weights): the weighted gaussian
    likelihood prod_i N(y_i | m_i, sigma^2)^w_i is quadratic in the effects as before, with
    every row's Z, X and residual scaled by sqrt(w_i) and n replaced by sum(w)."""
    return np.ones(design.n) if design.weights is None else np.sqrt(design.weights)

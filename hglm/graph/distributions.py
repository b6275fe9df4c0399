"""Distributions on Cholesky factors that PyMC lacks in the form a GLMM needs.

* :func:`lkj_cholesky_corr` -- LKJ(eta) on the Cholesky factor ``L`` of a correlation matrix,
  sampled on the unconstrained space through canonical partial correlations (Stan's
  ``cholesky_factor_corr``).  PyMC's ``LKJCorr`` maps each correlation to (-1, 1) on its
  own, which leaves non-positive-definite regions for three or more terms, and
  ``LKJCholeskyCov`` ties the standard deviations to its own prior; here the sds keep their
  own (user-settable) priors.
* :func:`inverse_wishart_cholesky` -- inverse-Wishart(nu, S) on a covariance matrix, as the
  packed Cholesky factor (the semi-conjugate prior of the classic hierarchical normal model).
* :func:`ordered_iid` -- k independent draws of one distribution, sorted (ordinal
  thresholds): PyMC's ordered transform alone keeps the sampler in order, but its forward
  draws (prior predictive, SBC) would come unsorted.

Both values are packed vectors: the strictly lower triangle of ``L`` (row-major) for the
correlation, the full lower triangle for the covariance, so a correlation value lines up
with the pairs (1,0), (2,0), (2,1), ... that ``varcorr()`` reports.
"""

from __future__ import annotations

import math

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.distributions.transforms import CholeskyCovPacked
from pymc.logprob.transforms import Transform
from scipy import stats

__all__ = ["lkj_cholesky_corr", "inverse_wishart_cholesky", "unpack_corr_cholesky",
           "unpack_cov_cholesky", "lkj_log_normalizer", "ordered_iid"]


# --- LKJ on the Cholesky factor of a correlation matrix ------------------------------------
def _rows(n: int) -> list[list[int]]:
    """Positions in the packed vector of each row's strictly-lower elements."""
    pos, rows = 0, []
    for i in range(n):
        rows.append(list(range(pos, pos + i)))
        pos += i
    return rows


class CholeskyCorrTransform(Transform):
    """R^{n(n-1)/2} <-> packed correlation Cholesky factor, via tanh'd partial correlations."""

    name = "cholcorr"

    def __init__(self, n: int):
        self.n = n

    def backward(self, value, *inputs):
        z = pt.tanh(value)
        out = []
        for row in _rows(self.n):
            acc = 0.0
            for p in row:
                w = z[..., p] * pt.sqrt(1.0 - acc)
                acc = acc + w**2
                out.append(w)
        return pt.stack(out, axis=-1)

    def forward(self, value, *inputs):
        out = []
        for row in _rows(self.n):
            acc = 0.0
            for p in row:
                out.append(pt.arctanh(value[..., p] / pt.sqrt(1.0 - acc)))
                acc = acc + value[..., p] ** 2
        return pt.stack(out, axis=-1)

    def log_jac_det(self, value, *inputs):
        z = pt.tanh(value)
        terms = []
        for row in _rows(self.n):
            acc = 0.0
            for p in row:
                terms.append(pt.log1p(-z[..., p] ** 2) + 0.5 * pt.log1p(-acc))
                acc = acc + (z[..., p] * pt.sqrt(1.0 - acc)) ** 2
        return pt.sum(pt.stack(terms, axis=-1), axis=-1)


def lkj_log_normalizer(eta, n: int):
    """log of LKJ's normalizing constant c_n(eta) (Lewandowski, Kurowicka & Joe 2009)."""
    total = 0.0
    for k in range(1, n):
        b = eta + (n - k - 1) / 2.0
        total = total + (2.0 * eta - 2.0 + n - k) * (n - k) * np.log(2.0) \
            + (n - k) * (2.0 * pt.gammaln(b) - pt.gammaln(2.0 * b))
    return total


def _lkj_chol_logp(value, eta, n: int):
    logp = -lkj_log_normalizer(eta, n)
    for i, row in enumerate(_rows(n)):
        if not row:
            continue
        diag2 = 1.0 - pt.sum(value[..., row] ** 2, axis=-1)
        logp = logp + (n - i - 1 + 2.0 * eta - 2.0) * 0.5 * pt.log(diag2)
    return logp


def _lkj_chol_random(eta, n: int, rng, size):
    """Onion-method draws (as in PyMC's LKJCorr), returned as packed Cholesky factors."""
    size = tuple(np.atleast_1d(size)) if size is not None else ()
    beta = float(eta) - 1.0 + n / 2.0
    P = np.zeros(size + (n, n))
    P[..., 0, 0] = 1.0
    r12 = 2.0 * rng.beta(beta, beta, size=size) - 1.0
    P[..., 0, 1], P[..., 1, 1] = r12, np.sqrt(1.0 - r12**2)
    for m in range(2, n):
        beta -= 0.5
        y = rng.beta(m / 2.0, beta, size=size)
        z = rng.normal(size=size + (m,))
        z /= np.linalg.norm(z, axis=-1, keepdims=True)
        P[..., :m, m] = np.sqrt(y)[..., None] * z
        P[..., m, m] = np.sqrt(1.0 - y)
    L = np.swapaxes(P, -1, -2)  # C = P'P, so P' is the lower Cholesky factor
    return L[..., np.tril_indices(n, -1)[0], np.tril_indices(n, -1)[1]]


def lkj_cholesky_corr(name: str, n: int, eta, **kwargs):
    """Packed Cholesky factor of an n x n correlation matrix with an LKJ(eta) prior."""
    k = n * (n - 1) // 2
    # ``shape_of`` only carries the support length k, which the signature cannot infer
    return pm.CustomDist(
        name, eta, np.zeros(k),
        logp=lambda value, eta, shape_of: _lkj_chol_logp(value, eta, n),
        random=lambda eta, shape_of, rng=None, size=None: _lkj_chol_random(eta, n, rng, size),
        signature="(),(k)->(k)", transform=CholeskyCorrTransform(n),
        support_point=lambda rv, size, eta, shape_of: pt.zeros_like(shape_of), **kwargs,
    )


def unpack_corr_cholesky(packed, n: int):
    """The n x n lower-triangular factor from its packed strictly-lower elements."""
    rows = _rows(n)
    L = pt.zeros((n, n))
    lower = np.tril_indices(n, -1)
    L = pt.set_subtensor(L[lower], packed)
    diag = [pt.constant(1.0)] + [pt.sqrt(1.0 - pt.sum(packed[r] ** 2)) for r in rows[1:]]
    return pt.set_subtensor(L[np.arange(n), np.arange(n)], pt.stack(diag))


# --- inverse-Wishart on a covariance matrix --------------------------------------------------
def unpack_cov_cholesky(packed, n: int):
    L = pt.zeros((n, n))
    return pt.set_subtensor(L[np.tril_indices(n)], packed)


def _iw_logp(value, nu, S: np.ndarray):
    q = S.shape[0]
    L = unpack_cov_cholesky(value, q)
    diag = pt.diagonal(L)
    chol_S = np.linalg.cholesky(S)
    M = pt.linalg.solve_triangular(L, chol_S, lower=True)
    log_det_sigma = 2.0 * pt.sum(pt.log(diag))
    logp = (0.5 * nu * np.linalg.slogdet(S)[1] - 0.5 * nu * q * np.log(2.0)
            - pt.gammaln(0.5 * (nu - np.arange(q))).sum() - 0.25 * q * (q - 1) * np.log(np.pi)
            - 0.5 * (nu + q + 1) * log_det_sigma - 0.5 * pt.sum(M**2))
    # density of the Cholesky factor: |d Sigma / d L| = 2^q prod L_ii^(q - i + 1)
    jac = q * np.log(2.0) + pt.sum((q - np.arange(q)) * pt.log(diag))
    return logp + jac


def _iw_random(nu, S: np.ndarray, rng, size):
    size = tuple(np.atleast_1d(size)) if size is not None else ()
    count = int(np.prod(size)) if size else 1
    draws = np.atleast_3d(stats.invwishart.rvs(df=float(nu), scale=S, size=count, random_state=rng))
    draws = draws.reshape((count,) + S.shape)
    L = np.linalg.cholesky(draws)
    packed = L[:, np.tril_indices(S.shape[0])[0], np.tril_indices(S.shape[0])[1]]
    return packed.reshape(size + (packed.shape[-1],))


def inverse_wishart_cholesky(name: str, nu, S: np.ndarray, **kwargs):
    """Packed lower Cholesky factor of a covariance matrix with an inverse-Wishart prior."""
    S = np.atleast_2d(np.asarray(S, dtype=float))
    q = S.shape[0]
    k = q * (q + 1) // 2
    start = np.linalg.cholesky(S / max(float(nu) + q + 1.0, 1.0))  # near the prior's mode
    return pm.CustomDist(
        name, nu, np.zeros(k),
        logp=lambda value, nu, shape_of: _iw_logp(value, nu, S),
        random=lambda nu, shape_of, rng=None, size=None: _iw_random(nu, S, rng, size),
        signature="(),(k)->(k)", transform=CholeskyCovPacked(q),
        support_point=lambda rv, size, nu, shape_of: pt.as_tensor(start[np.tril_indices(q)]),
        **kwargs,
    )


# --- sorted independent draws (ordinal thresholds) -------------------------------------------
def ordered_iid(name: str, prior, values: dict, k: int, initval: np.ndarray, **kwargs):
    """A vector of ``k`` values in increasing order: ``k`` independent draws of ``prior``,
    sorted.  Its density is that of the order statistics, ``k! prod f(x_i)`` on
    ``x_1 < ... < x_k``; forward draws sort the independent ones."""
    from pymc.distributions.transforms import ordered

    # numbers as float64 arrays: PyTensor would read a literal such as 1.5 as float32
    params = {key: v if isinstance(v, pt.Variable) else np.asarray(v, dtype=np.float64)
              for key, v in prior.pymc_kwargs(values).items() if v is not None}
    keys = list(params)
    dist = getattr(pm, prior.pymc_name or type(prior).__name__)

    def base(args, cuts=0.0):
        """The distribution with each parameter on a trailing axis (of length k: ``cuts``)."""
        return dist.dist(**{key: pt.shape_padright(a) + cuts for key, a in zip(keys, args)})

    def draws(*args):
        *args, shape_of, _size = args
        return pt.sort(base(args, pt.zeros_like(shape_of)), axis=-1)

    def logp(value, *args):
        *args, _shape_of = args
        # log k! as a float64 constant (a literal would be read as float32)
        return pt.sum(pm.logp(base(args), value), axis=-1) + np.float64(math.lgamma(k + 1))

    signature = ",".join(["()"] * len(keys) + ["(k)"]) + "->(k)"
    return pm.CustomDist(name, *params.values(), np.zeros(k), dist=draws, logp=logp,
                         signature=signature, transform=ordered,
                         initval=np.asarray(initval, dtype=float), **kwargs)

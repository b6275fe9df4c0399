"""Bridge sampling of the log marginal likelihood (Meng & Wong 1996; Gronau et al. 2017).

The iterative scheme of the R package bridgesampling, ``method = "normal"``: posterior draws
are mapped to PyMC's unconstrained space; the first half of every chain fits a multivariate
normal proposal, the second half enters the iteration with as many proposal draws.  With
``l1 = log q(theta_post) - log g(theta_post)`` and ``l2 = log q(theta_prop) - log g(theta_prop)``
(``q`` the unnormalized posterior including the Jacobian, ``g`` the proposal),

    r <- mean(exp(l2) / (s1 exp(l2) + s2 r)) / mean(1 / (s1 exp(l1) + s2 r))

converges to the marginal likelihood.  The error is the relative mean-squared error of
Frühwirth-Schnatter (2004), with the autocorrelation of the posterior draws taken into
account through their effective sample size.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import arviz as az
import numpy as np
import pymc as pm
import pytensor
from scipy import stats

from hglm.notices import BridgeSamplingWarning

__all__ = ["BridgeResult", "bridge_sampler", "unconstrained_draws"]


@dataclass(frozen=True)
class BridgeResult:
    """log marginal likelihood, its approximate standard error (log scale) and details."""

    logml: float
    error: float
    iterations: int
    n_post: int
    n_prop: int
    ess: float

    def __float__(self) -> float:
        return self.logml

    def __str__(self) -> str:
        return (f"log marginal likelihood {self.logml:.3f} (error {self.error:.3f}; "
                f"{self.iterations} iterations, {self.n_post} posterior draws)")


def unconstrained_draws(model: pm.Model, posterior) -> tuple[np.ndarray, list]:
    """Posterior draws of the free variables on the unconstrained space.

    Returns an array (chains, draws, dims) and the layout [(value var name, shape, slice)].
    """
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    parts, layout, pos = [], [], 0
    for rv in model.free_RVs:
        value = model.rvs_to_values[rv]
        x = np.asarray(posterior[rv.name].values, dtype=float).reshape(chains * draws, -1)
        shape = tuple(posterior[rv.name].shape[2:])
        transform = model.rvs_to_transforms.get(rv)
        if transform is not None:
            x_t = pytensor.shared(x.reshape((chains * draws,) + shape))
            x = transform.forward(x_t, *rv.owner.inputs).eval().reshape(chains * draws, -1)
        size = x.shape[1]
        layout.append((value.name, tuple(model.initial_point()[value.name].shape),
                       slice(pos, pos + size)))
        parts.append(x)
        pos += size
    return np.concatenate(parts, axis=1).reshape(chains, draws, pos), layout


def _logp_fn(model: pm.Model, layout):
    logp = model.compile_logp(jacobian=True)

    def evaluate(matrix: np.ndarray) -> np.ndarray:
        out = np.empty(len(matrix))
        for i, row in enumerate(matrix):
            out[i] = logp({name: row[sl].reshape(shape) for name, shape, sl in layout})
        return out

    return evaluate


def bridge_sampler(model: pm.Model, idata, seed: int | None = None, tol: float = 1e-10,
                   max_iter: int = 1000, warn_error: float = 0.1) -> BridgeResult:
    """Estimate log p(y) for ``model`` from its posterior draws in ``idata``."""
    draws, layout = unconstrained_draws(model, idata.posterior)
    chains, n, dim = draws.shape
    half = n // 2
    if half < 2 or chains * half <= dim:
        raise ValueError(f"bridge sampling fits its proposal to the first half of each chain, "
                         f"which needs more draws than the {dim} parameters; got {chains} chains "
                         f"x {half}")
    fit_part = draws[:, :half].reshape(-1, dim)
    iter_part = draws[:, half:]
    post = iter_part.reshape(-1, dim)
    mean, cov = fit_part.mean(axis=0), np.cov(fit_part, rowvar=False).reshape(dim, dim)
    proposal = stats.multivariate_normal(mean, cov, allow_singular=False)
    rng = np.random.default_rng(seed)
    prop = proposal.rvs(size=len(post), random_state=rng).reshape(len(post), dim)

    logq = _logp_fn(model, layout)
    q11, q21 = logq(post), logq(prop)          # unnormalized posterior at both sets
    q12, q22 = proposal.logpdf(post), proposal.logpdf(prop)
    if not (np.all(np.isfinite(q11)) and np.all(np.isfinite(q12))):
        raise ValueError("the model's log density is not finite at some posterior draws")
    q21 = np.where(np.isfinite(q21), q21, -np.inf)  # proposal draws outside the support
    l1, l2 = q11 - q12, q21 - q22
    n1, n2 = len(l1), len(l2)
    s1, s2 = n1 / (n1 + n2), n2 / (n1 + n2)
    lstar = np.median(l1)
    e1, e2 = np.exp(l1 - lstar), np.exp(l2 - lstar)
    r, iterations = 1.0, 0
    for _ in range(1, max_iter + 1):
        iterations += 1
        r_new = np.mean(e2 / (s1 * e2 + s2 * r)) / np.mean(1.0 / (s1 * e1 + s2 * r))
        done = abs(r_new - r) / r_new < tol
        r = r_new
        if done:
            break
    logml = float(np.log(r) + lstar)

    # relative mean-squared error (bridgesampling's error_measures), on the log scale
    p_post, p_prop = np.exp(q11 - logml), np.exp(q21 - logml)
    g_post, g_prop = np.exp(q12), np.exp(q22)
    f1 = p_prop / (s1 * p_prop + s2 * g_prop)
    f2 = (g_post / (s1 * p_post + s2 * g_post)).reshape(chains, n - half)
    ess = float(az.ess(f2))
    re2 = np.var(f1, ddof=1) / (n2 * np.mean(f1) ** 2) + \
        np.var(f2, ddof=1) / (ess * np.mean(f2) ** 2)
    error = float(np.sqrt(re2))
    result = BridgeResult(logml, error, iterations, n1, n2, ess)
    if error > warn_error or not np.isfinite(error):
        # the error falls as 1 / sqrt(draws)
        need = int(np.ceil(chains * n * (error / warn_error) ** 2)) if np.isfinite(error) else None
        more = f"about {need} draws in all (now {chains * n})" if need else "many more draws"
        warnings.warn(f"the bridge-sampling estimate {logml:.2f} is unstable: its error is "
                      f"{error:.2f} on the log scale (effective sample size {ess:.0f}). "
                      f"Refit with {more} to bring the error under {warn_error}.",
                      BridgeSamplingWarning, stacklevel=2)
    return result

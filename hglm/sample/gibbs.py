"""``sampler="gibbs"``: the full-conditional sweep of the hierarchical normal model.

A second sampler, sharing nothing with NUTS but the model's declaration, so the two can check
each other (``tests/sample/test_gibbs.py``).  For the semi-conjugate model of
:mod:`hglm.sample.conjugate` the group coefficients are sampled centered, ``c_j = A beta + b_j``,
and one sweep draws, for all chains and all groups at once (no Python loop over groups):

* ``c_j | ... ~ MVN(V_j (Sigma^-1 A beta + Z_j' r_j / sigma^2), V_j)``,
  ``V_j = (Sigma^-1 + Z_j' Z_j / sigma^2)^-1`` with ``r_j`` the response minus the fixed part;
* ``beta | ... ~ MVN`` with precision ``C0^-1 + J A' Sigma^-1 A + Xf' Xf / sigma^2``;
* ``Sigma | ... ~ InverseWishart(nu0 + J, S0 + sum_j (c_j - A beta)(c_j - A beta)')``;
* ``sigma^2 | ... ~ InverseGamma(a0 + N / 2, b0 + SSR / 2)``.

For poisson and binomial the ``c_j`` (and ``beta``, when a fixed effect enters the likelihood
directly) take random-walk Metropolis steps instead, the proposal covariance of each group
its conditional's curvature at the warm-up state (``(Sigma^-1 + Z_j' W_j Z_j)^-1``, W the
GLM working weights), scaled towards 30% acceptance during warm-up and frozen after it, so
the kept draws come from a fixed, valid Markov chain.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import stats

from hglm import names
from hglm.design.matrices import Design
from hglm.graph.priors import PriorSet
from hglm.sample.conjugate import ConjugateProblem, conjugate_problem

__all__ = ["sample_gibbs"]

#: warm-up iterations between recomputations of the Metropolis proposal covariances
REFRESH = 25
#: Metropolis acceptance aimed at during warm-up (near-optimal for 2-5 dimensions)
TARGET_ACCEPT = 0.3


def _mvn(prec: np.ndarray, lin: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draws from MVN(prec^-1 lin, prec^-1), batched over leading axes."""
    L = np.linalg.cholesky(prec)
    mean = np.linalg.solve(prec, lin[..., None])[..., 0]
    z = rng.standard_normal(lin.shape)
    return mean + np.linalg.solve(np.swapaxes(L, -1, -2), z[..., None])[..., 0]


def _group_sums(problem: ConjugateProblem, values: np.ndarray) -> np.ndarray:
    """Per-level sums of ``values`` (chains x N) -> chains x J."""
    return np.stack([np.bincount(problem.index, v, minlength=problem.n_levels) for v in values])


def _weighted_cross(problem: ConjugateProblem, w: np.ndarray) -> np.ndarray:
    """Per-level ``Z_j' W Z_j`` for row weights ``w`` (chains x N) -> chains x J x q x q."""
    Z, q = problem.Z, problem.q
    out = np.empty(w.shape[:1] + (problem.n_levels, q, q))
    for k in range(q):
        for m in range(k + 1):
            out[:, :, k, m] = out[:, :, m, k] = _group_sums(problem, w * Z[:, k] * Z[:, m])
    return out


class _Sweep:
    """State and steps of all chains; arrays carry the chain axis first."""

    def __init__(self, problem: ConjugateProblem, chains: int, rng: np.random.Generator):
        self.pb, self.rng, self.C = problem, rng, chains
        self.G = problem.G
        self.GT = self.G.T.tocsr()
        self.ZtZ = _weighted_cross(problem, np.ones((1, len(problem.y))))[0]
        self.gaussian = problem.family == "gaussian"
        self._init_state()
        self.scale_c = np.full((chains, problem.n_levels), 2.38 / np.sqrt(problem.q))
        self.scale_b = np.full(chains, 2.38 / np.sqrt(problem.p))
        self.accept_c = np.zeros((chains, problem.n_levels))
        self.accept_b = np.zeros(chains)
        if not self.gaussian:
            self._refresh_proposals()

    # -- set-up ---------------------------------------------------------------------------
    def _init_state(self) -> None:
        pb, rng, C = self.pb, self.rng, self.C
        X = pb.Xf + pb.Z @ pb.A  # the full fixed design (absorbed columns back)
        target = pb.y - pb.offset
        if pb.family == "poisson":
            target = np.log(pb.y + 0.5) - pb.offset
        elif pb.family == "binomial":
            target = np.log((pb.y + 0.5) / (pb.trials - pb.y + 0.5)) - pb.offset
        beta, *_ = np.linalg.lstsq(X, target, rcond=None)
        resid = target - X @ beta
        jitter = rng.normal(scale=0.1 * (np.abs(beta) + 0.1), size=(C, pb.p))
        self.beta = beta + jitter
        self.s2 = np.full(C, max(float(np.var(resid)), 1e-8))
        self.Sigma = np.broadcast_to(pb.S0 / (pb.nu0 + pb.q + 1), (C, pb.q, pb.q)).copy()
        self.c = np.broadcast_to((self.beta @ pb.A.T)[:, None, :],
                                 (C, pb.n_levels, pb.q)).copy()

    # -- pieces of the linear predictor -------------------------------------------------------
    def eta_groups(self, c: np.ndarray) -> np.ndarray:
        """``z_i' c_j[i]`` for every row: chains x N."""
        return (self.GT @ c.reshape(self.C, -1).T).T

    def eta(self, beta=None, c=None) -> np.ndarray:
        beta = self.beta if beta is None else beta
        c = self.c if c is None else c
        return self.pb.offset + beta @ self.pb.Xf.T + self.eta_groups(c)

    def loglik(self, eta: np.ndarray) -> np.ndarray:
        """Row log-likelihoods up to constants: chains x N."""
        y, n = self.pb.y, self.pb.trials
        if self.pb.family == "poisson":
            return y * eta - np.exp(eta)
        return y * eta - n * np.logaddexp(0.0, eta)

    def weights(self, eta: np.ndarray) -> np.ndarray:
        if self.pb.family == "poisson":
            return np.exp(eta)
        p = 1.0 / (1.0 + np.exp(-eta))
        return self.pb.trials * p * (1 - p)

    def group_prior(self, c: np.ndarray, Sinv: np.ndarray) -> np.ndarray:
        d = c - (self.beta @ self.pb.A.T)[:, None, :]
        return -0.5 * np.einsum("cjk,ckl,cjl->cj", d, Sinv, d)

    # -- the conditionals ---------------------------------------------------------------------
    def step_c(self, adapt: float | None) -> None:
        pb = self.pb
        Sinv = np.linalg.inv(self.Sigma)
        mean = (self.beta @ pb.A.T)[:, None, :]
        if self.gaussian:
            resid = pb.y - pb.offset - self.beta @ pb.Xf.T
            Ztr = (self.G @ resid.T).T.reshape(self.C, pb.n_levels, pb.q)
            s2 = self.s2[:, None, None, None]
            prec = Sinv[:, None] + self.ZtZ[None] / s2
            lin = np.einsum("ckl,cjl->cjk", Sinv, np.broadcast_to(mean, self.c.shape)) \
                + Ztr / s2[..., 0]
            self.c = _mvn(prec, lin, self.rng)
            return
        step = np.einsum("cjkl,cjl->cjk", self.chol_c,
                         self.rng.standard_normal(self.c.shape)) * self.scale_c[..., None]
        proposal = self.c + step
        eta = self.eta()
        eta_new = eta + self.eta_groups(step)
        gain = (_group_sums(pb, self.loglik(eta_new) - self.loglik(eta))
                + self.group_prior(proposal, Sinv) - self.group_prior(self.c, Sinv))
        accept = np.log(self.rng.uniform(size=gain.shape)) < gain
        self.c = np.where(accept[..., None], proposal, self.c)
        self.accept_c += accept
        if adapt is not None:
            prob = np.exp(np.minimum(gain, 0.0))
            self.scale_c *= np.exp(adapt * (prob - TARGET_ACCEPT))

    def _beta_precision(self, Sinv: np.ndarray) -> np.ndarray:
        pb = self.pb
        return pb.prec0 + pb.n_levels * np.einsum("kp,ckl,lr->cpr", pb.A, Sinv, pb.A)

    def step_beta(self, adapt: float | None) -> None:
        pb = self.pb
        Sinv = np.linalg.inv(self.Sigma)
        prec = self._beta_precision(Sinv)
        lin = pb.prec0 @ pb.mu0 + np.einsum("kp,ckl,cl->cp", pb.A, Sinv, self.c.sum(axis=1))
        if self.gaussian:
            resid = pb.y - pb.offset - self.eta_groups(self.c)
            prec = prec + (pb.Xf.T @ pb.Xf)[None] / self.s2[:, None, None]
            lin = lin + resid @ pb.Xf / self.s2[:, None]
        if self.gaussian or not pb.fixed_only:
            self.beta = _mvn(prec, lin, self.rng)
            return
        # a fixed effect outside the group coefficients: Metropolis on the conditional
        proposal = self.beta + self.scale_b[:, None] * np.einsum(
            "cpr,cr->cp", self.chol_b, self.rng.standard_normal(self.beta.shape))
        gain = (self._beta_logp(proposal, prec, lin, Sinv)
                - self._beta_logp(self.beta, prec, lin, Sinv))
        accept = np.log(self.rng.uniform(size=self.C)) < gain
        self.beta = np.where(accept[:, None], proposal, self.beta)
        self.accept_b += accept
        if adapt is not None:
            self.scale_b *= np.exp(adapt * (np.exp(np.minimum(gain, 0.0)) - TARGET_ACCEPT))

    def _beta_logp(self, beta, prec, lin, Sinv) -> np.ndarray:
        # the Gaussian part (prior and group distribution) as a quadratic form, plus the data
        quad = -0.5 * np.einsum("cp,cpr,cr->c", beta, prec, beta) + np.sum(lin * beta, axis=1)
        return quad + self.loglik(self.eta(beta=beta)).sum(axis=1)

    def step_sigma(self) -> None:
        pb = self.pb
        d = self.c - (self.beta @ pb.A.T)[:, None, :]
        S = pb.S0 + np.einsum("cjk,cjl->ckl", d, d)
        df = pb.nu0 + pb.n_levels
        self.Sigma = np.stack([np.atleast_2d(stats.invwishart.rvs(df=df, scale=S[i],
                                                                  random_state=self.rng))
                               for i in range(self.C)])

    def step_s2(self) -> None:
        pb = self.pb
        ssr = np.sum((pb.y - self.eta()) ** 2, axis=1)
        self.s2 = (pb.b0 + ssr / 2) / self.rng.gamma(pb.a0 + len(pb.y) / 2, size=self.C)

    def _refresh_proposals(self) -> None:
        """Proposal Cholesky factors from the conditionals' curvature at the current state."""
        pb = self.pb
        Sinv = np.linalg.inv(self.Sigma)
        w = self.weights(self.eta())
        V = np.linalg.inv(Sinv[:, None] + _weighted_cross(pb, w))
        self.chol_c = np.linalg.cholesky(V)
        prec = self._beta_precision(Sinv) + np.einsum("np,cn,nr->cpr", pb.Xf, w, pb.Xf)
        self.chol_b = np.linalg.cholesky(np.linalg.inv(prec))

    def sweep(self, it: int, tune: int) -> None:
        warm = it < tune
        adapt = 1.0 / (it + 10) ** 0.6 if warm else None
        if not self.gaussian and warm and it and it % REFRESH == 0:
            self._refresh_proposals()
        if it == tune:  # acceptance rates of the kept draws only
            self.accept_c[:] = 0
            self.accept_b[:] = 0
        self.step_c(adapt)
        self.step_beta(adapt)
        self.step_sigma()
        if self.gaussian:
            self.step_s2()


def sample_gibbs(design: Design, priors: PriorSet, draws: int, tune: int, chains: int,
                 seed: int, progressbar: bool = True):
    """Run the sweep; returns (InferenceData, seconds).  Refuses, before any sampling, a model
    outside the semi-conjugate scope (:func:`hglm.sample.conjugate.conjugate_problem`)."""
    problem = conjugate_problem(design, priors)
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    state = _Sweep(problem, chains, rng)
    keep = {"beta": [], "c": [], "Sigma": [], "s2": []}
    iterations = range(tune + draws)
    if progressbar:
        from tqdm.auto import tqdm

        iterations = tqdm(iterations, desc=f"Gibbs ({chains} chains)", unit="it")
    for it in iterations:
        state.sweep(it, tune)
        if it >= tune:
            for name in keep:
                keep[name].append(getattr(state, name))
    out = {k: np.stack(v, axis=1) for k, v in keep.items()}  # chains x draws x ...
    stats_ = {}
    if problem.family != "gaussian":
        stats_["accept_groups"] = np.broadcast_to(
            (state.accept_c.mean(axis=1) / max(draws, 1))[:, None], (chains, draws)).copy()
        if problem.fixed_only:
            stats_["accept_beta"] = np.broadcast_to(
                (state.accept_b / max(draws, 1))[:, None], (chains, draws)).copy()
    elapsed = time.perf_counter() - start
    return _to_idata(design, problem, out, stats_, elapsed), elapsed


def _to_idata(design: Design, problem: ConjugateProblem, out: dict, stats_: dict,
              elapsed: float):
    """The draws under NUTS's variable names, dims and coords (:mod:`hglm.graph.assemble`)."""
    import arviz as az

    from hglm.environment import hglm_version

    block = design.blocks[0]
    label, q = block.label, block.q
    Sigma = out["Sigma"]
    sd = np.sqrt(np.diagonal(Sigma, axis1=-2, axis2=-1))
    corr = Sigma / (sd[..., :, None] * sd[..., None, :])
    rows, cols = np.tril_indices(q, -1)
    chol = np.linalg.cholesky(Sigma)
    lower = np.tril_indices(q)
    posterior = {
        "beta": out["beta"],
        names.chol_cov(label): chol[..., lower[0], lower[1]],
        names.sd(label): sd,
        names.cor(label): corr[..., rows, cols],
        names.r(label): out["c"] - np.einsum("kp,cdp->cdk", problem.A, out["beta"])[:, :, None],
    }
    terms, cors = names.term_dim(label), names.cor_dim(label)
    dims = {"beta": ["coef"], names.sd(label): [terms], names.cor(label): [cors],
            names.r(label): [label, terms]}
    if problem.family == "gaussian":
        posterior["sigma2"] = out["s2"]
        posterior["sigma"] = np.sqrt(out["s2"])
    coords = {"coef": list(design.fixed_names), label: list(block.levels),
              terms: list(block.terms), cors: names.cor_pairs(block.terms)}
    idata = az.from_dict(posterior=posterior, sample_stats=stats_ or None, coords=coords,
                         dims=dims)
    for group in idata.groups():
        idata[group].attrs.update(sampling_time=elapsed, inference_library="hglm gibbs",
                                  hglm_version=hglm_version())
    return idata

"""Simulation-based calibration (Talts et al. 2018; Modrák et al. 2023).

Draw parameters from the model's prior, simulate a response with the same design, fit, and
record where each true population parameter falls among its posterior draws.  If the model
compiler builds the declared model and the sampler recovers its posterior, those ranks are
uniform; :func:`sbc` tests that per parameter with the simultaneous ECDF test of Säilynoja,
Bürkner & Vehtari (2022) and corrects for multiplicity (Holm).

SBC needs priors that do not depend on the data: hglm's data-scaled defaults would be
recomputed from every simulated response, so the posterior would no longer be the prior
updated by the data.  :func:`sbc` therefore refuses a model with default priors.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import stats

from hglm.environment import versions
from hglm.parallel import backend_context

__all__ = ["SBCResult", "sbc", "ecdf_uniformity_pvalue", "check_fixed_priors"]

#: posterior draws a rank is taken among, at most (Talts et al.: ~100, thinned to the ESS)
MAX_RANK_DRAWS = 99


@dataclass
class SBCResult:
    """Ranks per simulation and parameter, and the uniformity test of each parameter."""

    ranks: pd.DataFrame           # sim, parameter, true, rank, n_draws, u
    fits: pd.DataFrame            # sim, divergences, max_rhat, min_ess, seconds
    table: pd.DataFrame           # parameter, n_sims, p_value, p_holm, calibrated
    level: float
    settings: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Whether no parameter fails uniformity at ``level`` after Holm's correction."""
        return bool(self.table["calibrated"].all())

    def summary(self) -> str:
        fits = self.fits
        lines = [f"SBC: {fits.shape[0]} simulations, {self.settings.get('family', '')} "
                 f"{self.settings.get('formula', '')}"
                 + "".join(f", {k} ~ {v.lstrip('~ ')}"
                           for k, v in (self.settings.get("dpars") or {}).items()),
                 f"divergent fits: {(fits['divergences'] > 0).sum()}, fits with R-hat > "
                 f"1.01: {(fits['max_rhat'] > 1.01).sum()}, refitted at a smaller step: "
                 f"{int(fits['refitted'].sum()) if 'refitted' in fits else 0}, run on to "
                 f"more draws: {_extended(fits, self.settings)}, max R-hat "
                 f"{fits['max_rhat'].max():.3f}, median ranks among "
                 f"{int(self.ranks['n_draws'].median())} draws",
                 self.table.to_string(index=False, float_format=lambda v: f"{v:.3g}"),
                 f"{'PASS' if self.passed else 'FAIL'}: uniformity at the {self.level:g} level "
                 f"(Holm-corrected over {len(self.table)} parameters)"]
        return "\n".join(lines)

    def plot(self, parameters: list[str] | None = None, ci_prob: float = 0.99):
        """ECDF of each parameter's fractional ranks minus the uniform CDF, with simultaneous
        ``ci_prob`` bands (ArviZ); a curve leaving its band is a calibration failure."""
        import arviz as az
        import matplotlib.pyplot as plt

        names = parameters or list(self.table["parameter"])
        cols = min(3, len(names))
        rows = -(-len(names) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
        for ax, name in zip(axes.ravel(), names):
            # a copy: ArviZ sorts in place, and pandas hands out read-only views
            u = self.ranks.loc[self.ranks["parameter"] == name, "u"].to_numpy().copy()
            az.plot_ecdf(u, cdf=stats.uniform(0, 1).cdf, rvs=stats.uniform(0, 1).rvs,
                         eval_points=np.linspace(0, 1, 101), difference=True,
                         confidence_bands=True, ci_prob=ci_prob, random_state=0, ax=ax)
            ax.set_title(name, fontsize=9)
        for ax in axes.ravel()[len(names):]:
            ax.set_visible(False)
        fig.tight_layout()
        return fig


# --- the rules --------------------------------------------------------------------------------
def check_fixed_priors(model) -> None:
    """Every prior must be the user's: the defaults are scaled to the (simulated) data."""
    defaults = [e for e in model.prior_set if e.source == "default"]
    if defaults:
        keys = ", ".join(dict.fromkeys(repr(e.key) for e in defaults))
        raise ValueError(
            f"hglm.sbc needs priors that do not depend on the data, but {len(defaults)} "
            f"parameter(s) use hglm's data-scaled defaults, which would be recomputed from "
            f"every simulated response and break SBC's logic; set explicit priors for the "
            f"keys {keys} (see model.priors)")


def check_same_parameters(model, simulator) -> None:
    ours = {e.parameter for e in model.prior_set}
    theirs = {e.parameter for e in simulator.prior_set}
    if ours != theirs or model.design.n != simulator.design.n:
        raise ValueError("the simulator must have the fitted model's parameters and rows; "
                         f"parameters {sorted(ours ^ theirs)} differ")


# --- the uniformity test ------------------------------------------------------------------------
def _gamma_statistic(u: np.ndarray) -> np.ndarray:
    """Smallest two-sided pointwise binomial tail probability of the ECDF (rows: samples)."""
    u = np.sort(np.atleast_2d(u), axis=1)
    n = u.shape[1]
    z = np.arange(1, n) / n
    counts = np.stack([np.searchsorted(row, z, side="right") for row in u])
    lower = stats.binom.cdf(counts, n, z)
    upper = stats.binom.sf(counts - 1, n, z)
    return np.min(2 * np.minimum(lower, upper), axis=1)


def ecdf_uniformity_pvalue(u: np.ndarray, n_null: int = 4000, seed: int = 0) -> float:
    """p-value of the simultaneous ECDF test that ``u`` are uniform on (0, 1): the
    statistic's null distribution is simulated from ``n_null`` uniform samples."""
    u = np.asarray(u, dtype=float)
    null = _gamma_statistic(np.random.default_rng(seed).uniform(size=(n_null, u.size)))
    observed = _gamma_statistic(u)[0]
    return float((1 + np.sum(null <= observed)) / (n_null + 1))


def _holm(p: np.ndarray) -> np.ndarray:
    order = np.argsort(p)
    m = len(p)
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


# --- simulation and refits ----------------------------------------------------------------------
def _extended(fits: pd.DataFrame, settings: dict) -> int:
    """Fits whose chains ran on past the draws asked for (R-hat above 1.01: ``Model.fit``)."""
    if "draws" not in fits or "draws" not in settings:
        return 0                       # recorded before fits could run on
    return int((fits["draws"] > settings["draws"]).sum())


def _fit_one(model, sim: int, y: np.ndarray, truth: dict, settings: dict, seed: int):
    from hglm.results.tables import population_vars, scalar_draws

    start = time.perf_counter()
    refit = model.with_response(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = refit.fit(**settings, seed=seed, progressbar=False)
    diag = fit.diagnostics
    draws = {k: v.ravel() for k, v in
             scalar_draws(fit.posterior, population_vars(fit.design, fit.posterior)).items()}
    total = next(iter(draws.values())).size
    # thin to about the effective sample size, so the ranks are taken among ~independent draws
    n_draws = int(min(MAX_RANK_DRAWS, total, max(diag.min_ess_bulk, 10)))
    keep = np.linspace(0, total - 1, n_draws).round().astype(int)
    rng = np.random.default_rng([seed, sim])
    rows = []
    for name, true in truth.items():
        rank = int(np.sum(draws[name][keep] < true))
        # randomized fractional rank: exactly uniform on (0, 1) for a calibrated model
        u = (rank + rng.uniform()) / (n_draws + 1)
        rows.append({"sim": sim, "parameter": name, "true": float(true), "rank": rank,
                     "n_draws": n_draws, "u": u})
    summary = {"sim": sim, "divergences": diag.divergences, "max_rhat": diag.max_rhat,
               "min_ess": diag.min_ess_bulk, "seconds": time.perf_counter() - start,
               "target_accept": fit.settings.target_accept,
               "refitted": fit.settings.target_accept != refit.default_target_accept
               and settings.get("target_accept") is None,
               "draws": fit.settings.draws,          # twice the asked where R-hat ran it on
               "parameterization": ", ".join(f"{k}: {v}" for k, v in
                                             refit.parameterization.items())}
    return rows, summary


def _fit_batch(spec: dict, jobs: list, settings: dict, seed: int):
    """One worker's share: build the model once, refit it for each simulated response (the
    JAX driver then reuses its compiled sampler)."""

    model = spec.get("model") or spec["build"](spec["spec"], spec["data"])
    return [_fit_one(model, sim, y, truth, settings, seed + sim) for sim, y, truth in jobs]


def sbc(model, n_sims: int = 200, draws: int = 1000, tune: int = 1000, chains: int = 4,
        sampler: str = "auto", seed: int = 0, simulator=None, level: float = 0.01,
        backend: str = "local", client=None, n_jobs: int | None = 1,
        progressbar: bool = True) -> SBCResult:
    """Simulation-based calibration of ``model``'s population parameters.

    ``n_sims`` parameter sets are drawn from the prior with a response each
    (:meth:`hglm.Model.sample_prior_predictive`; from ``simulator``'s instead when given: a
    model with the same parameters, for showing that a mis-specified simulation fails); each
    is refitted with ``draws`` x ``chains`` NUTS draws (``fit``'s defaults, so the check
    covers what a user gets, automatic refits at a smaller step size included), and the
    true values are ranked among draws thinned to their effective sample size.  ``backend``:
    ``"local"``, ``"dask"`` or ``"ray"``, as :func:`hglm.prior_sweep`; ``n_jobs=1`` (the
    default locally) fits in this process, which reuses one compiled sampler for all
    simulations.
    """
    from hglm.results.tables import population_vars, scalar_draws
    from hglm.sample.nuts import resolve_sampler

    if n_sims < 10:
        raise ValueError(f"n_sims must be at least 10 for a uniformity test, got {n_sims}")
    model.design.require_rows("sbc (each simulation is a response per row)")
    check_fixed_priors(model)
    simulator = simulator or model
    check_same_parameters(model, simulator)
    check_fixed_priors(simulator)
    # a seed of its own, so the simulation never replays a stream the data were made with
    prior_seed = int(np.random.SeedSequence([seed, 7]).generate_state(1)[0])
    prior = simulator.sample_prior_predictive(draws=n_sims, seed=prior_seed)
    names = population_vars(model.design, prior.prior)
    truths = {k: v.ravel() for k, v in scalar_draws(prior.prior, names).items()}
    ys = prior.prior_predictive[model.design.response_name].values[0]
    jobs = [(s, ys[s], {k: v[s] for k, v in truths.items()}) for s in range(n_sims)]
    settings = {"draws": draws, "tune": tune, "chains": chains, "sampler": sampler}

    local = backend == "local" and (n_jobs or 1) == 1
    if local:
        bar = _bar(progressbar, n_sims)
        results = []
        for job in jobs:
            results += _fit_batch({"model": model}, [job], settings, seed)
            bar()
        bar(close=True)
    else:
        spec = {"spec": model.spec, "data": model.data, "build": type(model).from_spec}
        workers = n_jobs if n_jobs and n_jobs > 0 else (os.cpu_count() or 1)
        batches = [jobs[i::workers] for i in range(workers)]
        with backend_context(backend, client):
            parts = Parallel(n_jobs=workers, verbose=10 if progressbar else 0)(
                delayed(_fit_batch)(spec, batch, settings, seed) for batch in batches if batch)
        results = [r for part in parts for r in part]
    ranks = pd.DataFrame([row for rows, _ in results for row in rows]).sort_values(
        ["parameter", "sim"], ignore_index=True)
    fits = pd.DataFrame([s for _, s in results]).sort_values("sim", ignore_index=True)
    table = (ranks.groupby("parameter", sort=False)["u"]
             .agg(n_sims="size", p_value=ecdf_uniformity_pvalue).reset_index())
    table["p_holm"] = _holm(table["p_value"].to_numpy())
    table["calibrated"] = table["p_holm"] > level
    info = {**model.spec.to_dict(),
            "simulator": None if simulator is model else repr(simulator), "n_sims": n_sims,
            "seed": seed, **settings, "sampler": resolve_sampler(sampler),
            "versions": versions(("hglm", "pymc", "pytensor", "numpyro", "jax", "arviz"))}
    return SBCResult(ranks, fits, table, level, info)


def _bar(enabled: bool, total: int):
    if not enabled:
        return lambda close=False: None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="SBC fits", unit="fit")

    def update(close=False):
        bar.close() if close else bar.update(1)
    return update

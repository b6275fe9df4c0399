"""PSIS-LOO over the rows a fit stands for, however its data were reduced.

PSIS-LOO scores each row alone: a row's elpd and Pareto k depend only on its own
log-likelihood draws.  So

* rows summed into **distinct rows with counts** (a reduced Dask frame, ``counts=``) share
  their values with every copy: the full rows' LOO is each distinct row's LOO per copy,
  counted as often as the row occurs.  Exact, with no pass over the rows.
* **moment points** (gaussian models of a Dask frame with continuous columns) stand for no
  rows at all.  Their LOO is a map over the frame's partitions: the posterior draws (thinned
  to fit in a worker's memory) go to every partition, which returns sums only.  Comparing fits
  needs their pointwise differences, so :func:`loo_rows` evaluates every fit in the same pass.

ArviZ's ``psislw`` does the smoothing in both, with ArviZ's relative efficiency, so a fit of
pandas rows gives exactly ``az.loo``'s numbers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import combinations

import arviz as az
import numpy as np
import pandas as pd
from scipy.special import logsumexp

__all__ = ["Loo", "loo", "loo_rows", "summed_se", "weighted_elpd"]

#: Pareto k above which a row's PSIS estimate is unreliable (Vehtari et al. 2024)
BAD_K = 0.7
#: the draws sent to every partition by the distributed map, at most: PSIS's k estimate and
#: the elpd's Monte Carlo error settle well within 1,000 draws (Vehtari et al. 2024, fig. 5)
MAP_DRAWS = 1000
#: and at most this many bytes of draws per worker (group effects dominate: 1,000 draws of
#: 100,000 groups x 2 effects are 1.6 GB, more than the 100M-row demo's 2 GB workers hold)
MAP_BYTES = 256e6
#: the fewest draws the map thins to; fewer leave PSIS's tail fit too noisy
MIN_DRAWS = 100
#: rows x draws evaluated at once inside a partition (160 MB of doubles)
CHUNK_VALUES = 2e7


@dataclass(frozen=True)
class Loo:
    """A fit's PSIS-LOO over the ``n_rows`` rows it stands for.  ``pointwise`` and
    ``pareto_k`` are per unit (a row, or a distinct row per copy, ``counts`` copies each);
    None where a distributed map returned only sums."""

    elpd: float
    se: float
    p_loo: float
    n_bad_k: int
    n_rows: int
    draws: int
    pointwise: np.ndarray | None = None
    pareto_k: np.ndarray | None = None
    counts: np.ndarray | None = None

    def __str__(self) -> str:
        return (f"PSIS-LOO over {self.n_rows:,} rows ({self.draws:,} draws): elpd_loo "
                f"{self.elpd:.1f} (SE {self.se:.1f}), p_loo {self.p_loo:.1f}, "
                f"{self.n_bad_k} row(s) with Pareto k > {BAD_K}")


def weighted_elpd(values: np.ndarray, counts: np.ndarray | None = None) -> tuple[float, float]:
    """``(sum, se)`` of pointwise values each standing for ``counts`` rows: loo's
    ``sqrt(n var)`` over the rows, without repeating them."""
    counts = np.ones(len(values)) if counts is None else np.asarray(counts, float)
    return summed_se(counts.sum(), np.sum(counts * values), np.sum(counts * values ** 2))


def summed_se(n: float, total: float, squares: float) -> tuple[float, float]:
    """``(total, sqrt(n var))`` of ``n`` pointwise values from their sum and sum of squares."""
    return float(total), float(np.sqrt(max(squares - total ** 2 / n, 0.0)))


def loo(fit, draws: int | None = None) -> Loo:
    """PSIS-LOO of ``fit`` over the rows it stands for (``fit.loo()``); ``draws`` thins the
    posterior evenly to that many (all by default; the distributed map of moment points
    uses at most :data:`MAP_DRAWS`)."""
    if fit.design.moments:
        return loo_rows([fit], draws)[0][0]
    return _loo_in_memory(fit, draws)


def _loo_in_memory(fit, draws: int | None) -> Loo:
    design = fit.design
    ll = fit.log_likelihood()[design.response_name]       # (chain, draw, unit), weighted
    counts = design.counts
    if counts is not None:                                # per copy: the row's own weight
        ll = ll / counts
    posterior = fit.posterior
    if draws is not None:
        keep = _thinned(posterior.sizes["chain"] * posterior.sizes["draw"], draws,
                        posterior.sizes["draw"])
        ll, posterior = ll.isel(draw=keep), posterior.isel(draw=keep)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # Pareto k is reported in n_bad_k instead
        result = az.loo(az.InferenceData(posterior=posterior,
                                         log_likelihood=ll.to_dataset()), pointwise=True)
    pointwise = result.loo_i.values
    lpd = logsumexp(ll.stack(s=("chain", "draw")).values, axis=-1) - np.log(result.n_samples)
    k = result.pareto_k.values
    elpd, se = weighted_elpd(pointwise, counts)
    weights = np.ones(len(pointwise)) if counts is None else counts
    return Loo(elpd, se, float(np.sum(weights * (lpd - pointwise))),
               int(np.sum(weights * (k > BAD_K))), int(round(weights.sum())),
               int(result.n_samples), pointwise, k, counts)


def _thinned(total: int, wanted: int, per_chain: int) -> np.ndarray:
    """Indices of about ``wanted`` draws per ``total``, evenly spaced within each chain."""
    step = max(1, int(np.ceil(total / max(wanted, 1))))
    return np.arange(0, per_chain, step)


def loo_rows(fits, draws: int | None = None) -> tuple[list[Loo], dict]:
    """PSIS-LOO of fits of moment points at the rows of the Dask frame they were reduced
    from, in one pass over its partitions: ``(loos, pairs)``, ``pairs[(a, b)]`` the sum and
    sum of squares over rows of ``elpd_a - elpd_b``."""
    from hglm.design.distributed import compute

    source = _shared_source(fits)
    models = [_shipped(f, draws) for f in fits]
    n_models = len(models)
    meta = pd.DataFrame({c: pd.Series(dtype=float) for c in _columns(n_models)})
    sums = source.map_partitions(_partition_loo, models, meta=meta).sum()
    totals = compute(sums)[0]
    n = float(totals["n"])
    loos = []
    for m in range(n_models):
        elpd, se = summed_se(n, totals[f"elpd{m}"], totals[f"sq{m}"])
        loos.append(Loo(elpd, se, float(totals[f"p{m}"]), int(totals[f"bad{m}"]), int(n),
                        models[m]["draws"]))
    pairs = {(a, b): (float(totals[f"d{a}_{b}"]), float(totals[f"dd{a}_{b}"]))
             for a, b in combinations(range(n_models), 2)}
    return loos, pairs


def _shared_source(fits):
    from hglm.design.distributed import is_dask

    sources = [f.model.source_data for f in fits]
    if not all(is_dask(s) for s in sources):
        raise ValueError("LOO at the rows needs every fit reduced from a Dask frame; fit them "
                         "all to the same frame (hglm.Model(formula, ddf))")
    if len({s._name for s in sources}) > 1:
        raise ValueError("models must be fitted to the same rows: these fits were reduced from "
                         "different Dask frames; fit them all to the same frame")
    return sources[0]


def _shipped(fit, draws: int | None) -> dict:
    """What a partition needs of ``fit``: its design, thinned draws, and ArviZ's relative
    efficiency of those draws (as ``az.loo`` computes it)."""
    from hglm.design.distributed import model_columns

    posterior = fit.posterior
    chains, per_chain = posterior.sizes["chain"], posterior.sizes["draw"]
    total = chains * per_chain
    per_draw = sum(v.size for v in posterior.data_vars.values()) / total * 8
    wanted = draws or int(min(MAP_DRAWS, max(MIN_DRAWS, MAP_BYTES // per_draw)))
    thinned = posterior.isel(draw=_thinned(total, wanted, per_chain))
    n = thinned.sizes["chain"] * thinned.sizes["draw"]
    ess = az.ess(thinned, method="mean")
    reff = 1.0 if chains == 1 else float(np.hstack(
        [ess[v].values.ravel() for v in ess.data_vars]).mean() / n)
    return {"design": fit.design, "posterior": thinned.load(), "reff": reff, "draws": n,
            "columns": model_columns(fit.spec)}


def _columns(n_models: int) -> list[str]:
    out = ["n"]
    for m in range(n_models):
        out += [f"elpd{m}", f"sq{m}", f"p{m}", f"bad{m}"]
    for a, b in combinations(range(n_models), 2):
        out += [f"d{a}_{b}", f"dd{a}_{b}"]
    return out


def _partition_loo(part: pd.DataFrame, models: list[dict]) -> pd.DataFrame:
    """One partition's sums: rows, and per model elpd, its square, p_loo and bad k; per
    pair of models the differences' sum and sum of squares."""
    columns = sorted({c for m in models for c in m["columns"]})
    part = part[columns].dropna()       # as the reduction: rows missing a model column drop
    out = dict.fromkeys(_columns(len(models)), 0.0)
    out["n"] = float(len(part))
    if len(part) == 0:
        return pd.DataFrame([out])
    rows = max(1, int(CHUNK_VALUES // max(m["draws"] for m in models)))
    for start in range(0, len(part), rows):
        chunk = part.iloc[start:start + rows]
        elpds = []
        for m, model in enumerate(models):
            elpd, p, k = _chunk_loo(model, chunk)
            out[f"elpd{m}"] += elpd.sum()
            out[f"sq{m}"] += np.sum(elpd ** 2)
            out[f"p{m}"] += p.sum()
            out[f"bad{m}"] += float(np.sum(k > BAD_K))
            elpds.append(elpd)
        for a, b in combinations(range(len(models)), 2):
            diff = elpds[a] - elpds[b]
            out[f"d{a}_{b}"] += diff.sum()
            out[f"dd{a}_{b}"] += np.sum(diff ** 2)
    return pd.DataFrame([out])


def _chunk_loo(model: dict, rows: pd.DataFrame):
    """Pointwise elpd_loo, p_loo and Pareto k of ``rows`` under one model's draws."""
    from hglm.graph.posterior import aux_draws, linear_predictor

    design, posterior = model["design"], model["posterior"]
    rows = rows.reset_index(drop=True)
    eta = linear_predictor(design, posterior, rows, allow_new_levels=False)
    aux = aux_draws(design, posterior, rows, allow_new_levels=False)
    ll = design.family.logpdf_numpy(_response(design, rows), eta, aux, None).T   # (rows, S)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lw, k = az.psislw(-ll, model["reff"])
    elpd = logsumexp(lw + ll, axis=1)
    lpd = logsumexp(ll, axis=1) - np.log(ll.shape[1])
    return elpd, lpd - elpd, np.asarray(k)


def _response(design, rows: pd.DataFrame) -> np.ndarray:
    """The response of ``rows`` as the formula reads it (``log(y)`` included)."""
    import formulae
    from formulae.matrices import DesignMatrices

    from hglm.design.matrices import formula_env

    response = DesignMatrices(formulae.model_description(
        design.formula.response_formulae + " ~ 1"), rows, formula_env()).response
    return np.asarray(response.design_matrix, dtype=float).reshape(len(rows), -1)[:, 0]

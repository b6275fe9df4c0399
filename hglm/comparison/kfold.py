"""Grouped K-fold cross-validation: leave out whole levels of a grouping factor, refit, score.

Where PSIS-LOO's Pareto k is high (common with one or few observations per level), leaving
out whole groups and refitting gives an honest estimate of predictive performance for new
groups.  Each held-out observation is scored by ``log mean_s p(y_i | draw s)``, its group's
effects drawn from the fitted population distribution for each draw.  The folds are refitted
in parallel with joblib (on this machine, a Dask cluster or Ray, as ``prior_sweep``); the
priors of the full-data fit are kept fixed in every refit.  Rows that stand for several
(``counts``, a reduced Dask frame) score as that many rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from scipy.special import logsumexp

from hglm.comparison.loo import weighted_elpd
from hglm.design.matrices import factor_labels
from hglm.parallel import backend_context

__all__ = ["KFoldResult", "kfold"]


@dataclass(frozen=True)
class KFoldResult:
    elpd: float
    se: float
    pointwise: np.ndarray          # one value per row of the design
    K: int
    group: str


def _fixed_priors(model) -> dict[str, str]:
    """The full-data priors as explicit keys, so refits do not re-derive data-scaled defaults."""
    out = {e.parameter: repr(e.prior) for e in model.prior_set if e.source == "default"}
    out.update({k: repr(v) for k, v in model.prior_set.user.items()})
    return out


def _check_categories(design, categories: tuple | None) -> None:
    """An ordinal refit must have every category (its data hold the codes 0 .. K-1): one
    its training rows lack would drop a threshold and renumber the rest."""
    if categories is None or design.categories == tuple(range(len(categories))):
        return
    missing = [categories[k] for k in range(len(categories)) if k not in design.categories]
    raise ValueError(f"grouped K-fold: a fold's training rows have no response in categor"
                     f"{'ies' if len(missing) > 1 else 'y'} {', '.join(map(repr, missing))}, "
                     f"so its refit has fewer thresholds than the model; use fewer folds (K)")


def _fold(spec: dict, train: np.ndarray, test: np.ndarray, seed: int) -> np.ndarray:
    import warnings

    from hglm.results.predict import aux_draws, linear_predictor

    data = spec["data"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = spec["build"](spec["model"], data.iloc[train])
        _check_categories(model.design, spec["categories"])
        fit = model.fit(**spec["settings"], seed=seed, progressbar=False, cores=1)
    design = fit.design
    test_rows = data.iloc[test]
    rng = np.random.default_rng(seed)       # new levels' effects, in the mean and the rest
    eta = linear_predictor(design, fit.posterior, test_rows, rng=rng)
    aux = aux_draws(design, fit.posterior, test_rows, rng=rng)
    trials = spec["trials"][test] if spec["trials"] is not None else None
    ll = design.family.logpdf_numpy(spec["y"][test], eta, aux, trials)
    return logsumexp(ll, axis=0) - np.log(ll.shape[0])


def kfold(fit, group: str, K: int = 10, seed: int | None = None,
          n_jobs: int | None = None, draws: int | None = None, backend: str = "local",
          client=None) -> KFoldResult:
    """Grouped K-fold elpd of ``fit``: folds are sets of levels of ``group``; ``backend``:
    where the folds are refitted (``"local"``, ``"dask"`` or ``"ray"``, as
    :func:`hglm.prior_sweep`)."""
    design = fit.design
    design.require_rows("grouped K-fold")
    if group not in {b.factor for b in design.blocks} and group not in design.data.columns:
        raise ValueError(f"group {group!r} is not a grouping factor or column of "
                         f"{design.formula.formula!r}")
    labels = factor_labels(design.data, group).to_numpy()
    levels = np.unique(labels)
    if not 2 <= K <= len(levels):
        raise ValueError(f"K must be between 2 and the number of levels of {group!r} "
                         f"({len(levels)}), got {K}")
    seed = fit.settings.seed if seed is None else seed
    rng = np.random.default_rng(seed)
    fold_of_level = dict(zip(rng.permutation(levels), np.arange(len(levels)) % K))
    fold = np.array([fold_of_level[v] for v in labels])
    settings = {**fit.call, "draws": draws or fit.call["draws"]}
    del settings["seed"], settings["cores"]          # each fold's own seed, one core each
    # the fit's own model (strategy and centering included), its priors fixed at the full data's
    spec = {"model": fit.spec.update(priors=_fixed_priors(fit.model)), "data": _rows(fit),
            "build": type(fit.model).from_spec,      # the model's own constructor
            "settings": settings, "y": design.y, "trials": design.trials,
            "categories": design.categories}
    jobs = n_jobs or (min(K, os.cpu_count() or 1) if backend == "local" else -1)
    with backend_context(backend, client):
        results = Parallel(n_jobs=jobs)(
            delayed(_fold)(spec, np.flatnonzero(fold != k), np.flatnonzero(fold == k),
                           seed + k) for k in range(K))
    pointwise = np.empty(design.n)
    for k, values in enumerate(results):
        pointwise[fold == k] = values
    return KFoldResult(*weighted_elpd(pointwise, design.counts), pointwise, K, group)


def _rows(fit):
    """The design's rows with the columns a refit reads besides the formula's: the weights
    and the counts (the design's own, so rows the model dropped stay dropped)."""
    design, spec = fit.design, fit.spec
    data = design.data
    if spec.counts:
        data = data.assign(**{spec.counts: design.counts})
    if spec.weights:
        counts = 1 if design.counts is None else design.counts
        data = data.assign(**{spec.weights: design.weights / counts})
    return data

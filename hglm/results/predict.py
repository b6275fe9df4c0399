"""Predictions from posterior draws: linear predictor, mean, simulated responses.

New levels of a grouping factor get effects drawn from the fitted population distribution,
draw by draw (brms's ``sample_new_levels = "uncertainty"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hglm.design.matrices import Design
from hglm.graph.posterior import aux_draws, draws_matrix, linear_predictor

__all__ = ["linear_predictor", "aux_draws", "draws_matrix", "predict_draws", "trials_for",
           "pointwise_log_likelihood"]


def trials_for(design: Design, newdata: pd.DataFrame | None) -> np.ndarray | None:
    """Binomial trials of the rows predicted: the design's own, or read from ``newdata``."""
    if design.family.response != "binomial":
        return None
    if newdata is None:
        return design.trials
    import formulae
    from formulae.matrices import DesignMatrices

    from hglm.design.matrices import formula_env

    try:
        response = DesignMatrices(formulae.model_description(
            design.formula.response_formulae + " ~ 1"), newdata.reset_index(drop=True),
            formula_env()).response
        values = np.asarray(response.design_matrix)
        return values[:, 1].astype(np.int64) if values.ndim == 2 else np.ones(len(newdata), int)
    except Exception:
        raise ValueError(f"binomial predictions need the trials of each new row: give newdata "
                         f"the columns of {design.formula.response!r}") from None


def predict_draws(design: Design, posterior, newdata=None, kind: str = "mean",
                  include_random: bool = True, allow_new_levels: bool = True,
                  seed=None, dpar: str | None = None) -> np.ndarray:
    """(draws, rows) array of the linear predictor, the mean, or simulated responses; an
    ordinal family's mean is its category probabilities, (draws, rows, categories).  With
    ``dpar`` (an auxiliary parameter), that parameter per row (``kind="mean"``) or its
    linear predictor (``kind="link"``)."""
    if kind not in ("link", "mean", "response"):
        raise ValueError(f"kind must be 'link', 'mean' or 'response', got {kind!r}")
    if newdata is None:
        design.require_rows("predictions at the fitted rows (give newdata)")
    rng = np.random.default_rng(seed)
    if dpar is not None:
        return _dpar_draws(design, posterior, newdata, kind, include_random,
                           allow_new_levels, rng, dpar)
    eta = linear_predictor(design, posterior, newdata, include_random, allow_new_levels, rng)
    if kind == "link":
        return eta
    trials = trials_for(design, newdata)
    aux = aux_draws(design, posterior, newdata, include_random, allow_new_levels, rng)
    if kind == "mean":
        return design.family.response_mean(eta, aux, trials)
    return design.family.simulate_numpy(eta, aux, trials, rng)


def _dpar_draws(design: Design, posterior, newdata, kind: str, include_random: bool,
                allow_new_levels: bool, rng, dpar: str) -> np.ndarray:
    """An auxiliary parameter per row (or its linear predictor), a constant one repeated."""
    family = design.family
    if dpar not in family.aux or family.aux_coords(dpar, design.categories) is not None:
        scalar = [a for a in family.aux if family.aux_coords(a, design.categories) is None]
        raise ValueError(f"dpar={dpar!r} is not a parameter of family {family.name!r}; "
                         f"choose one of {', '.join(scalar) or '(none)'} or leave it out")
    if kind == "response":
        raise ValueError("kind='response' simulates the response; with dpar give kind='mean' "
                         "(the parameter) or kind='link' (its linear predictor)")
    sub = design.dpar_design(dpar)
    if sub is not None:
        eta = linear_predictor(sub, posterior, newdata, include_random, allow_new_levels, rng)
        return eta if kind == "link" else family.aux_link(dpar).inverse_numpy(eta)
    n = design.n if newdata is None else len(newdata)
    value = np.repeat(draws_matrix(posterior, dpar)[:, None], n, axis=1)
    return family.aux_link(dpar).numpy(value) if kind == "link" else value


def pointwise_log_likelihood(design: Design, posterior) -> np.ndarray:
    """(draws, rows) log-likelihood of each fitted row given every draw's parameters."""
    design.require_rows("the pointwise log-likelihood (LOO, WAIC, K-fold, power scaling)")
    S = posterior.sizes["chain"] * posterior.sizes["draw"]
    chunk = max(1, int(2e7 // max(design.n, 1)))
    out = np.empty((S, design.n))
    for start in range(0, S, chunk):
        s = slice(start, min(S, start + chunk))
        eta = linear_predictor(design, posterior, draws=s)
        out[s] = design.family.logpdf_numpy(design.y, eta, aux_draws(design, posterior, draws=s),
                                            design.trials)
    if design.weights is not None:      # as brms: each row's log-likelihood times its weight
        out *= design.weights
    return out

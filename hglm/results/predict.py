"""Predictions from posterior draws: linear predictor, mean, simulated responses.

New levels of a grouping factor get effects drawn from the fitted population distribution,
draw by draw (brms's ``sample_new_levels = "uncertainty"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hglm import names
from hglm.design.matrices import Design, evaluate_new_data
from hglm.graph.posterior import covariance_cholesky, draws_matrix

__all__ = ["linear_predictor", "aux_draws", "draws_matrix", "predict_draws", "trials_for",
           "pointwise_log_likelihood"]


def aux_draws(design: Design, posterior, newdata: pd.DataFrame | None = None,
              include_random: bool = True, allow_new_levels: bool = True,
              rng: np.random.Generator | None = None,
              draws: slice = slice(None)) -> dict[str, np.ndarray]:
    """Auxiliary parameters: scalars (sigma, alpha) as (S, 1) arrays, ready to broadcast over
    rows; vectors (ordinal thresholds) as (S, values); those with a formula of their own as
    (S, rows), from their linear predictor on the rows (or ``newdata``)."""
    out = {}
    for name in design.family.aux:
        sub = design.dpar_design(name)
        if sub is not None:
            eta = linear_predictor(sub, posterior, newdata, include_random, allow_new_levels,
                                   rng, draws)
            out[name] = design.family.aux_link(name).inverse_numpy(eta)
            continue
        values = draws_matrix(posterior, name)[draws]
        out[name] = values[:, None] if values.ndim == 1 else values
    return out


def linear_predictor(design: Design, posterior, newdata: pd.DataFrame | None = None,
                     include_random: bool = True, allow_new_levels: bool = True,
                     rng: np.random.Generator | None = None,
                     draws: slice = slice(None)) -> np.ndarray:
    """Draws of the linear predictor, shape (draws, rows); ``draws`` picks a range of the
    stacked draws (to bound memory on big data).  ``design`` may be an auxiliary parameter's
    (``Design.dpars``): its own coefficients and group effects."""
    rng = np.random.default_rng(rng)
    if newdata is None:
        X, offset = design.X, design.offset
        Zs = [b.Z for b in design.blocks]
        index = [b.index for b in design.blocks]
    else:
        new = evaluate_new_data(design, newdata)
        X, offset, Zs, index = new.X, new.offset, new.Z, new.index
    beta = draws_matrix(posterior, names.beta(design.dpar))[draws] if design.fixed_names \
        else np.zeros((1, 0))
    eta = beta @ X.T
    if offset is not None:
        eta = eta + offset
    if not include_random:
        return eta
    for block, Z, idx in zip(design.blocks, Zs, index):
        r = draws_matrix(posterior, names.r(block.label))[draws]    # (S, levels, q)
        unseen = idx < 0
        if unseen.any():
            if not allow_new_levels:
                raise ValueError(f"new data has levels of {block.factor!r} the model has not "
                                 f"seen; pass allow_new_levels=True to draw their effects")
            n_new = int(-idx.min())
            chol = covariance_cholesky(posterior, block)[draws]   # (S, q, q)
            z = rng.standard_normal((r.shape[0], n_new, block.q))
            r = np.concatenate([r, np.einsum("sij,snj->sni", chol, z)], axis=1)
            idx = np.where(unseen, r.shape[1] - n_new + (-idx - 1), idx)
        for k in range(Z.shape[1]):       # term by term: no (draws, rows, q) temporary
            term = r[:, :, k][:, idx]
            eta = eta + (term if np.all(Z[:, k] == 1.0) else term * Z[:, k])
    return eta


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

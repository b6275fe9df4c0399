"""``predictions``, ``comparisons`` and ``slopes``: marginaleffects' three questions, answered
from posterior draws (no delta method), with brms's control over group effects.

Each answer is computed per draw on a frame of rows (the fitted rows, a user's frame or a
``datagrid``), optionally averaged within ``by`` groups draw by draw, and summarised into a
tidy :class:`Effects` frame whose ``.draws`` keep every draw for further computation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from hglm.design.formula import parse_formula
from hglm.design.matrices import Design
from hglm.graph.posterior import aux_draws, linear_predictor
from hglm.interpret.grid import group_columns, is_numeric, like, model_frame

__all__ = ["Effects", "predictions", "comparisons", "slopes", "random_selection",
           "prediction_draws", "factor_levels"]

TYPES = ("response", "link", "prediction")

#: contrasts of two predictions, per draw (marginaleffects' ``comparison=`` names)
CONTRASTS = {
    "difference": lambda hi, lo: hi - lo,
    "ratio": lambda hi, lo: hi / lo,
    "lnratio": lambda hi, lo: np.log(hi / lo),
    "lnor": lambda hi, lo: np.log(hi / (1 - hi)) - np.log(lo / (1 - lo)),
    "lift": lambda hi, lo: (hi - lo) / lo,
}


class Effects(pd.DataFrame):
    """A summary frame (``estimate``, ``lower``, ``upper`` per row) that keeps its draws:
    ``.draws`` is an xarray DataArray (chain, draw, row[, category]), row i of the frame
    being ``draws.isel(row=i)`` as returned."""

    _metadata = ["draws"]

    @property
    def _constructor(self):
        return Effects


# -- the draws --------------------------------------------------------------------------
def random_selection(design: Design, re_formula: str | None) -> bool | dict[str, tuple[int, ...]]:
    """brms's ``re_formula``: None = every group effect; ``"~ 0"`` (or ``"none"``) = none;
    ``"~ (1 | g)"`` = those terms only, in every linear predictor that has them."""
    if re_formula is None:
        return True
    text = re_formula.strip()
    if text.lower() in ("none", "na", "~0", "~ 0", "~1", "~ 1", ""):
        return False
    parsed = parse_formula(f".y ~ {text.lstrip('~')}")
    chosen: dict[str, tuple[int, ...]] = {}
    for term in parsed.random:
        blocks = [b for b in design.all_blocks if b.factor == term.factor]
        if not blocks:
            factors = sorted({b.factor for b in design.all_blocks})
            raise ValueError(f"re_formula names group {term.factor!r}, which the model does "
                             f"not have; its groups are {', '.join(factors) or '(none)'}")
        for block in blocks:
            chosen[block.label] = _kept_terms(block.terms, term.expr, re_formula)
    return chosen


def _kept_terms(terms: tuple[str, ...], expr: str, re_formula: str) -> tuple[int, ...]:
    pieces = [p.strip() for p in expr.replace("-", "+-").split("+") if p.strip()]
    wanted = {"Intercept"} if not {"0", "-1", "-0"} & set(pieces) else set()
    wanted |= {p for p in pieces if p not in ("1", "0", "-1", "-0")}
    kept = tuple(k for k, t in enumerate(terms)
                 if t in wanted or any(t.startswith(f"{w}[") for w in wanted))
    missing = [w for w in wanted if w != "Intercept"
               and not any(t == w or t.startswith(f"{w}[") for t in terms)]
    if missing:
        raise ValueError(f"re_formula {re_formula!r} names {', '.join(missing)}, not a group "
                         f"term of the model (its terms: {', '.join(terms)})")
    return kept


def prediction_draws(fit, frame: pd.DataFrame | None, type: str = "response",
                     re_formula: str | None = None, allow_new_levels: bool = True,
                     seed: int | None = None) -> np.ndarray:
    """(draws, rows) predictions on ``frame`` (None: the fitted rows); an ordinal family's
    response is (draws, rows, categories) of category probabilities.  Binomial families
    predict per trial (a probability), as marginaleffects and brms's conditional effects."""
    if type not in TYPES:
        raise ValueError(f"type must be one of {', '.join(TYPES)}, got {type!r}")
    design = fit.design
    include = random_selection(design, re_formula)
    rng = np.random.default_rng(fit.settings.seed if seed is None else seed)
    eta = linear_predictor(design, fit.posterior, frame, include, allow_new_levels, rng)
    if type == "link":
        return eta
    aux = aux_draws(design, fit.posterior, frame, include, allow_new_levels, rng)
    trials = np.ones(eta.shape[1], dtype=np.int64) if design.trials is not None else None
    if type == "response":
        return design.family.response_mean(eta, aux, trials)
    return design.family.simulate_numpy(eta, aux, trials, rng)


# -- summaries --------------------------------------------------------------------------
def _averaged(draws: np.ndarray, frame: pd.DataFrame, by) -> tuple[np.ndarray, pd.DataFrame]:
    """Draw-wise means over rows within ``by`` groups (True: over every row)."""
    if by is None or by is False:
        return draws, frame.reset_index(drop=True)
    columns = [] if by is True else [by] if isinstance(by, str) else list(by)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"by: {', '.join(map(repr, missing))} not among the columns of the "
                         f"rows predicted ({', '.join(map(str, frame.columns))})")
    if not columns:
        return draws.mean(axis=1, keepdims=True), pd.DataFrame(index=[0])
    keys = frame[columns].astype(object).apply(tuple, axis=1)
    groups = list(dict.fromkeys(keys))
    means = [draws[:, (keys == g).to_numpy()].mean(axis=1) for g in groups]
    return np.stack(means, axis=1), pd.DataFrame(groups, columns=columns)


def _summarise(fit, draws: np.ndarray, frame: pd.DataFrame, prob: float,
               point: str) -> Effects:
    """One row per frame row (times categories): estimate, lower, upper; draws kept."""
    if point not in ("mean", "median"):
        raise ValueError(f"point must be 'mean' or 'median', got {point!r}")
    lower, upper = np.quantile(draws, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    centre = draws.mean(axis=0) if point == "mean" else np.median(draws, axis=0)
    post = fit.posterior
    shape = (post.sizes["chain"], post.sizes["draw"]) + draws.shape[1:]
    dims = ("chain", "draw", "row") + (("category",) if draws.ndim == 3 else ())
    coords = {"chain": post.chain.values, "draw": post.draw.values}
    if draws.ndim == 3:
        categories = [str(c) for c in fit.design.categories]
        frame = frame.loc[frame.index.repeat(len(categories))].reset_index(drop=True)
        frame.insert(0, "category", categories * (len(frame) // len(categories)))
        coords["category"] = categories
    table = Effects({**{c: frame[c].to_numpy() for c in frame.columns},
                     "estimate": centre.reshape(-1), "lower": lower.reshape(-1),
                     "upper": upper.reshape(-1)})
    table.draws = xr.DataArray(draws.reshape(shape), dims=dims, coords=coords,
                               name="estimate")
    return table


def _rows(observed: pd.DataFrame, newdata: pd.DataFrame | None) -> pd.DataFrame:
    """The frame predicted on, with the fitted columns' types (factor levels kept)."""
    if newdata is None:
        return observed
    if not isinstance(newdata, pd.DataFrame):
        raise TypeError(f"newdata must be a pandas DataFrame (hglm.datagrid makes grids), "
                        f"got {type(newdata).__name__}")
    return like(newdata.reset_index(drop=True), observed)


# -- the three questions ----------------------------------------------------------------
def predictions(fit, newdata: pd.DataFrame | None = None, by=None, type: str = "response",
                re_formula: str | None = None, allow_new_levels: bool = True,
                prob: float = 0.95, point: str = "mean", seed: int | None = None) -> Effects:
    """Posterior predictions per row of ``newdata`` (default: the fitted rows), or averaged
    within ``by`` groups (``by=True``: over all rows), as marginaleffects' ``predictions``.

    ``type``: ``"response"`` (the expected response; binomial: per trial), ``"link"``, or
    ``"prediction"`` (draws of new observations).  ``re_formula``: None (all group effects,
    a level the model has not seen drawn from the fitted population distribution, draw by
    draw), ``"~ 0"`` (none) or ``"~ (1 | g)"`` (some), as brms.
    """
    frame = _rows(model_frame(fit.design), newdata)
    draws = prediction_draws(fit, frame, type, re_formula, allow_new_levels, seed)
    draws, labels = _averaged(draws, frame, by)
    return _summarise(fit, draws, labels, prob, point)


def comparisons(fit, variables, newdata: pd.DataFrame | None = None, by=None,
                comparison: str = "difference", type: str = "response",
                re_formula: str | None = None, allow_new_levels: bool = True,
                prob: float = 0.95, point: str = "mean", seed: int | None = None) -> Effects:
    """Contrasts of predictions between two values of each variable, row by row (and
    averaged within ``by`` groups), as marginaleffects' ``comparisons``.

    ``variables``: a name, a list of names, or a dict name -> contrast: for a number ``1``
    (default: x+1 against x), any step, ``"sd"``, ``"iqr"``, ``"minmax"``, or a pair
    ``(lo, hi)``; for a factor ``"reference"`` (default: each level against the first),
    ``"pairwise"``, ``"sequential"`` or a pair ``(lo, hi)``.  ``comparison``: one of
    ``difference``, ``ratio``, ``lnratio``, ``lnor`` (log odds ratio), ``lift``.
    """
    if comparison not in CONTRASTS:
        raise ValueError(f"comparison must be one of {', '.join(CONTRASTS)}, got {comparison!r}")
    observed = model_frame(fit.design)
    frame = _rows(observed, newdata)
    parts, labels = [], []
    for variable, contrast in _variables(fit, variables, observed).items():
        for label, lo, hi in _contrast_frames(fit, frame, observed, variable, contrast):
            both = prediction_draws(fit, pd.concat([lo, hi], ignore_index=True), type,
                                    re_formula, allow_new_levels, seed)  # one call: the same
            n = len(frame)                                   # new-level draws on both sides
            parts.append(CONTRASTS[comparison](both[:, n:], both[:, :n]))
            labels.append(frame.assign(term=variable, contrast=label))
    return _joined(fit, parts, labels, by, prob, point)


def slopes(fit, variables, newdata: pd.DataFrame | None = None, by=None,
           type: str = "response", slope: str = "dydx", eps: float | None = None,
           re_formula: str | None = None, allow_new_levels: bool = True,
           prob: float = 0.95, point: str = "mean", seed: int | None = None) -> Effects:
    """Partial derivatives of predictions with respect to numeric ``variables`` by central
    finite differences, row by row (and averaged within ``by``), as marginaleffects'
    ``slopes``.  ``slope``: ``dydx``, ``eyex`` (elasticity), ``eydx`` or ``dyex``; ``eps``:
    the step (default 1e-4 times the variable's observed range, marginaleffects')."""
    if slope not in ("dydx", "eyex", "eydx", "dyex"):
        raise ValueError(f"slope must be one of dydx, eyex, eydx, dyex, got {slope!r}")
    observed = model_frame(fit.design)
    frame = _rows(observed, newdata)
    parts, labels = [], []
    for variable in _variables(fit, variables, observed):
        if not is_numeric(observed[variable]) or variable in group_columns(fit.design):
            raise ValueError(f"slopes need a numeric variable; {variable!r} is a factor: use "
                             f"hglm.comparisons(fit, {variable!r}) for its contrasts")
        h = eps if eps is not None else 1e-4 * float(np.ptp(observed[variable])) or 1e-4
        x = frame[variable].to_numpy(float)
        shifted = [frame.assign(**{variable: x + d}) for d in (-h / 2, 0.0, h / 2)]
        draws = prediction_draws(fit, pd.concat(shifted, ignore_index=True), type,
                                 re_formula, allow_new_levels, seed)
        lo, mid, hi = np.split(draws, 3, axis=1)
        parts.append(_elasticity((hi - lo) / h, mid, x, slope))
        labels.append(frame.assign(term=variable, contrast=slope))
    return _joined(fit, parts, labels, by, prob, point)


def _elasticity(dydx: np.ndarray, y: np.ndarray, x: np.ndarray, slope: str) -> np.ndarray:
    x = x.reshape((1, -1) + (1,) * (dydx.ndim - 2))
    return {"dydx": dydx, "eyex": dydx * x / y, "eydx": dydx / y, "dyex": dydx * x}[slope]


def _joined(fit, parts, labels, by, prob, point) -> Effects:
    """Stack every variable's contrasts, average within ``by`` (and term, contrast)."""
    draws = np.concatenate(parts, axis=1)
    frame = pd.concat(labels, ignore_index=True)
    frame = frame[["term", "contrast"] + [c for c in frame.columns
                                          if c not in ("term", "contrast")]]
    if by is not None and by is not False:
        keys = ["term", "contrast"] + ([] if by is True else [by] if isinstance(by, str)
                                       else list(by))
        draws, frame = _averaged(draws, frame, keys)
    return _summarise(fit, draws, frame, prob, point)


def _variables(fit, variables, observed: pd.DataFrame) -> dict:
    """``variables`` as a dict name -> contrast (None: the default), each checked."""
    if isinstance(variables, str):
        variables = {variables: None}
    elif isinstance(variables, Mapping):
        variables = dict(variables)
    elif isinstance(variables, Sequence):
        variables = dict.fromkeys(variables)
    else:
        raise TypeError("variables must be a column name, a list of names or a dict "
                        "name -> contrast")
    known = observed.columns
    unknown = [v for v in variables if v not in known]
    if unknown:
        raise ValueError(f"{', '.join(map(repr, unknown))} not a variable of the model "
                         f"{fit.design.formulas!r}; its variables are {', '.join(known)}")
    return variables


def _contrast_frames(fit, frame: pd.DataFrame, observed: pd.DataFrame, variable: str,
                     contrast):
    """(label, low frame, high frame) for each contrast of ``variable``."""
    observed = observed[variable]
    factor = not is_numeric(observed) or variable in group_columns(fit.design)
    pairs = _factor_pairs(observed, contrast) if factor else \
        _numeric_pairs(observed, frame[variable].to_numpy(float), contrast)
    out = []
    for label, lo, hi in pairs:
        low, high = frame.assign(**{variable: lo}), frame.assign(**{variable: hi})
        out.append((label, like(low, observed.to_frame()), like(high, observed.to_frame())))
    return out


def _numeric_pairs(observed: pd.Series, x: np.ndarray, contrast) -> list:
    contrast = 1 if contrast is None else contrast
    if isinstance(contrast, (tuple, list)) and len(contrast) == 2:
        return [(f"{contrast[1]} - {contrast[0]}", contrast[0], contrast[1])]
    if contrast == "sd" or contrast == "iqr":
        width = float(observed.std()) if contrast == "sd" else float(
            np.subtract(*np.quantile(observed, [0.75, 0.25])))
        return [(f"(x + {contrast}/2) - (x - {contrast}/2)", x - width / 2, x + width / 2)]
    if contrast == "minmax":
        return [("max - min", float(observed.min()), float(observed.max()))]
    if isinstance(contrast, (int, float)) and not isinstance(contrast, bool):
        return [(f"+{contrast:g}", x, x + contrast)]
    raise ValueError(f"a numeric variable's contrast is a step, 'sd', 'iqr', 'minmax' or a "
                     f"pair (lo, hi); got {contrast!r}")


def factor_levels(observed: pd.Series) -> list:
    """A factor's levels in the model's coding order, the first its reference: formulae
    sorts the values of anything but an ordered categorical (whose order it keeps)."""
    if isinstance(observed.dtype, pd.CategoricalDtype) and observed.cat.ordered:
        return list(observed.cat.categories)
    return sorted(np.unique(observed.dropna().astype(object)).tolist())


def _factor_pairs(observed: pd.Series, contrast) -> list:
    levels = factor_levels(observed)
    contrast = "reference" if contrast is None else contrast
    if isinstance(contrast, (tuple, list)) and len(contrast) == 2:
        pairs = [tuple(contrast)]
    elif contrast == "reference":
        pairs = [(levels[0], level) for level in levels[1:]]
    elif contrast == "sequential":
        pairs = list(zip(levels[:-1], levels[1:]))
    elif contrast == "pairwise":
        pairs = [(a, b) for i, a in enumerate(levels) for b in levels[i + 1:]]
    else:
        raise ValueError(f"a factor's contrast is 'reference', 'pairwise', 'sequential' or a "
                         f"pair (lo, hi); got {contrast!r}")
    return [(f"{hi} - {lo}", lo, hi) for lo, hi in pairs]

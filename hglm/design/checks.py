"""Input checks in lme4's style: one small function per rule, each with one clear message.

Every check runs while the design is built, so bad input fails before any sampling.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from hglm.notices import DataWarning

# the response's own rules belong to the families; re-exported for the design's callers
from hglm.spec.families.responses import (  # noqa: F401
    check_binary,
    check_binomial,
    check_counts,
    check_ordinal,
    check_response_numeric,
)

__all__ = [
    "check_data_frame", "check_columns", "check_unique_columns", "check_column_types",
    "check_nonempty", "check_finite", "check_finite_design", "check_response_numeric",
    "check_counts", "check_binomial", "check_binary", "check_ordinal", "check_nlevels",
    "check_variation", "check_weights", "check_counts_column", "check_whole_column_transforms",
    "aliased_columns", "RANK_TOL",
]

#: a fixed-effect column whose part outside the earlier columns' span is below this share
#: of its norm is aliased (lme4's rank tolerance, 1e-7)
RANK_TOL = 1e-7


def check_data_frame(data: object) -> None:
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, got {type(data).__name__}")


def check_columns(names: Iterable[str], data: pd.DataFrame, formula: str) -> None:
    missing = sorted(n for n in names if n not in data.columns)
    if missing:
        listing = ", ".join(map(str, data.columns[:20])) + (" ..." if data.shape[1] > 20 else "")
        raise ValueError(f"column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
                         f"of formula {formula!r} not in the data; its columns are: {listing}")


def check_unique_columns(data: pd.DataFrame, names: Iterable[str]) -> None:
    repeated = sorted({str(n) for n in names if int(np.sum(data.columns == n)) > 1})
    if repeated:
        raise ValueError(f"the data have more than one column named "
                         f"{', '.join(map(repr, repeated))}; "
                         f"rename them so each name is unique (e.g. data.columns = [...])")


def _numbers_as_text(values: pd.Series) -> bool:
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    return len(text) > 0 and bool(pd.to_numeric(text, errors="coerce").notna().all())


def check_column_types(data: pd.DataFrame, columns: Iterable[str]) -> None:
    """Dates, Python objects and numbers stored as text have no reading as a predictor
    that a user would expect; each gets an error saying how to convert it."""
    for col in columns:
        values = data[col]
        kind = values.dtype
        if pd.api.types.is_datetime64_any_dtype(kind) or pd.api.types.is_timedelta64_dtype(kind) \
                or isinstance(kind, pd.PeriodDtype):
            raise ValueError(f"column {col!r} holds dates or times ({kind}); convert it to a "
                             f"number (e.g. (data[{col!r}] - data[{col!r}].min()).dt.days) or "
                             f"to categories (data[{col!r}].astype(str))")
        if kind == np.dtype(object):
            types = {type(v) for v in values.dropna()}
            if not types <= {str}:
                shown = ", ".join(sorted(t.__name__ for t in types))
                raise ValueError(f"column {col!r} holds Python objects of type {shown}; "
                                 f"convert it with pd.to_numeric(data[{col!r}]) for numbers or "
                                 f"data[{col!r}].astype(str) for categories")
        if (kind == np.dtype(object) or pd.api.types.is_string_dtype(kind)) \
                and _numbers_as_text(values):
            raise ValueError(f"column {col!r} holds numbers stored as text (dtype {kind}); "
                             f"convert it with pd.to_numeric(data[{col!r}], errors='coerce') "
                             f"(blanks become missing) or, to use it as categories, "
                             f"data[{col!r}].astype('category')")


def check_nonempty(n_rows: int, n_dropped: int) -> None:
    if n_rows == 0:
        why = f" after dropping {n_dropped} rows with missing values" if n_dropped else ""
        raise ValueError(f"no data left to fit{why}")


def check_finite(data: pd.DataFrame, columns: Iterable[str]) -> None:
    for col in columns:
        values = data[col]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            bad = ~np.isfinite(values.to_numpy(dtype=float))
            if bad.any():
                raise ValueError(f"column {col!r} has {int(bad.sum())} infinite value(s) "
                                 f"(first in row {int(np.flatnonzero(bad)[0])}); remove or "
                                 f"recode them before fitting")


def check_weights(data: pd.DataFrame, column: str) -> None:
    """Likelihood weights: a numeric column, finite, non-negative, none missing, some
    positive."""
    if column not in data.columns:
        raise ValueError(f"weights column {column!r} is not in the data; columns are "
                         f"{', '.join(map(str, data.columns[:10]))}")
    values = data[column]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise ValueError(f"weights column {column!r} must be numeric, got {values.dtype}")
    w = values.to_numpy(dtype=float)
    problems = {"missing": np.isnan(w), "infinite": np.isinf(w), "negative": w < 0}
    for what, bad in problems.items():
        if bad.any():
            raise ValueError(f"weights column {column!r} has {int(bad.sum())} {what} value(s) "
                             f"(first in row {int(np.flatnonzero(bad)[0])}); weights must be "
                             f"finite and >= 0 (0 leaves a row out of the likelihood)")
    if not (w > 0).any():
        raise ValueError(f"weights column {column!r} is zero everywhere: no row would count")


def check_counts_column(data: pd.DataFrame, column: str) -> None:
    """Row counts of aggregated data: whole numbers >= 1, none missing."""
    if column not in data.columns:
        raise ValueError(f"counts column {column!r} is not in the data; columns are "
                         f"{', '.join(map(str, data.columns[:10]))}")
    values = data[column]
    n = values.to_numpy(dtype=float) if pd.api.types.is_numeric_dtype(values) \
        and not pd.api.types.is_bool_dtype(values) else None
    if n is None or np.isnan(n).any() or (n < 1).any() or (n != np.round(n)).any():
        raise ValueError(f"counts column {column!r} must hold whole numbers >= 1 (how many "
                         f"identical rows each row stands for), got {values.dtype} values "
                         f"such as {values.iloc[0]!r}")


#: formulae's transforms whose values depend on the whole column's distribution (quantiles,
#: an orthogonal basis): on rows that stand for several rows each they would be computed as
#: if each appeared once.  ``center()``, ``scale()`` and ``poly()`` are refitted with the
#: counts instead (``matrices.refit_transforms``); on moment points, which have no column,
#: ``center()`` and ``scale()`` take the distributed mean and sd
BASIS_TRANSFORMS = ("poly", "bs", "cc", "cr", "tp")
#: those refused on distinct rows with counts: ``poly()`` is refitted with the counts there
SPLINE_TRANSFORMS = BASIS_TRANSFORMS[1:]
WHOLE_COLUMN_TRANSFORMS = ("center", "scale") + BASIS_TRANSFORMS


def check_whole_column_transforms(formulas: Iterable, counts: str,
                                  transforms: tuple[str, ...] = BASIS_TRANSFORMS) -> None:
    """Refuse ``poly(x)`` and its kind (``transforms``) with row counts (aggregated or
    reduced data)."""
    import formulae

    for parsed in formulas:
        for text in [parsed.fixed_formula] + [t.expr for t in parsed.random]:
            calls = {c.call.callee for t in formulae.model_description(text).terms
                     for c in getattr(t, "components", []) if type(c).__name__ == "Call"}
            used = sorted(calls & set(transforms))
            if used:
                raise ValueError(
                    f"formula {parsed.formula!r}: {', '.join(used)}() depends on the whole "
                    f"column, and the rows here stand for several rows each ({counts!r}); "
                    f"add the transformed column to the data before reducing it "
                    f"(e.g. x_c = x - mean of x) and use it in the formula")


def check_finite_design(values: np.ndarray, what: str) -> None:
    """After the formula's transforms: ``np.log(y)`` of a zero, ``I(1 / x)`` of a zero."""
    values = np.asarray(values, dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=tuple(range(1, values.ndim))) if values.ndim > 1
                              else bad)
        raise ValueError(f"{what} has {int(bad.sum())} missing or infinite value(s) after the "
                         f"formula's transforms (first in row {int(rows[0])}), e.g. np.log of a "
                         f"zero or a division by zero; change the transform or the data")


def check_variation(y: np.ndarray, name: str, scale_free: bool) -> None:
    """A constant response still fits (its priors decide what it cannot), but the user
    should know; a response whose spread overflows cannot be scaled at all."""
    y = np.asarray(y, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        spread = float(np.std(y))
    if not np.isfinite(spread):
        raise ValueError(f"response {name!r} is too large to work with (its standard "
                         f"deviation overflows); rescale it, e.g. divide by a power of ten")
    if spread == 0 and len(y) > 1:
        what = "" if scale_free else "; its scale cannot be learnt from the data"
        warnings.warn(f"response {name!r} takes one value ({y[0]:g}) in every row: the "
                      f"estimates will come from the priors{what}", DataWarning, stacklevel=4)


def aliased_columns(X: np.ndarray) -> np.ndarray:
    """Mask of fixed-effect columns that are linear combinations of earlier ones, found by
    Gram-Schmidt in column order so the first of a collinear set is kept (R's ``lm``,
    lme4's rank check)."""
    peak = np.max(np.abs(X), axis=0) if X.size else np.zeros(X.shape[1])
    X = X / np.where(peak > 0, peak, 1.0)             # no under- or overflow in the norms
    norms = np.linalg.norm(X, axis=0)
    basis, aliased = [], np.zeros(X.shape[1], dtype=bool)
    for j in range(X.shape[1]):
        v = X[:, j] / norms[j] if norms[j] > 0 else X[:, j]
        for b in basis:      # twice: re-orthogonalization keeps the test sharp
            v = v - b * (b @ v)
        for b in basis:
            v = v - b * (b @ v)
        if norms[j] == 0 or np.linalg.norm(v) < RANK_TOL:
            aliased[j] = True
        else:
            basis.append(v / np.linalg.norm(v))
    return aliased


def check_nlevels(levels: int, factor: str, n_rows: int, has_residual: bool) -> None:
    if levels < 2:
        raise ValueError(f"grouping factor {factor!r} has {levels} level(s); a random effect "
                         f"needs at least 2 (drop the term or use a fixed effect)")
    # as in lme4: an observation-level effect is fine for counts (overdispersion), not
    # next to a residual sd
    if has_residual and levels >= n_rows:
        raise ValueError(f"grouping factor {factor!r} has {levels} levels for {n_rows} rows: "
                         f"one level per observation cannot be told apart from the residual")

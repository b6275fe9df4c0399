"""Input checks in lme4's style: one small function per rule, each with one clear message.

Every check runs while the design is built, so bad input fails before any sampling.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = [
    "check_data_frame", "check_columns", "check_nonempty", "check_finite",
    "check_response_numeric", "check_counts", "check_binomial", "check_binary",
    "check_nlevels",
]


def check_data_frame(data: object) -> None:
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, got {type(data).__name__}")


def check_columns(names: Iterable[str], data: pd.DataFrame, formula: str) -> None:
    missing = sorted(n for n in names if n not in data.columns)
    if missing:
        listing = ", ".join(map(str, data.columns[:20])) + (" ..." if data.shape[1] > 20 else "")
        raise ValueError(f"column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
                         f"of formula {formula!r} not in the data; its columns are: {listing}")


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


def check_response_numeric(y: object, name: str, family: str) -> None:
    if not pd.api.types.is_numeric_dtype(np.asarray(y)) or pd.api.types.is_bool_dtype(np.asarray(y)):
        raise ValueError(f"family {family!r} needs a numeric response, but {name!r} is "
                         f"{np.asarray(y).dtype}")


def check_counts(y: np.ndarray, name: str, family: str) -> None:
    check_response_numeric(y, name, family)
    y = np.asarray(y, dtype=float)
    if np.any(y < 0):
        raise ValueError(f"family {family!r} needs counts, but response {name!r} has "
                         f"{int((y < 0).sum())} negative value(s)")
    if np.any(y != np.round(y)):
        raise ValueError(f"family {family!r} needs whole-number counts, but response {name!r} "
                         f"has {int((y != np.round(y)).sum())} non-integer value(s)")


def check_binomial(successes: np.ndarray, trials: np.ndarray, name: str) -> None:
    check_counts(successes, name, "binomial")
    check_counts(trials, f"trials of {name}", "binomial")
    if np.any(successes > trials):
        raise ValueError(f"binomial response {name!r}: successes exceed trials in "
                         f"{int((successes > trials).sum())} row(s)")


def check_binary(y: object, name: str) -> None:
    values = pd.Series(np.asarray(y)).dropna()
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        if not set(values.unique()) <= {0, 1}:
            shown = sorted(values.unique().tolist())[:6]
            raise ValueError(f"family 'bernoulli' needs a 0/1 response, but {name!r} has values "
                             f"{shown}{' ...' if values.nunique() > 6 else ''}; for counts of "
                             f"successes use 'binomial' with p(successes, trials)")
        return
    levels = [str(v) for v in pd.unique(values)]
    if len(levels) > 2:
        shown = ", ".join(map(repr, levels[:5])) + (" ..." if len(levels) > 5 else "")
        raise ValueError(f"family 'bernoulli' needs a response with two values, but {name!r} "
                         f"has {len(levels)}: {shown}")


def check_nlevels(levels: int, factor: str, n_rows: int, has_residual: bool) -> None:
    if levels < 2:
        raise ValueError(f"grouping factor {factor!r} has {levels} level(s); a random effect "
                         f"needs at least 2 (drop the term or use a fixed effect)")
    # as in lme4: an observation-level effect is fine for counts (overdispersion), not
    # next to a residual sd
    if has_residual and levels >= n_rows:
        raise ValueError(f"grouping factor {factor!r} has {levels} levels for {n_rows} rows: "
                         f"one level per observation cannot be told apart from the residual")

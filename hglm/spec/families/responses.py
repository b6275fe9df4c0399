"""The response checks families run (lme4's style: one rule, one message, raised before any
sampling): numeric, counts, binomial successes within trials, binary."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["check_response_numeric", "check_counts", "check_binomial", "check_binary",
           "check_ordinal", "sample_mean", "sample_sd"]


def sample_mean(x: np.ndarray, counts: np.ndarray | None = None) -> float:
    """The mean of ``x``, each value counted ``counts[i]`` times (a reduced data set's
    distinct rows: the mean of the rows they stand for)."""
    return float(np.mean(x)) if counts is None else float(np.average(x, weights=counts))


def sample_sd(x: np.ndarray, counts: np.ndarray | None = None) -> float:
    """Sample sd (n - 1), or 1 where it is zero, undefined or not finite: the unit default
    priors and thresholds scale by; ``counts``: as in :func:`sample_mean`."""
    x = np.asarray(x, dtype=float)
    if counts is None:
        s = float(np.std(x, ddof=1)) if len(x) > 1 else 0.0
    else:
        n = float(np.sum(counts))
        s = float(np.sqrt(np.sum(counts * (x - sample_mean(x, counts)) ** 2) / (n - 1))) \
            if n > 1 else 0.0
    return s if s > 0 and np.isfinite(s) else 1.0


def check_response_numeric(y: object, name: str, family: str) -> None:
    if (not pd.api.types.is_numeric_dtype(np.asarray(y))
            or pd.api.types.is_bool_dtype(np.asarray(y))):
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


def check_positive(y: np.ndarray, name: str, family: str) -> None:
    """Strictly positive values (gamma, lognormal)."""
    check_response_numeric(y, name, family)
    y = np.asarray(y, dtype=float)
    bad = int((y <= 0).sum())
    if bad:
        raise ValueError(
            f"family {family!r} needs a positive response, but {name!r} has {bad} value(s) "
            f"<= 0 (smallest {y.min():g}); for data with exact zeros use "
            f"family='hurdle_lognormal' or a zero-inflated count family, or model y + c for a "
            f"stated c only if the zeros are rounding")


def check_unit_interval(y: np.ndarray, name: str, family: str) -> None:
    """Values strictly between 0 and 1 (beta)."""
    check_response_numeric(y, name, family)
    y = np.asarray(y, dtype=float)
    outside = int(((y < 0) | (y > 1)).sum())
    if outside:
        raise ValueError(f"family {family!r} needs proportions strictly between 0 and 1, but "
                         f"{name!r} has {outside} value(s) outside [0, 1]")
    edges = int(((y == 0) | (y == 1)).sum())
    if edges:
        raise ValueError(
            f"family {family!r} needs proportions strictly between 0 and 1, but {name!r} has "
            f"{edges} value(s) of exactly 0 or 1; if they are successes out of known trials "
            f"use family='binomial' (or 'betabinomial') with p(successes, trials); otherwise "
            f"squeeze them inside, (y * (n - 1) + 0.5) / n (Smithson & Verkuilen 2006)")


def check_binomial(successes: np.ndarray, trials: np.ndarray, name: str) -> None:
    check_counts(successes, name, "binomial")
    check_counts(trials, f"trials of {name}", "binomial")
    if np.any(successes > trials):
        raise ValueError(f"binomial response {name!r}: successes exceed trials in "
                         f"{int((successes > trials).sum())} row(s)")
    if np.any(np.asarray(trials) == 0):
        raise ValueError(f"binomial response {name!r}: {int((np.asarray(trials) == 0).sum())} "
                         f"row(s) have zero trials and so say nothing; remove them")


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


def check_ordinal(y: pd.Series, name: str, family: str) -> None:
    """Ordered categories (an ordered ``pd.Categorical``) or whole numbers, two or more."""
    if isinstance(y.dtype, pd.CategoricalDtype) and not y.cat.ordered:
        raise ValueError(
            f"family {family!r} needs ordered categories, but {name!r} is an unordered "
            f"categorical ({', '.join(map(repr, list(y.cat.categories)[:5]))}); say their order: "
            f"data[{name!r}] = pd.Categorical(data[{name!r}], categories=[lowest, ..., highest], "
            f"ordered=True)")
    if not isinstance(y.dtype, pd.CategoricalDtype):
        if (not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y)):
            raise ValueError(
                f"family {family!r} needs ordered categories, but {name!r} holds "
                f"{y.dtype} values whose order hglm cannot know; make it "
                f"pd.Categorical(..., categories=[lowest, ..., highest], ordered=True) or "
                f"whole numbers")
        values = np.asarray(y, dtype=float)
        if np.any(values != np.round(values)):
            raise ValueError(f"family {family!r} needs ordered categories or whole numbers, but "
                             f"{name!r} has {int((values != np.round(values)).sum())} "
                             f"non-integer value(s)")
    n = y.nunique()
    if n < 2:
        raise ValueError(f"family {family!r} needs two or more categories, but {name!r} has "
                         f"{n}")

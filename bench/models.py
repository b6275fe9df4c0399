"""The benchmark models: bundled data sets and seeded simulations, written as CSV so that
hglm (this environment) and Bambi (its own virtual environment) read identical rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Bench:
    name: str
    formula: str          # lme4 syntax: hglm's
    bambi_formula: str
    family: str
    data: str             # bundled data set name, or "sim-gaussian-<N>" / "sim-poisson-<N>"
    #: (tool or "bambi" for every Bambi sampler, why it is not run on this model): the
    #: reason is printed in the table in place of a measurement
    skip: tuple[tuple[str, str], ...] = ()

    def skipped(self, tool: str) -> str | None:
        """Why ``tool`` is not run on this model, or None."""
        for who, why in self.skip:
            if tool == who or tool.startswith(who + "-"):
                return why
        return None

    def write_data(self, folder: Path) -> Path:
        """The rows as CSV plus a JSON list of categorical columns; returns the CSV path."""
        path = folder / f"{self.data}.csv"
        if not path.exists():
            df = load(self.data)
            df.to_csv(path, index=False)
            cats = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
            path.with_suffix(".json").write_text(json.dumps(cats))
        return path


def simulate(kind: str, n: int, seed: int = 20261123) -> pd.DataFrame:
    """Random intercept and slope by group, 100 rows per group (gaussian) or n/2000 (poisson)."""
    rng = np.random.default_rng(seed)
    groups = n // 100 if kind == "gaussian" else 2000
    g = rng.integers(0, groups, n)
    x = rng.normal(size=n)
    u = rng.normal(size=(groups, 2)) * ([0.5, 0.3] if kind == "gaussian" else [0.4, 0.2])
    eta = (1.0 if kind == "gaussian" else 0.5) + 0.5 * x + u[g, 0] + u[g, 1] * x
    y = eta + rng.normal(size=n) if kind == "gaussian" else rng.poisson(np.exp(eta))
    return pd.DataFrame({"y": y, "x": x, "g": _labels("g", g, groups)})


def _labels(prefix: str, codes: np.ndarray, n: int) -> pd.Categorical:
    """``pd.Categorical([f"{prefix}{i}" for i in codes])`` (levels sorted as text), built
    from codes: the list of ten million strings took longer than the fit."""
    names = np.array([f"{prefix}{i}" for i in range(n)])
    order = np.argsort(names)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return pd.Categorical.from_codes(rank[codes], names[order])


def simulate_insteval(seed: int = 20261124) -> pd.DataFrame:
    """InstEval's shape (73,421 ratings; 2,972 students, 1,128 lecturers in 14 departments)
    with lme4's estimates for its crossed random intercepts (sd 0.32, 0.52, 0.08; residual
    1.18): the data set itself is not bundled."""
    rng = np.random.default_rng(seed)
    n, S, D, K = 73421, 2972, 1128, 14
    s, d = rng.integers(0, S, n), rng.integers(0, D, n)
    dept = rng.integers(0, K, D)[d]
    y = (3.2 + rng.normal(0, 0.32, S)[s] + rng.normal(0, 0.52, D)[d]
         + rng.normal(0, 0.08, K)[dept] + rng.normal(0, 1.18, n))
    cat = lambda p, v: pd.Categorical([f"{p}{i}" for i in v])  # noqa: E731
    return pd.DataFrame({"y": y, "s": cat("s", s), "d": cat("d", d), "dept": cat("k", dept)})


def simulate_binary_slope(seed: int = 20261127) -> pd.DataFrame:
    """Issue 19's binary GLMM that cannot be collapsed: 2,000 rows in 60 groups, two
    continuous covariates, a correlated random intercept and slope (sds 0.8 and 0.5,
    correlation 0.3)."""
    rng = np.random.default_rng(seed)
    n, G = 2000, 60
    g = rng.integers(0, G, n)
    x, z = rng.normal(size=n), rng.normal(size=n)
    cov = np.array([[0.64, 0.12], [0.12, 0.25]])
    u = rng.multivariate_normal([0.0, 0.0], cov, size=G)
    eta = -0.3 + 0.8 * x - 0.4 * z + u[g, 0] + u[g, 1] * x
    y = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    return pd.DataFrame({"y": y, "x": x, "z": z, "g": _labels("g", g, G)})


def simulate_crossed_binary(seed: int = 20261128) -> pd.DataFrame:
    """Issue 19's crossed binary GLMM: 7,500 rows, 300 subjects crossed with 40 items, a
    continuous covariate (sds 1.0 and 0.6)."""
    rng = np.random.default_rng(seed)
    n, S, K = 7500, 300, 40
    s, i = rng.integers(0, S, n), rng.integers(0, K, n)
    x = rng.normal(size=n)
    eta = 0.2 + 0.5 * x + rng.normal(0, 1.0, S)[s] + rng.normal(0, 0.6, K)[i]
    y = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    return pd.DataFrame({"y": y, "x": x, "s": _labels("s", s, S), "item": _labels("i", i, K)})


def load(name: str) -> pd.DataFrame:
    if name == "sim-insteval":
        return simulate_insteval()
    if name == "sim-binaryslope":
        return simulate_binary_slope()
    if name == "sim-crossedbinary":
        return simulate_crossed_binary()
    if name.startswith("sim-"):
        _, kind, n = name.split("-")
        return simulate(kind, int(n))
    import hglm

    return hglm.datasets.load(name)


INSTEVAL = "y ~ 1 + (1 | s) + (1 | d) + (1 | dept)"
#: formulae builds Bambi's group-effect design matrix densely (insteval-sim: 4.4 GB peak for
#: 73k rows x 4,114 columns, 2026-11-24), 8 bytes per row and column
DENSE = "not run: Bambi's dense group-effect matrix would be {} ({} rows x {} columns)"
#: Bambi's numpyro sampler took 516 s and 11x nutpie's wall time on insteval-sim (2026-11-24)
SLOW = ("not run, for time: on insteval-sim Bambi-numpyro took 516 s per fit, 11x "
        "Bambi-nutpie's wall time, at a quarter of its ESS/s (2026-11-24)")
GROUSE = "TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD) + (1 | LOCATION)"
MODELS = {b.name: b for b in [
    Bench("sleepstudy", "Reaction ~ Days + (Days | Subject)",
          "Reaction ~ Days + (Days | Subject)", "gaussian", "sleepstudy"),
    Bench("cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd)",
          "p(incidence, size) ~ period + (1 | herd)", "binomial", "cbpp"),
    Bench("grouseticks", GROUSE, GROUSE, "poisson", "grouseticks"),
    Bench("hsb82", "mAch ~ ses + (ses | school)", "mAch ~ ses + (ses | school)", "gaussian",
          "hsb82"),
    Bench("poisson-200k", "y ~ x + (x | g)", "y ~ x + (x | g)", "poisson", "sim-poisson-200000",
          skip=(("bambi-numpyro", SLOW),)),
    Bench("insteval-sim", INSTEVAL, INSTEVAL, "gaussian", "sim-insteval",
          skip=(("bambi-numpyro", SLOW),)),
    Bench("gaussian-1M", "y ~ x + (x | g)", "y ~ x + (x | g)", "gaussian", "sim-gaussian-1000000",
          skip=(("bambi", DENSE.format("160 GB", "1M", "20,000")),)),
    # the scaling curve (the 1M point is gaussian-1M)
    Bench("gaussian-10k", "y ~ x + (x | g)", "y ~ x + (x | g)", "gaussian", "sim-gaussian-10000"),
    Bench("gaussian-100k", "y ~ x + (x | g)", "y ~ x + (x | g)", "gaussian",
          "sim-gaussian-100000", skip=(("bambi-numpyro", SLOW),)),
    # the GLMMs of issue 19 that no reduction helps: a binary correlated slope, crossed binary
    Bench("binary-slope", "y ~ x + z + (x | g)", "y ~ x + z + (x | g)", "bernoulli",
          "sim-binaryslope"),
    Bench("crossed-binary", "y ~ x + (1 | s) + (1 | item)", "y ~ x + (1 | s) + (1 | item)",
          "bernoulli", "sim-crossedbinary"),
    # the largest: 100,000 groups; and a count GLMM whose rows do not reduce (bench/device.py)
    Bench("gaussian-10M", "y ~ x + (x | g)", "y ~ x + (x | g)", "gaussian",
          "sim-gaussian-10000000", skip=(("bambi", DENSE.format("16 TB", "10M", "200,000")),)),
    Bench("poisson-1M", "y ~ x + (x | g)", "y ~ x + (x | g)", "poisson", "sim-poisson-1000000",
          skip=(("bambi", DENSE.format("32 GB", "1M", "4,000")),
                ("hglm", "not run on CPU: a fifth of it (poisson-200k) takes 225-340 s on 2 cores, "
                         "so the whole would pass the per-fit limit; measured on a GPU "
                         "(`bench/gpu.sh`)"))),
]}

"""Data beyond memory: generate Parquet data sets of up to 100 million rows and fit them on
a local Dask cluster (``docs/scaling.md`` holds the figures and the commands).

    python -m bench.scaling generate --rows 100000000 --out /data/scaling
    python -m bench.scaling fit --data /data/scaling --model gaussian --workers 4
    python -m bench.scaling exact --rows 1000000

``generate`` writes two data sets of ``--rows`` rows in files of a million rows each:
``gaussian/``, an LMM with a random intercept and slope over 100,000 groups, and
``bernoulli/``, a logistic GLMM with two categorical covariates over 1,000 groups.  ``fit``
reduces one of them on a ``LocalCluster`` of ``--workers`` processes (each limited to
``--memory``), fits it and prints the reduction time, the sampling time and each worker's
peak memory.  ``exact`` fits a subset both as a pandas frame and through Dask and compares
the log density, maximum likelihood and posterior means.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import resource
import time

import numpy as np
import pandas as pd

FILE_ROWS = 1_000_000
FORMULAS = {"gaussian": "y ~ x + (1 + x | g)", "bernoulli": "y ~ a + b + (1 | g)"}
FAMILIES = {"gaussian": "gaussian", "bernoulli": "bernoulli"}
GROUPS = {"gaussian": 100_000, "bernoulli": 1_000}


def simulate(model: str, rows: int, seed: int) -> pd.DataFrame:
    """``rows`` rows of one data set; group effects from ``seed`` 0, so every file shares
    them, rows from ``seed``."""
    groups = GROUPS[model]
    effects = np.random.default_rng(0).normal(size=(groups, 2)) * [0.8, 0.3]
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, rows)
    if model == "gaussian":
        x = rng.normal(size=rows)
        y = 1.0 + 0.5 * x + effects[g, 0] + effects[g, 1] * x + rng.normal(size=rows)
        return pd.DataFrame({"y": y, "x": x, "g": g.astype(np.int32)})
    a, b = rng.integers(0, 4, rows), rng.integers(0, 3, rows)
    eta = -0.5 + 0.3 * a - 0.4 * (b == 2) + effects[g, 0]
    y = (rng.random(rows) < 1 / (1 + np.exp(-eta))).astype(np.int8)
    levels = np.array(["low", "mid", "high"])
    return pd.DataFrame({"y": y, "a": a.astype(np.int8),
                         "b": pd.Categorical(levels[b], categories=levels),
                         "g": g.astype(np.int32)})


def generate(rows: int, out: pathlib.Path) -> None:
    for model in FORMULAS:
        folder = out / model
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(int(np.ceil(rows / FILE_ROWS))):
            n = min(FILE_ROWS, rows - i * FILE_ROWS)
            simulate(model, n, seed=1 + i).to_parquet(folder / f"part{i:04d}.parquet")
        print(f"{model}: {rows} rows in {folder}")


def fit(data: pathlib.Path, model: str, workers: int, memory: str, draws: int,
        reduce_only: bool) -> dict:
    import distributed

    import hglm

    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                  memory_limit=memory, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        start = time.perf_counter()
        m = hglm.Model(FORMULAS[model], str(data / model / "*.parquet"), engine="dask",
                       family=FAMILIES[model])
        reduced = time.perf_counter() - start
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    record = {"model": model, "workers": workers, "memory_limit": memory,
              "rows": m.reduction.rows, "reduced_rows": m.design.n,
              "partitions": m.reduction.partitions, "reduce_s": round(reduced, 1),
              "worker_peak_mb": sorted(round(kb / 1024) for kb in peaks.values())}
    if not reduce_only:
        f = m.fit(draws=draws, tune=draws, seed=1, progressbar=False)
        record |= {"sample_s": round(f.elapsed, 1), "max_rhat": round(f.diagnostics.max_rhat, 4),
                   "min_ess_bulk": round(f.diagnostics.min_ess_bulk),
                   "divergences": int(f.diagnostics.divergences),
                   "fixef": f.fixef()[["term", "mean", "sd"]].round(4).to_dict("records")}
    record["process_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(record))
    return record


def exact(rows: int, draws: int) -> None:
    import dask.dataframe as dd
    import distributed

    import hglm

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        for model in FORMULAS:
            frame = pd.concat([simulate(model, rows // 4, seed=1 + i) for i in range(4)],
                              ignore_index=True)
            pandas = hglm.Model(FORMULAS[model], frame, family=FAMILIES[model])
            dask = hglm.Model(FORMULAS[model], dd.from_pandas(frame, npartitions=4),
                              family=FAMILIES[model])
            point = pandas.pymc_model.initial_point()
            logp = [float(m.pymc_model.compile_logp()(point)) for m in (pandas, dask)]
            ml = [m.fit_ml().logLik for m in (pandas, dask)]
            fits = [m.fit(draws=draws, tune=draws, seed=1, progressbar=False)
                    for m in (pandas, dask)]
            table = fits[0].fixef()[["term", "mean", "sd"]].merge(
                fits[1].fixef()[["term", "mean", "sd"]], on="term",
                suffixes=("_pandas", "_dask"))
            print(json.dumps({"model": model, "rows": rows, "reduced_rows": dask.design.n,
                              "logp": logp, "ml_loglik": ml,
                              "seconds": [round(f.elapsed, 1) for f in fits]}))
            print(table.round(4).to_string(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling")
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--rows", type=int, default=100_000_000)
    g.add_argument("--out", type=pathlib.Path, required=True)
    f = sub.add_parser("fit")
    f.add_argument("--data", type=pathlib.Path, required=True)
    f.add_argument("--model", choices=list(FORMULAS), required=True)
    f.add_argument("--workers", type=int, default=4)
    f.add_argument("--memory", default="2GB")
    f.add_argument("--draws", type=int, default=1000)
    f.add_argument("--reduce-only", action="store_true")
    e = sub.add_parser("exact")
    e.add_argument("--rows", type=int, default=1_000_000)
    e.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args()
    if args.command == "generate":
        generate(args.rows, args.out)
    elif args.command == "fit":
        fit(args.data, args.model, args.workers, args.memory, args.draws, args.reduce_only)
    else:
        exact(args.rows, args.draws)


if __name__ == "__main__":
    main()

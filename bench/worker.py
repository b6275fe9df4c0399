"""One timed fit, run in a fresh process; prints one JSON line.

    python bench/worker.py hglm <sampler> <formula> <family> <csv> <draws> <tune> <chains> <seed>
    <bambi python> bench/worker.py bambi <sampler> ...

Times: ``build`` (formula -> model object), ``sample`` (compile + warm-up + draws + the
tool's own post-processing), ``wall`` = build + sample, the headline's denominator.  With
``BENCH_T0`` in the environment (the runner's clock when it started this process, ``--fresh``),
also ``startup`` (interpreter start to the worker's first line) and ``imports`` (the tool's
import, data read included).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import warnings


def _read(csv: str):
    import pandas as pd

    df = pd.read_csv(csv)
    for col in json.loads(open(csv[:-4] + ".json").read()):
        df[col] = df[col].astype(str).astype("category")
    return df


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def fit_hglm(sampler, formula, family, df, draws, tune, chains, seed):
    import hglm

    t0 = time.perf_counter()
    model = hglm.Model(formula, df, family=family)
    _ = model.pymc_model
    t1 = time.perf_counter()
    fit = model.fit(draws=draws, tune=tune, chains=chains, seed=seed, sampler=sampler,
                    progressbar=False)
    t2 = time.perf_counter()
    d = fit.diagnostics
    return dict(build=t1 - t0, sample=t2 - t1, ess=d.min_ess_bulk, divergences=d.divergences,
                rhat=d.max_rhat, sampler=fit.settings.sampler,
                strategy=model.parameterization)


def fit_bambi(sampler, formula, family, df, draws, tune, chains, seed):
    import arviz as az
    import bambi as bmb
    import numpy as np

    t0 = time.perf_counter()
    model = bmb.Model(formula, df, family=family)
    model.build()
    t1 = time.perf_counter()
    idata = model.fit(draws=draws, tune=tune, chains=chains, random_seed=seed,
                      inference_method=sampler if sampler != "pymc" else "pymc",
                      progressbar=False)
    t2 = time.perf_counter()
    # population parameters: fixed effects, group sds, sigma/alpha (not the group effects)
    names = [v for v in idata.posterior.data_vars
             if ("|" not in v or v.endswith("_sigma")) and not v.endswith("_offset")
             and v != "mu" and not v.endswith("_mean")]
    ess = az.ess(idata, var_names=names, method="bulk")
    rhat = az.rhat(idata, var_names=names)
    return dict(build=t1 - t0, sample=t2 - t1,
                ess=float(min(np.min(ess[v].values) for v in names)),
                divergences=int(idata.sample_stats["diverging"].sum()),
                rhat=float(max(np.max(rhat[v].values) for v in names)), sampler=sampler)


def main(argv):
    t0 = float(os.environ.get("BENCH_T0", "nan"))
    startup = time.time() - t0
    tool, sampler, formula, family, csv = argv[:5]
    draws, tune, chains, seed = map(int, argv[5:9])
    warnings.simplefilter("ignore")
    before = time.time()
    __import__("hglm" if tool == "hglm" else "bambi")
    df = _read(csv)
    imports = time.time() - before
    fn = fit_hglm if tool == "hglm" else fit_bambi
    out = fn(sampler, formula, family, df, draws, tune, chains, seed)
    out["wall"] = out["build"] + out["sample"]
    out["ess_per_s"] = out["ess"] / out["wall"]
    out["peak_mb"] = _peak_mb()
    out.update(startup=startup, imports=imports)
    print("BENCH " + json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])

"""One timed hglm fit in this process, on whatever platform JAX finds (a GPU if present).

    python -m bench.device gaussian-10M [--draws 1000 --tune 1000 --chains 4 --seed 1]

For a machine where writing the rows as CSV for a worker process (as ``python -m bench``
does) would cost more than the fit: the data are simulated in process.  Prints one
``BENCH {json}`` line with the same fields as ``bench/worker.py`` plus the JAX platform and
device, the data-simulation seconds and the peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings


def main(argv=None) -> dict:
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    from bench.models import MODELS, load
    from bench.worker import _peak_mb, fit_hglm

    t0 = time.perf_counter()
    import hglm  # noqa: F401

    imports = time.perf_counter() - t0
    bench = MODELS[args.model]
    t0 = time.perf_counter()
    df = load(bench.data)
    simulate = time.perf_counter() - t0
    out = fit_hglm("auto", bench.formula, bench.family, df, args.draws, args.tune, args.chains,
                   args.seed)
    import jax

    dev = jax.devices()[0]
    out.update(model=bench.name, rows=len(df), wall=out["build"] + out["sample"],
               imports=imports, simulate=simulate, peak_mb=_peak_mb(),
               platform=dev.platform, device=getattr(dev, "device_kind", str(dev)),
               jax=jax.__version__, python=platform.python_version())
    out["ess_per_s"] = out["ess"] / out["wall"]
    print("BENCH " + json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    main()

"""Maximum likelihood against lme4, in one run: each fit a fresh process.

    python -m bench.ml                              # every model below
    python -m bench.ml --models insteval-sim gaussian-1M --reml

For each model hglm's ``fit_ml`` and lme4's ``lmer`` (Rscript, when R with lme4 is installed)
fit the same CSV; the table gives the fit's seconds (hglm: ``Model(...)`` and ``fit_ml``, the
first of which loads PyMC on first use; lme4: the ``lmer`` call, formula parsing included),
the whole process's (interpreter start, imports and data reading included), the
log-likelihoods and the ratio of fit times.
Writes ``bench/out/ml-<stamp>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.models import MODELS, load

HERE = Path(__file__).resolve().parent
#: the gaussian models of bench.models (maximum likelihood here is lmer's territory)
ML_MODELS = ["sleepstudy", "hsb82", "insteval-sim", "gaussian-100k", "gaussian-1M"]

HGLM = """
import json, sys, time
import pandas as pd
import hglm
data = pd.read_csv(sys.argv[1])
start = time.perf_counter()
model = hglm.Model(sys.argv[2], data)
built = time.perf_counter()
fit = model.fit_ml(reml=sys.argv[3] == "1")
end = time.perf_counter()
print("BENCH " + json.dumps({"fit_s": end - start, "build_s": built - start,
                             "logLik": fit.logLik, "converged": fit.converged}))
"""

LME4 = """
suppressMessages(library(lme4))
a <- commandArgs(TRUE)
d <- read.csv(a[1])
t <- system.time(m <- lmer(as.formula(a[2]), d, REML = a[3] == "1"))[["elapsed"]]
cat(sprintf('BENCH {"fit_s": %.4f, "logLik": %.6f, "converged": %s}\\n', t,
            as.numeric(logLik(m)), tolower(is.null(m@optinfo$conv$lme4$messages))))
"""


def run(cmd: list[str], timeout: int) -> dict:
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish in {timeout} s"}
    wall = time.perf_counter() - start
    lines = [x for x in proc.stdout.splitlines() if x.startswith("BENCH ")]
    if proc.returncode or not lines:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:200]}
    return {**json.loads(lines[-1][6:]), "process_s": wall}


def _cell(x: dict) -> str:
    if not x:
        return "not run"
    if "error" in x:
        return x["error"]
    build = f", model {x['build_s']:.2f}" if "build_s" in x else ""
    return f"{x['fit_s']:.2f}{build} ({x['process_s']:.1f})"


def markdown(rows: list[dict], reml: bool) -> str:
    head = ("| model | rows | hglm fit s, of which Model() (process s) | lme4 fit s (process s) | "
            "lme4 / hglm fit time | logLik hglm | logLik lme4 |\n|---|---|---|---|---|---|---|")
    lines = [f"Criterion: {'REML' if reml else 'ML'}", "", head]
    for r in rows:
        h, m = r.get("hglm", {}), r.get("lme4", {})
        ratio = f"{m['fit_s'] / h['fit_s']:.1f}x" if "fit_s" in h and "fit_s" in m else ""
        lines.append(f"| {r['model']} | {r['rows']:,} | {_cell(h)} | {_cell(m)} | {ratio} | "
                     f"{h.get('logLik', float('nan')):.4f} | {m.get('logLik', float('nan')):.4f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ml", description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=ML_MODELS, choices=ML_MODELS)
    parser.add_argument("--reml", action="store_true")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per fit")
    args = parser.parse_args(argv)
    rscript = shutil.which("Rscript")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        scripts = {"hglm": Path(tmp) / "fit.py", "lme4": Path(tmp) / "fit.R"}
        scripts["hglm"].write_text(HGLM)
        scripts["lme4"].write_text(LME4)
        for name in args.models:
            bench = MODELS[name]
            data = load(bench.data)
            csv = Path(tmp) / f"{name}.csv"
            data.to_csv(csv, index=False)
            row = {"model": name, "rows": len(data)}
            flag = "1" if args.reml else "0"
            row["hglm"] = run([sys.executable, str(scripts["hglm"]), str(csv), bench.formula, flag],
                              args.timeout)
            if rscript:
                row["lme4"] = run([rscript, str(scripts["lme4"]), str(csv), bench.formula, flag],
                                  args.timeout)
            print(json.dumps(row), flush=True)
            rows.append(row)
    text = markdown(rows, args.reml)
    print(text)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (out / f"ml-{stamp}.json").write_text(json.dumps(rows, indent=1))
    (out / f"ml-{stamp}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()

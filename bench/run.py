"""Benchmark hglm against Bambi (PyMC, nutpie and numpyro samplers) in one run.

    python -m bench                        # every model, every tool
    python -m bench --models sleepstudy cbpp --draws 1000
    python -m bench --fresh                # what a user feels: process start to result, cold
                                           # compile caches, then warm

Each fit runs in a fresh process (so compile caches behave as for a user's script and peak
memory is per fit), tools alternate within each model, and Bambi runs from its own virtual
environment (``bench/.venv-bambi``, created on first use: Bambi pins formulae < 0.7, hglm
needs 0.9).  Writes ``bench/out/<stamp>.json`` and ``.md``; ``--results`` also rewrites
``bench/RESULTS.md``.  Headline: ESS per wall-second = smallest bulk ESS over the population
parameters / (model build + compile + sampling seconds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

from bench.models import MODELS

HERE = Path(__file__).resolve().parent
BAMBI_ENV = HERE / ".venv-bambi"
BAMBI_PINS = ["bambi==0.17.2", "nutpie", "numpyro", "matplotlib<3.11"]
TOOLS = ["hglm", "bambi-pymc", "bambi-nutpie", "bambi-numpyro"]
#: ``--fresh``'s default: Bambi's PyMC sampler was never the best peer (3-12x nutpie's wall
#: time in the 2026-11-24 run), and whole-process runs of it doubled the run's length
FRESH_TOOLS = ["hglm", "bambi-nutpie", "bambi-numpyro"]


def bambi_python() -> Path:
    """The Bambi environment's interpreter, created on first use."""
    python = BAMBI_ENV / "bin" / "python"
    if not python.exists():
        print(f"creating {BAMBI_ENV} with {' '.join(BAMBI_PINS)} ...", flush=True)
        venv.create(BAMBI_ENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *BAMBI_PINS], check=True)
    return python


def cache_env(folder: Path) -> dict:
    """Every compile cache a fit may read or fill, pointed into ``folder``: JAX's persistent
    cache (under XDG_CACHE_HOME), PyTensor's compiled C modules, numba's (nutpie)."""
    return {"XDG_CACHE_HOME": str(folder / "xdg"), "NUMBA_CACHE_DIR": str(folder / "numba"),
            "PYTENSOR_FLAGS": f"base_compiledir={folder / 'pytensor'}"}


def run_fresh(tool: str, bench, csv: Path, args) -> list[dict]:
    """The fit twice in new processes sharing one new set of caches: cold, then warm.  The
    headline is ESS per second of the whole process, interpreter start to exit."""
    if not tool.startswith("hglm"):
        bambi_python()          # created before any clock starts
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as folder:
        for cache in ("cold", "warm"):
            env = {**os.environ, **cache_env(Path(folder)), "BENCH_T0": repr(time.time())}
            start = time.perf_counter()
            row = run_one(tool, bench, csv, args, env)
            row.update(cache=cache, process=time.perf_counter() - start)
            if "ess" in row:
                row["ess_per_process_s"] = row["ess"] / row["process"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def run_one(tool: str, bench, csv: Path, args, env: dict | None = None) -> dict:
    if tool.startswith("hglm"):
        python, sampler = sys.executable, (tool.split("-", 1) + ["auto"])[1]
        formula = bench.formula
    else:
        python, sampler = str(bambi_python()), tool.split("-", 1)[1]
        formula = bench.bambi_formula
    cmd = [python, str(HERE / "worker.py"), tool.split("-")[0], sampler, formula, bench.family,
           str(csv), str(args.draws), str(args.tune), str(args.chains), str(args.seed)]
    row = {"model": bench.name, "tool": tool}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                              env=env)
    except subprocess.TimeoutExpired:
        return {**row, "error": f"did not finish in {args.timeout} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("BENCH ")]
    if proc.returncode or not lines:
        return {**row, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:200]}
    return {**row, **json.loads(lines[-1][6:])}


def markdown(rows: list[dict], meta: dict) -> str:
    head = ("| model | tool | build s | sample s | wall s | min bulk ESS | ESS/s | divergences "
            "| max R-hat | peak MB | hglm / best peer |\n|---" + "|---" * 10 + "|\n")
    out = []
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        peers = [r.get("ess_per_s", 0.0) for r in mine if not r["tool"].startswith("hglm")
                 and "error" not in r]
        best = max(peers) if peers else None
        for r in mine:
            if "error" in r:
                out.append(f"| {model} | {r['tool']} | {r['error']} |" + " |" * 9)
                continue
            ratio = (f"{r['ess_per_s'] / best:.1f}x" if best and r["tool"].startswith("hglm")
                     else ("no peer finished" if r["tool"].startswith("hglm") else ""))
            tool = r["tool"] + (f" ({r['sampler']})" if r["tool"] == "hglm" else "")
            out.append(f"| {model} | {tool} | {r['build']:.1f} | {r['sample']:.1f} | "
                       f"{r['wall']:.1f} | {r['ess']:.0f} | {r['ess_per_s']:.1f} | "
                       f"{r['divergences']} | {r['rhat']:.3f} | {r['peak_mb']:.0f} | {ratio} |")
    settings = (f"{meta['chains']} chains x ({meta['tune']} warm-up + {meta['draws']} draws), "
                f"seed {meta['seed']}; {meta['machine']}; {meta['date']}")
    return (f"Command: `{meta['command']}`\n\nSettings: {settings}\n\n" + head
            + "\n".join(out) + "\n")


def markdown_fresh(rows: list[dict], meta: dict) -> str:
    """One row per (model, tool, cache): process seconds and ESS per process second, with
    hglm's ratio to the best peer in the same cache state."""
    head = ("| model | tool | cache | process s | startup s | imports s | build s | sample s "
            "| min bulk ESS | ESS/s (process) | divergences | max R-hat | hglm / best peer |\n"
            "|---" + "|---" * 12 + "|\n")
    out = []
    for model in dict.fromkeys(r["model"] for r in rows):
        for cache in ("cold", "warm"):
            mine = [r for r in rows if r["model"] == model and r.get("cache") == cache]
            peers = [r["ess_per_process_s"] for r in mine
                     if not r["tool"].startswith("hglm") and "error" not in r]
            best = max(peers) if peers else None
            for r in mine:
                if "error" in r:
                    out.append(f"| {model} | {r['tool']} | {cache} | {r['error']} |" + " |" * 9)
                    continue
                ratio = "" if not r["tool"].startswith("hglm") else (
                    f"{r['ess_per_process_s'] / best:.1f}x" if best else "no peer ran")
                out.append(f"| {model} | {r['tool']} | {cache} | {r['process']:.1f} | "
                           f"{r['startup']:.1f} | {r['imports']:.1f} | {r['build']:.1f} | "
                           f"{r['sample']:.1f} | {r['ess']:.0f} | "
                           f"{r['ess_per_process_s']:.1f} | {r['divergences']} | "
                           f"{r['rhat']:.3f} | {ratio} |")
    settings = (f"{meta['chains']} chains x ({meta['tune']} warm-up + {meta['draws']} draws), "
                f"seed {meta['seed']}; {meta['machine']}; {meta['date']}")
    return (f"Command: `{meta['command']}`\n\nSettings: {settings}. Each fit a new process; "
            f"cold: every compile cache empty, warm: the same fit again.\n\n" + head
            + "\n".join(out) + "\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--tools", nargs="+", default=None,
                        help="hglm, hglm-<sampler> (e.g. hglm-pymc), bambi-<sampler>; default "
                             f"{' '.join(TOOLS)} ({' '.join(FRESH_TOOLS)} with --fresh)")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per fit")
    parser.add_argument("--results", action="store_true", help="also rewrite bench/RESULTS.md")
    parser.add_argument("--fresh", action="store_true",
                        help="time whole processes, cold caches then warm (what a user feels)")
    args = parser.parse_args(argv)
    args.tools = args.tools or (FRESH_TOOLS if args.fresh else TOOLS)

    data_dir = HERE / "out" / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, name in enumerate(args.models):
        bench = MODELS[name]
        tools = args.tools[i % len(args.tools):] + args.tools[:i % len(args.tools)]  # alternate
        if not all(bench.skipped(t) for t in tools):
            csv = bench.write_data(data_dir)
        for tool in tools:
            if bench.skipped(tool):
                rows += [{"model": name, "tool": tool, "error": bench.skipped(tool),
                          "cache": c} for c in (("cold", "warm") if args.fresh else (None,))]
                continue
            if args.fresh:
                rows += run_fresh(tool, bench, csv, args)
                continue
            row = run_one(tool, bench, csv, args)
            rows.append(row)
            print(json.dumps(row), flush=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    meta = dict(vars(args), date=dt.date.today().isoformat(),
                command="python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
                machine=f"{platform.machine()}, {os.cpu_count()} cores, Python "
                        f"{platform.python_version()}")
    text = (markdown_fresh if args.fresh else markdown)(rows, meta)
    (HERE / "out" / f"{stamp}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    (HERE / "out" / f"{stamp}.md").write_text(text)
    if args.results:
        (HERE / "RESULTS.md").write_text("# Benchmark results\n\n" + text)
    print(text)

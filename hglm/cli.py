"""The ``hglm`` command: run spec files, compare, check sensitivity, report.

Exit codes: 0 ok; 2 bad input (spec, data, formula, priors: the message says what);
1 the sampler's output needs a look (divergences, R-hat, ESS), results are still written.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

__all__ = ["main"]

TEMPLATES = ("random-intercept", "random-slope", "crossed", "nested", "binomial-trials",
             "poisson-offset", "negbinomial", "zero-inflated", "ordinal", "heteroscedastic")


def templates_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "templates"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hglm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="fit Reaction ~ Days + (Days | Subject) to sleepstudy")
    demo.add_argument("--draws", type=int, default=1000)
    demo.add_argument("--chains", type=int, default=4)
    demo.add_argument("--seed", type=int, default=1)
    run = sub.add_parser("run", help="fit a spec file and write its results to a folder")
    run.add_argument("spec")
    run.add_argument("--out", required=True, help="results folder (must not exist yet)")
    run.add_argument("--draws", type=int, help="override the spec's draws (and tune)")
    run.add_argument("--chains", type=int, help="override the spec's chains")
    run.add_argument("--no-figures", action="store_true")
    new = sub.add_parser("new", help="start a spec file from a template")
    new.add_argument("name", help="the new spec file (.toml added if missing)")
    new.add_argument("--template", default="random-slope", choices=TEMPLATES)
    for name, text in (("compare", "compare the spec's model with its [compare] formulas"),
                       ("sensitivity", "prior sensitivity of the spec's model")):
        p = sub.add_parser(name, help=text)
        p.add_argument("spec")
        p.add_argument("--draws", type=int)
        p.add_argument("--chains", type=int)
    case = sub.add_parser("case-study", help="re-execute a case study notebook at full size")
    case.add_argument("name", help="sleepstudy, cbpp, ...")
    case.add_argument("--draws", type=int, help="draws per chain (default: the notebook's own)")
    calib = sub.add_parser("sbc", help="simulation-based calibration of one family's model")
    calib.add_argument("family", help="a family with a calibration model (every family: "
                       "gaussian, poisson, gamma, zero_inflated_poisson, ...)")
    calib.add_argument("--n-sims", type=int, default=200)
    calib.add_argument("--draws", type=int, default=1000, help="draws per chain")
    calib.add_argument("--tune", type=int, default=1000)
    calib.add_argument("--chains", type=int, default=4)
    calib.add_argument("--seed", type=int, default=0)
    calib.add_argument("--simulate-link", help="simulate with this link instead (a broken "
                       "model, to see the check fail)")
    calib.add_argument("--out", help="folder for ranks.csv, table.csv, ecdf.png (must not exist)")
    calib.add_argument("--dpar", action="append", default=[], metavar="NAME=FORMULA",
                       help="a formula for an auxiliary parameter, e.g. 'sigma=~ x + (1 | g)' "
                            "(repeat for several)")
    report = sub.add_parser("report", help="one self-contained HTML page from a results folder")
    report.add_argument("dir")
    report.add_argument("--output", help="the HTML file (default: DIR/report.html)")
    return parser


_default_format = warnings.formatwarning


def _plain_warning(message, category, filename, lineno, line=None) -> str:
    """hglm's own advice as one plain line; anything else in Python's usual form, so a
    message from another library is never mistaken for hglm's."""
    from hglm.notices import HglmWarning

    if issubclass(category, HglmWarning):
        return f"warning: {message}\n"
    return _default_format(message, category, filename, lineno, line)


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = _plain_warning   # people read these, not tracebacks
    args = _parser().parse_args(argv)
    if args.command is None:
        args = _parser().parse_args(["demo"])
    command = args.command
    try:
        return {"demo": _demo, "run": _run, "new": _new, "compare": _compare,
                "sensitivity": _sensitivity, "report": _report,
                "case-study": _case_study, "sbc": _sbc}[command](args)
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        print(f"hglm {command}: error: {err}", file=sys.stderr)
        return 2


# -- commands -----------------------------------------------------------------------------
def _sbc(args) -> int:
    """Exit 0 when calibrated, 1 when some parameter fails uniformity."""
    from hglm.validation.models import sbc_model
    from hglm.validation.sbc import sbc

    out = Path(args.out) if args.out else None
    if out is not None and out.exists():
        raise FileExistsError(f"{out} exists; choose a new folder so no results are overwritten")
    dpars = {}
    for item in args.dpar:
        name, sep, formula = item.partition("=")
        if not sep:
            raise ValueError(f"--dpar {item!r}: write NAME=FORMULA, e.g. 'sigma=~ x'")
        dpars[name.strip()] = formula.strip()
    model = sbc_model(args.family, dpars=dpars)
    simulator = sbc_model(args.family, link=args.simulate_link, dpars=dpars) \
        if args.simulate_link else None
    start = time.perf_counter()
    result = sbc(model, n_sims=args.n_sims, draws=args.draws, tune=args.tune,
                 chains=args.chains, seed=args.seed, simulator=simulator)
    print(result.summary())
    print(f"{time.perf_counter() - start:.0f} s; command: hglm sbc "
          f"{' '.join(sys.argv[2:]) if sys.argv[1:2] == ['sbc'] else args.family}")
    if out is not None:
        import matplotlib

        matplotlib.use("Agg")
        out.mkdir(parents=True)
        result.ranks.to_csv(out / "ranks.csv", index=False)
        result.fits.to_csv(out / "fits.csv", index=False)
        result.table.to_csv(out / "table.csv", index=False)
        (out / "settings.json").write_text(json.dumps(result.settings, indent=2, default=str))
        result.plot().savefig(out / "ecdf.png", dpi=100)
    return 0 if result.passed else 1


def _demo(args) -> int:
    import hglm

    data = hglm.datasets.load("sleepstudy")
    model = hglm.Model("Reaction ~ Days + (Days | Subject)", data=data, family="gaussian")
    print(model)
    print(model.priors.to_string(index=False), end="\n\n")
    fit = model.fit(draws=args.draws, tune=args.draws, chains=args.chains, seed=args.seed)
    print(fit.summary())
    return 1 if fit.diagnostics.problems(fit.settings.target_accept) else 0


def _settings(spec, args) -> dict:
    settings = dict(spec.sampling)
    if getattr(args, "draws", None):
        settings["draws"] = settings["tune"] = args.draws
    if getattr(args, "chains", None):
        settings["chains"] = args.chains
    settings.setdefault("seed", 1)
    return settings


def _fit_spec(spec, args, progressbar=True):
    model = spec.build_model()
    return model.fit(**_settings(spec, args), progressbar=progressbar)


def _run(args) -> int:
    from hglm.workflow.interpretation import check_interpretation, write_interpretation
    from hglm.workflow.spec_file import load_spec

    spec = load_spec(args.spec)
    out = Path(args.out)
    if out.exists():
        raise FileExistsError(f"{out} exists; choose a new --out folder (hglm never overwrites)")
    model = spec.build_model()                       # bad data or priors fail before sampling
    check_interpretation(spec.interpret, model)
    out.parent.mkdir(parents=True, exist_ok=True)
    # everything is written to a hidden sibling and renamed when complete, so an interrupted
    # run never leaves a folder that looks like a finished result
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial.", dir=out.parent))
    try:
        started = time.time()
        fit = model.fit(**_settings(spec, args))
        _write_fit(fit, tmp, figures=not args.no_figures)
        extra = {}
        if spec.compare.get("formulas"):
            comparison = _comparison(spec, fit, args)
            comparison.table.to_csv(tmp / "comparison.csv")
            (tmp / "comparison.txt").write_text(str(comparison) + "\n")
            extra["comparison"] = "comparison.csv"
        if spec.sensitivity:
            _write_sensitivity(spec, fit, tmp, args)
            extra["sensitivity"] = "sensitivity.csv"
        if spec.interpret:
            extra["interpret"] = write_interpretation(spec.interpret, fit, tmp,
                                                      figures=not args.no_figures)
        _write_run_json(spec, fit, tmp, time.time() - started, extra)
        tmp.rename(out)                              # only a finished result gets the name
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    print(fit.summary())
    print(f"\nresults in {out}/")
    return 1 if fit.diagnostics.problems(fit.settings.target_accept) else 0


def _write_fit(fit, folder: Path, figures: bool = True) -> None:
    (folder / "summary.txt").write_text(fit.summary() + "\n")
    (folder / "model.txt").write_text(fit.model.describe())
    fit.fixef().to_csv(folder / "fixef.csv", index=False)
    fit.varcorr().to_csv(folder / "varcorr.csv", index=False)
    fit.ranef().to_csv(folder / "ranef.csv", index=False)
    if figures:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        plots = {"trace": fit.plot_trace, "ppc": fit.plot_ppc, "fixef": fit.plot_fixef}
        if fit.design.blocks:
            plots["ranef"] = fit.plot_ranef
        for name, draw in plots.items():
            fig = draw()
            fig.savefig(folder / f"{name}.png", dpi=90, bbox_inches="tight")
            plt.close(fig)
    fit.idata.to_netcdf(str(folder / "posterior.nc"))


def _write_run_json(spec, fit, folder: Path, seconds: float, extra: dict) -> None:
    from hglm.environment import versions

    record = {"spec": spec.to_dict(), "spec_file": str(spec.path), "settings":
              fit.settings.to_dict(), "seconds": round(seconds, 2), "versions": versions(),
              "diagnostics": {"divergences": fit.diagnostics.divergences,
                              "max_rhat": fit.diagnostics.max_rhat,
                              "min_ess_bulk": fit.diagnostics.min_ess_bulk,
                              "min_ess_tail": fit.diagnostics.min_ess_tail},
              "notes": fit.notes,
              "priors": fit.model.priors.to_dict(orient="records"), "outputs": extra}
    (folder / "run.json").write_text(json.dumps(record, indent=2, default=str))


def _comparison(spec, fit, args):
    import hglm

    fits = [fit] + [spec.build_model(f, fit.model.data).fit(**_settings(spec, args))
                    for f in spec.compare["formulas"]]
    options = {k: spec.compare[k] for k in ("method", "group", "K") if k in spec.compare}
    return hglm.compare(*fits, **options)


def _write_sensitivity(spec, fit, folder: Path, args) -> None:
    if spec.sensitivity.get("power_scaling", True):
        fit.sensitivity(keys=spec.sensitivity.get("keys")).to_csv(folder / "sensitivity.csv",
                                                                   index=False)
    sweep = _sweep(spec, fit, args, progressbar=False)
    if sweep is not None:
        sweep.table.to_csv(folder / "prior_sweep.csv", index=False)
        import matplotlib.pyplot as plt

        fig = sweep.plot()
        fig.savefig(folder / "prior_sweep.png", dpi=90, bbox_inches="tight")
        plt.close(fig)


def _new(args) -> int:
    target = Path(args.name if args.name.endswith(".toml") else args.name + ".toml")
    if target.exists():
        raise FileExistsError(f"{target} exists; not overwriting it")
    source = templates_dir() / f"{args.template}.toml"
    if not source.exists():
        raise FileNotFoundError(f"template {args.template!r} not found in {templates_dir()}")
    shutil.copyfile(source, target)
    print(f"wrote {target} from template {args.template!r}; "
          f"edit it, then: hglm run {target} --out results")
    return 0


def _compare(args) -> int:
    from hglm.workflow.spec_file import load_spec

    spec = load_spec(args.spec)
    if not spec.compare.get("formulas"):
        raise ValueError(f"{args.spec} has no [compare] formulas")
    spec.build_model()
    print(_comparison(spec, _fit_spec(spec, args), args))
    return 0


def _sensitivity(args) -> int:
    from hglm.workflow.spec_file import load_spec

    spec = load_spec(args.spec)
    spec.build_model()
    fit = _fit_spec(spec, args)
    print(fit.sensitivity(keys=spec.sensitivity.get("keys")).to_string(index=False))
    sweep = _sweep(spec, fit, args)
    if sweep is not None:
        print(sweep.table.to_string(index=False))
    return 0


def _sweep(spec, fit, args, progressbar: bool = True):
    """The spec's prior variants (and the spec's own priors as "spec"), refitted; or None."""
    import hglm

    variants = spec.sensitivity.get("variants")
    if not variants:
        return None
    s = _settings(spec, args)
    return hglm.prior_sweep(fit.model, {"spec": None, **variants}, draws=s.get("draws", 1000),
                            tune=s.get("tune", 1000), chains=s.get("chains", 4), seed=s["seed"],
                            sampler=s.get("sampler", "auto"),
                            target_accept=s.get("target_accept"), progressbar=progressbar)


def _case_study(args) -> int:
    """Execute case_studies/NAME.py (jupytext percent format) into NAME.ipynb."""
    import os

    folder = Path(__file__).resolve().parent.parent / "case_studies"
    source = folder / f"{args.name}.py"
    if not source.exists():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.py")))
        raise FileNotFoundError(f"no case study {args.name!r}; there are: {known}")
    try:
        import jupytext
        import nbclient
    except ImportError:
        raise ValueError("executing notebooks needs jupytext, nbclient and ipykernel: "
                         "pip install -e \".[notebooks]\"") from None
    if args.draws:
        os.environ["HGLM_CASE_DRAWS"] = str(args.draws)
    notebook = jupytext.read(source)
    nbclient.NotebookClient(notebook, timeout=3600, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    target = folder / f"{args.name}.ipynb"
    tmp = target.with_name(f".{target.stem}.partial.ipynb")
    jupytext.write(notebook, tmp, fmt="ipynb")
    tmp.replace(target)
    print(f"executed {source.name} -> {target}")
    return 0


def _report(args) -> int:
    from hglm.results.report import write_report

    path = write_report(Path(args.dir), Path(args.output) if args.output else None)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

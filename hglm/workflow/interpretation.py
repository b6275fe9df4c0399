"""A spec's ``[interpret]`` section: checked against the model before sampling, then written
next to the fit's tables by ``hglm run`` (and shown by ``hglm report``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["check_interpretation", "write_interpretation"]


def _effects(options: dict) -> list[str]:
    chosen = options.get("conditional_effects", False)
    return [] if chosen is False else [] if chosen is True else list(chosen)


def check_interpretation(options: dict, model) -> None:
    """Every variable the section names is one of the model's (before any sampling)."""
    from hglm.interpret.grid import model_frame

    known = set(model_frame(model.design).columns)
    named = list(options.get("comparisons", [])) + list(options.get("slopes", []))
    named += [part for effect in _effects(options) for part in str(effect).split(":")]
    unknown = sorted({str(v) for v in named} - known)
    if unknown:
        raise ValueError(f"[interpret] names {', '.join(map(repr, unknown))}, not variables "
                         f"of the model; its variables are {', '.join(sorted(known))}")


def write_interpretation(options: dict, fit, folder: Path, figures: bool = True) -> list[str]:
    """Write what ``options`` asks; returns the files written."""
    from hglm.interpret.effects import comparisons, slopes

    tables: dict[str, pd.DataFrame] = {}
    if options.get("r2"):
        tables["r2.csv"] = fit.r2().rename_axis("version").reset_index()
    if options.get("icc") and fit.design.blocks:     # no group terms: no ICC to write
        tables["icc.csv"] = fit.icc().reset_index()
    if options.get("hypotheses"):
        tables["hypotheses.csv"] = fit.hypothesis(options["hypotheses"])
    if options.get("comparisons"):
        tables["comparisons.csv"] = comparisons(fit, options["comparisons"], by=True)
    if options.get("slopes"):
        tables["slopes.csv"] = slopes(fit, options["slopes"], by=True)
    for name, table in tables.items():
        pd.DataFrame(table).to_csv(folder / name, index=False)
    written = list(tables)
    if figures and options.get("conditional_effects", False) is not False:
        written += _write_effects(fit, _effects(options) or None, folder)
    return written


def _write_effects(fit, effects, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for effect, figure in fit.conditional_effects(effects).items():
        name = f"conditional_effects_{effect.replace(':', '_')}.png"
        figure.savefig(folder / name, dpi=90, bbox_inches="tight")
        plt.close(figure)
        written.append(name)
    return written

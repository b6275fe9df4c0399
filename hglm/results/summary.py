"""The lme4-style text summary, with Bayesian columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["format_summary"]


def _lme4_name(term: str) -> str:
    return "(Intercept)" if term == "Intercept" else term


def _num(x: float, digits: int = 3) -> str:
    if not np.isfinite(x):
        return "NA"
    return f"{x:.{digits}f}" if x == 0 or 1e-3 <= abs(x) < 1e6 else f"{x:.{digits}e}"


def _random_effects(varcorr: pd.DataFrame, blocks) -> list[str]:
    rows = []
    for block in blocks:
        mine = varcorr.group == block.factor_label
        if "dpar" in varcorr:
            mine &= varcorr.dpar == (block.dpar or "mu")
        sds = varcorr[mine & (varcorr.kind == "sd")]
        cors = varcorr[mine & (varcorr.kind == "cor")]
        cor_of = dict(zip(cors.name, cors["mean"]))
        prefix = f"{block.dpar}_" if block.dpar else ""      # brms's sigma_Intercept
        for i, (_, row) in enumerate(sds.iterrows()):
            corr = [f"{cor_of[f'{block.terms[j]}:{block.terms[i]}']:+.2f}"
                    for j in range(i) if f"{block.terms[j]}:{block.terms[i]}" in cor_of]
            rows.append([block.factor_label if i == 0 else "",
                         prefix + _lme4_name(row["name"]),
                         _num(row["mean"]), _num(row["lower"]), _num(row["upper"]),
                         " ".join(corr)])
    for _, row in varcorr[varcorr.group.isin(["Residual"])].iterrows():
        rows.append(["Residual", "", _num(row["mean"]), _num(row["lower"]),
                     _num(row["upper"]), ""])
    header = ["Groups", "Name", "Std.Dev.", "l-95% CI", "u-95% CI", "Corr"]
    return _text_table(header, rows, left=2)


def _text_table(header: list[str], rows: list[list[str]], left: int) -> list[str]:
    """Columns padded to width; the first ``left`` columns left-aligned, as lme4 prints."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    def line(cells):
        return "  ".join(str(c).ljust(w) if i < left else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return [line(header)] + [line(r) for r in rows]


def _fixed_effects(fixef: pd.DataFrame) -> list[str]:
    if fixef.empty:
        return ["(none)"]
    header = ["", "Estimate", "Est.Error", "l-95% CI", "u-95% CI", "Rhat", "Bulk_ESS", "Tail_ESS"]
    rows = [[_lme4_name(r.term), _num(r.mean), _num(r.sd), _num(r.lower), _num(r.upper),
             f"{r.r_hat:.3f}", f"{r.ess_bulk:.0f}", f"{r.ess_tail:.0f}"]
            for r in fixef.itertuples()]
    return _text_table(header, rows, left=1)


def format_summary(fit) -> str:
    """The text ``Fit.summary()`` returns."""
    design, settings, diag = fit.design, fit.settings, fit.diagnostics
    family = design.family
    lines = [
        f"Bayesian generalized linear mixed model fit by NUTS ({settings.sampler}) [hglm]",
        f" Family: {family.title}",
        f"Formula: {design.formula.formula}",
        *[f"         {d.formula.formula}  ({d.family.aux_link(d.dpar).name} link)"
          for d in design.dpars],
        f"   Data: {design.n_rows} observations"
        + (f" (as {design.n} moment points)" if design.moments
           else f" ({design.n} distinct rows)" if design.counts is not None else "")
        + (f" ({design.n_dropped} rows with missing values dropped)" if design.n_dropped else ""),
        f"  Draws: {settings.chains} chains x {settings.draws} draws after {settings.tune} "
        f"warm-up = {settings.chains * settings.draws} draws; seed {settings.seed}",
    ]
    dispersion = fit.varcorr()
    blocks = design.all_blocks
    if blocks:
        lines += ["", "Random effects (posterior mean of each Std.Dev. and Corr):"]
        lines += [" " + row for row in _random_effects(dispersion, blocks)]
        levels = {b.factor_label: b.n_levels for b in blocks}
        groups = ", ".join(f"{g}, {n}" for g, n in levels.items())
        lines.append(f"Number of obs: {design.n_rows}, groups:  {groups}")
    elif family.scale_parameter and (dispersion.group == "Residual").any():
        row = dispersion[dispersion.group == "Residual"].iloc[0]
        lines += ["", f"Residual Std.Dev.: {_num(row['mean'])} "
                      f"[{_num(row['lower'])}, {_num(row['upper'])}]"]
    groups = [b.factor_label for b in blocks] + ["Residual"]
    aux = dispersion[~dispersion.group.isin(groups)]      # Dispersion, Zero-inflation, ...
    for _, row in aux.iterrows():
        lines.append(f"{row['group']} ({row['name']}): {_num(row['mean'])} "
                     f"[{_num(row['lower'])}, {_num(row['upper'])}]")
    fixef = fit.fixef()
    if "dpar" not in fixef:
        lines += ["", "Fixed effects:"] + _fixed_effects(fixef)
    else:       # one table per linear predictor
        lines += ["", "Fixed effects:"] + _fixed_effects(fixef[fixef.dpar == "mu"])
        for sub in design.dpars:
            lines += ["", f"Fixed effects of {sub.dpar} ({family.aux_link(sub.dpar).name} "
                          f"scale):"] + _fixed_effects(fixef[fixef.dpar == sub.dpar])
    lines += ["", f"Sampler: {diag.divergences} divergent transitions; max R-hat "
                  f"{diag.max_rhat:.3f}; min ESS bulk {diag.min_ess_bulk:.0f}, tail "
                  f"{diag.min_ess_tail:.0f}; {fit.elapsed:.1f} s"]
    lines += [f"Note: {n}" for n in fit.notes]
    problems = diag.problems(settings.target_accept)
    lines += [f"Warning: {p}" for p in problems]
    return "\n".join(lines)

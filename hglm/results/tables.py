"""Tidy posterior tables: fixed effects, variance components, group effects, coefficients.

Intervals are equal-tailed (2.5% and 97.5% quantiles), as brms and rstanarm report them.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from hglm import names
from hglm.design.matrices import Design

__all__ = ["describe", "vector_aux", "fixef_table", "varcorr_table", "ranef_table", "coef_table",
           "population_vars", "scalar_draws"]

_SAMPLE = ("chain", "draw")


def describe(da: xr.DataArray, prob: float = 0.95, diagnostics: bool = True) -> pd.DataFrame:
    """Mean, sd, interval (and R-hat, ESS) of every element of a posterior array."""
    lo, hi = (1 - prob) / 2, 1 - (1 - prob) / 2
    stats = {
        "mean": da.mean(_SAMPLE), "sd": da.std(_SAMPLE, ddof=1),
        "lower": da.quantile(lo, _SAMPLE).drop_vars("quantile"),
        "upper": da.quantile(hi, _SAMPLE).drop_vars("quantile"),
    }
    if diagnostics:
        ds = da.to_dataset(name="x")
        stats["r_hat"] = az.rhat(ds)["x"]
        stats["ess_bulk"] = az.ess(ds, method="bulk")["x"]
        stats["ess_tail"] = az.ess(ds, method="tail")["x"]
    if da.ndim == 2:  # a scalar parameter
        return pd.DataFrame({k: [float(v)] for k, v in stats.items()})
    return xr.Dataset(stats).to_dataframe()[list(stats)].reset_index()


def population_vars(design: Design, posterior: xr.Dataset) -> list[str]:
    """Names of the population-level variables (what convergence is judged on)."""
    found = [names.beta(d.dpar) for d in design.predictors]
    for block in design.all_blocks:
        found.append(names.sd(block.label))
        if block.has_correlation:
            found.append(names.cor(block.label))
    found += [a for a in design.family.aux if a in posterior]
    return [n for n in found if n in posterior]


def scalar_draws(ds: xr.Dataset, variables: list[str]) -> dict[str, np.ndarray]:
    """Every element of each variable as ``"name[label, ...]"`` -> its (chain, draw) values."""
    out = {}
    for name in variables:
        da = ds[name]
        for idx in np.ndindex(*da.shape[2:]):
            labels = [str(da[d].values[i]) for d, i in zip(da.dims[2:], idx)]
            key = f"{name}[{', '.join(labels)}]" if labels else name
            out[key] = np.asarray(da.values)[(slice(None), slice(None)) + idx]
    return out


def vector_aux(design: Design) -> list[str]:
    """The family's vector auxiliary parameters (ordinal thresholds)."""
    return [a for a in design.family.aux
            if design.family.aux_coords(a, design.categories) is not None]


MEAN = "mu"     # the dpar column's name for the mean's linear predictor (brms's)


def _with_dpar(table: pd.DataFrame, design: Design, dpar: str | None) -> pd.DataFrame:
    """Add the ``dpar`` column (which linear predictor) to a model with auxiliary formulas."""
    if design.dpars:
        table.insert(0, "dpar", MEAN if dpar is None else dpar)
    return table


def _concat(frames: list[pd.DataFrame], columns: list[str], design: Design) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=(["dpar"] if design.dpars else []) + columns)
    return pd.concat(frames, ignore_index=True)


def fixef_table(design: Design, posterior: xr.Dataset) -> pd.DataFrame:
    """Fixed effects; an ordinal model's thresholds first (``"1|2"``, ... as ordinal's
    ``coef``, brms's ``Intercept[k]``); with auxiliary formulas, a ``dpar`` column says whose
    (``mu``, ``sigma``, ...), as brms's ``sigma_Intercept``."""
    parts = [_with_dpar(describe(posterior[a]).rename(columns={names.aux_dim(a): "term"}),
                        design, None) for a in vector_aux(design)]
    for sub in design.predictors:
        beta = names.beta(sub.dpar)
        if beta in posterior:
            table = describe(posterior[beta]).rename(columns={names.coef_dim(sub.dpar): "term"})
            parts.append(_with_dpar(table, design, sub.dpar))
    return _concat(parts, ["term", "mean", "sd", "lower", "upper", "r_hat", "ess_bulk",
                           "ess_tail"], design)


def varcorr_table(design: Design, posterior: xr.Dataset) -> pd.DataFrame:
    rows = []
    cols = ["mean", "sd", "lower", "upper", "ess_bulk", "r_hat"]
    dpar = (lambda b: {"dpar": b.dpar or MEAN}) if design.dpars else (lambda b: {})
    for block in design.all_blocks:
        sd = describe(posterior[names.sd(block.label)])
        for _, row in sd.iterrows():
            rows.append({**dpar(block), "group": block.factor_label,
                         "name": row[names.term_dim(block.label)], "kind": "sd",
                         **{c: row[c] for c in cols}})
        if block.has_correlation:
            cor = describe(posterior[names.cor(block.label)])
            for _, row in cor.iterrows():
                rows.append({**dpar(block), "group": block.factor_label,
                             "name": row[names.cor_dim(block.label)], "kind": "cor",
                             **{c: row[c] for c in cols}})
    for aux in design.family.aux:
        if aux in vector_aux(design) or aux not in posterior:   # thresholds; formulas
            continue
        row = describe(posterior[aux]).iloc[0]
        group, kind = design.family.aux_label(aux)
        rows.append({**({"dpar": aux} if design.dpars else {}), "group": group, "name": aux,
                     "kind": kind, **{c: row[c] for c in cols}})
    return pd.DataFrame(rows, columns=(["dpar"] if design.dpars else [])
                        + ["group", "name", "kind"] + cols)


_LEVEL_COLUMNS = ["group", "level", "term", "mean", "sd", "lower", "upper"]


def ranef_table(design: Design, posterior: xr.Dataset) -> pd.DataFrame:
    frames = []
    for block in design.all_blocks:
        table = describe(posterior[names.r(block.label)], diagnostics=False)
        table = table.rename(columns={block.label: "level", names.term_dim(block.label): "term"})
        table.insert(0, "group", block.factor_label)
        frames.append(_with_dpar(table, design, block.dpar))
    return _concat(frames, _LEVEL_COLUMNS, design)


def coef_table(design: Design, posterior: xr.Dataset) -> pd.DataFrame:
    """Per-level coefficients: the fixed effect plus the level's group effect, draw by draw
    (of the same linear predictor)."""
    frames = []
    for block in design.all_blocks:
        r = posterior[names.r(block.label)]
        term_dim = names.term_dim(block.label)
        beta, coef_dim = names.beta(block.dpar), names.coef_dim(block.dpar)
        parts = []
        for term in block.terms:
            total = r.sel({term_dim: term})
            if beta in posterior and term in posterior[beta].coords[coef_dim].values:
                total = total + posterior[beta].sel({coef_dim: term})
            parts.append(total.expand_dims({term_dim: [term]}))
        draws = xr.concat([p.drop_vars(coef_dim, errors="ignore") for p in parts], dim=term_dim)
        table = describe(draws.transpose(*_SAMPLE, block.label, term_dim), diagnostics=False)
        table = table.rename(columns={block.label: "level", term_dim: "term"})
        table.insert(0, "group", block.factor_label)
        frames.append(_with_dpar(table[_LEVEL_COLUMNS], design, block.dpar))
    return _concat(frames, _LEVEL_COLUMNS, design)

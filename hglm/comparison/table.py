"""``hglm.compare``: an anova-style table with LOO, Bayes factors and boundary-corrected LRTs."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import arviz as az
import numpy as np
import pandas as pd
from scipy import stats

from hglm.comparison.loo import loo, loo_rows, summed_se, weighted_elpd
from hglm.comparison.lrt import boundary_null

__all__ = ["Comparison", "compare", "COLUMNS", "model_weights", "weights_from_pointwise"]

#: the weighting methods, by hglm's column names and ArviZ's method names
WEIGHTS = {"w_stack": "stacking", "w_pbma": "BB-pseudo-BMA"}

COLUMNS = ["formula", "npar", "elpd_loo", "se", "elpd_diff", "se_diff", "p_loo", "n_bad_k",
           "w_stack", "w_pbma", "log_bf", "log_bf_error", "logLik", "lrt_stat", "df", "p_naive",
           "p_boundary", "null"]

def _fmt(spec):
    return lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, spec)


_FORMATS = {"npar": _fmt("d"), "elpd_loo": _fmt(".1f"), "elpd_kfold": _fmt(".1f"),
            "se": _fmt(".1f"), "elpd_diff": _fmt(".1f"), "se_diff": _fmt(".1f"),
            "p_loo": _fmt(".1f"), "k>0.7": _fmt(".0f"), "w_stack": _fmt(".3f"),
            "w_pbma": _fmt(".3f"), "log_bf": _fmt(".2f"),
            "bf_err": _fmt(".2f"), "logLik": _fmt(".2f"), "Chisq": _fmt(".3f"), "df": _fmt(".0f"),
            "Pr(>Chisq)": _fmt(".3g"), "Pr(boundary)": _fmt(".3g")}

_BF_STRONG = np.log(10.0)   # Jeffreys: a Bayes factor above 10 is strong evidence
_BF_MODERATE = np.log(3.0)


@dataclass
class Comparison:
    """The comparison of several fits of the same data; ``.table`` holds the numbers."""

    table: pd.DataFrame
    n_obs: int
    response: str
    reference: str
    notes: list[str] = field(default_factory=list)

    def interpretation(self) -> list[str]:
        """Plain-language reading of the table, one line per criterion, then the notes."""
        return _interpret(self.table, self.reference) + self.notes

    def verdict(self) -> str:
        """Whether the criteria pick the same model (the last line of the interpretation)."""
        return _agreement(self.table, self.reference)

    def __str__(self) -> str:
        t = self.table
        lines = [f"Model comparison [hglm]: {self.n_obs} observations of {self.response}",
                 "Models:"]
        lines += [f"{name}: {row.formula}" for name, row in t.iterrows()]
        shown = t.drop(columns=["formula", "null"]).rename(columns={
            "n_bad_k": "k>0.7", "log_bf_error": "bf_err", "lrt_stat": "Chisq",
            "p_naive": "Pr(>Chisq)", "p_boundary": "Pr(boundary)"})
        text = shown.to_string(formatters=_FORMATS, na_rep="")
        lines += text.splitlines()
        lines.append(f"log_bf: log Bayes factor against {self.reference} (bridge sampling). "
                     f"Chisq: likelihood-ratio test of each model against the row above, "
                     f"from maximum-likelihood fits.")
        for name, row in t.iterrows():
            if isinstance(row["null"], str) and row["null"]:
                lines.append(f"  {name}: Pr(boundary) from {row['null']}")
        lines += ["", "Interpretation:"] + [f"- {line}" for line in self.interpretation()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:  # notebooks
        return self.table._repr_html_()


def _check_same_data(fits) -> None:
    first = fits[0].design
    for fit in fits[1:]:
        d = fit.design
        if d.response_name != first.response_name or d.family.response != first.family.response:
            raise ValueError(f"models must share the response: {first.response_name!r} "
                             f"({first.family}) vs {d.response_name!r} ({d.family})")
        if d.moments or first.moments:
            if not (d.moments and first.moments):
                raise ValueError("models must be fitted to the same rows: fit them all to the "
                                 "same Dask frame, or all to the same pandas frame")
            continue                    # their rows are the shared Dask frame's (loo_rows)
        reduced = d.counts is not None or first.counts is not None
        if reduced and not (len(d.y) == len(first.y) and d.data.equals(first.data)):
            raise ValueError(
                f"models must be fitted to the same rows, and {first.formula.formula!r} and "
                f"{d.formula.formula!r} were reduced to distinct rows of different columns; "
                f"reduce both on the columns of either (a pandas frame of "
                f"ddf[columns].groupby(columns).size(), fitted with counts=) or compare "
                f"their fit_ml() log-likelihoods")
        if len(d.row_index) != len(first.row_index) or not d.row_index.equals(first.row_index):
            raise ValueError(f"models must be fitted to the same rows: {first.formula.formula!r} "
                             f"uses {first.n} rows, {d.formula.formula!r} uses {d.n} (missing "
                             f"values in different columns?); drop those rows before fitting both")
        if not np.array_equal(d.y, first.y):
            raise ValueError("models must be fitted to the same response values")


def compare(*fits, reference: int | str | None = None, bayes_factors: bool = True,
            method: str = "loo", group: str | None = None, K: int = 10,
            n_jobs: int | None = None) -> Comparison:
    """Compare fits of the same data, like ``anova(m0, m1)`` with Bayesian columns.

    Rows are ordered by number of parameters; each likelihood-ratio test is of a model
    against the row above it, from maximum-likelihood refits (Laplace for GLMMs).
    ``reference`` (a row name such as ``"m0"`` or a position in ``fits``) is the model
    Bayes factors are against; the simplest model by default.  ``method="kfold"`` with
    ``group="Subject"`` replaces PSIS-LOO by grouped K-fold cross-validation (refits run in
    parallel; the elpd columns are then named ``elpd_kfold``).
    """
    if method not in ("loo", "kfold"):
        raise ValueError(f"method must be 'loo' or 'kfold', got {method!r}")
    if method == "kfold" and group is None:
        raise ValueError("method='kfold' needs group=, the grouping factor whose levels "
                         "are left out")
    if len(fits) < 2:
        raise ValueError("compare() needs at least two fits")
    _check_same_data(fits)
    ml = [_ml(f) for f in fits]
    order = sorted(range(len(fits)), key=lambda i: ml[i].npar)
    names = [f"m{k}" for k in range(len(fits))]
    fits, ml = [fits[i] for i in order], [ml[i] for i in order]
    if reference is None:
        ref = 0
    elif isinstance(reference, str):
        ref = names.index(reference)
    else:
        ref = order.index(int(reference))

    families = {f.design.family for f in fits}
    rows = {name: {"formula": f.design.formulas + (
                f"  [{f.design.family.title}]" if len(families) > 1 else ""),
                   "npar": m.npar, "logLik": m.logLik}
            for name, f, m in zip(names, fits, ml)}
    notes = []
    if method == "loo":
        _add_loo(rows, names, fits, notes)
    else:
        _add_kfold(rows, names, fits, group, K, n_jobs, notes)
    if bayes_factors:
        try:
            _add_bayes_factors(rows, names, fits, ref)
        except ValueError as err:  # too few draws for the bridge sampler's proposal
            notes.append(f"No Bayes factors: {err}. Refit with more draws to get them.")
    _add_lrt(rows, names, fits, ml)
    notes += [f"The maximum-likelihood fit of {name} did not converge ({m.message}); its "
              f"logLik and likelihood-ratio test are not reliable."
              for name, m in zip(names, ml) if not m.converged]
    columns = COLUMNS if method == "loo" else [c.replace("elpd_loo", "elpd_kfold") for c in COLUMNS]
    table = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=columns)
    for name, row in table[table.n_bad_k > 0].iterrows():
        blocks = fits[names.index(name)].design.blocks
        how = (f": hglm.compare(..., method='kfold', group={blocks[0].factor!r})" if blocks
               else ": hglm.compare(..., method='kfold', group=...)")
        notes.append(f"PSIS-LOO is unreliable for {name}: {int(row.n_bad_k)} observation(s) "
                     f"with Pareto k > 0.7. Grouped K-fold cross-validation avoids this{how}.")
    if method == "loo" and fits[0].design.counts is not None and not fits[0].design.moments:
        notes.append(f"The rows were reduced to distinct rows with counts: PSIS-LOO is over "
                     f"the {fits[0].design.n_rows:,} rows they stand for (exact: identical "
                     f"rows share their elpd and Pareto k).")
    return Comparison(table, fits[0].design.n_rows, fits[0].design.response_name, names[ref],
                      notes)


def _ml(fit):
    return fit.model.fit_ml(reml=False)


def _elpd_data(values: np.ndarray):
    """Pointwise elpd (PSIS-LOO or K-fold) as ArviZ's ELPDData, so ArviZ weighs either."""
    import xarray as xr

    n = len(values)
    return az.ELPDData(
        data=[float(values.sum()), float(np.sqrt(n * np.var(values))), np.nan, 1, n, False,
              xr.DataArray(values, dims="obs"), xr.DataArray(np.zeros(n), dims="obs"), "log",
              0.7],
        index=["elpd_loo", "se", "p_loo", "n_samples", "n_data_points", "warning", "loo_i",
               "pareto_k", "scale", "good_k"])


def weights_from_pointwise(pointwise: dict, method: str = "stacking",
                           seed: int | None = None) -> pd.Series:
    """Model weights from each model's pointwise elpd: ``"stacking"`` of predictive
    distributions or ``"BB-pseudo-BMA"`` (pseudo-BMA+, Bayesian-bootstrap stabilised) (Yao,
    Vehtari, Simpson & Gelman 2018), computed by ArviZ's ``compare``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = az.compare({name: _elpd_data(np.asarray(v, float))
                            for name, v in pointwise.items()}, method=method, seed=seed)
    return table["weight"].reindex(list(pointwise)).astype(float)


def model_weights(*fits, method: str = "stacking", seed: int | None = None) -> pd.Series:
    """brms's ``model_weights``: weights of fits of the same data from their PSIS-LOO
    pointwise elpd, ``method`` ``"stacking"`` (default) or ``"pseudo-BMA+"``; indexed
    ``m0, m1, ...`` in the order given."""
    methods = {"stacking": "stacking", "pseudo-BMA+": "BB-pseudo-BMA",
               "BB-pseudo-BMA": "BB-pseudo-BMA", "pseudo-BMA": "pseudo-BMA"}
    if method not in methods:
        raise ValueError(f"method must be 'stacking' or 'pseudo-BMA+', got {method!r}")
    if len(fits) < 2:
        raise ValueError("model_weights() needs at least two fits")
    _check_same_data(fits)
    if any(f.design.moments for f in fits):
        raise ValueError("model weights need every row's elpd at once, and these fits' rows "
                         "are a Dask frame's; compare() gives their elpd differences")
    counts = fits[0].design.counts
    if counts is not None and counts.sum() > REPEAT_MAX:
        raise ValueError(f"model weights are computed on the rows, and these fits stand for "
                         f"{counts.sum():,.0f} (at most {REPEAT_MAX:,.0f}); compare() gives "
                         f"their elpd differences")
    pointwise = {f"m{k}": loo(f).pointwise for k, f in enumerate(fits)}
    return weights_from_pointwise({k: _repeated(v, counts) for k, v in pointwise.items()},
                                  methods[method], fits[0].settings.seed if seed is None else seed)


#: rows up to which weights of distinct rows are computed on the rows repeated (ArviZ's
#: stacking and pseudo-BMA+ take one value per row; 1e7 doubles are 80 MB per model)
REPEAT_MAX = 1e7


def _repeated(values: np.ndarray, counts: np.ndarray | None) -> np.ndarray:
    return values if counts is None else np.repeat(values, np.round(counts).astype(int))


def _add_elpd(rows, pointwise: dict, column: str, seed: int | None,
              counts: np.ndarray | None, notes: list[str]) -> None:
    """elpd, its se, differences to the best model with the paired se (loo_compare's), and
    the stacking and pseudo-BMA+ weights; each value standing for ``counts`` rows."""
    if counts is None or counts.sum() <= REPEAT_MAX:
        for name, method in WEIGHTS.items():
            repeated = {k: _repeated(v, counts) for k, v in pointwise.items()}
            for model, weight in weights_from_pointwise(repeated, method, seed).items():
                rows[model][name] = float(weight)
    else:
        notes.append(f"No stacking or pseudo-BMA+ weights: they are computed on the rows, "
                     f"and these fits stand for more than {REPEAT_MAX:,.0f}.")
    totals = {name: weighted_elpd(v, counts) for name, v in pointwise.items()}
    best = max(totals, key=lambda k: totals[k][0])
    for name, values in pointwise.items():
        diff, se_diff = weighted_elpd(values - pointwise[best], counts)
        rows[name].update({column: totals[name][0], "se": totals[name][1], "elpd_diff": diff,
                           "se_diff": se_diff})


def _add_loo(rows, names, fits, notes: list[str]) -> None:
    if fits[0].design.moments:
        return _add_loo_rows(rows, names, fits, notes)
    loos = {name: loo(f) for name, f in zip(names, fits)}
    _add_elpd(rows, {name: r.pointwise for name, r in loos.items()}, "elpd_loo",
              fits[0].settings.seed, fits[0].design.counts, notes)
    for name, r in loos.items():
        rows[name].update(p_loo=r.p_loo, n_bad_k=r.n_bad_k)


def _add_loo_rows(rows, names, fits, notes: list[str]) -> None:
    """Moment-point fits: PSIS-LOO at the Dask frame's rows, every fit in one pass."""
    loos, pairs = loo_rows(fits)
    best = max(range(len(fits)), key=lambda m: loos[m].elpd)
    for m, (name, r) in enumerate(zip(names, loos)):
        diff, se_diff = 0.0, 0.0
        if m != best:
            total, squares = pairs[(min(m, best), max(m, best))]
            diff, se_diff = summed_se(r.n_rows, total if m < best else -total, squares)
        rows[name].update(elpd_loo=r.elpd, se=r.se, elpd_diff=diff, se_diff=se_diff,
                          p_loo=r.p_loo, n_bad_k=r.n_bad_k)
    notes.append(f"PSIS-LOO at the {loos[0].n_rows:,} rows of the Dask frame, in one pass over "
                 f"its partitions with {loos[0].draws:,} draws per fit; no stacking or "
                 f"pseudo-BMA+ weights, which need every row's elpd at once.")


def _add_kfold(rows, names, fits, group, K, n_jobs, notes: list[str]) -> None:
    from hglm.comparison.kfold import kfold

    results = {name: kfold(f, group, K=K, n_jobs=n_jobs) for name, f in zip(names, fits)}
    _add_elpd(rows, {name: r.pointwise for name, r in results.items()}, "elpd_kfold",
              fits[0].settings.seed, fits[0].design.counts, notes)


def _add_bayes_factors(rows, names, fits, ref) -> None:
    results = [f.log_marginal_likelihood() for f in fits]
    for name, res in zip(names, results):
        rows[name]["log_bf"] = res.logml - results[ref].logml
        rows[name]["log_bf_error"] = 0.0 if name == names[ref] else \
            float(np.hypot(res.error, results[ref].error))


#: a likelihood-ratio statistic this far below zero is the maximizations' tolerance (each
#: log-likelihood to ~1e-6, tests/ml), read as 0; anything lower is shown as it is
LRT_TOL = 1e-3


def _add_lrt(rows, names, fits, ml) -> None:
    for k in range(1, len(fits)):
        stat = 2.0 * (ml[k].logLik - ml[k - 1].logLik)
        if -LRT_TOL < stat < 0:     # a larger model's optimum, to the optimizer's tolerance
            stat = 0.0
        df = ml[k].npar - ml[k - 1].npar
        null = boundary_null(fits[k - 1].design, fits[k].design, df)
        row = rows[names[k]]
        if null is None:
            row["null"] = "not nested: no test"
            continue
        row.update(lrt_stat=stat, df=df)
        if df > 0:
            row["p_naive"] = float(stats.chi2.sf(max(stat, 0.0), df))
        row["p_boundary"] = null.pvalue(stat)
        row["null"] = f"{null} ({null.what}{'' if null.exact else ', approximate'})"


def _interpret(table: pd.DataFrame, reference: str) -> list[str]:
    out = []
    elpd = "elpd_loo" if "elpd_loo" in table else "elpd_kfold"
    label = "LOO" if elpd == "elpd_loo" else "K-fold CV"
    best = table[elpd].idxmax()
    for name, row in table.iterrows():
        if name == best:
            continue
        clear = abs(row.elpd_diff) > 2 * row.se_diff
        out.append(f"{label}: {best} predicts better than {name} by {-row.elpd_diff:.1f} "
                   f"(SE {row.se_diff:.1f}); "
                   + ("a clear difference (more than 2 SE)." if clear
                      else f"within 2 SE, so {label} cannot separate them."))
    if "w_stack" in table and table.w_stack.notna().all():
        heaviest = table.w_stack.idxmax()
        out.append(f"Weights: stacking puts {table.w_stack[heaviest]:.2f} on {heaviest} "
                   f"(pseudo-BMA+ {table.w_pbma[heaviest]:.2f}); to predict, average the "
                   f"models with these weights rather than pick one.")
    if "log_bf" in table and table.log_bf.notna().any():
        for name, row in table.iterrows():
            if name == reference:
                continue
            lbf = row.log_bf
            who, against = (name, reference) if lbf > 0 else (reference, name)
            size = abs(lbf)
            strength = ("strong" if size > _BF_STRONG else "moderate" if size > _BF_MODERATE
                        else "no more than anecdotal")
            out.append(f"Bayes factor: {strength} evidence for {who} over {against} "
                       f"(log BF {size:.2f} ± {row.log_bf_error:.2f}); Bayes factors depend on the "
                       f"priors of the parameters that differ.")
    for name, row in table.iterrows():
        if np.isnan(row.get("p_boundary", np.nan)):
            continue
        prev = table.index[list(table.index).index(name) - 1]
        p = row.p_boundary
        verdict = ("the extra parameters improve the fit" if p < 0.05
                   else "no evidence that the extra parameters are needed")
        out.append(f"LRT: {name} vs {prev}: χ² = {row.lrt_stat:.2f} on {int(row.df)} df, "
                   f"boundary-corrected p = {p:.3g} (naive p = {row.p_naive:.3g}); {verdict}.")
    out.append(_agreement(table, reference))
    return out


def _agreement(table: pd.DataFrame, reference: str) -> str:
    """Do the criteria pick the same model between the simplest and the largest?"""
    small, large = table.index[0], table.index[-1]
    votes = {}
    elpd = "elpd_loo" if "elpd_loo" in table else "elpd_kfold"
    diff = table.loc[large, elpd] - table.loc[small, elpd]
    se = max(table.loc[large, "se_diff"], table.loc[small, "se_diff"])
    votes["LOO" if elpd == "elpd_loo" else "K-fold CV"] = \
        large if diff > 2 * se else small if diff < -2 * se else None
    if table.log_bf.notna().all():
        lbf = table.loc[large, "log_bf"] - table.loc[small, "log_bf"]
        votes["Bayes factor"] = (large if lbf > _BF_MODERATE
                                 else small if lbf < -_BF_MODERATE else None)
    if len(table) == 2 and not np.isnan(table.loc[large, "p_boundary"]):
        votes["LRT"] = large if table.loc[large, "p_boundary"] < 0.05 else small
    decided = {k: v for k, v in votes.items() if v is not None}
    undecided = [k for k, v in votes.items() if v is None]
    if not decided:
        return f"No criterion clearly separates {small} and {large}."
    picks = set(decided.values())
    tail = f" ({', '.join(undecided)} undecided)" if undecided else ""
    if len(decided) == 1:
        (criterion, pick), = decided.items()
        return f"Only {criterion} separates them: it favors {pick}{tail}."
    if len(picks) == 1:
        return f"{', '.join(decided)} agree on {picks.pop()}{tail}."
    return ("The criteria disagree: " + "; ".join(f"{k} favors {v}" for k, v in decided.items())
            + tail + ". They answer different questions (prediction, evidence under the priors, "
            "a test of the null), so read each with that in mind.")

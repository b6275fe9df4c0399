"""Data larger than memory: a Dask frame reduced, where its partitions are, to the distinct
rows the model reads, each with the number of rows it stands for.

Rows that agree in every column a model reads (response, predictors, grouping factors,
weights) have the same log-likelihood, so a model of the distinct rows, each counted as
often as it occurs (``Design.counts``), is exactly the model of all the rows: the same
posterior, the same default priors (their means and sds count each row as often).  The
reduction is one distributed ``groupby(...).size()``: each partition is summed where it
lies (on the user's ``dask.distributed.Client`` if one is active, else Dask's local
scheduler) and only the distinct rows reach this process.  It pays where the columns are
discrete: bernoulli and binomial responses, counts, categorical covariates and grouping
factors; a continuous column makes most rows distinct, and such a model is refused with
the reason before the data are read in full.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hglm.design import checks
from hglm.design.formula import parse_dpar_formula, parse_formula
from hglm.design.matrices import Design, predictor_columns, used_columns
from hglm.spec.model_spec import ModelSpec

__all__ = ["Reduction", "Reduced", "compute", "is_dask", "read_data", "reduce_data", "reduce_rows",
           "reduce_moments", "COUNTS", "MAX_DISTINCT"]

#: the reduction's counts column (a data column of that name is left alone: see _counts_name)
COUNTS = "_rows"
#: the most distinct rows a reduction brings to this process: 2e7 rows of a handful of
#: columns are a few GB here, about what one machine's sampler can take
MAX_DISTINCT = 20_000_000
#: a float column with more distinct values than this share of the rows (approximately,
#: by HyperLogLog) is continuous: its rows would hardly reduce
CONTINUOUS_SHARE = 0.5


@dataclass(frozen=True)
class Reduction:
    """What the reduction did: rows read, rows kept (distinct rows, or moment points),
    partitions, seconds."""

    rows: int
    distinct: int
    partitions: int
    seconds: float
    kind: str = "distinct rows"

    def __str__(self) -> str:
        return (f"{self.rows} rows in {self.partitions} partitions reduced to {self.distinct} "
                f"{self.kind} in {self.seconds:.1f} s")


def is_dask(data: object) -> bool:
    """Whether ``data`` is a Dask DataFrame (without importing Dask when it is not)."""
    return type(data).__module__.split(".")[0] == "dask" and hasattr(data, "npartitions")


def read_data(data: object, engine: str | None):
    """``data`` as the engine reads it: a Dask frame as it is, a path or glob of Parquet
    files as a Dask frame (``engine="dask"``), anything else unchanged."""
    if engine not in (None, "dask", "pandas"):
        raise ValueError(f"engine must be 'pandas' or 'dask', got {engine!r}")
    if engine == "dask" and isinstance(data, str):
        import dask.dataframe as dd

        try:
            return dd.read_parquet(data)
        except Exception as err:
            raise ValueError(f"cannot read Parquet files {data!r}: {err}") from None
    if engine == "dask" and isinstance(data, pd.DataFrame):
        raise ValueError("engine='dask' takes a Dask DataFrame or a path (or glob) of Parquet "
                         "files; a pandas DataFrame is fitted as it is (leave engine out)")
    return data


def model_columns(spec: ModelSpec) -> list[str]:
    """Every data column the model reads: its formulas', the weights and the counts."""
    parsed = parse_formula(spec.formula)
    formulas = [parsed] + [parse_dpar_formula(name, text, parsed.response)
                           for name, text in spec.dpars]
    columns = sorted(set().union(*(used_columns(p) for p in formulas)))
    return columns + [c for c in (spec.weights, spec.counts) if c and c not in columns]


@dataclass(frozen=True)
class Reduced:
    """A Dask frame's reduction: the spec that reads it, the reduced rows, what was done,
    and, where the rows became moment points (gaussian models), their design."""

    spec: ModelSpec
    data: pd.DataFrame
    reduction: Reduction
    design: Design | None = None


def reduce_data(spec: ModelSpec, data) -> Reduced:
    """``data`` (a Dask frame) reduced for the model ``spec`` describes: to its distinct rows
    with their counts (:func:`reduce_rows`) where the columns are discrete, to per-cell
    moments (:func:`reduce_moments`) for a gaussian model with continuous columns; other
    models with continuous columns are refused with the reason."""
    start = time.perf_counter()
    columns = model_columns(spec)
    counted = spec.counts if spec.counts in data.columns else None
    ours = spec.counts is not None and spec.counts.lstrip("_") == COUNTS.lstrip("_")
    checks.check_columns([c for c in columns if c != spec.counts or not ours], data,
                         spec.formula)
    keys = [c for c in columns if c not in (counted, spec.counts if ours else None)]
    frame = data[keys + ([counted] if counted else [])]
    frame = frame.map_partitions(_checked_partition, dict(frame.dtypes), meta=frame._meta,
                                 partition_info=True)
    why_not = _moments_do_not_apply(spec)
    floats = any(pd.api.types.is_float_dtype(frame._meta[c]) for c in keys)
    if why_not is None and floats:      # moments need no look at the values first
        return reduce_moments(spec, frame, start)
    continuous = _continuous(frame, keys)
    if not continuous:
        return reduce_rows(spec, frame, keys, counted, start)
    listing = ", ".join(f"{c!r} (about {n:,} distinct values in {rows:,} rows)"
                        for c, (n, rows) in continuous.items())
    raise ValueError(
        f"this model does not reduce to a smaller data set: {listing}; on a Dask frame hglm "
        f"fits models whose columns are discrete (bernoulli, binomial and count responses, "
        f"categorical covariates), summing identical rows where the data lie, and gaussian "
        f"models with continuous columns through their per-cell moments ({why_not}).  Bin "
        f"the continuous column (e.g. ddf[c].round(1)) or fit a sample of the rows as a "
        f"pandas frame (ddf.sample(frac=...).compute())")


def reduce_rows(spec: ModelSpec, frame, keys: list[str], counted: str | None,
                start: float) -> Reduced:
    """The distinct rows of ``frame`` (the columns ``spec`` reads), with their counts (a
    ``counts`` column already in the data is summed), and the spec that reads them."""

    name = counted or _counts_name(spec.counts, frame.columns)
    grouped = frame.groupby(keys, dropna=False, observed=True, sort=False)
    # one partition of results, by a tree of sums (the rows come to this process anyway;
    # Dask would otherwise shuffle them between workers for a many-key groupby)
    sizes = grouped[counted].sum(split_out=1) if counted else grouped.size(split_out=1)
    rows = frame[counted].sum() if counted else frame.shape[0]
    counts, total = compute(sizes, rows)
    if len(counts) > MAX_DISTINCT:
        raise ValueError(f"the model's columns have {len(counts)} distinct rows (of {total}); "
                         f"more than {MAX_DISTINCT} would not fit this process")
    reduced = _ordered(counts.rename(name).reset_index(), keys, frame._meta)
    reduction = Reduction(int(total), len(reduced), int(frame.npartitions),
                          time.perf_counter() - start)
    return Reduced(dataclasses.replace(spec, counts=name), reduced, reduction)


def compute(*collections) -> tuple:
    """Dask's results, with a progress bar on an interactive terminal when the work takes
    a while (on the active ``distributed`` client if there is one)."""
    import sys

    import dask

    shown = sys.stderr.isatty()
    try:
        from distributed import default_client, progress

        client = default_client()
    except (ImportError, ValueError):        # no distributed, or no client running
        client = None
    if client is None:
        from dask.diagnostics import ProgressBar

        if not shown:
            return dask.compute(*collections)
        with ProgressBar(minimum=2.0):
            return dask.compute(*collections)
    futures = client.compute(list(collections))
    if shown:
        progress(futures, notebook=False)
    return tuple(client.gather(futures))


def _counts_name(wanted: str | None, existing) -> str:
    """The counts column's name: the spec's, else :data:`COUNTS` made unique."""
    name = wanted or COUNTS
    while name in existing and not wanted:
        name = "_" + name
    return name


def _checked_partition(part: pd.DataFrame, dtypes: dict, partition_info=None) -> pd.DataFrame:
    """A partition whose columns have the frame's declared types (numbers of another width
    are cast); any other difference is an error naming the partition and column."""
    number = (partition_info or {}).get("number", "?")
    for column, dtype in dtypes.items():
        have = part[column].dtype
        if have == dtype or all(isinstance(t, pd.CategoricalDtype) for t in (have, dtype)):
            continue                # categories may differ by partition (Parquet files)
        numeric = all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
                      for t in (have, dtype))
        if not numeric:
            raise ValueError(f"partition {number} of the data: column {column!r} has type "
                             f"{have} where the frame declares {dtype}; every partition must "
                             f"have the same column types (cast it, e.g. "
                             f"ddf.astype({{{column!r}: ...}}), or read the files with one "
                             f"schema)")
        part = part.assign(**{column: part[column].astype(dtype)})
    return part


def _continuous(frame, keys: list[str]) -> dict[str, tuple[int, int]]:
    """The float columns with mostly distinct values (approximately, by HyperLogLog, in one
    cheap pass), each with (distinct values, rows): their rows would hardly reduce."""
    floats = [c for c in keys if pd.api.types.is_float_dtype(frame._meta[c])]
    if not floats:
        return {}

    counts = compute(frame.shape[0], *[frame[c].nunique_approx() for c in floats])
    rows = int(counts[0])
    return {c: (int(n), rows) for c, n in zip(floats, counts[1:])
            if n > CONTINUOUS_SHARE * rows}


def _moments_do_not_apply(spec: ModelSpec) -> str | None:
    """Why per-cell moments do not define the model's likelihood (None: they do)."""
    if spec.family != "gaussian" or spec.link != "identity":
        return "those are exact for gaussian models with the identity link only"
    if spec.dpars:
        return "a formula for sigma needs the rows"
    if spec.weights or spec.counts:
        return "not yet with weights or counts"
    return None


def _ordered(frame: pd.DataFrame, keys: list[str], meta: pd.DataFrame) -> pd.DataFrame:
    """The distinct rows sorted by their values (the same order however the data were
    partitioned), with the frame's declared types: known categories kept in their order
    (unused ones too); where the frame does not declare them (each Parquet file has its
    own), the categories the data have, in the order the files give them."""
    for column in keys:
        if isinstance(meta[column].dtype, pd.CategoricalDtype):
            if _known(meta[column]):
                frame[column] = frame[column].astype(meta[column].dtype)
            elif not isinstance(frame[column].dtype, pd.CategoricalDtype):
                frame[column] = frame[column].astype("category")
    order = np.lexsort([_sort_key(frame[c]) for c in reversed(keys)])
    return frame.iloc[order].reset_index(drop=True)


def _sort_key(column: pd.Series) -> np.ndarray:
    """Integer ranks of a column's values (missing last), whatever their type."""
    codes, uniques = pd.factorize(column, sort=False, use_na_sentinel=True)
    rank = np.argsort(np.argsort(np.asarray(uniques.astype(str))))
    return np.where(codes < 0, len(uniques), rank[codes])


# -- gaussian models: per-cell moments ------------------------------------------------------

def reduce_moments(spec: ModelSpec, frame, start: float) -> Reduced:
    """A gaussian model's data as per-cell moments (a cell: one level of every grouping
    factor), summed where the partitions are, and the design of their moment points
    (:mod:`hglm.design.moments`).  Two passes: levels and categories, then the moments."""
    from hglm.design import moments

    parsed = parse_formula(spec.formula)
    complete = frame.dropna()
    factors = list(dict.fromkeys(t.factor for t in parsed.random))
    # formulae codes the predictors' categories; the factors' levels come from their labels
    read = set(predictor_columns(parsed)) | {parsed.response}
    categorical = [c for c in frame.columns
                   if isinstance(frame._meta[c].dtype, pd.CategoricalDtype)]
    discrete = [c for c in frame.columns if c in categorical or (
        c in read and not pd.api.types.is_float_dtype(frame._meta[c]))]
    rows, kept, variances, *found = compute(
        frame.shape[0], complete.shape[0], complete.var(ddof=0, numeric_only=True),
        complete.mean(numeric_only=True),
        *[complete[c].unique(split_out=1) for c in discrete],       # a tree, not a shuffle
        *[complete.map_partitions(_labels, f, meta=(f, object)).unique(split_out=1)
          for f in factors])
    means, uniques = found[0], dict(zip(discrete, found[1:1 + len(discrete)]))
    labels = dict(zip(factors, found[1 + len(discrete):]))
    meta = _with_categories(frame._meta, {c: uniques[c] for c in categorical})
    columns = {c: (float(means[c]), float(np.sqrt(variances[c]))) for c in means.index}
    plan = moments.plan(parsed, spec.family_object, _prototype(meta, uniques, means),
                        labels, meta, int(kept), columns)
    parts = complete.map_partitions(_partition_moments, plan, meta=plan.meta)
    (sums,) = compute(parts.groupby("cell").sum(split_out=1))
    points = 2 * (plan.layout.width) * len(sums)
    if points > int(kept):
        raise ValueError(
            f"this model does not reduce to a smaller data set: its {int(kept):,} rows fall "
            f"into {len(sums):,} cells (one level of each grouping factor), and each cell's "
            f"moments take {2 * plan.layout.width} points; fit the rows as a pandas frame")
    design = moments.moment_design(plan, sums, int(rows) - int(kept))
    reduction = Reduction(int(rows), design.n, int(frame.npartitions),
                          time.perf_counter() - start, "moment points")
    return Reduced(spec, design.data, reduction, design)


def _labels(part: pd.DataFrame, factor: str) -> pd.Series:
    from hglm.design.matrices import factor_labels

    return factor_labels(part, factor).astype(object)


def _prototype(meta: pd.DataFrame, uniques: dict, means) -> pd.DataFrame:
    """A small frame with every value of each discrete column (so formulae codes categories
    as it would on all the rows) and numbers in the others."""
    size = max([len(u) for u in uniques.values()] + [2])
    columns = {}
    for column in meta.columns:
        if column in uniques:
            values = np.resize(np.asarray(uniques[column], dtype=object), size)
            dtype = meta[column].dtype
            columns[column] = pd.Categorical(values, dtype=dtype) \
                if isinstance(dtype, pd.CategoricalDtype) and _known(meta[column]) \
                else pd.Series(values).astype(dtype if not isinstance(
                    dtype, pd.CategoricalDtype) else object)
        else:
            columns[column] = float(means.get(column, 0.0)) + np.linspace(-1, 1, size)
    return pd.DataFrame(columns)


def _with_categories(meta: pd.DataFrame, values: dict) -> pd.DataFrame:
    """``meta`` with the categories the data have where it does not declare them (Parquet
    files each declare their own): the order the files give, as pandas reads them."""
    meta = meta.copy()
    for column, found in values.items():
        if not _known(meta[column]):
            categories = found.cat.categories if isinstance(found.dtype, pd.CategoricalDtype) \
                else pd.Index(sorted(found.dropna().unique()))
            meta[column] = meta[column].astype(pd.CategoricalDtype(categories))
    return meta


def _known(column: pd.Series) -> bool:
    from dask.dataframe.utils import has_known_categories

    return has_known_categories(column)


def _partition_moments(part: pd.DataFrame, plan) -> pd.DataFrame:
    from hglm.design import moments

    return moments.partition_sums(part, plan)

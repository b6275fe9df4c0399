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
from hglm.design.matrices import used_columns
from hglm.spec.model_spec import ModelSpec

__all__ = ["Reduction", "is_dask", "read_data", "reduce_rows", "COUNTS", "MAX_DISTINCT"]

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
    """What the reduction did: rows read, distinct rows kept, partitions, seconds."""

    rows: int
    distinct: int
    partitions: int
    seconds: float

    def __str__(self) -> str:
        return (f"{self.rows} rows in {self.partitions} partitions reduced to {self.distinct} "
                f"distinct rows in {self.seconds:.1f} s")


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


def reduce_rows(spec: ModelSpec, data) -> tuple[pd.DataFrame, ModelSpec, Reduction]:
    """The distinct rows of the columns ``spec`` reads, with their counts, and the spec that
    reads them (``counts`` set).  A ``counts`` column already in ``data`` is summed."""
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
    _refuse_continuous(frame, keys, spec)
    name = counted or _counts_name(spec.counts, data.columns)
    grouped = frame.groupby(keys, dropna=False, observed=True, sort=False)
    # one partition of results, by a tree of sums (the rows come to this process anyway;
    # Dask would otherwise shuffle them between workers for a many-key groupby)
    sizes = grouped[counted].sum(split_out=1) if counted else grouped.size(split_out=1)
    rows = frame[counted].sum() if counted else frame.shape[0]
    import dask

    counts, total = dask.compute(sizes, rows)
    if len(counts) > MAX_DISTINCT:
        raise ValueError(f"the model's columns have {len(counts)} distinct rows (of {total}); "
                         f"more than {MAX_DISTINCT} would not fit this process")
    reduced = _ordered(counts.rename(name).reset_index(), keys, frame._meta)
    seconds = time.perf_counter() - start
    return (reduced, dataclasses.replace(spec, counts=name),
            Reduction(int(total), len(reduced), int(data.npartitions), seconds))


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


def _refuse_continuous(frame, keys: list[str], spec: ModelSpec) -> None:
    """Refuse, before the full pass, a model with a float column of mostly distinct values:
    its rows would not reduce (checked approximately, by HyperLogLog, in one cheap pass)."""
    floats = [c for c in keys if pd.api.types.is_float_dtype(frame._meta[c])]
    if not floats:
        return
    import dask

    counts = dask.compute(frame.shape[0], *[frame[c].nunique_approx() for c in floats])
    rows, distinct = counts[0], dict(zip(floats, counts[1:]))
    continuous = {c: n for c, n in distinct.items() if n > CONTINUOUS_SHARE * rows}
    if continuous:
        listing = ", ".join(f"{c!r} (about {n:,} distinct values in {rows:,} rows)"
                            for c, n in continuous.items())
        raise ValueError(
            f"this model does not reduce to a smaller data set: {listing}; on a Dask frame "
            f"hglm fits models whose columns are discrete (bernoulli, binomial and count "
            f"responses, categorical covariates), summing identical rows where the data "
            f"lie.  Bin the continuous column (e.g. ddf[c].round(1)) or fit a sample of the "
            f"rows as a pandas frame (ddf.sample(frac=...).compute())")


def _ordered(frame: pd.DataFrame, keys: list[str], meta: pd.DataFrame) -> pd.DataFrame:
    """The distinct rows sorted by their values (the same order however the data were
    partitioned), with the frame's declared types: known categories kept in their order
    (unused ones too); categories the frame does not declare (each Parquet file has its
    own) become plain labels, so levels sort as those of a column of labels do."""
    from dask.dataframe.utils import has_known_categories

    for column in keys:
        if isinstance(meta[column].dtype, pd.CategoricalDtype):
            known = has_known_categories(meta[column])
            frame[column] = frame[column].astype(meta[column].dtype if known else object)
    order = np.lexsort([_sort_key(frame[c]) for c in reversed(keys)])
    return frame.iloc[order].reset_index(drop=True)


def _sort_key(column: pd.Series) -> np.ndarray:
    """Integer ranks of a column's values (missing last), whatever their type."""
    codes, uniques = pd.factorize(column, sort=False, use_na_sentinel=True)
    rank = np.argsort(np.argsort(np.asarray(uniques.astype(str))))
    return np.where(codes < 0, len(uniques), rank[codes])

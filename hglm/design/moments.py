"""Rows replaced by points with the same count, means and cross products, cell by cell.

A gaussian identity-link likelihood with one residual sd depends on the data only through,
per cell (one level of every grouping factor), the number of rows and the first and second
moments of the design's columns and the response: its sum of squares is a quadratic form in
the coefficients and effects with those moments as coefficients.  So any set of weighted
points with the same per-cell moments defines the same likelihood, the same maximum
likelihood, the same posterior and the same data-scaled default priors (means and sds of
columns are moments too).  :func:`moment_points` builds the smallest symmetric such set
(the unscented transform's sigma points): for a cell of ``n`` rows with mean ``m`` and
covariance ``C`` of its ``d`` varying columns, the ``2d`` points ``m +- sqrt(d) s_i``
(``s_i`` the columns of C's symmetric square root), each counting ``n / 2d`` rows.

No Python library reduces a mixed model's data this way (statsmodels and lme4 need the
rows), hence this small module.  The points are not data: quantities per row (pointwise
log-likelihood, LOO, fitted values at the rows) are not available from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CellMoments", "moment_points", "cell_moments", "Layout", "layout", "take",
           "design_values", "Plan", "plan", "partition_sums", "moment_design"]


class CellMoments:
    """Per cell: row count ``n`` (C,), column sums ``s`` (C, d) and cross products
    ``S`` (C, d, d) of values shifted by ``shift`` (d,): sums of partitions add up."""

    def __init__(self, n: np.ndarray, s: np.ndarray, S: np.ndarray, shift: np.ndarray) -> None:
        self.n, self.s, self.S, self.shift = n, s, S, shift

    @property
    def d(self) -> int:
        return self.s.shape[1]


def cell_moments(values: np.ndarray, cells: np.ndarray, n_cells: int,
                 shift: np.ndarray) -> CellMoments:
    """The moments of ``values`` (rows x d) per cell (``cells``: each row's cell code)."""
    v = values - shift
    n = np.bincount(cells, minlength=n_cells).astype(float)
    d = v.shape[1]
    s = np.stack([np.bincount(cells, v[:, a], n_cells) for a in range(d)], axis=1)
    S = np.empty((n_cells, d, d))
    for a in range(d):
        for b in range(a, d):
            S[:, a, b] = S[:, b, a] = np.bincount(cells, v[:, a] * v[:, b], n_cells)
    return CellMoments(n, s, S, shift)


def moment_points(m: CellMoments) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points (2 d C, d), the cell of each point, each point's count): per cell, the
    ``2d`` points with the cell's count, mean and covariance (cells without rows dropped)."""
    keep = m.n > 0
    n, s, S = m.n[keep], m.s[keep], m.S[keep]
    mean = s / n[:, None]
    cov = S / n[:, None, None] - mean[:, :, None] * mean[:, None, :]
    cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
    lam, U = np.linalg.eigh(cov)
    root = (U * np.sqrt(np.clip(lam, 0.0, None))[:, None, :]) @ np.swapaxes(U, 1, 2)
    d = m.d
    spread = np.sqrt(d) * np.swapaxes(root, 1, 2)               # rows: sqrt(d) s_i'
    points = np.concatenate([mean[:, None, :] + spread, mean[:, None, :] - spread], axis=1)
    cells = np.repeat(np.flatnonzero(keep), 2 * d)
    counts = np.repeat(n / (2 * d), 2 * d)
    return points.reshape(-1, d) + m.shift, cells, counts


# -- a gaussian model's design from per-cell moments ----------------------------------------

@dataclass(frozen=True)
class Layout:
    """Which moment column each design column comes from (-1: the constant 1)."""

    fixed: tuple[int, ...]                       # per fixed-effect column
    blocks: tuple[tuple[int, ...], ...]          # per block, per term
    width: int                                   # moment columns, the response last


def layout(fixed_names: tuple[str, ...], block_terms: list[tuple[str, ...]]) -> Layout:
    """One moment column per distinct varying design column (a term in both the fixed part
    and a block is one column), then the response."""
    position: dict[str, int] = {}

    def column(name: str) -> int:
        if name == "Intercept":
            return -1
        return position.setdefault(name, len(position))

    fixed = tuple(column(n) for n in fixed_names)
    blocks = tuple(tuple(column(t) for t in terms) for terms in block_terms)
    return Layout(fixed, blocks, len(position) + 1)


def take(points: np.ndarray, sources: tuple[int, ...]) -> np.ndarray:
    """The design columns ``sources`` name, from moment points (-1: ones)."""
    ones = np.ones(len(points))
    return np.column_stack([ones if j < 0 else points[:, j] for j in sources]) \
        if sources else np.zeros((len(points), 0))


def design_values(X: np.ndarray, Zs: list[np.ndarray], y: np.ndarray, lay: Layout) -> np.ndarray:
    """A partition's moment columns (rows x ``lay.width``) from its design matrices."""
    out = np.empty((len(y), lay.width))
    for j, source in enumerate(lay.fixed):
        if source >= 0:
            out[:, source] = X[:, j]
    for Z, sources in zip(Zs, lay.blocks):
        for k, source in enumerate(sources):
            if source >= 0:
                out[:, source] = Z[:, k]
    out[:, -1] = y
    return out


# -- the passes' plan, the partitions' sums, the design ------------------------------------

@dataclass(frozen=True)
class Plan:
    """What each partition evaluates (formulae's matrices, fitted on a prototype holding
    every category) and how the design is put together from the moments; it pickles to the
    workers."""

    parsed: object                               # ParsedFormula
    family: object                               # Family
    fixed: object                                # formulae DesignMatrices of the fixed part
    fixed_names: tuple[str, ...]
    blocks: tuple[tuple, ...]                    # (label, factor, terms, term, matrices)
    factors: tuple[str, ...]
    levels: dict                                 # factor -> its levels in order
    layout: Layout
    shift: np.ndarray
    n_rows: int

    @property
    def meta(self) -> pd.DataFrame:
        """The columns of a partition's sums (Dask's metadata)."""
        d = self.layout.width
        names = ["cell", "n"] + [f"s{a}" for a in range(d)] + \
            [f"S{a}_{b}" for a in range(d) for b in range(a, d)]
        return pd.DataFrame({n: pd.Series(dtype=np.int64 if n == "cell" else float)
                             for n in names})


def plan(parsed, family, prototype: pd.DataFrame, labels: dict, meta: pd.DataFrame,
         n_rows: int, columns: dict) -> Plan:
    """The plan of a gaussian model's moment reduction: formulae fitted on ``prototype``,
    ``center()`` and ``scale()`` of a column refitted to its (mean, sd) over all the rows
    (``columns``), each factor's levels (``labels``: the labels the data have) in the order a
    pandas frame of all the rows would give them."""
    from hglm.design import checks
    from hglm.design.matrices import ColumnStats, _evaluate, _fixed, formula_env, refit_transforms

    checks.check_whole_column_transforms([parsed], "per-cell moments")

    def column_moments(call, component) -> ColumnStats:
        name = getattr(call.args[0], "name", None)
        if name not in columns:
            raise ValueError(f"formula {parsed.formula!r}: on a Dask frame, center() and "
                             f"scale() take a numeric column, not {call}; add the column "
                             f"you transform to the data first")
        return ColumnStats(*columns[name])

    if parsed.response not in prototype.columns:
        raise ValueError(f"on a Dask frame, a gaussian model's response must be a column of "
                         f"the data, not the expression {parsed.response!r}; add it as one")
    checks.check_response_numeric(meta[parsed.response], parsed.response, str(family))
    env = formula_env()
    fixed = _evaluate(parsed.fixed_formula, prototype, env, parsed.formula)
    if fixed.common is not None:
        refit_transforms(fixed, parsed.formula, column_moments)
    _, names, offset = _fixed(fixed.common, len(prototype))
    if offset is not None:
        raise ValueError("on a Dask frame, a gaussian model with an offset is not reduced "
                         "yet; subtract the offset from the response instead")
    blocks, seen = [], {}
    for term in parsed.random:
        matrices = _evaluate(term.expr, prototype, env, parsed.formula)
        refit_transforms(matrices, parsed.formula, column_moments)
        count = seen[term.factor] = seen.get(term.factor, -1) + 1
        label = term.factor if count == 0 else f"{term.factor}.{count}"
        terms = tuple(matrices.common.as_dataframe().columns)
        blocks.append((label, term.factor, terms, term, matrices))
    factors = tuple(dict.fromkeys(t.factor for t in parsed.random))
    levels = {factor: _ordered_levels(meta, factor, labels[factor]) for factor in factors}
    lay = layout(names, [b[2] for b in blocks])
    # moments about a point near the columns' means: fewer cancellations
    Zs = [np.asarray(b[4].common.design_matrix, dtype=float) for b in blocks]
    X = np.asarray(fixed.common.design_matrix, dtype=float) if fixed.common is not None \
        else np.zeros((len(prototype), 0))
    shift = design_values(X, Zs, prototype[parsed.response].to_numpy(float), lay).mean(axis=0)
    return Plan(parsed, family, fixed, names, tuple(blocks), factors, levels, lay, shift,
                n_rows)


def _ordered_levels(meta: pd.DataFrame, factor: str, labels) -> tuple[str, ...]:
    """A factor's levels in the order ``make_design`` gives them: a categorical column's
    categories in order, else the labels sorted naturally."""
    from hglm.design.matrices import natural_key

    present = {str(label) for label in labels}
    if ":" not in factor and isinstance(meta[factor].dtype, pd.CategoricalDtype):
        from dask.dataframe.utils import has_known_categories

        if has_known_categories(meta[factor]):
            return tuple(str(c) for c in meta[factor].cat.categories if str(c) in present)
    return tuple(sorted(present, key=natural_key))


def partition_sums(part: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """One partition's per-cell row counts, sums and cross products (complete rows)."""
    from hglm.design.matrices import _fixed, factor_labels

    part = part.reset_index(drop=True)
    common = plan.fixed.common.evaluate_new_data(part) if plan.fixed.common is not None \
        else None
    X, names, _ = _fixed(common, len(part))
    Zs = [np.asarray(b[4].common.evaluate_new_data(part).design_matrix, dtype=float)
          for b in plan.blocks]
    y = part[plan.parsed.response].to_numpy(dtype=float)
    cell = np.zeros(len(part), dtype=np.int64)
    for factor in plan.factors:
        position = {level: i for i, level in enumerate(plan.levels[factor])}
        codes = factor_labels(part, factor).map(position).to_numpy(dtype=np.int64)
        cell = cell * len(position) + codes
    values = design_values(X, Zs, y, plan.layout)
    cells, inverse = np.unique(cell, return_inverse=True)
    m = cell_moments(values, inverse.reshape(-1), len(cells), plan.shift)
    d = plan.layout.width
    out = {"cell": cells, "n": m.n}
    out.update({f"s{a}": m.s[:, a] for a in range(d)})
    out.update({f"S{a}_{b}": m.S[:, a, b] for a in range(d) for b in range(a, d)})
    return pd.DataFrame(out)


def moment_design(plan: Plan, sums: pd.DataFrame, n_dropped: int):
    """The design of the moment points of ``sums`` (per cell, summed over partitions)."""
    import warnings

    from hglm.design import checks
    from hglm.design.matrices import Design, GroupBlock, _drop_aliased
    from hglm.notices import DataWarning

    sums = sums.sort_index()
    d = plan.layout.width
    S = np.empty((len(sums), d, d))
    for a in range(d):
        for b in range(a, d):
            S[:, a, b] = S[:, b, a] = sums[f"S{a}_{b}"].to_numpy()
    m = CellMoments(sums["n"].to_numpy(), np.column_stack([sums[f"s{a}"] for a in range(d)]),
                    S, plan.shift)
    points, which, counts = moment_points(m)
    cell = sums.index.to_numpy()[which]
    codes = {}
    for factor in reversed(plan.factors):
        size = len(plan.levels[factor])
        codes[factor], cell = cell % size, cell // size
    if n_dropped:
        warnings.warn(f"dropped {n_dropped} of {plan.n_rows + n_dropped} rows with missing "
                      f"values", DataWarning, stacklevel=5)
    checks.check_nonempty(plan.n_rows, n_dropped)
    y = points[:, -1]
    name = plan.parsed.response
    checks.check_variation(y, name, False)
    X, names = _drop_aliased(take(points, plan.layout.fixed), plan.fixed_names)
    blocks = []
    for (label, factor, terms, term, matrices), sources in zip(plan.blocks, plan.layout.blocks):
        levels = plan.levels[factor]
        checks.check_nlevels(len(levels), factor, plan.n_rows, True)
        blocks.append(GroupBlock(label, factor, terms, take(points, sources), codes[factor],
                                 levels, term.correlated, term, matrices))
    data = pd.DataFrame({f: np.asarray(plan.levels[f], dtype=object)[codes[f]]
                         for f in plan.factors})
    return Design(plan.parsed, plan.family, data, pd.RangeIndex(len(y)), y, None, X, names,
                  None, tuple(blocks), n_dropped, weights=counts, counts=counts,
                  matrices=plan.fixed, moments=True)

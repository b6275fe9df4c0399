"""Formula + data -> :class:`Design`, the plain bundle every later stage reads.

formulae evaluates the response, the fixed-effect matrix ``X`` and, for each random block,
the small matrix of its terms; the grouping factor becomes an integer index.  There is
never a dense N x levels ``Z``: a block is (terms matrix, level index), so 100,000 rows with
5,000 levels cost two small arrays.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import formulae
import numpy as np
import pandas as pd
from formulae.environment import Environment
from formulae.matrices import DesignMatrices

from hglm.design import checks
from hglm.design.formula import ParsedFormula, RandomTerm, parse_dpar_formula, parse_formula
from hglm.names import dpar_label
from hglm.notices import DataWarning
from hglm.spec.families import Family, as_family

__all__ = ["GroupBlock", "group_matrix", "Design", "NewData", "make_design",
           "evaluate_new_data", "formula_env", "used_columns", "factor_labels", "take_rows"]


@dataclass(frozen=True)
class GroupBlock:
    """One random-effect block: ``q`` terms varying over the levels of one factor."""

    label: str                    # unique, used in variable names: sd_<label>, z_<label>
    factor: str                   # the grouping factor as written, e.g. "Subject" or "a:b"
    terms: tuple[str, ...]        # term names, e.g. ("Intercept", "Days")
    Z: np.ndarray                 # N x q values of the terms
    index: np.ndarray             # N level indices into ``levels``
    levels: tuple[str, ...]
    correlated: bool
    term: RandomTerm = field(repr=False)
    matrices: DesignMatrices = field(repr=False, compare=False)
    #: the auxiliary parameter whose formula has this block (None: the mean's formula)
    dpar: str | None = None

    @property
    def key_label(self) -> str:
        """The group as prior keys name it: ``"g"``, or ``"sigma:g"`` in sigma's formula."""
        return self.label if self.dpar is None else f"{self.dpar}:{self.factor_label}"

    @property
    def factor_label(self) -> str:
        """The label without the parameter's suffix (``g`` for ``g__sigma``)."""
        return self.label if self.dpar is None else self.label[:-len(self.dpar) - 2]

    @property
    def q(self) -> int:
        return len(self.terms)

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def has_correlation(self) -> bool:
        return self.correlated and self.q > 1

    def sparse(self):
        """The N x (levels * q) group-effect matrix, level-major (scipy.sparse CSR)."""
        return group_matrix(self.Z, self.index, self.n_levels)


def group_matrix(Z: np.ndarray, index: np.ndarray, n_levels: int):
    """``Z``'s rows spread over their levels' columns: N x (n_levels * q), level-major CSR
    (column ``level * q + k`` holds term k of that level's rows)."""
    import scipy.sparse as sp

    n, q = Z.shape
    cols = (index[:, None] * q + np.arange(q)).ravel()
    return sp.csr_matrix((Z.ravel(), (np.repeat(np.arange(n), q), cols)), shape=(n, n_levels * q))


@dataclass(frozen=True)
class Design:
    """Everything the model builder needs, as plain arrays plus names."""

    formula: ParsedFormula
    family: Family
    data: pd.DataFrame            # the rows used, columns the formula uses, RangeIndex
    row_index: pd.Index           # those rows' labels in the user's data
    y: np.ndarray
    trials: np.ndarray | None     # binomial only
    X: np.ndarray                 # N x p fixed-effect design
    fixed_names: tuple[str, ...]
    offset: np.ndarray | None
    blocks: tuple[GroupBlock, ...]
    n_dropped: int
    success_level: object | None = None   # bernoulli responses given as labels
    #: an ordinal response's categories in order; ``y`` holds their codes 0 .. K-1
    categories: tuple | None = None
    #: likelihood weights per row (``weights="column"``), or None: each row's log-likelihood
    #: counts ``weights[i]`` times, as brms's ``weights()`` and glmmTMB's ``weights``; with
    #: ``counts``, the product of the two
    weights: np.ndarray | None = None
    #: how many identical rows of the user's data each row stands for (``counts="column"``,
    #: or a reduction of a Dask frame), or None: one each.  Data statistics (means and sds
    #: of default priors and centering) count each row this many times, so a model of the
    #: distinct rows is the model of all of them
    counts: np.ndarray | None = None
    #: the rows are points with each cell's count, means and cross products, not data
    #: (:mod:`hglm.design.moments`): quantities per row are not available
    moments: bool = False
    matrices: DesignMatrices | None = field(default=None, repr=False, compare=False)
    #: in an auxiliary parameter's design, that parameter's name (None: the mean's design)
    dpar: str | None = None
    #: the designs of the auxiliary parameters that have a formula (brms's distributional
    #: parameters): the same rows, their own ``X``, ``fixed_names``, ``offset`` and ``blocks``
    dpars: tuple[Design, ...] = ()

    @property
    def predictors(self) -> tuple[Design, ...]:
        """Every linear predictor's design: the mean's, then each auxiliary parameter's."""
        return (self,) + self.dpars

    @property
    def all_blocks(self) -> tuple[GroupBlock, ...]:
        """The group blocks of every linear predictor."""
        return tuple(b for d in self.predictors for b in d.blocks)

    @property
    def formulas(self) -> str:
        """The formula with the auxiliary parameters' (``y ~ x + (1 | g); sigma ~ x``)."""
        return "; ".join(d.formula.formula for d in self.predictors)

    def dpar_design(self, name: str) -> Design | None:
        """The design of auxiliary parameter ``name``'s formula, or None if it is constant."""
        return next((d for d in self.dpars if d.dpar == name), None)

    @property
    def n(self) -> int:
        """The number of rows in the arrays (with ``counts``: the distinct rows)."""
        return len(self.y)

    @property
    def n_rows(self) -> int:
        """The number of the user's rows the design stands for (``n`` without ``counts``)."""
        return self.n if self.counts is None else int(round(float(self.counts.sum())))

    def require_rows(self, what: str) -> None:
        """Refuse ``what`` (a quantity per row) where the rows are moment points."""
        if self.moments:
            raise ValueError(f"{what} needs the data's rows, and this model has only their "
                             f"per-cell moments (a Dask frame reduced for a gaussian model); "
                             f"fit a pandas frame of the rows (or a sample of them) for it")

    @property
    def has_intercept(self) -> bool:
        return "Intercept" in self.fixed_names

    @property
    def response_name(self) -> str:
        return self.formula.response


#: numpy functions a formula may call as ``np.<name>``: elementwise maths only, so a formula
#: (which may come from a spec file) can neither read nor write files
NUMPY_FUNCTIONS = ("log", "log1p", "log2", "log10", "exp", "expm1", "sqrt", "square", "abs",
                   "sin", "cos", "tan", "tanh", "arcsinh", "arctan", "floor", "ceil", "round",
                   "sign", "power", "clip", "minimum", "maximum")


def formula_env() -> Environment:
    """The namespace formula calls see: elementwise numpy functions as ``np.<name>``, nothing
    from the caller's frame (formulae looks names up; it never calls Python's ``eval``)."""
    from types import SimpleNamespace

    safe_np = SimpleNamespace(**{name: getattr(np, name) for name in NUMPY_FUNCTIONS})
    return Environment([{"np": safe_np}])


def make_design(formula: str | ParsedFormula, data: pd.DataFrame,
                family: str | Family = "gaussian", weights: str | None = None,
                dpars: Mapping[str, str] | None = None, counts: str | None = None) -> Design:
    """Check the data against the formula and build the design (lme4's ``lFormula``);
    ``weights`` names a column of likelihood weights, ``dpars`` maps auxiliary parameters to
    their formulas (``{"sigma": "~ x + (1 | g)"}``), ``counts`` a column saying how many
    identical rows each row stands for (aggregated data)."""
    checks.check_data_frame(data)
    if weights is not None:
        checks.check_weights(data, weights)
    if counts is not None:
        checks.check_counts_column(data, counts)
    family = as_family(family)
    parsed = formula if isinstance(formula, ParsedFormula) else parse_formula(formula)
    aux_parsed = {name: parse_dpar_formula(name, text, parsed.response)
                  for name, text in (dpars or {}).items()}

    columns = sorted(set().union(*(used_columns(p) for p in [parsed, *aux_parsed.values()])))
    for p in [parsed, *aux_parsed.values()]:
        checks.check_columns(used_columns(p), data, p.formula)
    checks.check_unique_columns(data, columns)
    frame = data[columns]
    predictors = set().union(*(predictor_columns(p) for p in [parsed, *aux_parsed.values()]))
    checks.check_column_types(frame, [c for c in sorted(predictors) if c in frame])
    complete = ~frame.isna().any(axis=1)
    multiplicity = None if counts is None else data[counts].to_numpy(dtype=np.int64)
    n_dropped = int((~complete).sum()) if counts is None else int(multiplicity[~complete].sum())
    if n_dropped:
        total = len(frame) if counts is None else int(multiplicity.sum())
        warnings.warn(f"dropped {n_dropped} of {total} rows with missing values in "
                      f"{', '.join(c for c in columns if frame[c].isna().any())}",
                      DataWarning, stacklevel=3)
    frame = frame[complete]
    checks.check_nonempty(len(frame), n_dropped)
    checks.check_finite(frame, columns)
    if counts is not None:
        checks.check_whole_column_transforms([parsed, *aux_parsed.values()], counts,
                                             checks.SPLINE_TRANSFORMS)
    row_index = frame.index
    multiplicity = None if counts is None else multiplicity[complete.to_numpy()]
    frame = frame.reset_index(drop=True)

    success_level = categories = None
    if family.response == "ordinal":
        frame, categories = _ordinal_response(frame, parsed.response, family)
    elif parsed.response in frame.columns:  # a plain column: check it before formulae recodes it
        if family.response in ("binary", "binomial"):
            frame, success_level = _binary_response(frame, parsed.response, family)
        else:
            checks.check_response_numeric(frame[parsed.response], parsed.response, str(family))

    env = formula_env()
    matrices = _evaluate(parsed.fixed_formula, frame, env, parsed.formula, multiplicity)
    y, trials = _response(matrices, parsed.response, family)
    checks.check_finite_design(y, f"response {parsed.response!r}")
    checks.check_variation(y if trials is None else y / trials, parsed.response,
                           family.response != "continuous")
    X, names, offset = _fixed(matrices.common, len(frame))
    for j, name in enumerate(names):
        checks.check_finite_design(X[:, j], f"fixed-effect column {name!r}")
    if offset is not None:
        checks.check_finite_design(offset, "the offset")
    X, names = _absorb_intercept(X, names) if family.absorbs_intercept \
        else _drop_aliased(X, names)
    n_rows = len(frame) if counts is None else int(multiplicity.sum())
    blocks = _blocks(parsed, frame, env, family, n_rows, multiplicity)
    w = None if weights is None else data.loc[row_index, weights].to_numpy(dtype=float)
    if multiplicity is not None:            # k identical rows: each log-likelihood k times
        w = multiplicity.astype(float) if w is None else w * multiplicity
    design = Design(parsed, family, frame, row_index, y, trials, X, names, offset, blocks,
                    n_dropped, success_level, categories, weights=w, counts=multiplicity,
                    matrices=matrices)
    subs = tuple(_dpar_design(design, name, p, env) for name, p in aux_parsed.items())
    return dataclasses.replace(design, dpars=subs) if subs else design


def take_rows(design: Design, rows: np.ndarray, y: np.ndarray | None = None) -> Design:
    """The design of some of its rows (a boolean mask or indices), every level kept, so a
    level left without rows still has its effects (from their prior); ``y``: a new response
    for those rows."""
    idx = np.flatnonzero(rows) if rows.dtype == bool else np.asarray(rows)

    def cut(values):
        return None if values is None else values[idx]

    blocks = tuple(dataclasses.replace(b, Z=b.Z[idx], index=b.index[idx]) for b in design.blocks)
    return dataclasses.replace(
        design, data=design.data.iloc[idx].reset_index(drop=True),
        row_index=design.row_index[idx], y=cut(design.y) if y is None else y,
        trials=cut(design.trials), X=design.X[idx], offset=cut(design.offset),
        weights=cut(design.weights), counts=cut(design.counts), blocks=blocks,
        dpars=tuple(take_rows(sub, idx, y) for sub in design.dpars))


def _dpar_design(design: Design, name: str, parsed: ParsedFormula, env: Environment) -> Design:
    """An auxiliary parameter's design on the main design's rows: its own fixed matrix (no
    absorbed intercept: the thresholds absorb only the mean's) and group blocks."""
    matrices = _evaluate(parsed.fixed_formula, design.data, env, parsed.formula, design.counts)
    X, names, offset = _fixed(matrices.common, design.n)
    for j, column in enumerate(names):
        checks.check_finite_design(X[:, j], f"column {column!r} of {name!r}'s formula")
    if offset is not None:
        checks.check_finite_design(offset, f"the offset of {name!r}'s formula")
    X, names = _drop_aliased(X, names)
    blocks = tuple(dataclasses.replace(b, label=dpar_label(b.label, name), dpar=name)
                   for b in _blocks(parsed, design.data, env, design.family, design.n_rows,
                                    design.counts))
    return dataclasses.replace(design, formula=parsed, X=X, fixed_names=names, offset=offset,
                               blocks=blocks, matrices=matrices, dpar=name)


def _absorb_intercept(X: np.ndarray, names: tuple[str, ...]):
    """Drop the intercept the family's thresholds absorb, and the columns aliased with it
    (with ``0 + f`` every level of ``f``: one of them is dropped, as ``clm`` does)."""
    if "Intercept" not in names:
        X, names = np.column_stack([np.ones(len(X)), X]), ("Intercept",) + names
    X, names = _drop_aliased(X, names)
    keep = [j for j, name in enumerate(names) if name != "Intercept"]
    return X[:, keep], tuple(names[j] for j in keep)


def _drop_aliased(X: np.ndarray, names: tuple[str, ...]):
    """Drop fixed-effect columns that are linear combinations of earlier ones, as lme4
    does, naming them (a constant predictor beside the intercept, a level of a factor
    that no row has, a predictor twice in other units)."""
    aliased = checks.aliased_columns(X)
    if not aliased.any():
        return X, names
    dropped = [n for n, a in zip(names, aliased) if a]
    warnings.warn(f"fixed-effect model matrix is rank deficient so dropping {len(dropped)} "
                  f"column{'s' * (len(dropped) > 1)}: {', '.join(dropped)} (each is a linear "
                  f"combination of the columns before it, e.g. constant, a duplicate, or a "
                  f"category no row has)", DataWarning, stacklevel=4)
    return X[:, ~aliased], tuple(n for n, a in zip(names, aliased) if not a)


def used_columns(parsed: ParsedFormula) -> list[str]:
    """The data columns a formula reads."""
    names: set[str] = set()
    for text in [parsed.fixed_formula] + [t.expr for t in parsed.random]:
        names |= _var_names(text, parsed.formula)
    for term in parsed.random:
        names |= set(term.factor.split(":"))
    names.discard("")
    return sorted(names)


def predictor_columns(parsed: ParsedFormula) -> list[str]:
    """The columns the formula reads as predictors (not the response, not only a grouping
    factor, whose values are just labels)."""
    names: set[str] = set()
    for text in [parsed.fixed] + [t.expr for t in parsed.random]:
        names |= _var_names(text, parsed.formula)
    return sorted(names - {""})


def _var_names(text: str, formula: str) -> set[str]:
    try:
        return set(formulae.model_description(text).var_names)
    except Exception as err:  # formulae raises its own parse errors
        raise ValueError(f"cannot read formula {formula!r} at {text!r}: {err}") from None


def _evaluate(text: str, frame: pd.DataFrame, env: Environment, formula: str,
              counts: np.ndarray | None = None) -> DesignMatrices:
    """formulae's matrices of ``text`` on ``frame``; with ``counts``, ``center()`` and
    ``scale()`` refitted as if each row appeared ``counts[i]`` times (their means and sds
    are then the full data's, for these columns and for new data)."""
    try:
        # np.log(0) and the like: checked, and reported in the user's terms, afterwards
        with np.errstate(all="ignore"):
            matrices = DesignMatrices(formulae.model_description(text), frame, env)
    except Exception as err:  # formulae raises its own parse errors
        raise ValueError(f"cannot evaluate formula {formula!r} at {text!r}: {err}") from None
    if counts is not None and matrices.common is not None:
        def counted(call, component) -> ColumnStats:
            x = np.asarray(call.args[0].eval(frame, component.env), dtype=float)
            return ColumnStats.of(x, counts)

        if refit_transforms(matrices, formula, counted):
            with np.errstate(all="ignore"):
                matrices.common = matrices.common.evaluate_new_data(frame)
    return matrices


def refit_transforms(matrices: DesignMatrices, formula: str, moments) -> bool:
    """Refit formulae's ``center()``, ``scale()`` and ``poly()`` to all the rows, where
    formulae fitted them on the rows it was given (distinct rows with counts; a Dask frame's
    prototype).  ``moments(call, component)`` gives the argument's :class:`ColumnStats`;
    whether any transform was refitted."""
    from formulae.transforms import Center, Polynomial, Scale

    if matrices.common is None:
        return False

    def calls(lazy):             # innermost first: an outer transform sees refitted inputs
        for arg in getattr(lazy, "args", []):
            yield from calls(arg)
        if getattr(lazy, "stateful_transform", None) is not None:
            yield lazy

    def transforms(term):
        for component in getattr(term, "components", []):
            for call in calls(getattr(component, "call", None)):
                if isinstance(call.stateful_transform, (Center, Scale, Polynomial)):
                    yield component, call

    if matrices.response is not None and any(transforms(matrices.response.term.term)):
        raise ValueError(f"formula {formula!r}: center(), scale() and poly() of the response "
                         f"are not available on rows with counts; transform the response "
                         f"column first")
    refitted = False
    for term in matrices.common.terms.values():
        for component, call in transforms(term):
            transform, stats = call.stateful_transform, moments(call, component)
            if isinstance(transform, Polynomial):
                if not transform.raw:
                    transform.alpha, transform.norms2 = stats.recurrence(transform.degree)
            else:
                transform.mean = stats.mean
                if isinstance(transform, Scale):      # formulae's np.std: ddof 0
                    transform.std = stats.sd
            refitted = True
    return refitted


@dataclass(frozen=True)
class ColumnStats:
    """A transform's argument over all the rows: its mean and sd (ddof 0), and where the
    rows are at hand (distinct rows), the values with their counts."""

    mean: float
    sd: float
    values: np.ndarray | None = None
    counts: np.ndarray | None = None

    @classmethod
    def of(cls, values: np.ndarray, counts: np.ndarray) -> ColumnStats:
        mean = float(np.average(values, weights=counts))
        return cls(mean, float(np.sqrt(np.average((values - mean) ** 2, weights=counts))),
                   values, counts)

    def recurrence(self, degree: int) -> tuple[dict, dict]:
        """``poly()``'s three-term recurrence (formulae's ``alpha`` and ``norms2``, as R's
        ``poly``) over the rows each value stands for: the orthonormal basis of all rows."""
        if self.values is None:
            raise ValueError("poly() needs the column's values; on a Dask frame it is not "
                             "available for continuous columns: add the polynomial's columns "
                             "to the data first")
        x, w = self.values, self.counts
        alpha, norms2 = {}, {0: float(np.sum(w))}
        previous, current = np.zeros_like(x), np.ones_like(x)
        for k in range(degree):
            alpha[k] = float(np.sum(w * x * current ** 2) / norms2[k])
            step = (x - alpha[k]) * current
            if k >= 1:
                step -= norms2[k] / norms2[k - 1] * previous
            previous, current = current, step
            norms2[k + 1] = float(np.sum(w * current ** 2))
        return alpha, norms2


def _binary_response(frame: pd.DataFrame, name: str, family: Family):
    """Labels, booleans and two-level columns become 0/1; the second level is success."""
    y = frame[name]
    if family.response == "binary":
        checks.check_binary(y, name)
    if pd.api.types.is_bool_dtype(y):
        return frame.assign(**{name: y.astype(int)}), True
    if pd.api.types.is_numeric_dtype(y):
        return frame, None
    checks.check_binary(y, name)
    levels = list(y.cat.categories) if isinstance(y.dtype, pd.CategoricalDtype) \
        else sorted(pd.unique(y), key=str)
    levels = [lv for lv in levels if lv in set(y)]
    if len(levels) != 2:
        raise ValueError(f"family {str(family)!r}: response {name!r} has only the value "
                         f"{levels[0]!r}; a binary response needs both outcomes")
    success = levels[1]
    return frame.assign(**{name: (y == success).astype(int)}), success


def _ordinal_response(frame: pd.DataFrame, name: str, family: Family):
    """An ordered categorical column, or whole numbers, -> codes 0 .. K-1 in order; the
    categories no row has are dropped (each would leave a threshold the data say nothing
    about), with a warning."""
    if name not in frame.columns:
        raise ValueError(f"family {str(family)!r} needs the response as a column of the data "
                         f"(ordered categories or whole numbers), not the expression {name!r}")
    y = frame[name]
    checks.check_ordinal(y, name, str(family))
    if isinstance(y.dtype, pd.CategoricalDtype):
        present = np.zeros(len(y.cat.categories), dtype=bool)
        present[y.cat.codes] = True
        categories = tuple(c for c, used in zip(y.cat.categories, present) if used)
        unused = [c for c, used in zip(y.cat.categories, present) if not used]
        if unused:
            warnings.warn(f"response {name!r}: no row has the categor"
                          f"{'ies' if len(unused) > 1 else 'y'} {', '.join(map(repr, unused))}; "
                          f"dropped, so the thresholds are those between the categories "
                          f"observed", DataWarning, stacklevel=4)
        codes = (np.cumsum(present) - 1)[y.cat.codes]       # renumbered without the unused
    else:
        values = np.asarray(y, dtype=float)
        levels = np.unique(values)
        categories = tuple(int(v) if float(v).is_integer() else v for v in levels)
        codes = np.searchsorted(levels, values)
    return frame.assign(**{name: np.asarray(codes, dtype=np.int64)}), categories


def _response(matrices: DesignMatrices, name: str, family: Family):
    values = np.asarray(matrices.response.design_matrix)
    kind = matrices.response.kind
    if family.response == "binomial":
        if kind == "proportion":
            successes, trials = values[:, 0], values[:, 1]
        else:
            checks.check_binary(values, name)
            successes, trials = values, np.ones_like(values)
        checks.check_binomial(successes, trials, name)
        return successes.astype(np.int64), trials.astype(np.int64)
    if kind == "proportion":
        raise ValueError(f"response {name!r} is successes/trials; use family='binomial'")
    if values.ndim > 1 and values.shape[1] != 1:
        raise ValueError(f"response {name!r} must be one column, got {values.shape[1]}")
    values = values.reshape(-1)
    family.check_response(values, name)
    whole = family.response in ("binary", "count", "ordinal")   # the family checked they are
    return values.astype(np.int64 if whole else float), None


def _fixed(common, n: int):
    if common is None:
        return np.zeros((n, 0)), (), None
    X, names, offsets = [], [], []
    matrix = np.asarray(common.design_matrix, dtype=float)
    for name, term in common.terms.items():
        cols = matrix[:, common.slices[name]]
        if getattr(term, "kind", None) == "offset":
            offsets.append(cols.sum(axis=1))
        else:
            X.append(cols)
            names.extend(term.labels)
    X = np.column_stack(X) if X else np.zeros((n, 0))
    offset = np.sum(offsets, axis=0) if offsets else None
    return X, tuple(names), offset


def _blocks(parsed: ParsedFormula, frame: pd.DataFrame, env: Environment,
            family: Family, n_rows: int, counts: np.ndarray | None = None
            ) -> tuple[GroupBlock, ...]:
    blocks, seen = [], {}
    for term in parsed.random:
        matrices = _evaluate(term.expr, frame, env, parsed.formula, counts)
        if matrices.common is None:
            raise ValueError(f"formula {parsed.formula!r}: random term {term} has no terms")
        Z = np.asarray(matrices.common.design_matrix, dtype=float)
        names = tuple(matrices.common.as_dataframe().columns)
        checks.check_finite_design(Z, f"random term {term}")
        index, levels = _factor_index(frame, term.factor)
        checks.check_nlevels(len(levels), term.factor, n_rows,
                             family.scale_parameter is not None)
        count = seen.get(term.factor, 0)
        seen[term.factor] = count + 1
        label = term.factor if count == 0 else f"{term.factor}.{count}"  # lme4's naming
        blocks.append(GroupBlock(label, term.factor, names, Z, index, levels,
                                 term.correlated, term, matrices))
    return tuple(blocks)


def factor_labels(frame: pd.DataFrame, factor: str) -> pd.Series:
    """Level label of each row (an interaction ``a:b`` pastes the labels with ':')."""
    parts = factor.split(":")
    if len(parts) == 1:
        return frame[parts[0]].astype(str)
    return frame[parts].astype(str).agg(":".join, axis=1)


def _factor_index(frame: pd.DataFrame, factor: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes of a grouping factor."""
    parts = factor.split(":")
    labels = factor_labels(frame, factor)
    first = frame[parts[0]]
    if len(parts) == 1 and isinstance(first.dtype, pd.CategoricalDtype):
        used = np.unique(first.cat.codes[first.cat.codes >= 0])     # levels present, in order
        order = [str(c) for c in first.cat.categories[used]]
    else:
        order = sorted(pd.unique(labels), key=natural_key)
    codes = pd.Categorical(labels, categories=order).codes.astype(np.int64)
    return codes, tuple(order)


def natural_key(text: str) -> list:
    """Sort '2' before '10', as people expect of level names that are numbers."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(text))]


@dataclass(frozen=True)
class NewData:
    """A design evaluated on new rows: fixed matrix, offset, and per block (Z, level index).

    A negative level index marks a level the model has not seen: -1, -2, ... number the
    distinct new levels in order of appearance.
    """

    X: np.ndarray
    offset: np.ndarray | None
    Z: tuple[np.ndarray, ...]
    index: tuple[np.ndarray, ...]
    n: int


def evaluate_new_data(design: Design, newdata: pd.DataFrame) -> NewData:
    """Evaluate ``design``'s formula on ``newdata`` with the fitted transforms and codings."""
    checks.check_data_frame(newdata)
    needed = set(used_columns(design.formula))
    needed -= set(_var_names(design.formula.response_formulae + " ~ 1", design.formula.formula))
    checks.check_columns(sorted(needed), newdata, design.formula.formula)
    frame = newdata.reset_index(drop=True)
    try:
        common = design.matrices.common.evaluate_new_data(frame) \
            if design.matrices.common is not None else None
        Zs = tuple(np.asarray(b.matrices.common.evaluate_new_data(frame).design_matrix, float)
                   for b in design.blocks)
    except Exception as err:
        raise ValueError(f"cannot evaluate {design.formula.formula!r} on the new data: "
                         f"{err}") from None
    X, names, offset = _fixed(common, len(frame))
    X = X[:, [names.index(n) for n in design.fixed_names]]     # aliased columns stay dropped
    index = []
    for block in design.blocks:
        position = {level: i for i, level in enumerate(block.levels)}
        labels = factor_labels(frame, block.factor)
        codes = labels.map(position)
        unseen = codes.isna().to_numpy()
        idx = np.array(codes.fillna(-1), dtype=np.int64)
        idx[unseen] = -(pd.factorize(labels[unseen])[0] + 1)
        index.append(idx)
    return NewData(X, offset, Zs, tuple(index), len(frame))

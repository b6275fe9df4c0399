"""brms's ``hypothesis()``: posterior tests of linear (and simple non-linear) combinations of a
fit's population parameters.

``"Days > 5"`` gives the posterior probability of the inequality and its odds; ``"a = b"`` (or
an expression without a comparison, read as ``= 0``) gives the Savage–Dickey density ratio
p(h = 0 | y) / p(h = 0), the Bayes factor of the point hypothesis against the model, as brms
reports it.  Expressions are parsed with :mod:`ast` and evaluated node by node on arrays of
draws from a short whitelist: nothing a user writes is ever passed to ``eval``.
"""

from __future__ import annotations

import ast
import keyword
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from hglm import names
from hglm.design.matrices import Design, GroupBlock
from hglm.notices import SamplingWarning
from hglm.results.tables import vector_aux

if TYPE_CHECKING:
    import xarray as xr

    from hglm.results.fit import Fit

__all__ = ["hypothesis", "parameter_names", "Ref", "PRIOR_DRAWS"]

COLUMNS = ["hypothesis", "estimate", "est_error", "lower", "upper", "evid_ratio", "post_prob",
           "star"]

#: the fewest prior draws behind a Savage–Dickey ratio (more when the posterior has more):
#: the prior's density at the point is a kernel estimate too, so its Monte Carlo error
#: should not exceed the posterior's.  PyMC draws them one by one (~0.1-0.3 ms each)
PRIOR_DRAWS = 10_000


class Ref(NamedTuple):
    """One scalar of the posterior: ``variable`` and, for a vector, its element."""

    variable: str
    dim: str | None = None
    label: str | None = None


# -- the names a hypothesis may use -------------------------------------------------------------
def parameter_names(design: Design) -> dict[str, Ref]:
    """Every name a hypothesis may use -> the posterior scalar it means.  Fixed effects as
    ``fixef()`` names them (``Days``, ``x:z``, ``f[b]``; thresholds ``1|2`` or brms's
    ``Intercept[1]``), an auxiliary formula's brms-style (``sigma_Intercept``, ``sigma_x``),
    scalar auxiliary parameters (``sigma``, ``alpha``), variance components lme4-style
    (``sd(Subject)``, ``sd(Days|Subject)``, ``cor(Intercept,Days|Subject)``; in sigma's
    formula ``sd(sigma:g)``) and brms-style (``sd_Subject__Days``,
    ``cor_Subject__Intercept__Days``, ``sd_g__sigma_Intercept``).  The first name of each
    parameter is the one error messages list."""
    table: dict[str, Ref] = {}
    vectors = vector_aux(design)
    for aux in vectors:        # ordinal thresholds: as fixef() names them, and brms's way
        for k, label in enumerate(design.family.aux_coords(aux, design.categories)):
            ref = Ref(aux, names.aux_dim(aux), str(label))
            table.setdefault(str(label), ref)
            table.setdefault(f"Intercept[{k + 1}]", ref)
    for sub in design.predictors:
        prefix = "" if sub.dpar is None else f"{sub.dpar}_"
        for term in sub.fixed_names:
            table.setdefault(prefix + term, Ref(names.beta(sub.dpar), names.coef_dim(sub.dpar),
                                                term))
    for aux in design.family.aux:
        if aux not in vectors and design.dpar_design(aux) is None:
            table.setdefault(aux, Ref(aux))
    for block in design.all_blocks:
        for key, ref in _block_names(block).items():
            table.setdefault(_canonical(key) if key.startswith(("sd(", "cor(")) else key, ref)
    return table


def _block_names(block: GroupBlock) -> dict[str, Ref]:
    """A group block's sds and correlations.  ``block.factor`` names a block for lme4-style
    names (``sd(Days|Subject)`` finds Days whichever of ``(1|Subject) + (0+Days|Subject)``
    holds it); ``factor_label`` (``Subject.1``) names each block apart."""
    out: dict[str, Ref] = {}
    tp = "" if block.dpar is None else f"{block.dpar}_"     # brms: sd_g__sigma_Intercept
    sd, term_dim = names.sd(block.label), names.term_dim(block.label)
    rows, cols = np.tril_indices(block.q, -1)      # the packed order of names.cor_pairs
    for group in dict.fromkeys((block.factor_label, block.factor)):
        lme4 = group if block.dpar is None else f"{block.dpar}:{group}"
        for term in block.terms:
            out[f"sd({term}|{lme4})"] = out[f"sd_{group}__{tp}{term}"] = Ref(sd, term_dim, term)
        if "Intercept" in block.terms or block.q == 1:
            out[f"sd({lme4})"] = Ref(sd, term_dim, "Intercept" if block.q > 1 else block.terms[0])
        if not block.has_correlation:
            continue
        for i, j in zip(rows, cols):
            a, b = block.terms[j], block.terms[i]
            ref = Ref(names.cor(block.label), names.cor_dim(block.label), f"{a}:{b}")
            for x, y in ((a, b), (b, a)):
                out[f"cor({x},{y}|{lme4})"] = out[f"cor_{group}__{tp}{x}__{tp}{y}"] = ref
    return out


def _canonical(text: str) -> str:
    """``sd( Days | Subject )`` and ``sd(Days|Subject)`` alike: no spaces, no backticks."""
    return re.sub(r"[\s`]+", "", text)


# -- parsing -----------------------------------------------------------------------------------
_TICKS = re.compile(r"`([^`]*)`")
_COMPONENT = re.compile(r"(?<![\w.])(?:sd|cor)\s*\((?:[^()]|\([^()]*\))*\)")  # one nesting
_COMPARE = re.compile(r"<=|>=|==|!=|=|<|>")
_SIGNS = {">": ">", ">=": ">", "<": "<", "<=": "<", "=": "=", "==": "="}
_FUNCTIONS = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs}
_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
           ast.Pow: np.power}
_UNARY = {ast.USub: np.negative, ast.UAdd: np.positive}


@dataclass(frozen=True)
class _Hypothesis:
    text: str                   # brms's form: "(lhs) - (rhs) > 0"
    sign: str                   # "=", "<" or ">"
    lhs: ast.expr
    rhs: ast.expr
    keys: dict[str, str]        # identifier in the trees -> name-table key


def _parse(text: str, table: dict[str, Ref]) -> _Hypothesis:
    """Check and parse one hypothesis (cheap: every error comes before any draw is read)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a hypothesis must be a non-empty string such as 'Days > 0', "
                         f"got {text!r}")
    coded, keys, shown = _placeholders(text, table)
    found = list(_COMPARE.finditer(coded))
    if len(found) > 1 or (found and found[0].group() == "!="):
        raise ValueError(f"hypothesis {text!r}: write one comparison, =, <, > (<=, >=), "
                         f"e.g. 'a - b > 0'")
    if found:
        op = found[0]
        left, right, sign = coded[:op.start()], coded[op.end():], _SIGNS[op.group()]
    else:           # brms: an expression alone is the point hypothesis expr = 0
        left, right, sign = coded, "0", "="
    sides = [_tree(side, text, shown) for side in (left, right)]
    for side in sides:      # a dry run on ones checks every node and name before real work
        _evaluate(side, lambda ident: _check_name(ident, keys, table, text), text, shown)
    lhs_text, rhs_text = (" ".join(_restore(side, shown).split()) for side in (left, right))
    shown_text = f"({lhs_text})" + (f" - ({rhs_text})" if rhs_text != "0" else "")
    return _Hypothesis(f"{shown_text} {sign} 0", sign, *sides, keys)


def _placeholders(text: str, table: dict[str, Ref]):
    """Replace names that are not Python identifiers (backticked names, ``sd(...)``,
    ``cor(...)``, ``x:z``, ``f[b]``) by identifiers ``_hyp0_``, ...; returns the new text,
    identifier -> table key, and identifier -> what the user wrote."""
    keys: dict[str, str] = {}
    shown: dict[str, str] = {}

    def swap(key: str, written: str) -> str:
        ident = f"_hyp{len(keys)}_"
        keys[ident], shown[ident] = key, written
        return f" {ident} "

    def known(written: str, key: str) -> str:
        if key not in table:
            raise ValueError(_unknown(written, text, table))
        return swap(key, written)

    def tick(m: re.Match) -> str:
        inner = m.group(1).strip()
        return known(m.group(), inner if inner in table else _canonical(inner))

    coded = _TICKS.sub(tick, text)
    coded = _COMPONENT.sub(lambda m: known(m.group(), _canonical(m.group())), coded)
    others = sorted((k for k in table if not k.startswith(("sd(", "cor("))
                     and (not k.isidentifier() or keyword.iskeyword(k))),
                    key=len, reverse=True)      # longest first: "sigma_x:z" before "x:z"
    if others:
        pattern = r"(?<![\w.])(?:" + "|".join(map(re.escape, others)) + r")(?![\w.])"
        coded = re.sub(pattern, lambda m: swap(m.group(), m.group()), coded)
    return coded, keys, shown


def _tree(source: str, text: str, shown: dict[str, str]) -> ast.expr:
    if not source.strip():
        raise ValueError(f"hypothesis {text!r}: a side of the comparison is empty")
    try:
        return ast.parse(source.strip(), mode="eval").body
    except SyntaxError as err:
        raise ValueError(f"cannot read hypothesis {text!r} at "
                         f"{_restore(source, shown).strip()!r}: {err.msg}") from None


def _restore(source: str, shown: dict[str, str]) -> str:
    """What the user wrote, placeholders (and the spaces put around them) undone."""
    return re.sub(r" (_hyp\d+_) ", lambda m: shown.get(m.group(1), m.group()), source)


def _check_name(ident: str, keys: dict[str, str], table: dict[str, Ref],
                text: str) -> np.ndarray:
    if ident not in keys:
        if ident not in table:
            raise ValueError(_unknown(ident, text, table))
        keys[ident] = ident
    return np.ones(1)


def _unknown(name: str, text: str, table: dict[str, Ref], shown: int = 30) -> str:
    first: dict[Ref, str] = {}
    for key, ref in table.items():
        first.setdefault(ref, key)
    listing = ", ".join(list(first.values())[:shown]) + (f", ... ({len(first)} in all)"
                                                         if len(first) > shown else "")
    return (f"hypothesis {text!r} names {name!r}, which is not a parameter of the model; "
            f"the parameters are: {listing} (any name may be written in backticks)")


def _evaluate(node: ast.expr, value: Callable[[str], np.ndarray], text: str,
              shown: dict[str, str]) -> np.ndarray:
    """Arithmetic on arrays of draws, node type by node type; anything else is refused."""
    def walk(n: ast.expr) -> np.ndarray:
        return _evaluate(n, value, text, shown)

    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](walk(node.left), walk(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](walk(node.operand))
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        # as floats: 9**9**9 overflows to inf at once instead of computing a huge integer
        return np.asarray(float(node.value))
    if isinstance(node, ast.Name):
        return value(node.id)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS and len(node.args) == 1 and not node.keywords):
        return _FUNCTIONS[node.func.id](walk(node.args[0]))
    raise ValueError(f"hypothesis {text!r}: {_what(node, shown)} is not allowed; a hypothesis "
                     f"takes parameter names, numbers, + - * / ** and "
                     f"{', '.join(_FUNCTIONS)}()")


def _what(node: ast.expr, shown: dict[str, str]) -> str:
    source = _restore(ast.unparse(node), shown)
    if isinstance(node, ast.Attribute):
        return f"attribute access ({source!r})"
    if isinstance(node, ast.Subscript):
        return f"indexing ({source!r})"
    if isinstance(node, ast.Call):
        return f"the call {source!r}"
    if isinstance(node, ast.Constant):
        return f"the constant {source}"
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        return f"the operator in {source!r}"
    return f"{type(node).__name__} ({source!r})"


# -- draws -------------------------------------------------------------------------------------
def _draws(data: xr.Dataset, ref: Ref, group: str) -> np.ndarray:
    """One scalar's draws, chains stacked."""
    if ref.variable not in data:
        raise ValueError(f"the {group} has no variable {ref.variable!r}")
    values = data[ref.variable]
    if ref.dim is not None:
        values = values.sel({ref.dim: ref.label})
    if values.ndim != 2:
        raise ValueError(f"{ref.variable!r} is not a scalar per draw in the {group}")
    return np.asarray(values.values, dtype=float).reshape(-1)


def _values(h: _Hypothesis, table: dict[str, Ref], data: xr.Dataset,
            group: str) -> np.ndarray:
    """Draws of lhs - rhs."""
    cache: dict[str, np.ndarray] = {}

    def value(ident: str) -> np.ndarray:
        key = h.keys[ident]
        if key not in cache:
            cache[key] = _draws(data, table[key], group)
        return cache[key]

    with np.errstate(all="ignore"):     # log of a negative draw is NaN, said by the summary
        return _evaluate(h.lhs, value, h.text, {}) - _evaluate(h.rhs, value, h.text, {})


def _prior_draws(fit: Fit, table: dict[str, Ref], seed: int | None) -> xr.Dataset | None:
    """Prior draws of every parameter the table names (cached on the fit, per seed), or None
    with a warning when the prior cannot be drawn from (an improper prior)."""
    cached = fit._cache.get("prior_draws")
    if cached is not None and cached[0] == seed:
        return cached[1]
    n = max(PRIOR_DRAWS, fit.posterior.sizes["chain"] * fit.posterior.sizes["draw"])
    try:
        wanted = sorted({ref.variable for ref in table.values()})
        prior = fit.model.prior_draws(n, seed, var_names=wanted).prior
    except Exception as err:    # PyMC refuses improper priors (Flat) with various errors
        warnings.warn(f"no draws could be made from the model's prior ({err}), so the "
                      f"evidence ratios of point hypotheses are NaN; one-sided hypotheses "
                      f"('> 0') need no prior draws", SamplingWarning, stacklevel=4)
        return None
    fit._cache["prior_draws"] = (seed, prior)
    return prior


def _prior_values(h: _Hypothesis, table: dict[str, Ref], prior: xr.Dataset) -> np.ndarray | None:
    try:
        return _values(h, table, prior, "prior draws")
    except ValueError as err:
        warnings.warn(f"hypothesis {h.text!r}: {err}, so its evidence ratio is NaN",
                      SamplingWarning, stacklevel=4)
        return None


# -- summaries ---------------------------------------------------------------------------------
def _density_at_zero(draws: np.ndarray) -> float:
    """The density of ``draws`` at 0: scipy's gaussian_kde, evaluated at the point itself
    (arviz's kde is a grid made for plotting, to interpolate), positive in the tails (a point
    far out gets a ratio near 0, not an undefined one).  Bandwidth: Silverman's robust rule,
    0.9 min(sd, IQR / 1.349) n^-1/5, not scipy's default sd-based one, which a heavy tail
    (exp() of a wide prior) widens until the density at the point is off by a factor of 2+.
    Like any kernel estimate it halves a density at a hard bound of the support (an sd at 0),
    in prior and posterior alike, so their ratio roughly survives."""
    from scipy.stats import gaussian_kde, iqr

    draws = draws[np.isfinite(draws)]
    sd = draws.std(ddof=1) if len(draws) > 1 else 0.0
    if not sd > 0:
        return np.nan
    spread = iqr(draws) / 1.349
    scale = min(sd, spread) if spread > 0 else sd
    return float(gaussian_kde(draws, bw_method=0.9 * scale * len(draws) ** -0.2 / sd)(0.0)[0])


def _savage_dickey(h: _Hypothesis, posterior: np.ndarray, prior: np.ndarray | None) -> float:
    """BF01 = p(h = 0 | y) / p(h = 0)."""
    if prior is None:
        return np.nan
    at_prior = _density_at_zero(prior)
    if not at_prior > 0:
        warnings.warn(f"hypothesis {h.text!r}: the prior puts (almost) no mass near the point "
                      f"tested, so its evidence ratio is undefined (NaN)", SamplingWarning,
                      stacklevel=5)
        return np.nan
    return _density_at_zero(posterior) / at_prior


def _row(h: _Hypothesis, post: np.ndarray, prior: np.ndarray | None, alpha: float) -> dict:
    if h.sign == "=":
        lower, upper = np.quantile(post, [alpha / 2, 1 - alpha / 2])
        ratio = _savage_dickey(h, post, prior)
        # equal prior odds of the point hypothesis and the model (brms)
        prob = 1.0 if ratio == np.inf else ratio / (1 + ratio)
        star = not lower <= 0 <= upper
    else:
        # one-sided: brms's one-sided 1 - alpha interval, and the odds of the inequality
        yes = np.sum(post > 0) if h.sign == ">" else np.sum(post < 0)
        ratio = np.inf if yes == len(post) else yes / (len(post) - yes)
        prob = yes / len(post)
        lower, upper = ((np.quantile(post, alpha), np.inf) if h.sign == ">"
                        else (-np.inf, np.quantile(post, 1 - alpha)))
        star = prob > 1 - alpha
    return {"hypothesis": h.text, "estimate": post.mean(), "est_error": post.std(ddof=1),
            "lower": float(lower), "upper": float(upper), "evid_ratio": float(ratio),
            "post_prob": float(prob), "star": "*" if star else ""}


def hypothesis(fit: Fit, hypothesis: str | Sequence[str], alpha: float = 0.05,
               seed: int | None = None) -> pd.DataFrame:
    """Test hypotheses about a fit's population parameters, as brms's ``hypothesis()``.

    ``"Days > 5"``, ``"Intercept - 25*Days > 200"``, ``"sd(Subject) > sd(Days | Subject)"``,
    ``"a = b"``; + - * / ** exp log sqrt abs; no comparison means ``= 0``.  Names: see
    :func:`parameter_names`.  One row per hypothesis: the estimate (posterior mean of lhs -
    rhs), its sd, a 1 - ``alpha`` interval (one-sided for < and >), ``evid_ratio`` (the
    posterior odds of an inequality; for a point hypothesis the Savage–Dickey ratio
    p(h = 0 | y) / p(h = 0), from prior draws drawn once per ``seed`` and kept on the fit),
    ``post_prob`` and ``star`` (supported at level ``alpha``).
    """
    texts = [hypothesis] if isinstance(hypothesis, str) else list(hypothesis)
    if not texts:
        raise ValueError("no hypothesis given")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    table = parameter_names(fit.design)
    parsed = [_parse(text, table) for text in texts]
    posterior = [_values(h, table, fit.posterior, "posterior") for h in parsed]
    prior: list[np.ndarray | None] = [None] * len(parsed)
    if any(h.sign == "=" for h in parsed):     # the Savage-Dickey ratio needs prior draws
        draws = _prior_draws(fit, table, fit.settings.seed if seed is None else seed)
        prior = [_prior_values(h, table, draws) if draws is not None and h.sign == "=" else None
                 for h in parsed]
    rows = [_row(h, post, pri, alpha) for h, post, pri in zip(parsed, posterior, prior)]
    return pd.DataFrame(rows, columns=COLUMNS)

"""Prior distributions: small declarative objects that nest and print as the strings spec files use.

A prior's parameter may be a number, an array or another prior (a hyperprior), so
``HalfNormal(sigma=HalfCauchy(1))`` reads "one shared, unknown scale".  Every prior prints
as a string that :func:`parse_prior` reads back, which is how priors travel through spec
files and saved fits.  Parsing walks a Python syntax tree and accepts only calls of the
distributions below with numeric arguments: a prior string is data, never code.
"""

from __future__ import annotations

import ast
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "Prior", "Normal", "StudentT", "Cauchy", "Laplace", "HalfNormal", "HalfStudentT",
    "HalfCauchy", "Exponential", "Gamma", "InverseGamma", "LogNormal", "Uniform", "Beta",
    "LKJ", "MvNormal", "InverseWishart", "Horseshoe", "R2D2", "parse_prior", "as_prior",
    "PRIORS",
]

PRIORS: dict[str, type[Prior]] = {}


class Prior:
    """Base class: a named distribution with parameters that may themselves be priors.

    Subclasses declare ``params`` (positional order), ``positive`` (parameters that must be
    > 0), ``support`` (what values the prior produces) and ``defaults``.
    """

    params: ClassVar[tuple[str, ...]] = ()
    positive: ClassVar[tuple[str, ...]] = ()
    defaults: ClassVar[dict[str, Any]] = {}
    #: "real", "positive", "unit" (between 0 and 1: also positive), "corr" (LKJ), "cov"
    #: (covariance matrix), "vector" (joint prior),
    #: "shrinkage" (a joint prior on all fixed slopes: Horseshoe, R2D2)
    support: ClassVar[str] = "real"
    #: the PyMC distribution's name and how hglm's parameter names map onto its own
    pymc_name: ClassVar[str] = ""
    pymc_params: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        PRIORS[cls.__name__] = cls

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        name = type(self).__name__
        if len(args) > len(self.params):
            raise ValueError(f"{name} takes at most {len(self.params)} parameters "
                             f"({', '.join(self.params)}), got {len(args)}")
        values = dict(zip(self.params, args))
        for key, value in kwargs.items():
            if key not in self.params:
                raise ValueError(f"{name} has no parameter {key!r}; its parameters are "
                                 f"{', '.join(self.params)}")
            if key in values:
                raise ValueError(f"{name} got parameter {key!r} twice")
            values[key] = value
        for key in self.params:
            if key not in values:
                if key not in self.defaults:
                    raise ValueError(f"{name} needs parameter {key!r}")
                values[key] = self.defaults[key]
        self.args: dict[str, Any] = {k: _clean_value(name, k, values[k]) for k in self.params}
        self._validate()

    # -- validation ---------------------------------------------------------------------
    def _validate(self) -> None:
        name = type(self).__name__
        for key in self.positive:
            value = self.args[key]
            if isinstance(value, Prior):
                if value.support != "positive":
                    raise ValueError(f"{name}: parameter {key!r} must be positive, so its "
                                     f"hyperprior must have positive support (for example "
                                     f"HalfNormal or Exponential), not {value!r}")
            elif value is not None and np.any(np.asarray(value) <= 0):
                raise ValueError(f"{name}: parameter {key!r} must be positive, got {value!r}")

    # -- introspection ------------------------------------------------------------------
    @property
    def hyperpriors(self) -> dict[str, Prior]:
        """Parameters that are themselves priors."""
        return {k: v for k, v in self.args.items() if isinstance(v, Prior)}

    def is_constant(self) -> bool:
        """True when no parameter is a hyperprior."""
        return not self.hyperpriors

    def __repr__(self) -> str:
        parts = [f"{k}={_format_value(v)}" for k, v in self.args.items()]
        return f"{type(self).__name__}({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Prior) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))

    # -- PyMC ---------------------------------------------------------------------------
    def pymc_kwargs(self, values: dict[str, Any]) -> dict[str, Any]:
        """Map resolved parameter values (numbers or tensors) to the PyMC keyword names."""
        return {self.pymc_params.get(k, k): v for k, v in values.items()}

    def create(self, name: str, values: dict[str, Any], **kwargs: Any):
        """Create the PyMC random variable ``name`` with resolved parameter ``values``."""
        import pymc as pm

        dist = getattr(pm, self.pymc_name or type(self).__name__)
        return dist(name, **self.pymc_kwargs(values), **kwargs)


def _clean_value(dist: str, key: str, value: Any) -> Any:
    if value is None and PRIORS[dist].defaults.get(key, 0) is None:
        return None  # an optional parameter left unset
    if isinstance(value, Prior):
        return value
    if isinstance(value, str):
        return parse_prior(value)
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{dist}: parameter {key!r} must be finite, got {value!r}")
    return float(arr) if arr.ndim == 0 else arr


def _format_value(value: Any) -> str:
    if isinstance(value, Prior):
        return repr(value)
    if isinstance(value, np.ndarray):
        return repr(value.tolist())
    if value is None:
        return "None"
    return f"{value:g}" if isinstance(value, float) else repr(value)


# --- scalar priors on the real line ---------------------------------------------------------
class Normal(Prior):
    """Normal(mu, sigma)."""
    params = ("mu", "sigma")
    positive = ("sigma",)
    defaults = {"mu": 0.0}


class StudentT(Prior):
    """StudentT(nu, mu, sigma)."""
    params = ("nu", "mu", "sigma")
    positive = ("nu", "sigma")
    defaults = {"mu": 0.0, "sigma": 1.0}


class Cauchy(Prior):
    """Cauchy(mu, sigma)."""
    params = ("mu", "sigma")
    positive = ("sigma",)
    defaults = {"mu": 0.0}
    pymc_params = {"mu": "alpha", "sigma": "beta"}


class Laplace(Prior):
    """Laplace(mu, b): the Bayesian lasso prior; under the key ``"fixed"`` it applies to the
    standardized slopes, and ``b`` may have a hyperprior (shared by all slopes)."""
    params = ("mu", "b")
    positive = ("b",)
    defaults = {"mu": 0.0}


class Uniform(Prior):
    """Uniform(lower, upper)."""
    params = ("lower", "upper")

    def _validate(self) -> None:
        super()._validate()
        lo, up = self.args["lower"], self.args["upper"]
        if not isinstance(lo, Prior) and not isinstance(up, Prior) and np.any(np.asarray(lo) >= up):
            raise ValueError(f"Uniform: lower must be below upper, got {lo!r} and {up!r}")
        if not isinstance(lo, Prior) and np.all(np.asarray(lo) >= 0):
            self.support = "positive"  # Uniform(0, 10) is a valid prior for an sd
            if not isinstance(up, Prior) and np.all(np.asarray(up) <= 1):
                self.support = "unit"  # ... and Uniform(0, 1) for a probability


# --- priors on positive values ----------------------------------------------------------------
class HalfNormal(Prior):
    """HalfNormal(sigma)."""
    params = ("sigma",)
    positive = ("sigma",)
    support = "positive"


class HalfStudentT(Prior):
    """HalfStudentT(nu, sigma)."""
    params = ("nu", "sigma")
    positive = ("nu", "sigma")
    support = "positive"


class HalfCauchy(Prior):
    """HalfCauchy(beta)."""
    params = ("beta",)
    positive = ("beta",)
    support = "positive"


class Exponential(Prior):
    """Exponential(lam), mean 1/lam."""
    params = ("lam",)
    positive = ("lam",)
    support = "positive"


class Gamma(Prior):
    """Gamma(alpha, beta), shape and rate."""
    params = ("alpha", "beta")
    positive = ("alpha", "beta")
    support = "positive"


class InverseGamma(Prior):
    """InverseGamma(alpha, beta), shape and scale."""
    params = ("alpha", "beta")
    positive = ("alpha", "beta")
    support = "positive"


class LogNormal(Prior):
    """LogNormal(mu, sigma)."""
    params = ("mu", "sigma")
    positive = ("sigma",)
    defaults = {"mu": 0.0}
    support = "positive"


# --- priors on probabilities --------------------------------------------------------------------
class Beta(Prior):
    """Beta(alpha, beta) on a probability (a zero-inflation or hurdle probability)."""
    params = ("alpha", "beta")
    positive = ("alpha", "beta")
    support = "unit"


# --- structured priors --------------------------------------------------------------------------
class LKJ(Prior):
    """LKJ(eta) on a correlation matrix; eta = 1 is uniform, larger eta favors zero correlation."""
    params = ("eta",)
    positive = ("eta",)
    defaults = {"eta": 1.0}
    support = "corr"


class MvNormal(Prior):
    """MvNormal(mu, cov): a joint prior on the whole fixed-effect vector (key ``"beta"``)."""
    params = ("mu", "cov")
    support = "vector"

    def _validate(self) -> None:
        mu, cov = self.args["mu"], self.args["cov"]
        if isinstance(mu, Prior) or isinstance(cov, Prior):
            raise ValueError("MvNormal: mu and cov must be numbers or arrays, not priors")
        mu, cov = np.atleast_1d(mu), np.atleast_2d(cov)
        if cov.shape != (mu.size, mu.size):
            raise ValueError(f"MvNormal: cov must be {mu.size} x {mu.size} to match mu, "
                             f"got shape {cov.shape}")
        _check_spd("MvNormal", "cov", cov)

    @property
    def size(self) -> int:
        return np.atleast_1d(self.args["mu"]).size


class InverseWishart(Prior):
    """InverseWishart(nu, S) on a group's covariance matrix (key ``"cov(group)"``).

    Density proportional to ``|Sigma|^-(nu+q+1)/2 exp(-tr(S Sigma^-1)/2)``; needs nu > q - 1.
    """
    params = ("nu", "S")
    positive = ("nu",)
    support = "cov"

    def _validate(self) -> None:
        super()._validate()
        S = self.args["S"]
        if isinstance(S, Prior):
            raise ValueError("InverseWishart: S must be a matrix, not a prior")
        S = np.atleast_2d(S)
        if S.shape[0] != S.shape[1]:
            raise ValueError(f"InverseWishart: S must be square, got shape {S.shape}")
        _check_spd("InverseWishart", "S", S)
        nu = self.args["nu"]
        if not isinstance(nu, Prior) and nu <= S.shape[0] - 1:
            raise ValueError(f"InverseWishart: nu must exceed q - 1 = {S.shape[0] - 1}, got {nu:g}")

    @property
    def size(self) -> int:
        return np.atleast_2d(self.args["S"]).shape[0]


# --- shrinkage priors on all fixed slopes (key "fixed" or "beta") ---------------------------
class Horseshoe(Prior):
    """The regularized horseshoe (Piironen & Vehtari 2017) on all fixed slopes, as brms's
    ``horseshoe()``: ``b_j = z_j tau lambda~_j`` on standardized predictors, local scales
    ``lambda_j ~ HalfCauchy(1)``, global ``tau ~ HalfCauchy(tau0)`` with
    ``tau0 = par_ratio / sqrt(N)`` (times sigma for gaussian models; 1 when ``par_ratio`` is
    None), and a slab ``c^2 ~ InverseGamma(df_slab / 2, df_slab scale_slab^2 / 2)`` that
    keeps large coefficients from escaping to infinity.  ``par_ratio``: the expected ratio of
    non-zero to zero coefficients, in (0, 1).
    """
    params = ("par_ratio", "scale_slab", "df_slab")
    positive = ("scale_slab", "df_slab")
    defaults = {"par_ratio": None, "scale_slab": 2.0, "df_slab": 4.0}
    support = "shrinkage"

    def _validate(self) -> None:
        super()._validate()
        ratio = self.args["par_ratio"]
        if isinstance(ratio, Prior) or (ratio is not None and not 0 < ratio < 1):
            raise ValueError(f"Horseshoe: par_ratio (non-zero / zero coefficients) must be a "
                             f"number in (0, 1), got {ratio!r}")
        for key in ("scale_slab", "df_slab"):
            if isinstance(self.args[key], Prior):
                raise ValueError(f"Horseshoe: {key} must be a number, not a prior")


class R2D2(Prior):
    """The R2-D2 prior (Zhang et al. 2022) on all fixed slopes, as brms's ``R2D2()``: the
    proportion of variance explained ``R2 ~ Beta(mean_R2 prec_R2, (1 - mean_R2) prec_R2)``,
    split among the standardized coefficients by ``phi ~ Dirichlet(cons_D2)``:
    ``b_j ~ Normal(0, sigma sqrt(phi_j R2 / (1 - R2)))`` (sigma = 1 for non-gaussian models).
    """
    params = ("mean_R2", "prec_R2", "cons_D2")
    positive = ("mean_R2", "prec_R2", "cons_D2")
    defaults = {"mean_R2": 0.5, "prec_R2": 2.0, "cons_D2": 0.5}
    support = "shrinkage"

    def _validate(self) -> None:
        super()._validate()
        if any(isinstance(v, Prior) for v in self.args.values()):
            raise ValueError("R2D2: mean_R2, prec_R2 and cons_D2 must be numbers, not priors")
        if not 0 < self.args["mean_R2"] < 1:
            raise ValueError(f"R2D2: mean_R2 must lie in (0, 1), got {self.args['mean_R2']!r}")


def _check_spd(dist: str, key: str, mat: np.ndarray) -> None:
    if not np.allclose(mat, mat.T):
        raise ValueError(f"{dist}: {key} must be symmetric")
    if np.any(np.linalg.eigvalsh(mat) <= 0):
        raise ValueError(f"{dist}: {key} must be positive definite")


# --- string form ------------------------------------------------------------------------------
def parse_prior(text: str) -> Prior:
    """Read a prior from its string form, e.g. ``"HalfNormal(sigma=HalfCauchy(1))"``.

    Only the distributions of this module, numbers and lists of numbers are accepted.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a prior string must be non-empty text, got {text!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ValueError(f"cannot read prior {text!r}: {err.msg}") from None
    prior = _eval_node(tree.body, text)
    if not isinstance(prior, Prior):
        raise ValueError(f"cannot read prior {text!r}: it is not a distribution; write one "
                         f"such as 'Normal(0, 5)'")
    return prior


def _eval_node(node: ast.AST, text: str) -> Any:
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in PRIORS:
            known = ", ".join(sorted(k for k in PRIORS if k != "Prior"))
            raise ValueError(f"cannot read prior {text!r}: unknown distribution "
                             f"{ast.unparse(node.func)!r}; known: {known}")
        args = [_eval_node(a, text) for a in node.args]
        kwargs = {kw.arg: _eval_node(kw.value, text) for kw in node.keywords if kw.arg}
        return PRIORS[node.func.id](*args, **kwargs)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) \
            and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _eval_node(node.operand, text)
        if isinstance(value, float):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Constant) and node.value is None:
        return None
    if isinstance(node, ast.List | ast.Tuple):
        return [_eval_node(e, text) for e in node.elts]
    raise ValueError(f"cannot read prior {text!r}: only distributions, numbers and lists "
                     f"are allowed, not {ast.unparse(node)!r}")


def as_prior(value: Prior | str, key: str = "") -> Prior:
    """Accept a :class:`Prior` or its string form; name ``key`` in errors."""
    if isinstance(value, Prior):
        return value
    if isinstance(value, str):
        try:
            return parse_prior(value)
        except ValueError as err:
            raise ValueError(f"prior {key!r}: {err}") from None
    raise ValueError(f"prior {key!r} must be a hglm prior (e.g. hglm.Normal(0, 5)) or its "
                     f"string form, got {type(value).__name__}")

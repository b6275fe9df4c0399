"""Every name hglm makes, in one place: model variables (brms's ``sd_Subject``, ``L_Subject``,
``z_Subject``), their dims, and prior keys (``"sd(Days|Subject)"``), made and parsed here.

Prior keys, ``m.priors``, ArviZ variable names and sensitivity components all come from these
functions, so they agree: a hyperprior on ``"sd(Subject)"`` is the variable
``sd_Subject_sigma``, which the sensitivity component ``"sd"`` (prefix ``sd_``) covers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["PriorKey", "beta", "coef_dim", "slopes", "slope_dim", "intercept_centered",
           "dpar_label", "dpar_key", "sd", "cor", "L", "chol_cov", "r", "z", "eta", "partial",
           "group_effect_variables", "term_dim", "cor_dim", "aux_dim",
           "cor_pairs", "sd_key", "cor_key", "cov_key", "hyper"]


# -- fixed effects, per linear predictor (None: the mean's; else an auxiliary parameter's) ------
def beta(dpar: str | None = None) -> str:
    """Every fixed effect of a linear predictor on the predictors' own scales (brms's ``b_``;
    ``beta_sigma`` for sigma's formula)."""
    return "beta" if dpar is None else f"beta_{dpar}"


def coef_dim(dpar: str | None = None) -> str:
    """The dim that indexes a linear predictor's fixed effects."""
    return "coef" if dpar is None else f"{dpar}__coef"


def slopes(dpar: str | None = None) -> str:
    """The sampled slopes (predictors centered), ``b`` or ``b_sigma``."""
    return "b" if dpar is None else f"b_{dpar}"


def slope_dim(dpar: str | None = None) -> str:
    return "b_coef" if dpar is None else f"{dpar}__b_coef"


def intercept_centered(dpar: str | None = None) -> str:
    """The sampled intercept at the predictors' means (brms's ``Intercept``,
    ``Intercept_sigma``)."""
    return "Intercept_centered" if dpar is None else f"Intercept_{dpar}_centered"


def dpar_label(label: str, dpar: str) -> str:
    """The group label of a block in ``dpar``'s formula: ``g__sigma`` (brms's ``sd_g__sigma``)."""
    return f"{label}__{dpar}"


def dpar_key(dpar: str | None, key: str) -> str:
    """A prior key of ``dpar``'s formula: ``"sigma:x"``, ``"sigma:Intercept"``, ``"sigma:sd"``
    (the main formula's keys are unprefixed)."""
    return key if dpar is None else f"{dpar}:{key}"


# -- model variables, per group label ---------------------------------------------------------
def sd(label: str) -> str:
    """The group's standard deviations (one per term)."""
    return f"sd_{label}"


def cor(label: str) -> str:
    """The group's correlations (packed lower triangle)."""
    return f"cor_{label}"


def L(label: str) -> str:  # noqa: N802  (brms's name for the Cholesky factor)
    """The Cholesky factor of the group's correlation matrix (LKJ)."""
    return f"L_{label}"


def chol_cov(label: str) -> str:
    """The Cholesky factor of the group's covariance matrix (inverse-Wishart)."""
    return f"chol_cov_{label}"


def r(label: str) -> str:
    """The group effects on the linear predictor's scale (brms's ``r_``)."""
    return f"r_{label}"


def z(label: str) -> str:
    """The standardized (non-centered) group effects."""
    return f"z_{label}"


def eta(label: str) -> str:
    """The partially centered intercepts of a hierarchical chain."""
    return f"eta_{label}"


def partial(label: str, around_mean: bool) -> str:
    """Partially centered group effects: ``t_`` (around zero) or ``c_`` (around a hierarchical
    mean); their prior is the potential ``<name>_prior``."""
    return f"{'c' if around_mean else 't'}_{label}"


def group_effect_variables(label: str) -> tuple[str, ...]:
    """Every variable that holds a group's effects, in whichever parameterization."""
    return (r(label), z(label), eta(label), partial(label, False), partial(label, True))


def term_dim(label: str) -> str:
    """The dim that indexes a group's terms."""
    return f"{label}__term"


def aux_dim(name: str) -> str:
    """The dim that indexes a vector auxiliary parameter's values (``thresholds`` ->
    ``threshold``, as ordinal's threshold coefficients)."""
    return name[:-1] if name.endswith("s") else f"{name}__dim"


def cor_dim(label: str) -> str:
    """The dim that indexes a group's correlations."""
    return f"{label}__cor"


def cor_pairs(terms: tuple[str, ...]) -> list[str]:
    """Names of the correlations in packed order: (1,0), (2,0), (2,1), ..."""
    rows, cols = np.tril_indices(len(terms), -1)
    return [f"{terms[j]}:{terms[i]}" for i, j in zip(rows, cols)]


# -- prior keys --------------------------------------------------------------------------------
_KEY = re.compile(r"(?P<kind>sd|cor|cov)\((?:(?P<term>[^|()]*)\|)?(?P<group>[^|]*)\)")


@dataclass(frozen=True)
class PriorKey:
    """A parsed prior key: ``"sd(Days|Subject)"`` is ``PriorKey("sd", "Subject", "Days")``;
    ``"sd"`` is ``PriorKey("sd")``; a coefficient ``"Days"`` is ``PriorKey("coef", term="Days")``
    and ``"sigma"`` (any other plain word) ``PriorKey("sigma")``."""

    kind: str
    group: str | None = None
    term: str | None = None

    @classmethod
    def parse(cls, key: str, coefficients: tuple[str, ...] = ()) -> PriorKey:
        match = _KEY.fullmatch(key)
        if match:
            return cls(match["kind"], match["group"], match["term"])
        if key in coefficients and key != "Intercept":
            return cls("coef", term=key)
        return cls(key)

    def __str__(self) -> str:
        if self.kind == "coef":
            return str(self.term)
        if self.group is None:
            return self.kind
        inner = f"{self.term}|{self.group}" if self.term else self.group
        return f"{self.kind}({inner})"

    @property
    def variable(self) -> str:
        """The stem of variables made for this key (hyperpriors add ``_<parameter>``)."""
        if self.kind == "coef":
            return f"b_{self.term}".replace(":", "_")
        if self.group is None:
            return self.kind.replace(":", "_")
        return (f"{self.kind}_{self.group}" + (f"__{self.term}" if self.term else "")
                ).replace(":", "_")


def sd_key(label: str, term: str | None = None) -> str:
    return str(PriorKey("sd", label, term))


def cor_key(label: str) -> str:
    return str(PriorKey("cor", label))


def cov_key(label: str) -> str:
    return str(PriorKey("cov", label))


def hyper(key: str, parameter: str, coefficients: tuple[str, ...] = ()) -> str:
    """The variable of a hyperprior on ``parameter`` of the prior under ``key``:
    ``hyper("sd(Subject)", "sigma") == "sd_Subject_sigma"``."""
    return f"{PriorKey.parse(key, coefficients).variable}_{parameter}"

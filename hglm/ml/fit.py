"""``fit_ml``: maximize the marginal likelihood (lme4's ``lmer``/``glmer``).

The pipeline: the design in internal coordinates (:mod:`hglm.ml.scaling`) -> the Laplace
objective (:mod:`hglm.ml.objective`) -> L-BFGS-B and Newton polishing with a convergence
check (:mod:`hglm.ml.optimize`) -> estimates mapped back to the user's scale, with lme4's
messages for fits that did not converge or lie on the boundary.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hglm.design.matrices import Design
from hglm.ml import profiled
from hglm.ml.layout import ParamLayout
from hglm.ml.optimize import Optimum, maximize
from hglm.ml.scaling import Scaling, internal
from hglm.notices import ConvergenceWarning, SingularFitWarning

__all__ = ["MLFit", "fit_ml", "SINGULAR_TOL"]

#: a relative covariance factor's diagonal element below this (internal, standardized
#: scale) is a variance at zero, or a correlation at +-1 when the row is not all zero:
#: lme4's ``isSingular(tol = 1e-4)``
SINGULAR_TOL = 1e-4


@dataclass
class MLFit:
    """Maximum-likelihood (or REML) estimates of a mixed model, counted as lme4 counts them."""

    design: Design
    reml: bool
    logLik: float
    npar: int
    fixef: pd.Series
    varcorr: pd.DataFrame          # group, name, kind (sd|cor), estimate
    converged: bool
    singular: bool
    messages: list[str] = field(default_factory=list)
    max_grad: float = 0.0

    @property
    def message(self) -> str:
        return "; ".join(self.messages)

    @property
    def nobs(self) -> int:
        return self.design.n

    @property
    def deviance(self) -> float:
        return -2.0 * self.logLik

    @property
    def aic(self) -> float:
        return -2.0 * self.logLik + 2 * self.npar

    @property
    def bic(self) -> float:
        return -2.0 * self.logLik + np.log(self.nobs) * self.npar

    def sd(self, group: str, name: str = "Intercept") -> float:
        vc = self.varcorr
        return float(vc[(vc.group == group) & (vc.name == name)
                        & (vc.kind == "sd")].estimate.iloc[0])

    def summary(self) -> str:
        kind = "REML" if self.reml else "maximum likelihood"
        approx = "" if self.design.family.exact_marginal else " (Laplace approximation)"
        lines = [f"Mixed model fit by {kind}{approx} [hglm]",
                 f" Family: {self.design.family.title}",
                 f"Formula: {self.design.formulas}",
                 f"logLik {self.logLik:.4f}  npar {self.npar}  "
                 f"AIC {self.aic:.2f}  BIC {self.bic:.2f}",
                 "", "Variance components:", self.varcorr.to_string(index=False), "",
                 "Fixed effects:", self.fixef.to_string()]
        lines += [f"{'Note' if self.converged else 'Warning'}: {m}" for m in self.messages]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _start(design: Design, lay: ParamLayout) -> np.ndarray:
    """lme4's start: unit relative factors; the intercept at the link of the mean response
    (internal columns are orthonormal, so the other coefficients start at zero)."""
    phi = np.zeros(lay.n_phi)
    family = design.family
    if not lay.reml and design.has_intercept:
        start = family.mean_on_link_scale(design.y, design.trials, margin=0.02)
        phi[design.fixed_names.index("Intercept")] = start
    for sl, (rows, cols) in zip(lay.theta, lay.tri):
        phi[sl] = (rows == cols).astype(float)
    for name, value in family.aux_start(design.y, design.categories).items():
        if name in lay.aux:
            phi[lay.aux[name]] = family.aux_to_internal(name, value)
    if family.scale_parameter in lay.aux:
        phi[lay.aux[family.scale_parameter]] = np.log(max(float(np.std(design.y)), 1e-3))
    for sub in design.dpars:     # the intercept at the link of the parameter's typical value
        where = lay.dpar_fixed[sub.dpar]
        if sub.has_intercept:
            typical = family.aux_typical(sub.dpar, design.y)
            if sub.dpar == family.scale_parameter:
                typical = max(float(np.std(design.y)), 1e-3)
            phi[where.start + sub.fixed_names.index("Intercept")] = \
                family.aux_link(sub.dpar).numpy(typical)
    for k, (sl, (rows, cols)) in enumerate(zip(lay.theta, lay.tri)):
        if k >= len(design.blocks):      # an auxiliary formula's effects: start small
            phi[sl] = 0.1 * (rows == cols)
    return phi


def fit_ml(design: Design, reml: bool = False) -> MLFit:
    """Maximum-likelihood (``reml=False``) or REML fit of ``design``'s model.

    The optimum is found in internal coordinates (orthonormal fixed-effect columns,
    unit-scale group-effect columns and response), so predictors on any scale fit alike,
    and polished by Newton steps until every free gradient is below
    :data:`hglm.ml.optimize.GRAD_TOL`; ``converged`` says whether that check passed, and
    ``messages`` carry lme4's wording for fits that did not converge or are singular.
    Each relative covariance factor's diagonal is bounded at zero, as lme4 bounds it, so a
    variance can be estimated as exactly zero.
    """
    inner, scaling = internal(design)
    optimum, lay = _optimum(inner, reml)
    singular = _singular(design, lay, optimum.phi)
    if _saturated(inner, lay, optimum):
        optimum.converged = False
        optimum.messages.append(
            "fitted probabilities or rates numerically 0 or 1 occurred: a predictor separates "
            "the outcomes (perfect separation), so some estimates run off to infinity and the "
            "maximum likelihood does not exist; the Bayesian fit's priors keep them finite")
    messages = optimum.messages + singular
    for text in optimum.messages:
        warnings.warn(f"maximum-likelihood fit of {design.formula.formula!r}: {text}",
                      ConvergenceWarning, stacklevel=2)
    for text in singular:
        warnings.warn(f"{design.formula.formula!r}: {text}", SingularFitWarning, stacklevel=2)
    n = design.n if design.weights is None else float(design.weights.sum())
    logLik = scaling.loglik(optimum.value, n, reml)
    npar = lay.n_phi if not reml else lay.n_phi + lay.p
    return MLFit(design, reml, logLik, npar, _fixef(design, lay, optimum, scaling),
                 _varcorr(design, lay, optimum.phi, scaling), optimum.converged,
                 bool(singular), messages, optimum.max_grad)


def _optimum(inner: Design, reml: bool) -> tuple[Optimum, ParamLayout]:
    """The gaussian LMM's exact profiled likelihood (:mod:`hglm.ml.profiled`) where it
    applies, else the Laplace objective over every parameter."""
    with np.errstate(all="ignore"):
        if profiled.applies(inner):
            objective = profiled.ProfiledLMM(inner, reml)
            return profiled.maximize_profiled(objective), objective.layout
        from hglm.ml.objective import LaplaceObjective  # PyTensor: only where needed

        objective = LaplaceObjective(inner, reml)
        return maximize(objective, _start(inner, objective.layout)), objective.layout


#: a fitted mean this close to the edge of its range is "numerically 0 or 1" (R's glm.fit
#: uses 10 machine epsilons; a little wider here, since the optimizer stops where the
#: log-likelihood stops changing, well before the mean reaches the edge exactly)
SATURATION = 1e-8


def _saturated(design: Design, lay: ParamLayout, optimum: Optimum) -> bool:
    """Whether fitted probabilities reach 0 or 1 (or rates 0): separation (internal design)."""
    low, high = design.family.mean_range
    if not (np.isfinite(low) or np.isfinite(high)):
        return False
    phi, w = optimum.phi, optimum.w
    gamma = w[lay.n_u:] if lay.reml else phi[: lay.p]
    eta = design.X @ gamma + (design.offset if design.offset is not None else 0.0)
    for k, block in enumerate(design.blocks):
        lam = lay.lam(phi, k, block.q)
        u = w[lay.u[k]].reshape(block.n_levels, block.q)
        eta = eta + np.sum(block.Z * (u @ lam.T)[block.index], axis=1)
    with np.errstate(over="ignore"):
        mu = design.family.inverse_link_numpy(eta)
    return bool(np.any((mu < low + SATURATION) | (mu > high - SATURATION)))


def _singular(design: Design, lay: ParamLayout, phi: np.ndarray) -> list[str]:
    """lme4's "boundary (singular) fit", naming the variance or correlation at the boundary."""
    out = []
    for k, block in enumerate(design.all_blocks):
        lam = lay.lam(phi, k, block.q)
        for i, term in enumerate(block.terms):
            if lam[i, i] >= SINGULAR_TOL:
                continue
            if np.all(np.abs(lam[i, :i]) < SINGULAR_TOL):
                what = f"the variance of {term} over {block.label} is estimated as zero"
            else:
                what = (f"{term} over {block.label} is perfectly correlated with the "
                        f"block's other terms (a correlation at +-1)")
            out.append(f"boundary (singular) fit: {what}; consider removing that term")
    return out


def _fixef(design: Design, lay: ParamLayout, optimum: Optimum, scaling: Scaling) -> pd.Series:
    """Fixed effects; an ordinal model's thresholds first, as ordinal's ``coef(clmm)``; an
    auxiliary formula's after the mean's, named as brms names them (``sigma_x``)."""
    gamma = optimum.w[lay.n_u:] if lay.reml else optimum.phi[: lay.p]
    values, labels = [scaling.beta(gamma)], list(design.fixed_names)
    for sub in design.dpars:
        values.append(scaling.dpar_T[sub.dpar] @ optimum.phi[lay.dpar_fixed[sub.dpar]])
        labels += [f"{sub.dpar}_{name}" for name in sub.fixed_names]
    for name, where in lay.aux.items():
        if isinstance(where, slice):
            values.insert(0, design.family.aux_from_internal(name, optimum.phi[where]))
            labels[:0] = design.family.aux_coords(name, design.categories)
    return pd.Series(np.concatenate(values), index=labels, name="estimate")


def _varcorr(design: Design, lay: ParamLayout, phi: np.ndarray, scaling: Scaling) -> pd.DataFrame:
    scale = design.family.scale_parameter
    # lme4's relative factors where the scale is constant; else on the response's scale
    sigma = np.exp(phi[lay.aux[scale]]) * scaling.y_scale if scale in lay.aux \
        else scaling.coef_scale
    rows = []
    for k, block in enumerate(design.all_blocks):
        lam = scaling.lam(k, lay.lam(phi, k, block.q))
        cov = (sigma if block.dpar is None else 1.0)**2 * lam @ lam.T
        sd = np.sqrt(np.diag(cov))
        rows += [(block.label, t, "sd", s) for t, s in zip(block.terms, sd)]
        if block.has_correlation:
            with np.errstate(invalid="ignore", divide="ignore"):
                cor = cov / np.outer(sd, sd)
            ri, ci = np.tril_indices(block.q, -1)
            rows += [(block.label, f"{block.terms[j]}:{block.terms[i]}", "cor", cor[i, j])
                     for i, j in zip(ri, ci)]
    for name, i in lay.aux.items():
        if isinstance(i, slice):        # thresholds: with the fixed effects
            continue
        value = float(design.family.aux_from_internal(name, phi[i])) \
            * (scaling.y_scale if name == scale else 1.0)
        group, kind = design.family.aux_label(name)
        rows.append((group, name, kind, value))
    return pd.DataFrame(rows, columns=["group", "name", "kind", "estimate"])

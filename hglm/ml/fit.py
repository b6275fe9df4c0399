"""``fit_ml``: maximise the marginal likelihood with scipy's L-BFGS-B (lme4's ``lmer``/``glmer``)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from hglm.design.matrices import Design
from hglm.ml.objective import LaplaceObjective

__all__ = ["MLFit", "fit_ml"]


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
    message: str
    phi: np.ndarray

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
        return float(vc[(vc.group == group) & (vc.name == name) & (vc.kind == "sd")].estimate.iloc[0])

    def summary(self) -> str:
        kind = "REML" if self.reml else "maximum likelihood"
        approx = "" if self.design.family.name == "gaussian" else " (Laplace approximation)"
        lines = [f"Mixed model fit by {kind}{approx} [hglm]",
                 f" Family: {self.design.family.name}  ( {self.design.family.link} )",
                 f"Formula: {self.design.formula.formula}",
                 f"logLik {self.logLik:.4f}  npar {self.npar}  AIC {self.aic:.2f}  BIC {self.bic:.2f}",
                 "", "Variance components:", self.varcorr.to_string(index=False), "",
                 "Fixed effects:", self.fixef.to_string()]
        if not self.converged:
            lines.append(f"Warning: the optimiser did not converge: {self.message}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _start(design: Design, objective: LaplaceObjective) -> np.ndarray:
    lay = objective.layout
    phi = np.zeros(lay.n_phi)
    if not lay.reml and design.has_intercept:
        mean = np.mean(design.y / design.trials) if design.trials is not None else np.mean(design.y)
        if design.family.link != "identity":
            mean = float(design.family.link_numpy(np.clip(mean, 0.02, 0.98) if
                         design.family.response in ("binomial", "binary") else max(mean, 0.1)))
        phi[design.fixed_names.index("Intercept")] = mean
    for sl, (rows, cols) in zip(lay.theta, lay.tri):
        phi[sl] = (rows == cols).astype(float)
    if "sigma" in lay.aux:
        phi[lay.aux["sigma"]] = np.log(np.std(design.y))
    return phi


def fit_ml(design: Design, reml: bool = False, start: np.ndarray | None = None) -> MLFit:
    """Maximum-likelihood (``reml=False``) or REML fit of ``design``'s model.

    The objective and its gradient are compiled PyTensor graphs (see
    :mod:`hglm.ml.objective`); the optimiser is scipy's L-BFGS-B with the diagonal of each
    relative covariance factor bounded at zero, as lme4 bounds it, so a variance can be
    estimated as exactly zero.
    """
    objective = LaplaceObjective(design, reml)
    lay = objective.layout
    phi0 = _start(design, objective) if start is None else np.asarray(start, float)
    state = {"w": np.zeros(lay.n_w)}

    def negative(phi):
        value, grad, w, _ = objective.value_and_grad(phi, state["w"])
        if np.isfinite(value):
            state["w"] = w
        else:
            return 1e300, np.zeros_like(phi)
        return -value, -grad

    bounds = [(0.0, None) if diag else (None, None) for diag in lay.theta_is_diagonal()]
    result = optimize.minimize(negative, phi0, jac=True, method="L-BFGS-B", bounds=bounds,
                               options={"maxiter": 5000, "maxfun": 10000, "ftol": 1e-14,
                                        "gtol": 1e-8})
    phi = result.x
    logLik, _, w, _ = objective.value_and_grad(phi, state["w"])
    if not result.success:
        warnings.warn(f"maximum-likelihood fit of {design.formula.formula!r} did not converge: "
                      f"{result.message}", UserWarning, stacklevel=2)
    return MLFit(design, reml, logLik, lay.n_phi if not reml else lay.n_phi + lay.p,
                 _fixef(design, lay, phi, w), _varcorr(design, lay, phi), bool(result.success),
                 str(result.message), phi)


def _fixef(design, lay, phi, w) -> pd.Series:
    beta = w[lay.n_u:] if lay.reml else phi[: lay.p]
    return pd.Series(beta, index=list(design.fixed_names), name="estimate")


def _varcorr(design, lay, phi) -> pd.DataFrame:
    scale = np.exp(phi[lay.aux["sigma"]]) if "sigma" in lay.aux else 1.0
    rows = []
    for block, sl, (r, c) in zip(design.blocks, lay.theta, lay.tri):
        lam = np.zeros((block.q, block.q))
        lam[r, c] = phi[sl]
        cov = scale**2 * lam @ lam.T
        sd = np.sqrt(np.diag(cov))
        rows += [(block.label, t, "sd", s) for t, s in zip(block.terms, sd)]
        if block.has_correlation:
            with np.errstate(invalid="ignore", divide="ignore"):
                cor = cov / np.outer(sd, sd)
            ri, ci = np.tril_indices(block.q, -1)
            rows += [(block.label, f"{block.terms[j]}:{block.terms[i]}", "cor", cor[i, j])
                     for i, j in zip(ri, ci)]
    for name, i in lay.aux.items():
        rows.append(("Residual" if name == "sigma" else "Dispersion", name,
                     "sd" if name == "sigma" else name, float(np.exp(phi[i]))))
    return pd.DataFrame(rows, columns=["group", "name", "kind", "estimate"])

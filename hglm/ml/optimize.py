"""Maximize the Laplace objective: L-BFGS-B, then Newton polishing and a convergence check.

L-BFGS-B gets close; its stopping rules (relative change of the objective) can leave the
log-likelihood a few hundredths below the optimum on flat ridges, which a likelihood-ratio
statistic doubles.  Newton steps on the free parameters, with the Hessian by central
differences of the exact gradient (a few dozen parameters at most), then converge
quadratically; a parameter at its bound (a variance factor at zero) whose gradient points
out of the feasible region is held there, as in a projected Newton method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import optimize

if TYPE_CHECKING:
    from hglm.ml.objective import LaplaceObjective

__all__ = ["Optimum", "maximize", "GRAD_TOL"]

#: converged when every free parameter's gradient (log-likelihood per unit of the internal,
#: standardized parameter) is below this; at a curvature of 1 the log-likelihood is then
#: within 1e-10 of its maximum
GRAD_TOL = 1e-5
POLISH_STEPS = 30
FD_STEP = 1e-5


@dataclass
class Optimum:
    phi: np.ndarray
    w: np.ndarray
    value: float                  # the objective at phi (internal log-likelihood)
    gradient: np.ndarray
    converged: bool
    at_bound: np.ndarray          # parameters held at their bound
    messages: list[str] = field(default_factory=list)
    iterations: int = 0

    @property
    def max_grad(self) -> float:
        free = self.gradient[~self.at_bound]
        return float(np.max(np.abs(free))) if free.size else 0.0


class _Evaluator:
    """The objective with its inner mode warm-started from the last finite evaluation."""

    def __init__(self, objective: LaplaceObjective) -> None:
        self.objective = objective
        self.w = np.zeros(objective.layout.n_w)
        self.count = 0

    def __call__(self, phi: np.ndarray):
        self.count += 1
        try:
            value, grad, w, _ = self.objective.value_and_grad(phi, self.w)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            return -np.inf, np.zeros_like(phi), self.w
        if np.isfinite(value) and np.all(np.isfinite(grad)):
            self.w = w
            return value, grad, w
        return -np.inf, np.zeros_like(phi), self.w


#: where a variance stopped at zero restarts, in internal (unit-scale) coordinates
RESTART_SD = 0.1


def maximize(objective: LaplaceObjective, phi0: np.ndarray) -> Optimum:
    """The maximum of ``objective`` from ``phi0``, with lme4-style convergence messages."""
    lay = objective.layout
    lower = np.where(lay.theta_is_diagonal(), 0.0, -np.inf)
    evaluate = _Evaluator(objective)

    def negative(phi):
        value, grad, _ = evaluate(phi)
        return (1e300, np.zeros_like(phi)) if not np.isfinite(value) else (-value, -grad)

    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]

    def run(start: np.ndarray) -> Optimum:
        result = optimize.minimize(negative, start, jac=True, method="L-BFGS-B", bounds=bounds,
                                   options={"maxiter": 5000, "maxfun": 10000, "ftol": 1e-12,
                                            "gtol": 1e-7})
        optimum = _polish(evaluate, np.maximum(result.x, lower), lower)
        optimum.iterations += int(result.nit)
        return optimum

    optimum = run(phi0)
    # a variance at zero: the Laplace objective is flat there to first order (symmetric in
    # the sd's sign), so the bound can hold a point that is a minimum along the sd; restart
    # from a small sd and keep what is higher (a hurdle model whose glmmTMB optimum is an sd
    # of 0.098 stopped at 0, 0.05 log-likelihood units lower)
    zero = (optimum.phi <= lower + 1e-10) & np.isfinite(lower)
    if zero.any() and np.isfinite(optimum.value):
        retry = run(np.where(zero, RESTART_SD, optimum.phi))
        if retry.value > optimum.value + 1e-9 * abs(optimum.value):
            retry.iterations += optimum.iterations
            return retry
    return optimum


def _hessian(evaluate: _Evaluator, phi: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Central differences of the exact gradient over the free parameters."""
    idx = np.flatnonzero(free)
    H = np.zeros((idx.size, idx.size))
    w = evaluate.w.copy()
    for col, j in enumerate(idx):
        h = FD_STEP * max(1.0, abs(phi[j]))
        plus, minus = phi.copy(), phi.copy()
        plus[j] += h
        minus[j] -= h
        evaluate.w = w
        g_plus = evaluate(plus)[1]
        evaluate.w = w
        g_minus = evaluate(minus)[1]
        H[:, col] = (g_plus[idx] - g_minus[idx]) / (2 * h)
    evaluate.w = w
    return 0.5 * (H + H.T)


def _polish(evaluate: _Evaluator, phi: np.ndarray, lower: np.ndarray) -> Optimum:
    value, grad, w = evaluate(phi)
    if not np.isfinite(value):
        return Optimum(phi, w, value, grad, False, np.zeros_like(phi, bool),
                       ["the log-likelihood is not finite at the optimizer's last point"])
    steps = 0                        # Newton steps taken
    for _ in range(POLISH_STEPS):
        at_bound = (phi <= lower + 1e-10) & (grad <= 0)
        free = ~at_bound
        if not free.any() or np.max(np.abs(grad[free])) < GRAD_TOL:
            break
        H = _hessian(evaluate, phi, free)
        step = np.zeros_like(phi)
        step[free] = _newton_direction(H, grad[free])
        t, improved = 1.0, False
        while t > 1e-6:
            trial = np.maximum(phi + t * step, lower)
            new_value, new_grad, new_w = evaluate(trial)
            if np.isfinite(new_value) and new_value >= value - 1e-12 * abs(value):
                improved = True
                break
            t /= 2
        if not improved:
            break
        phi, value, grad, w = trial, new_value, new_grad, new_w
        steps += 1
    at_bound = (phi <= lower + 1e-10) & (grad <= 0)
    optimum = Optimum(phi, w, value, grad, False, at_bound, iterations=steps)
    optimum.converged = optimum.max_grad < GRAD_TOL
    if not optimum.converged:
        optimum.messages.append(
            f"Model failed to converge with max|grad| = {optimum.max_grad:.3g} (tol = "
            f"{GRAD_TOL:g}): the estimates may not be the maximum. Rescale or centre "
            f"predictors, simplify the random effects, or check for a predictor that "
            f"separates the outcomes perfectly (the estimates then run off to infinity)")
    return optimum


def _newton_direction(H: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """``-H^-1 grad`` for a concave objective; where ``H`` is not negative definite (a
    saddle or a flat ridge) the eigenvalues are floored so the step still ascends."""
    values, vectors = np.linalg.eigh(-H)
    floor = 1e-8 * max(float(np.max(np.abs(values))), 1.0)
    values = np.maximum(np.abs(values), floor)
    return vectors @ ((vectors.T @ grad) / values)

"""The profiled gaussian LMM likelihood against independent computations: the dense marginal
normal density, and the Laplace objective over every parameter (exact for gaussian)."""

import numpy as np
import pandas as pd
import pytest

import hglm
from hglm.ml import profiled
from hglm.ml.scaling import internal


def _crossed(n: int = 300, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"a": rng.integers(0, 20, n).astype(str),
                      "b": rng.integers(0, 9, n).astype(str),
                      "c": rng.integers(0, 4, n).astype(str),
                      "x": rng.normal(size=n), "w": rng.integers(1, 4, n)})
    ua, ub, uc = rng.normal(0, 1, 20), rng.normal(0, 0.7, (9, 2)), rng.normal(0, 0.5, 4)
    a, b, c = (d[k].astype(int).to_numpy() for k in "abc")
    d["y"] = (1 + 0.5 * d.x + ua[a] + ub[b, 0] + ub[b, 1] * d.x + uc[c]
              + rng.normal(size=n))
    return d


def _dense_deviance(design, theta_by_block: list[np.ndarray], reml: bool) -> float:
    """-2 log L profiled over beta and sigma from y ~ N(X beta, sigma^2 (Z T T' Z' + I))."""
    n, p = design.X.shape
    V = np.eye(n)
    for block, lam in zip(design.blocks, theta_by_block):
        Z = np.zeros((n, block.n_levels * block.q))
        for j in range(block.q):
            Z[np.arange(n), block.index * block.q + j] = block.Z[:, j]
        big = np.kron(np.eye(block.n_levels), lam)
        V += Z @ big @ big.T @ Z.T
    Vi = np.linalg.inv(V)
    XtViX = design.X.T @ Vi @ design.X
    beta = np.linalg.solve(XtViX, design.X.T @ Vi @ design.y)
    r = design.y - design.X @ beta
    dof = n - p if reml else n
    s2 = r @ Vi @ r / dof
    out = np.linalg.slogdet(V)[1] + dof * (1 + np.log(2 * np.pi * s2))
    return out + (np.linalg.slogdet(XtViX)[1] if reml else 0.0)


@pytest.mark.parametrize("reml", [False, True])
@pytest.mark.parametrize("formula", ["y ~ x + (1 | a) + (1 | b) + (1 | c)",          # scalar path
                                     "y ~ x + (1 + x | a) + (1 + x | b) + (1 | c)",  # blocks
                                     "y ~ x + (1 | b) + (x || a)"])
def test_deviance_equals_the_dense_marginal_density(formula, reml):
    design = hglm.make_design(formula, _crossed(120))
    objective = profiled.ProfiledLMM(design, reml)
    rng = np.random.default_rng(3)
    for _ in range(3):
        theta = rng.normal(0.6, 0.4, objective.theta_index.size)
        phi = np.zeros(objective.layout.n_phi)
        phi[objective.theta_index] = theta
        lams = [objective.layout.lam(phi, k, b.q) for k, b in enumerate(design.blocks)]
        assert objective.deviance(theta) == pytest.approx(
            _dense_deviance(design, lams, reml), rel=1e-10)


@pytest.mark.parametrize("formula, weights", [("y ~ x + (1 + x | a) + (1 + x | b) + (1 | c)", None),
                                              ("y ~ x + (1 | a) + (x || b)", "w")])
def test_fit_equals_the_laplace_optimum(formula, weights, monkeypatch):
    """The same maximum, found over theta alone, as over every parameter jointly."""
    data = _crossed()
    fast = hglm.Model(formula, data, weights=weights).fit_ml()
    monkeypatch.setattr(profiled, "applies", lambda design: False)
    joint = hglm.Model(formula, data, weights=weights).fit_ml()
    assert fast.converged and joint.converged
    assert fast.logLik == pytest.approx(joint.logLik, abs=1e-6)
    np.testing.assert_allclose(fast.fixef, joint.fixef, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fast.varcorr.estimate, joint.varcorr.estimate,
                               rtol=1e-4, atol=1e-5)


def test_a_negative_diagonal_is_the_same_model():
    """The optimizer is unbounded: a column of Lambda and its negative give one covariance;
    the reported factor has a non-negative diagonal."""
    design, _ = internal(hglm.make_design("y ~ x + (1 + x | a) + (1 | b)", _crossed(120)))
    objective = profiled.ProfiledLMM(design, reml=False)
    theta = np.array([0.7, -0.2, -0.4, -0.3])       # a: [l11, l21, l22]; b: [l]
    canonical = objective.canonical(theta)
    assert np.all(canonical[objective.diagonal] >= 0)
    assert objective.deviance(canonical) == pytest.approx(objective.deviance(theta), rel=1e-12)


def test_applies_to_gaussian_identity_models_only():
    data = _crossed(60)
    assert profiled.applies(hglm.make_design("y ~ x + (1 | a)", data))
    assert not profiled.applies(hglm.make_design("y ~ x + (1 | a)", data, family="student"))
    assert not profiled.applies(hglm.make_design("y ~ x", data))

"""The Gibbs sampler against NUTS on the same semi-conjugate models, and its refusals."""

import warnings

import numpy as np
import pandas as pd
import pytest

import hglm
from hglm.results.agreement import posterior_agreement
from tests.conftest import toy_frame

SLEEP_PRIORS = {"beta": hglm.MvNormal([250, 10], [[2500, 0], [0, 100]]),
                "cov(Subject)": hglm.InverseWishart(3, [[600, 0], [0, 40]]),
                "sigma2": hglm.InverseGamma(1, 500)}
HSB_PRIORS = {"beta": hglm.MvNormal([12, 2], [[100, 0], [0, 25]]),
              "cov(school)": hglm.InverseWishart(3, [[9, 0], [0, 1]]),
              "sigma2": hglm.InverseGamma(1, 20)}


def _cross_check(model, gibbs_draws):
    """NUTS at its defaults and Gibbs with enough draws that its ESS is in the hundreds:
    means within 4 combined MCSEs (|z| > 4 has probability 6e-5 per parameter when both
    target one posterior), sds within 10%."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nuts = model.fit(seed=1, progressbar=False)
        gibbs = model.fit(sampler="gibbs", draws=gibbs_draws, seed=2, progressbar=False)
    table = posterior_agreement(gibbs, nuts)
    assert gibbs.diagnostics.min_ess_bulk > 300, gibbs.diagnostics
    assert (table["z"] < 4).all(), table
    assert (table["sd_ratio"] - 1).abs().max() < 0.10, table
    return gibbs, nuts


def test_gibbs_agrees_with_nuts_on_sleepstudy(sleepstudy):
    model = hglm.Model("Reaction ~ Days + (Days | Subject)", sleepstudy, priors=SLEEP_PRIORS)
    gibbs, nuts = _cross_check(model, gibbs_draws=2000)
    # bridge sampling on either sampler's draws estimates the same log p(y): within 4 of
    # their combined standard errors (measured: -885.440 vs -885.455, errors 0.008)
    a, b = gibbs.log_marginal_likelihood(seed=1), nuts.log_marginal_likelihood(seed=1)
    assert abs(a.logml - b.logml) < 4 * np.hypot(a.error, b.error)
    # the same Fit as NUTS gives: every table and the pointwise log-likelihood
    assert list(gibbs.fixef()["term"]) == ["Intercept", "Days"]
    assert len(gibbs.ranef()) == 18 * 2
    assert gibbs.log_likelihood()["Reaction"].shape == (4, 2000, 180)
    assert gibbs.idata.posterior.attrs["inference_library"] == "hglm gibbs"


@pytest.mark.slow
def test_gibbs_agrees_with_nuts_on_hsb82():
    # the slope sd mixes slowly under Gibbs (ESS ~140 per 4,000 draws): more draws
    model = hglm.Model("mAch ~ ses + (ses | school)", hglm.datasets.load("hsb82"),
                       priors=HSB_PRIORS)
    _cross_check(model, gibbs_draws=10000)


def _poisson_frame(seed=3, groups=40, per_group=15):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), per_group)
    x, w = rng.normal(size=(2, g.size))
    b = rng.multivariate_normal([0, 0], [[0.3, 0.1], [0.1, 0.2]], size=groups)
    eta = 0.5 + 0.3 * x - 0.4 * w + b[g, 0] + b[g, 1] * x
    return pd.DataFrame({"y": rng.poisson(np.exp(eta)), "x": x, "w": w,
                         "g": [f"g{i}" for i in g]})


def test_metropolis_within_gibbs_agrees_with_nuts_on_a_poisson_glmm():
    priors = {"beta": hglm.MvNormal([0, 0, 0], np.eye(3) * 4),
              "cov(g)": hglm.InverseWishart(3, np.eye(2) * 0.5)}
    model = hglm.Model("y ~ x + w + (x | g)", _poisson_frame(), "poisson", priors=priors)
    gibbs, _ = _cross_check(model, gibbs_draws=4000)
    rates = gibbs.idata.sample_stats
    # the warm-up tuned the random-walk scales towards 30% acceptance
    assert 0.2 < float(rates["accept_groups"].mean()) < 0.45
    assert 0.2 < float(rates["accept_beta"].mean()) < 0.45


def test_same_seed_same_draws(sleepstudy):
    model = hglm.Model("Reaction ~ Days + (Days | Subject)", sleepstudy, priors=SLEEP_PRIORS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 50 draws: the convergence warnings are expected
        a, b = [model.fit(sampler="gibbs", draws=50, tune=50, chains=2, seed=7,
                          progressbar=False) for _ in range(2)]
    assert np.array_equal(a.posterior["beta"].values, b.posterior["beta"].values)
    assert np.array_equal(a.posterior["r_Subject"].values, b.posterior["r_Subject"].values)


@pytest.mark.parametrize("formula, family, priors, message", [
    ("y ~ x + (x | g) + (1 | h)", "gaussian", {}, "exactly one grouping factor"),
    ("y ~ x + (x || g)", "gaussian", {}, "correlated group effects"),
    ("y ~ x + (1 | g)", "gaussian", {}, "correlated group effects"),
    ("count ~ x + (x | g)", "negbinomial", {}, "canonical links"),
    ("y ~ x + (x | g)", "gaussian", {}, "prior 'beta' is not set"),
    ("y ~ x + (x | g)", "gaussian", {"beta": "MvNormal([0, 0], [[1, 0], [0, 1]])",
                                     "cov(g)": "InverseWishart(3, [[1, 0], [0, 1]])"},
     "prior 'sigma2' is not set"),
])
def test_refuses_models_outside_its_scope(formula, family, priors, message):
    model = hglm.Model(formula, toy_frame(), family, priors=priors)
    with pytest.raises(ValueError, match=message):
        model.fit(sampler="gibbs", progressbar=False)

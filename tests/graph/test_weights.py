"""Observation weights: a row of integer weight k counts as k identical rows, in every
strategy's log density, in maximum likelihood and in the pointwise log-likelihood; bad
weights are refused before anything is built."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hglm
from hglm.results.predict import pointwise_log_likelihood

PRIORS = {"Intercept": "Normal(0, 5)", "fixed": "Normal(0, 2)", "sd": "HalfNormal(1)",
          "sigma": "HalfNormal(30)"}


def _counts(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(12), 6)
    x = rng.integers(0, 3, g.size).astype(float)           # few distinct rows: collapsible
    eta = -0.3 + 0.5 * x + rng.normal(0, 0.5, 12)[g]
    return pd.DataFrame({"y": rng.poisson(np.exp(eta)),
                         "sick": rng.binomial(1, 1 / (1 + np.exp(-eta))),
                         "x": x, "g": [f"g{j}" for j in g], "w": rng.integers(1, 4, g.size)})


def _expanded(data: pd.DataFrame) -> pd.DataFrame:
    return data.loc[data.index.repeat(data.w)].reset_index(drop=True)


def _logp_pair(formula, data, family, strategy, priors):
    kw = dict(family=family, strategy=strategy, priors=priors, centered=False)
    weighted = hglm.Model(formula, data, weights="w", **kw).pymc_model
    expanded = hglm.Model(formula, _expanded(data), **kw).pymc_model
    point = weighted.initial_point(0)
    return weighted.compile_logp()(point), expanded.compile_logp()(point)


@pytest.mark.parametrize("formula, data, family, strategy", [
    ("Reaction ~ Days + (Days | Subject)", "sleepstudy", "gaussian", "marginal"),
    ("Reaction ~ Days + (Days | Subject)", "sleepstudy", "gaussian", "indexed"),
    ("y ~ x + (1 | g)", "counts", "poisson", "indexed"),
    ("y ~ x + (1 | g)", "counts", "poisson", "padded"),
    ("sick ~ x + (1 | g)", "counts", "bernoulli", "collapsed"),
    ("sick ~ x + (1 | g)", "counts", "bernoulli", "indexed"),
    ("y ~ x + (1 | g)", "ratings", "cumulative", "indexed"),
])
def test_weighted_rows_are_repeated_rows(formula, data, family, strategy):
    if data == "sleepstudy":
        frame = hglm.datasets.load("sleepstudy")
        frame["w"] = np.random.default_rng(0).integers(1, 4, len(frame))
        priors = {**PRIORS, "Intercept": "Normal(250, 50)", "fixed": "Normal(0, 20)",
                  "sd": "HalfNormal(30)"}
    elif data == "ratings":         # counts as ordered categories 0 < 1 < 2 < 3+
        frame = _counts().assign(y=lambda d: np.minimum(d.y, 3))
        priors = {"fixed": "Normal(0, 2)", "sd": "HalfNormal(1)", "thresholds": "Normal(0, 3)"}
    else:
        frame, priors = _counts(), {k: v for k, v in PRIORS.items() if k != "sigma"}
    weighted, expanded = _logp_pair(formula, frame, family, strategy, priors)
    assert weighted == pytest.approx(expanded, rel=1e-12, abs=1e-9)


def test_collapsed_rows_with_counts_as_weights_equal_the_rows():
    """The user's own collapsing (one row per pattern, its count as the weight) gives the
    model of the rows themselves."""
    rows = _counts().drop(columns="w")
    counted = rows.groupby(["sick", "x", "g"], as_index=False).size().rename(
        columns={"size": "w"})
    priors = {k: v for k, v in PRIORS.items() if k != "sigma"}
    kw = dict(family="bernoulli", priors=priors, centered=False)
    by_weight = hglm.Model("sick ~ x + (1 | g)", counted, weights="w", **kw).pymc_model
    by_row = hglm.Model("sick ~ x + (1 | g)", rows, **kw).pymc_model
    point = by_weight.initial_point(0)
    assert by_weight.compile_logp()(point) == pytest.approx(by_row.compile_logp()(point),
                                                            rel=1e-12)


@pytest.mark.parametrize("formula, family", [("y ~ x + (1 | g)", "poisson"),
                                             ("sick ~ x + (1 | g)", "bernoulli"),
                                             pytest.param("y ~ x + (1 | g)", "cumulative",
                                                          marks=pytest.mark.slow)])
def test_fit_ml_of_weighted_rows_is_that_of_repeated_rows(formula, family):
    data = _counts().assign(y=lambda d: np.minimum(d.y, 3))      # 0, 1, 2, 3+ for cumulative
    weighted = hglm.Model(formula, data, family=family, weights="w").fit_ml()
    expanded = hglm.Model(formula, _expanded(data), family=family).fit_ml()
    assert weighted.logLik == pytest.approx(expanded.logLik, abs=1e-6)
    np.testing.assert_allclose(weighted.fixef, expanded.fixef, rtol=1e-5)


def test_gaussian_fit_ml_with_weights():
    data = hglm.datasets.load("sleepstudy")
    data["w"] = np.random.default_rng(0).integers(1, 4, len(data))
    weighted = hglm.Model("Reaction ~ Days + (Days | Subject)", data, weights="w").fit_ml()
    expanded = hglm.Model("Reaction ~ Days + (Days | Subject)", _expanded(data)).fit_ml()
    assert weighted.logLik == pytest.approx(expanded.logLik, abs=1e-6)


def test_pointwise_log_likelihood_is_weighted_and_the_spec_keeps_the_column(tmp_path):
    data = _counts()
    fit = hglm.Model("y ~ x + (1 | g)", data, family="poisson", weights="w").fit(
        draws=100, tune=100, chains=2, seed=1, progressbar=False)
    assert fit.spec.weights == "w" and "w" in fit.model.data
    plain = pointwise_log_likelihood(fit.model.update(weights=None).design, fit.posterior)
    ll = fit.log_likelihood()["y"].values.reshape(plain.shape)
    np.testing.assert_allclose(ll, plain * data.w.to_numpy(), rtol=1e-12)
    assert "likelihood weights" in fit.model.describe()
    fit.save(tmp_path / "w")
    assert hglm.load(tmp_path / "w").spec.weights == "w"


@pytest.mark.parametrize("values, message", [
    ([1.0, -1.0], "negative"), ([1.0, np.nan], "missing"), ([0.0, 0.0], "zero everywhere"),
    (["a", "b"], "numeric"), ([1.0, np.inf], "infinite")])
def test_bad_weights_are_refused(values, message):
    data = _counts().iloc[:20].copy()
    data["w"] = np.resize(np.array(values, dtype=object), len(data))
    if message != "numeric":
        data["w"] = data["w"].astype(float)
    with pytest.raises(ValueError, match=message):
        hglm.Model("y ~ x + (1 | g)", data, family="poisson", weights="w")


def test_missing_weights_column_and_gibbs_are_clear():
    with pytest.raises(ValueError, match="not in the data"):
        hglm.Model("y ~ x + (1 | g)", _counts(), family="poisson", weights="v")
    m = hglm.Model("y ~ x + (1 | g)", _counts(), family="poisson", weights="w")
    with pytest.raises(ValueError, match="weights"):
        m.fit(sampler="gibbs", progressbar=False)

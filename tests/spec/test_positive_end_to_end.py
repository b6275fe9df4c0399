"""The families beyond the first five, end to end on simulated data: NUTS recovers the
simulation, summaries list the auxiliary parameters, predictions (link, mean, response, new
levels), the pointwise log-likelihood (SciPy at every draw), posterior predictive checks
(mean, share of zeros), LOO comparison, sensitivity, save and reload.  Three families run in
the default suite, the others with the slow tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hglm
from hglm.results.predict import linear_predictor

TRUTH = {"Intercept": 0.5, "x": -0.4, "sd": 0.4}
AUX = {"gamma": {"shape": 8.0}, "beta": {"phi": 20.0}, "zero_inflated_poisson": {"zi": 0.3},
       "lognormal": {"sigma": 0.3}, "betabinomial": {"phi": 10.0},
       "zero_inflated_negbinomial": {"alpha": 4.0, "zi": 0.3},
       "hurdle_poisson": {"hu": 0.4}, "hurdle_negbinomial": {"alpha": 4.0, "hu": 0.4},
       "hurdle_lognormal": {"sigma": 0.4, "hu": 0.3}}
QUICK = ("gamma", "beta", "zero_inflated_poisson")


def _simulate(family: str, seed: int = 7, n_groups: int = 25, per_group: int = 12):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    x = rng.normal(size=g.size)
    eta = TRUTH["Intercept"] + TRUTH["x"] * x + rng.normal(0, TRUTH["sd"], n_groups)[g]
    trials = np.full(g.size, 15) if family == "betabinomial" else None
    y = hglm.Family(family).simulate_numpy(eta, AUX[family], trials, rng)
    data = pd.DataFrame({"y": y, "x": x, "g": [f"g{j}" for j in g]})
    if trials is not None:
        data["n"] = trials
    return data


def _nb(y, mu, alpha):
    return stats.nbinom.logpmf(y, alpha, alpha / (alpha + mu))


def _logpdf(family: str, y, eta, a):
    """Each family's log density written from SciPy's, independently of hglm's."""
    mu = np.exp(eta)
    p = 1 / (1 + np.exp(-eta))
    if family == "gamma":
        return stats.gamma.logpdf(y, a["shape"], scale=mu / a["shape"])
    if family == "lognormal":
        return stats.lognorm.logpdf(y, a["sigma"], scale=mu)
    if family == "beta":
        return stats.beta.logpdf(y, p * a["phi"], (1 - p) * a["phi"])
    if family == "betabinomial":
        return stats.betabinom.logpmf(y, 15, p * a["phi"], (1 - p) * a["phi"])
    zero = a.get("zi", a.get("hu"))
    if family.endswith("poisson"):
        count, count0 = stats.poisson.logpmf(y, mu), stats.poisson.logpmf(0, mu)
    elif family.endswith("negbinomial"):
        count, count0 = _nb(y, mu, a["alpha"]), _nb(0, mu, a["alpha"])
    else:                                                   # hurdle lognormal
        count = stats.lognorm.logpdf(np.where(y > 0, y, 1), a["sigma"], scale=mu)
        count0 = -np.inf
    if family.startswith("zero_inflated"):
        return np.where(y > 0, np.log1p(-zero) + count,
                        np.log(zero + (1 - zero) * np.exp(count0)))
    return np.where(y > 0, np.log1p(-zero) + count - np.log1p(-np.exp(count0)), np.log(zero))


@pytest.fixture(scope="module", params=[f if f in QUICK else pytest.param(f, marks=pytest.mark.slow)
                                        for f in AUX])
def fit(request):
    family = request.param
    response = "cbind(y, n - y)" if family == "betabinomial" else "y"
    m = hglm.Model(f"{response} ~ x + (1 | g)", _simulate(family), family=family)
    return m.fit(draws=500, tune=500, chains=2, seed=1, progressbar=False)


def test_fit_recovers_the_simulation(fit):
    family = fit.design.family.name
    assert fit.diagnostics.divergences == 0
    fixef = fit.fixef().set_index("term")
    varcorr = fit.varcorr().set_index("name")
    for term in ("Intercept", "x"):
        assert fixef.loc[term, "lower"] < TRUTH[term] < fixef.loc[term, "upper"], term
    text = fit.summary()
    for name, value in AUX[family].items():
        assert varcorr.loc[name, "lower"] < value < varcorr.loc[name, "upper"], name
        group = {"zi": "Zero-inflation", "hu": "Hurdle"}.get(name, "Dispersion")
        assert varcorr.loc[name, "group"] == group
        assert f"{group} ({name}):" in text
        assert fit.model.priors.set_index("key").loc[name, "source"] == "default"


def test_predictions_and_log_likelihood(fit):
    family = fit.design.family.name
    post = fit.posterior
    eta = linear_predictor(fit.design, post)
    aux = {name: post[name].values.reshape(-1, 1) for name in AUX[family]}
    ll = fit.log_likelihood()[fit.design.response_name].values.reshape(-1, fit.design.n)
    np.testing.assert_allclose(ll, _logpdf(family, fit.design.y, eta, aux), rtol=1e-8)
    # predict(kind="mean") against the simulated mean of many responses at a few draws
    mean = fit.predict(kind="mean", summary=False)
    rows = np.arange(5)
    rng = np.random.default_rng(0)
    trials = None if fit.design.trials is None else fit.design.trials[rows]
    sims = np.stack([fit.design.family.simulate_numpy(
        eta[:3, rows], {k: v[:3] for k, v in aux.items()}, trials, rng) for _ in range(20_000)])
    se = sims.std(axis=0) / np.sqrt(sims.shape[0])
    assert np.all(np.abs(sims.mean(axis=0) - mean[:3, rows]) < 4.5 * se)
    new = pd.DataFrame({"x": [0.0, 1.0], "g": ["new", "g1"], "y": [1, 1], "n": [15, 15]})
    response = fit.predict(new, kind="response", summary=False, seed=1)
    assert np.all(np.isfinite(response)) and np.all(response >= 0)


def test_posterior_predictive_checks(fit):
    ppc = fit.sample_posterior_predictive(seed=1).posterior_predictive
    ppc = ppc[fit.design.response_name].values
    y = fit.design.y
    reps = ppc.reshape(-1, y.size)
    statistics = {"mean": lambda v: v.mean(axis=-1), "zeros": lambda v: (v == 0).mean(axis=-1)}
    for name, statistic in statistics.items():
        replicated, observed = statistic(reps), statistic(y)
        assert np.quantile(replicated, 0.005) <= observed <= np.quantile(replicated, 0.995), name
    prior = fit.model.sample_prior_predictive(draws=50, seed=1)
    assert np.all(np.isfinite(prior.prior_predictive[fit.design.response_name].values))
    name = list(AUX[fit.design.family.name])[-1]
    table = fit.sensitivity(keys=[name]).set_index("parameter")
    assert name in table.index
    if name in ("zi", "hu"):        # Beta(1, 1): flat, so power-scaling it changes nothing
        assert (table["prior"] == 0).all()


def test_compare_and_reload(fit, tmp_path):
    if fit.design.family.name != "gamma":
        pytest.skip("one comparison is enough: gamma against lognormal on gamma data")
    other = fit.update(family="lognormal", progressbar=False)
    table = hglm.compare(fit, other, bayes_factors=False).table
    assert len(table) == 2 and np.all(np.isfinite(table["elpd_loo"]))
    fit.save(tmp_path / "g")
    again = hglm.load(tmp_path / "g")
    assert again.spec == fit.spec and again.model.family == fit.model.family

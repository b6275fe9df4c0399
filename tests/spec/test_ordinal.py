"""The cumulative (ordinal) family: maximum likelihood against ordinal's clmm, the design's
reading of ordered responses, the thresholds' prior, category probabilities, and NUTS end
to end on the wine data."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import pytest
from scipy import special, stats

import hglm
from hglm.graph.distributions import ordered_iid
from hglm.notices import DataWarning
from hglm.spec.priors import Normal

REFERENCE = Path(__file__).parents[1] / "reference"
#: tests/reference/ordinal_cumulative.R fitted these with clmm (Laplace, as fit_ml)
CASES = {
    "logit_intercept": ("rating ~ x + (1 | g)", "ordinal_sim", "logit"),
    "logit_slope": ("rating ~ x + (1 + x | g)", "ordinal_sim", "logit"),
    "wine": ("rating ~ temp + contact + (1 | judge)", "wine", "logit"),
    # the probit objective's third derivatives take ~20 s to compile
    "probit_intercept": ("rating ~ x + (1 | g)", "ordinal_sim", "probit"),
    "probit_slope": ("rating ~ x + (1 + x | g)", "ordinal_sim", "probit"),
}


def _data(name: str) -> pd.DataFrame:
    if name == "wine":
        return hglm.datasets.load("wine")
    return pd.read_csv(REFERENCE / f"{name}.csv")


# the default suite keeps one model (its budget is 8 minutes); the others run with the slow
@pytest.mark.parametrize("case", [c if c == "logit_intercept" else
                                  pytest.param(c, marks=pytest.mark.slow) for c in CASES])
def test_fit_ml_matches_clmm(case):
    formula, data, link = CASES[case]
    ref = pd.read_csv(REFERENCE / "ordinal_cumulative.csv")
    ref = ref[ref.model == case]
    ml = hglm.Model(formula, _data(data), family="cumulative", link=link).fit_ml()
    assert ml.converged
    assert ml.logLik == pytest.approx(ref[ref.quantity == "loglik"].value.iloc[0], abs=1e-3)
    fixef = ref[ref.quantity == "fixef"].set_index("name").value
    # thresholds "1|2", ..., then the coefficients (formulae's "temp[warm]", R's "tempwarm")
    assert [n.replace("[", "").replace("]", "") for n in ml.fixef.index] == list(fixef.index)
    np.testing.assert_allclose(ml.fixef.values, fixef.values, rtol=1e-3, atol=1e-4)
    for _, row in ref[ref.quantity.isin(["sd", "cor"])].iterrows():
        group, name = row["name"].split("|")
        vc = ml.varcorr
        got = vc[(vc.group == group) & (vc.name == name) & (vc.kind == row.quantity)].estimate
        assert float(got.iloc[0]) == pytest.approx(row.value, rel=1e-3, abs=1e-4), row["name"]


# -- the design ----------------------------------------------------------------------------
def _ratings(values, **extra) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame({"y": values, "x": np.linspace(-1, 1, n),
                         "g": [f"g{i % 4}" for i in range(n)], **extra})


def test_whole_numbers_are_categories_in_order_and_the_intercept_is_absorbed():
    m = hglm.Model("y ~ x + (1 | g)", _ratings([3, 1, 2, 5, 3, 1, 5, 2] * 3),
                   family="cumulative")
    assert m.design.categories == (1, 2, 3, 5)
    assert m.design.y.tolist()[:4] == [2, 0, 1, 3]
    assert m.design.fixed_names == ("x",)
    assert "thresholds" in set(m.priors["key"]) and "Intercept" not in set(m.priors["key"])


def test_ordered_categories_keep_their_order_and_unused_ones_are_dropped():
    levels = ["none", "mild", "severe", "extreme"]
    y = pd.Categorical(["mild", "none", "severe", "none", "mild", "severe"] * 4,
                       categories=levels, ordered=True)
    with pytest.warns(DataWarning, match="'extreme'"):
        m = hglm.Model("y ~ x", _ratings(y), family="cumulative")
    assert m.design.categories == ("none", "mild", "severe")
    assert m.design.y.tolist()[:3] == [1, 0, 2]


def test_a_full_dummy_coding_loses_the_level_the_thresholds_absorb():
    data = _ratings([1, 2, 3, 2] * 6, f=["a", "b", "c"] * 8)
    with pytest.warns(DataWarning, match="rank deficient"):
        m = hglm.Model("y ~ 0 + f", data, family="cumulative")
    assert len(m.design.fixed_names) == 2


@pytest.mark.parametrize("values, message", [
    (pd.Categorical(["a", "b", "c"] * 4), "unordered categorical"),
    (["low", "high", "mid"] * 4, "whose order hglm cannot know"),
    ([1.5, 2.0, 3.0] * 4, "non-integer"),
    ([2] * 12, "two or more categories"),
])
def test_responses_that_are_not_ordered_categories_are_refused(values, message):
    with pytest.raises(ValueError, match=message):
        hglm.Model("y ~ x", _ratings(values), family="cumulative")


def test_an_intercept_prior_points_to_the_thresholds():
    with pytest.raises(ValueError, match="set their prior with the key 'thresholds'"):
        hglm.Model("y ~ x", _ratings([1, 2, 3] * 4), family="cumulative",
                   priors={"Intercept": "Normal(0, 1)"})


# -- the thresholds' prior -----------------------------------------------------------------
def test_ordered_iid_is_the_density_of_sorted_draws():
    prior = Normal(0.0, 1.5)
    with pm.Model() as model:
        ordered_iid("t", prior, dict(prior.args), 3, initval=np.array([-1.0, 0.0, 1.0]))
    point = {"t_ordered__": np.array([-0.7, np.log(0.4), np.log(1.1)])}
    value = np.cumsum([-0.7, 0.4, 1.1])
    expected = stats.norm.logpdf(value, 0, 1.5).sum() + math.log(6)   # 3! orderings
    assert model.compile_logp(jacobian=False)(point) == pytest.approx(expected, rel=1e-10)
    draws = pm.draw(model["t"], 4000, random_seed=1)
    assert np.all(np.diff(draws, axis=1) > 0)
    # the smallest of three N(0, 1.5^2): mean -1.5 * 0.8463 (order statistics); MC sd < 0.02
    assert draws[:, 0].mean() == pytest.approx(-1.5 * 0.846284, abs=0.08)


# -- category probabilities and simulation --------------------------------------------------
@pytest.mark.parametrize("link", ["logit", "probit"])
def test_category_probabilities_and_simulation(link):
    fam = hglm.Family("cumulative", link)
    theta = np.array([-1.0, 0.2, 1.5])
    eta = np.array([-2.0, 0.0, 0.7, 3.0])
    probs = fam.response_mean(eta, {"thresholds": theta})
    cdf = {"logit": special.expit, "probit": special.ndtr}[link]
    cum = cdf(theta[None, :] - eta[:, None])
    expected = np.diff(np.c_[np.zeros(4), cum, np.ones(4)], axis=1)
    np.testing.assert_allclose(probs, expected, rtol=1e-12)
    np.testing.assert_allclose(np.exp(fam.logpdf_numpy(np.array([0, 1, 2, 3]), eta,
                                                       {"thresholds": theta})),
                               expected[np.arange(4), [0, 1, 2, 3]], rtol=1e-10)
    n = 20_000
    draws = fam.simulate_numpy(np.repeat(eta[None, :], n, axis=0), {"thresholds": theta},
                               None, np.random.default_rng(2))
    share = np.stack([(draws == k).mean(axis=0) for k in range(4)], axis=1)
    # binomial sd of a share over 20,000 draws is at most 0.0036: 4 sd
    np.testing.assert_allclose(share, expected, atol=0.015)


# -- NUTS end to end -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wine_fit():
    wine = hglm.datasets.load("wine")
    model = hglm.Model("rating ~ temp + contact + (1 | judge)", wine, family="cumulative")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(draws=400, tune=400, chains=2, seed=3, progressbar=False)


@pytest.mark.slow
def test_wine_summary_lists_thresholds_with_the_coefficients(wine_fit):
    fixef = wine_fit.fixef()
    assert fixef.term.tolist() == ["1|2", "2|3", "3|4", "4|5", "temp[warm]",
                                   "contact[yes]"]
    assert np.all(np.diff(fixef["mean"].to_numpy()[:4]) > 0)
    assert wine_fit.diagnostics.divergences == 0
    text = wine_fit.summary()
    assert "4|5" in text and "thresholds" not in wine_fit.varcorr().name.tolist()


@pytest.mark.slow
def test_wine_predictions_are_the_category_probabilities_of_the_draws(wine_fit):
    post = wine_fit.posterior
    theta = post["thresholds"].values.reshape(-1, 4)
    beta = post["beta"].values.reshape(-1, 2)
    r = post["r_judge"].values.reshape(len(theta), -1)
    new = pd.DataFrame({"temp": ["warm"], "contact": ["no"], "judge": ["3"]})
    eta = beta[:, 0] + r[:, list(wine_fit.design.blocks[0].levels).index("3")]
    cum = special.expit(theta - eta[:, None])
    expected = np.diff(np.c_[np.zeros(len(eta)), cum, np.ones(len(eta))], axis=1)
    draws = wine_fit.predict(new, summary=False)
    assert draws.shape == (len(eta), 1, 5)
    np.testing.assert_allclose(draws[:, 0, :], expected, rtol=1e-10)
    table = wine_fit.predict(new)
    assert table.category.tolist() == [1, 2, 3, 4, 5]
    assert table["mean"].sum() == pytest.approx(1.0)


@pytest.mark.slow
def test_wine_posterior_predictive_reproduces_the_rating_shares(wine_fit):
    idata = wine_fit.sample_posterior_predictive(seed=1)
    simulated = idata.posterior_predictive["rating"].values.reshape(-1, 72)
    observed = np.bincount(wine_fit.design.y, minlength=5) / 72
    predicted = np.stack([(simulated == k).mean() for k in range(5)])
    # a share of 72 ratings has sampling sd <= 0.06; the fitted thresholds match the margins
    np.testing.assert_allclose(predicted, observed, atol=0.05)


@pytest.mark.slow
def test_wine_loo_and_comparison(wine_fit):
    """LOO, and the likelihood-ratio test from clmm's fit (tests/reference): dropping
    ``contact`` costs 2 * (logLik(full) - logLik(smaller))."""
    loglik = wine_fit.log_likelihood()["rating"].values
    assert loglik.shape[-1] == 72 and np.all(np.isfinite(loglik))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        smaller = wine_fit.update(formula="rating ~ temp + (1 | judge)", progressbar=False)
        table = hglm.compare(smaller, wine_fit, bayes_factors=False).table
    assert np.isfinite(table["elpd_loo"]).all()
    full = wine_fit.model.fit_ml()
    assert table.loc["m1", "lrt_stat"] == pytest.approx(
        2 * (full.logLik - smaller.model.fit_ml().logLik), rel=1e-9)
    assert full.logLik == pytest.approx(-81.56541278, abs=1e-3)


@pytest.mark.slow
def test_kfold_refuses_a_fold_without_some_category():
    """With every rating of 1 by one judge, leaving that judge out leaves a refit with three
    thresholds for a model of four: a clear error, not silently renumbered categories."""
    from hglm.comparison.kfold import kfold

    wine = hglm.datasets.load("wine")
    wine.loc[(wine.rating == 1) & (wine.judge != "2"), "rating"] = 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = hglm.Model("rating ~ temp + (1 | judge)", wine, family="cumulative").fit(
            draws=50, tune=50, chains=1, seed=1, progressbar=False)
        with pytest.raises(ValueError, match="no response in category 1"):
            kfold(fit, group="judge", K=9, n_jobs=1)


def test_working_weights_are_the_ordinal_information():
    """The centering weighs an ordinal row by its Fisher information about eta: on the logit
    link at the margins, (1 - sum p_k^3) / 3 (the proportional-odds model's, Whitehead
    1993), and the working response is centered at 0 with one Fisher-scoring step."""
    y = np.repeat([0, 1, 2, 3], [10, 30, 40, 20])
    z, w = hglm.Family("cumulative").working_response(y, None)
    p = (np.bincount(y) + 0.5) / (len(y) + 2.0)        # the smoothed margins it starts from
    assert w == pytest.approx(np.full(len(y), (1 - np.sum(p**3)) / 3), rel=1e-9)
    # the score's mean is 0 at the margins; they are smoothed by half a count
    assert np.mean(z) == pytest.approx(0.0, abs=0.02)
    assert np.all(np.diff([z[y == k][0] for k in range(4)]) > 0)


@pytest.mark.slow
def test_probit_chains_started_far_out_move():
    """With this seed one chain of the probit wine fit starts at a judge sd of about 6, where
    linear predictors run far into both tails; the unused tail's form of log(F(u) - F(l))
    once gave nan gradients there, and the chain stuck (step size 1e-308, every draw
    divergent).  Each tail's form now gets stand-in values where the other is used."""
    wine = hglm.datasets.load("wine")
    model = hglm.Model("rating ~ temp + contact + (1 | judge)", wine, family="cumulative",
                       link="probit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(draws=1000, tune=1000, chains=4, seed=20261127, progressbar=False)
    assert fit.diagnostics.divergences == 0
    assert fit.diagnostics.max_rhat < 1.01

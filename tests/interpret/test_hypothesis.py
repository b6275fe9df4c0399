"""brms's hypothesis(): posterior shares, safe parsing, and Savage–Dickey against an exact
Bayes factor."""

from __future__ import annotations

import re
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import hglm
from hglm.interpret.hypothesis import hypothesis, parameter_names
from hglm.sample.nuts import SamplerSettings
from tests.conftest import toy_frame


def _beta(fit, term: str) -> np.ndarray:
    return fit.posterior["beta"].sel(coef=term).values.reshape(-1)


def _share_row(row: pd.Series, draws: np.ndarray) -> None:
    """A one-sided row against the draws of lhs - rhs, computed here."""
    p = np.mean(draws > 0)
    assert row["post_prob"] == pytest.approx(p)
    assert row["evid_ratio"] == pytest.approx(p / (1 - p) if p < 1 else np.inf)
    assert row["estimate"] == pytest.approx(draws.mean())
    assert row["est_error"] == pytest.approx(draws.std(ddof=1))


def test_one_sided_probabilities_are_shares_of_draws(sleep_fit):
    days, intercept = _beta(sleep_fit, "Days"), _beta(sleep_fit, "Intercept")
    table = sleep_fit.hypothesis(["Days > 5", "Intercept - 25*Days > 200"])
    assert list(table.columns) == ["hypothesis", "estimate", "est_error", "lower", "upper",
                                   "evid_ratio", "post_prob", "star"]
    assert table["hypothesis"].tolist() == ["(Days) - (5) > 0",
                                            "(Intercept - 25*Days) - (200) > 0"]
    _share_row(table.iloc[0], days - 5)
    _share_row(table.iloc[1], intercept - 25 * days - 200)
    # brms's one-sided interval: the alpha quantile up to infinity
    assert table["lower"].iloc[0] == pytest.approx(np.quantile(days - 5, 0.05))
    assert table["upper"].iloc[0] == np.inf
    assert table["star"].iloc[0] == ("*" if table["post_prob"].iloc[0] > 0.95 else "")


def test_less_than_mirrors_greater_than(sleep_fit):
    first, second = hypothesis(sleep_fit, ["Days < 10", "10 >= Days"]).itertuples()
    days = _beta(sleep_fit, "Days")
    assert first.post_prob == pytest.approx(np.mean(days < 10))
    assert first.lower == -np.inf and first.upper == pytest.approx(np.quantile(days - 10, 0.95))
    assert second.post_prob == pytest.approx(np.mean(days < 10))    # 10 - Days > 0


def test_variance_components_by_lme4_and_brms_names(sleep_fit):
    sd = sleep_fit.posterior["sd_Subject"]
    intercept = sd.sel(Subject__term="Intercept").values.reshape(-1)
    days = sd.sel(Subject__term="Days").values.reshape(-1)
    cor = sleep_fit.posterior["cor_Subject"].values.reshape(-1)
    table = sleep_fit.hypothesis(["sd(Subject) > sd(Days | Subject)",
                                  "cor(Intercept, Days | Subject) > 0",
                                  "cor(Days,Intercept|Subject) > 0",
                                  "sd_Subject__Intercept - `sd_Subject__Days` > 0"])
    assert table["post_prob"].iloc[0] == pytest.approx(np.mean(intercept > days))
    assert table["post_prob"].iloc[1] == pytest.approx(np.mean(cor > 0))
    assert table["post_prob"].iloc[2] == table["post_prob"].iloc[1]
    assert table["post_prob"].iloc[3] == table["post_prob"].iloc[0]


@pytest.mark.parametrize("bad, named", [
    ("Dayz > 0", "Dayz"),
    ("__import__('os').system('x') > 0", "call"),
    ("Days.real > 0", "attribute"),
    ("", "non-empty"),
    ("Days[0] > 1", "indexing"),
    ("'Days' > 0", "constant"),
    ("max(Days, 0) > 0", "call"),
    ("0 < Days < 5", "one comparison"),
    ("sd(Dayz | Subject) > 0", "sd(Dayz | Subject)"),
    (["Days = 0", "Dayz = 0"], "Dayz"),
])
def test_bad_input_is_refused_with_its_name(sleep_fit, monkeypatch, bad, named):
    import pymc

    def expensive(*args, **kwargs):
        raise AssertionError("prior draws made before the hypotheses were checked")

    monkeypatch.delitem(sleep_fit._cache, "prior_draws", raising=False)
    monkeypatch.setattr(pymc, "sample_prior_predictive", expensive)
    with pytest.raises(ValueError, match=re.escape(named)):
        sleep_fit.hypothesis(bad)


def test_an_unknown_name_lists_the_parameters(sleep_fit):
    with pytest.raises(ValueError, match=r"Dayz.*Intercept, Days, sigma, sd\(Intercept\|Subject"):
        sleep_fit.hypothesis("Dayz > 0")


def test_prior_that_cannot_be_drawn_gives_nan_and_says_so(sleep_fit, monkeypatch):
    import pymc

    def refuse(*args, **kwargs):
        raise NotImplementedError("Cannot sample from flat variable")

    monkeypatch.delitem(sleep_fit._cache, "prior_draws", raising=False)
    monkeypatch.setattr(pymc, "sample_prior_predictive", refuse)
    with pytest.warns(hglm.SamplingWarning, match="no draws could be made from the model's prior"):
        row = sleep_fit.hypothesis("Days = 10").iloc[0]
    assert np.isnan(row["evid_ratio"]) and np.isnan(row["post_prob"])
    days = _beta(sleep_fit, "Days") - 10        # the rest of the row needs no prior
    assert row["estimate"] == pytest.approx(days.mean())
    lower, upper = np.quantile(days, [0.025, 0.975])
    assert (row["lower"], row["upper"]) == pytest.approx((lower, upper))
    assert row["star"] == ("*" if not lower <= 0 <= upper else "")


def test_names_of_an_auxiliary_formula_and_duplicate_blocks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = hglm.make_design("y ~ x * z + f + (1 + x | g) + (1 | g)", toy_frame(),
                                  dpars={"sigma": "~ x + (1 | g)"})
    table = parameter_names(design)
    assert table["sigma_x"] == ("beta_sigma", "sigma__coef", "x")
    assert table["sigma_Intercept"] == ("beta_sigma", "sigma__coef", "Intercept")
    assert table["x:z"] == ("beta", "coef", "x:z") and table["f[b]"] == ("beta", "coef", "f[b]")
    assert table["sd(sigma:g)"] == table["sd_g__sigma_Intercept"] == ("sd_g__sigma",
                                                                      "g__sigma__term",
                                                                      "Intercept")
    assert table["sd(x|g)"] == ("sd_g", "g__term", "x")
    assert table["sd(g.1)"] == ("sd_g.1", "g.1__term", "Intercept")
    assert "sigma" not in table            # sigma has a formula: no scalar sigma


@pytest.fixture(scope="module")
def prior_fit():
    """A sigma-formula model whose "posterior" is 1000 prior draws: the whole path of
    hypothesis() without sampling."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = hglm.Model("y ~ x", toy_frame(), sigma="~ x")
        draws = model.sample_prior_predictive(draws=1000, seed=2)
    return hglm.Fit(model, az.InferenceData(posterior=draws.prior),
                    SamplerSettings(draws=1000, chains=1, seed=1), 0.0)


def test_sigma_formula_terms_by_brms_names(prior_fit):
    row = prior_fit.hypothesis("sigma_x - x > 0").iloc[0]
    draws = prior_fit.posterior
    _share_row(row, draws["beta_sigma"].sel(sigma__coef="x").values.reshape(-1)
               - draws["beta"].sel(coef="x").values.reshape(-1))


def test_savage_dickey_is_one_when_the_posterior_is_the_prior(prior_fit, monkeypatch):
    monkeypatch.setattr("hglm.interpret.hypothesis.PRIOR_DRAWS", 2000)   # cheap
    monkeypatch.delitem(prior_fit._cache, "prior_draws", raising=False)
    row = prior_fit.hypothesis("sigma_x = 0").iloc[0]
    assert prior_fit._cache["prior_draws"][1].sizes["draw"] == 2000
    # density ratio of two independent samples of one (normal) distribution: 1 up to the
    # kernel estimates' Monte Carlo error, a log-sd of ~0.06 at 1000 and 2000 draws
    assert abs(np.log(row["evid_ratio"])) < 0.25
    assert row["post_prob"] == pytest.approx(row["evid_ratio"] / (1 + row["evid_ratio"]))


# -- Savage–Dickey against the exact Bayes factor ----------------------------------------------
PRIOR_SD = {"Intercept": 2.0, "x": 1.0, "sigma": 2.0}


def _kde_at_zero(draws: np.ndarray) -> float:
    """A kernel density at 0 with Silverman's robust bandwidth (as hypothesis() uses)."""
    scale = min(draws.std(ddof=1), stats.iqr(draws) / 1.349)
    return stats.gaussian_kde(draws, bw_method=0.9 * scale * len(draws) ** -0.2
                              / draws.std(ddof=1))(0.0)[0]


def _log_evidence(y: np.ndarray, X: np.ndarray, prior_sd: np.ndarray) -> float:
    """log p(y) of y ~ N(X beta, sigma^2), beta ~ N(0, diag(prior_sd^2)),
    sigma ~ HalfNormal(PRIOR_SD["sigma"]): beta integrated out exactly, sigma by quadrature."""
    cov0 = X @ np.diag(prior_sd**2) @ X.T

    def loglik(s: float) -> float:
        return stats.multivariate_normal.logpdf(y, np.zeros(len(y)), s**2 * np.eye(len(y))
                                                + cov0)

    grid = np.linspace(0.05, 10, 400)
    peak = grid[np.argmax([loglik(s) for s in grid])]
    top = loglik(peak)
    value, _ = integrate.quad(
        lambda s: np.exp(loglik(s) - top) * stats.halfnorm.pdf(s, scale=PRIOR_SD["sigma"]),
        0, 20, points=[peak], limit=200)
    return top + np.log(value)


@pytest.mark.slow      # ~6 s with JAX's compilation cache warm, 15-20 s cold on 2 busy cores
def test_savage_dickey_matches_the_exact_bayes_factor():
    rng = np.random.default_rng(11)
    x = rng.normal(size=40)
    x -= x.mean()       # centered: the model's centered intercept is the raw one, same prior
    y = 1.0 + 0.15 * x + rng.normal(size=40)
    X = np.column_stack([np.ones(40), x])
    exact = (_log_evidence(y, X[:, :1], np.array([PRIOR_SD["Intercept"]]))
             - _log_evidence(y, X, np.array([PRIOR_SD["Intercept"], PRIOR_SD["x"]])))
    # BF01 within (1/5, 5): the point lies ~2 posterior sds out, where the posterior still has
    # draws, not far in its tail (at the posterior mode BF01 would be ~6 with these priors)
    assert abs(exact) < np.log(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = hglm.Model("y ~ x", pd.DataFrame({"x": x, "y": y}),
                           priors={"Intercept": hglm.Normal(0, PRIOR_SD["Intercept"]),
                                   "x": hglm.Normal(0, PRIOR_SD["x"]),
                                   "sigma": hglm.HalfNormal(PRIOR_SD["sigma"])})
        fit = model.fit(draws=2500, tune=1000, chains=4, seed=3, progressbar=False)
    row = fit.hypothesis("x = 0").iloc[0]
    estimate = np.log(row["evid_ratio"])
    assert row["post_prob"] == pytest.approx(row["evid_ratio"] / (1 + row["evid_ratio"]))

    # Monte Carlo error: four independent Savage–Dickey estimates, each a chain's posterior
    # draws over a quarter of the prior draws; their spread / sqrt(4) is the pooled one's
    # (a little under it: the pooled KDE's narrower bandwidth adds ~15% to its sd)
    chains = fit.posterior["beta"].sel(coef="x").values
    prior = fit._cache["prior_draws"][1]["beta"].sel(coef="x").values.reshape(-1)
    parts = [np.log(_kde_at_zero(c) / _kde_at_zero(p))
             for c, p in zip(chains, np.array_split(prior, len(chains)))]
    se = np.std(parts, ddof=1) / np.sqrt(len(parts))
    # 4 se covers the Monte Carlo error; 0.05 the kernel estimates' smoothing bias (the
    # bandwidth widens each density by ~1-2%, and the bias differs between prior and posterior)
    assert abs(estimate - exact) < 4 * se + 0.05, (estimate, exact, se)

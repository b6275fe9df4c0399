"""Bayesian R², LOO-R², the latent-scale variance decomposition and the ICC
(hglm.interpret.variance): hand computations draw by draw, and known shares recovered."""

import types
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest

import hglm
from hglm.graph.posterior import draws_matrix
from hglm.interpret.variance import (
    bayes_r2,
    icc,
    loo_r2,
    r2_nakagawa,
    variance_decomposition,
)
from hglm.results.predict import predict_draws
from tests.conftest import FAST

SUMMARY = ["estimate", "sd", "lower", "upper"]
#: the gaussian fit's true latent shares: fixed, group, residual (total variance 1)
SHARES = {"fixed": 0.3, "g": 0.2, "residual": 0.5}


def _standardized(values: np.ndarray, variance: float) -> np.ndarray:
    """Centred and scaled to sample variance ``variance``: the realized effects and errors
    have exactly the true shares, so recovery does not hang on one simulation's luck."""
    values = values - values.mean()
    return values * np.sqrt(variance / values.var(ddof=1))


def _groups(seed: int, n_groups: int = 30, per_group: int = 20):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    return rng, g, pd.DataFrame({"g": pd.Categorical([f"g{i:02d}" for i in g])})


def _fit(model: hglm.Model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(seed=3, **FAST)


@pytest.fixture(scope="module")
def gaussian_fit():
    """30 groups x 20 rows, y = 1 + sqrt(0.3) x + b_g + e: latent shares 0.3 / 0.2 / 0.5."""
    rng, g, data = _groups(0)
    data["x"] = _standardized(rng.normal(size=len(g)), 1.0)
    b = _standardized(rng.normal(size=30), SHARES["g"])
    e = _standardized(rng.normal(size=len(g)), SHARES["residual"])
    data["y"] = 1.0 + np.sqrt(SHARES["fixed"]) * data["x"] + b[g] + e
    return _fit(hglm.Model("y ~ x + (1 | g)", data=data))


@pytest.fixture(scope="module")
def poisson_fit():
    """30 groups x 20 rows of counts, log mean 1 + b_g, sd_g^2 = 0.5."""
    rng, g, data = _groups(1)
    b = _standardized(rng.normal(size=30), 0.5)
    data["y"] = rng.poisson(np.exp(1.0 + b[g]))
    return _fit(hglm.Model("y ~ 1 + (1 | g)", data=data, family="poisson"))


def _inside(table: pd.DataFrame, row, truth: float) -> bool:
    return table.loc[row, "lower"] <= truth <= table.loc[row, "upper"]


# -- shapes -----------------------------------------------------------------------------------
def test_tables_are_shaped_as_documented(gaussian_fit):
    r2 = bayes_r2(gaussian_fit)
    assert list(r2.index) == ["marginal", "conditional"] and list(r2.columns) == SUMMARY
    assert list(bayes_r2(gaussian_fit, summary=False).columns) == ["marginal", "conditional"]
    assert len(bayes_r2(gaussian_fit, summary=False)) == 2 * FAST["draws"]
    assert list(_loo(gaussian_fit).index) == ["conditional"]
    decomposition = variance_decomposition(gaussian_fit)
    assert list(decomposition.index) == [(c, q) for c in ("fixed", "g", "residual")
                                         for q in ("variance", "share")]
    assert list(icc(gaussian_fit).index) == [("g", "adjusted"), ("g", "conditional"),
                                             ("all", "adjusted"), ("all", "conditional")]
    shares = variance_decomposition(gaussian_fit, summary=False).xs("share", axis=1, level=1)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    # the Fit's methods are these functions
    pd.testing.assert_frame_equal(gaussian_fit.icc(), icc(gaussian_fit))


# -- hand computations ------------------------------------------------------------------------
def test_gaussian_icc_is_sd2_over_sd2_plus_sigma2_draw_by_draw(gaussian_fit):
    sd2 = draws_matrix(gaussian_fit.posterior, "sd_g")[:, 0] ** 2
    sigma2 = draws_matrix(gaussian_fit.posterior, "sigma") ** 2
    draws = icc(gaussian_fit, summary=False)
    np.testing.assert_allclose(draws[("g", "adjusted")], sd2 / (sd2 + sigma2), rtol=1e-9)
    components = variance_decomposition(gaussian_fit, summary=False)
    np.testing.assert_allclose(components[("residual", "variance")], sigma2, rtol=1e-12)
    # the fixed part: b^2 var(x), x standardized
    b = draws_matrix(gaussian_fit.posterior, "beta")[:, 1]
    np.testing.assert_allclose(components[("fixed", "variance")], b**2, rtol=1e-9)


def test_a_random_slopes_variance_is_the_mean_of_z_sigma_z(sleep_fit, sleepstudy):
    """Johnson (2014): mean_i z_i' Sigma z_i, z_i = (1, Days_i), from the sds and the
    correlation directly (not through the Cholesky factor the module uses)."""
    sd = draws_matrix(sleep_fit.posterior, "sd_Subject")
    rho = draws_matrix(sleep_fit.posterior, "cor_Subject")[:, 0]
    days = sleepstudy["Days"].to_numpy(float)
    expected = (sd[:, 0] ** 2 + 2 * rho * sd[:, 0] * sd[:, 1] * days.mean()
                + sd[:, 1] ** 2 * np.mean(days**2))
    draws = variance_decomposition(sleep_fit, summary=False)
    np.testing.assert_allclose(draws[("Subject", "variance")], expected, rtol=1e-8)


def test_bayes_r2_is_the_hand_computation_for_one_draw(sleep_fit):
    s, y = 17, sleep_fit.design.y
    draws = bayes_r2(sleep_fit, summary=False)
    for column, include_random in [("conditional", True), ("marginal", False)]:
        ypred = predict_draws(sleep_fit.design, sleep_fit.posterior, kind="mean",
                              include_random=include_random)[s]
        fitted, residual = np.var(ypred, ddof=1), np.var(y - ypred, ddof=1)
        assert draws[column][s] == pytest.approx(fitted / (fitted + residual), rel=1e-12)


def _loo(fit, summary=True):
    with warnings.catch_warnings():     # sleepstudy has rows of high Pareto k
        warnings.simplefilter("ignore", hglm.HglmWarning)
        return loo_r2(fit, summary=summary)


def test_loo_r2_is_below_the_in_sample_r2(sleep_fit):
    loo, r2 = _loo(sleep_fit), bayes_r2(sleep_fit)
    assert loo.loc["conditional", "estimate"] < r2.loc["conditional", "estimate"]
    assert len(_loo(sleep_fit, summary=False)) == 4000
    pd.testing.assert_frame_equal(loo, _loo(sleep_fit))     # seeded from the fit


def test_loo_r2_centres_on_the_psis_loo_point_estimate(sleep_fit):
    """1 - var(y - E_loo[ypred]) / var(y), the LOO means weighted by arviz's own PSIS
    (``az.psislw`` of the log ratios): the Bayesian bootstrap's mean is within its Monte Carlo
    error (sd / sqrt(4000) ~ 0.001) and r_eff's effect on the tail fit of it."""
    log_lik = sleep_fit.log_likelihood()["Reaction"].stack(__sample__=("chain", "draw"))
    log_weights, _ = az.psislw(-log_lik, reff=1.0)
    ypred = predict_draws(sleep_fit.design, sleep_fit.posterior, kind="mean")
    loo_mean = np.sum(np.exp(log_weights.values) * ypred.T, axis=1)
    y = sleep_fit.design.y
    point = 1 - np.var(y - loo_mean, ddof=1) / np.var(y, ddof=1)
    assert _loo(sleep_fit, summary=False)["conditional"].mean() == pytest.approx(point, abs=5e-3)


def test_icc_without_group_terms_is_refused(sleepstudy):
    # the refusal comes before any draw is read, so the model's design stands in for a fit
    model = hglm.Model("Reaction ~ Days", data=sleepstudy)
    with pytest.raises(ValueError, match="the model has no group terms"):
        icc(types.SimpleNamespace(design=model.design))


# -- recovery ---------------------------------------------------------------------------------
def test_gaussian_shares_are_recovered(gaussian_fit):
    decomposition = variance_decomposition(gaussian_fit)
    for component, share in SHARES.items():
        assert _inside(decomposition, (component, "share"), share), decomposition
    iccs = icc(gaussian_fit)
    assert _inside(iccs, ("g", "adjusted"), 0.2 / 0.7), iccs
    assert _inside(iccs, ("g", "conditional"), 0.2), iccs
    nakagawa = r2_nakagawa(gaussian_fit)
    assert _inside(nakagawa, "marginal", 0.3) and _inside(nakagawa, "conditional", 0.5)
    # brms's marginal R² leaves the group effects in the residual: 0.3 / (0.3 + 0.7)
    r2 = bayes_r2(gaussian_fit)
    assert _inside(r2, "marginal", 0.3) and _inside(r2, "conditional", 0.5), r2


def test_loo_r2_is_close_to_r2_with_many_rows_per_group(gaussian_fit):
    """LOO's residual variance exceeds the in-sample one by about p_loo / n (32 parameters,
    600 rows: 5%), so R² drops by about (1 - R²) p_loo / n = 0.027."""
    loo = _loo(gaussian_fit).loc["conditional", "estimate"]
    r2 = bayes_r2(gaussian_fit).loc["conditional", "estimate"]
    assert 0.0 < r2 - loo < 0.05


def test_poisson_latent_icc_is_recovered(poisson_fit):
    """sigma²_epsilon = log(1 + 1/lambda), lambda = exp(1 + 0.5 / 2) (Nakagawa et al.
    2017): the true latent ICC is 0.5 / (0.5 + log(1 + exp(-1.25))) = 0.665."""
    truth = 0.5 / (0.5 + np.log1p(np.exp(-1.25)))
    iccs = icc(poisson_fit)
    assert _inside(iccs, ("g", "adjusted"), truth), iccs
    # no fixed slopes: the fixed part is exactly zero, so both ICCs agree
    draws = icc(poisson_fit, summary=False)
    np.testing.assert_array_equal(draws[("g", "adjusted")], draws[("g", "conditional")])
    residual = variance_decomposition(poisson_fit, summary=False)[("residual", "variance")]
    intercept = draws_matrix(poisson_fit.posterior, "beta")[:, 0]
    sd2 = draws_matrix(poisson_fit.posterior, "sd_g")[:, 0] ** 2
    np.testing.assert_allclose(residual, np.log1p(np.exp(-intercept - sd2 / 2)), rtol=1e-10)


# -- every family -----------------------------------------------------------------------------
#: (family, formula, aux of the simulation): one small model per family, every family
FAMILY_CASES = [
    ("gaussian", "y ~ x + (1 | g)", {"sigma": 1.0}),
    ("bernoulli", "y ~ x + (1 | g)", {}),
    ("poisson", "y ~ x + (1 | g)", {}),
    ("hurdle_poisson", "y ~ x + (1 | g)", {"hu": 0.3}),
    ("zero_inflated_negbinomial", "y ~ x + (1 | g)", {"alpha": 3.0, "zi": 0.2}),
    ("student", "y ~ x + (1 | g)", {"sigma": 1.0, "nu": 5.0}),
    ("negbinomial", "y ~ x + (1 | g)", {"alpha": 3.0}),
    ("binomial", "y ~ x + (1 | g)", {}),
    ("gamma", "y ~ x + (1 | g)", {"shape": 5.0}),
    ("lognormal", "y ~ x + (1 | g)", {"sigma": 0.5}),
    ("beta", "y ~ x + (1 | g)", {"phi": 10.0}),
    ("betabinomial", "y ~ x + (1 | g)", {"phi": 10.0}),
    ("zero_inflated_poisson", "y ~ x + (1 | g)", {"zi": 0.2}),
    ("hurdle_negbinomial", "y ~ x + (1 | g)", {"alpha": 3.0, "hu": 0.3}),
    ("hurdle_lognormal", "y ~ x + (1 | g)", {"sigma": 0.5, "hu": 0.3}),
    ("cumulative", "y ~ x + (1 | g)", {"thresholds": np.array([-1.0, 0.0, 1.0])}),
]


def test_every_family_has_a_case():
    """A new family is interpreted in the slow test below, or this fails."""
    from hglm.spec.families import FAMILIES

    assert {case[0] for case in FAMILY_CASES} == set(FAMILIES)


@pytest.mark.slow
@pytest.mark.parametrize("name, formula, aux", FAMILY_CASES, ids=[c[0] for c in FAMILY_CASES])
def test_every_family_decomposes(name, formula, aux):
    rng, g, data = _groups(4, n_groups=15, per_group=10)
    data["x"] = rng.normal(size=len(g))
    data["n"] = 8
    family = hglm.Family(name)
    eta = 0.3 * data["x"].to_numpy() + rng.normal(0, 0.7, 15)[g]
    trials = data["n"].to_numpy() if family.response == "binomial" else None
    data["y"] = family.simulate_numpy(eta, aux, trials, rng)
    if trials is not None:
        formula = "cbind(y, n - y)" + formula[1:]
    fit = _fit(hglm.Model(formula, data=data, family=name))
    draws = variance_decomposition(fit, summary=False)
    assert np.isfinite(draws.to_numpy()).all()
    assert icc(fit).loc[("g", "adjusted"), "estimate"] > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r2 = bayes_r2(fit)
    assert (r2["estimate"].between(0, 1)).all()
    _interprets(fit)


def _interprets(fit) -> None:
    """predictions, slopes and hypotheses work for the family: the link-scale slope of x is
    its coefficient, a one-sided hypothesis the share of draws, an ordinal family's
    category probabilities add up to one."""
    beta_x = fit.posterior["beta"].sel(coef="x").values.reshape(-1)
    slope = hglm.slopes(fit, "x", by=True, type="link")
    np.testing.assert_allclose(slope.draws.values.reshape(-1), beta_x, rtol=1e-5, atol=1e-8)
    assert fit.hypothesis("x > 0")["post_prob"][0] == pytest.approx((beta_x > 0).mean())
    predicted = hglm.predictions(fit, newdata=hglm.datagrid(fit, x=[-1, 1], g=["new"]))
    assert np.isfinite(predicted["estimate"]).all()
    if "category" in predicted:
        totals = predicted.draws.sum("category")
        np.testing.assert_allclose(totals, 1.0, rtol=1e-9)
    assert np.isfinite(hglm.comparisons(fit, "x", by=True)["estimate"]).all()
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    lines = fit.conditional_effects()["x"].axes[0].lines      # one per ordinal category
    assert len(lines) == (len(fit.design.categories) if fit.design.categories else 1)
    plt.close("all")


@pytest.mark.slow
def test_binomial_latent_icc_is_recovered():
    """logit: sigma²_epsilon = pi²/3, so the latent ICC of sd_g² = 1 is 1 / (1 + pi²/3)."""
    rng, g, data = _groups(2, n_groups=40, per_group=30)
    b = _standardized(rng.normal(size=40), 1.0)
    data["y"] = rng.binomial(1, 1 / (1 + np.exp(-(0.3 + b[g]))))
    fit = _fit(hglm.Model("y ~ 1 + (1 | g)", data=data, family="bernoulli"))
    assert _inside(icc(fit), ("g", "adjusted"), 1 / (1 + np.pi**2 / 3))


@pytest.mark.slow
def test_a_formula_of_sigma_enters_at_its_mean_over_rows(sleepstudy):
    model = hglm.Model("Reaction ~ Days + (1 | Subject)", data=sleepstudy, sigma="~ Days")
    fit = _fit(model)
    sigma = predict_draws(fit.design, fit.posterior, dpar="sigma")
    residual = variance_decomposition(fit, summary=False)[("residual", "variance")]
    np.testing.assert_allclose(residual, sigma.mean(axis=1) ** 2, rtol=1e-10)

"""hglm.compare on the bundled data: LRTs against lme4's anova, the full table printed."""

import warnings

import numpy as np
import pytest

import hglm
from hglm.comparison.table import COLUMNS

SETTINGS = dict(draws=1000, tune=1000, chains=4, progressbar=False)


def _fit(formula, data, family="gaussian", **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hglm.Model(formula, data, family).fit(seed=1, **{**SETTINGS, **kw})


def _check_printed(comparison, formulas):
    text = str(comparison)
    for formula in formulas:
        assert formula in text
    for column in ("npar", "elpd_loo", "se", "elpd_diff", "se_diff", "p_loo", "k>0.7", "log_bf",
                   "logLik", "Chisq", "df", "Pr(>Chisq)", "Pr(boundary)", "Interpretation:"):
        assert column in text, column
    assert list(comparison.table.columns) == COLUMNS


@pytest.fixture(scope="module")
def sleep_pair():
    data = hglm.datasets.load("sleepstudy")
    return (_fit("Reaction ~ Days + (Days | Subject)", data),
            _fit("Reaction ~ Days + (1 | Subject)", data))


def test_sleepstudy(sleep_pair):
    c = hglm.compare(*sleep_pair)       # given in either order, rows sorted by npar
    t = c.table
    assert list(t.formula) == ["Reaction ~ Days + (1 | Subject)",
                               "Reaction ~ Days + (Days | Subject)"]
    assert list(t.npar) == [4, 6]
    assert t.loc["m1", "lrt_stat"] == pytest.approx(42.139, abs=0.01)   # lme4's anova
    assert t.loc["m1", "df"] == 2
    assert t.loc["m1", "p_boundary"] < t.loc["m1", "p_naive"]
    assert "0.5·χ²(1) + 0.5·χ²(2)" in t.loc["m1", "null"]
    assert t.loc["m0", "logLik"] == pytest.approx(-897.0393, abs=0.01)
    assert t.loc["m1", "log_bf"] > np.log(10) and t.loc["m0", "log_bf"] == 0
    assert t.loc["m1", "elpd_diff"] == 0 and t.loc["m0", "elpd_diff"] < 0
    _check_printed(c, t.formula)
    assert "agree on m1" in str(c)
    assert t["w_stack"].sum() == pytest.approx(1) and t["w_pbma"].sum() == pytest.approx(1)


def test_stacking_weights_maximise_the_stacked_loo_density(sleep_pair):
    """Yao et al. (2018): the stacking weight maximises sum_i log(w p1_i + (1 - w) p2_i) over
    the PSIS-LOO predictive densities; found here by a bounded scalar search."""
    import arviz as az
    from scipy.optimize import minimize_scalar

    weights = hglm.model_weights(*sleep_pair)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # Pareto k: the same in both computations
        p = [np.exp(az.loo(f.idata, pointwise=True).loo_i.values) for f in sleep_pair]
    best = minimize_scalar(lambda w: -np.sum(np.log(w * p[0] + (1 - w) * p[1])),
                           bounds=(0, 1), method="bounded", options={"xatol": 1e-8})
    assert weights["m0"] == pytest.approx(best.x, abs=1e-3)
    pbma = hglm.model_weights(*sleep_pair, method="pseudo-BMA+")
    assert pbma.sum() == pytest.approx(1) and pbma.idxmax() == weights.idxmax()
    with pytest.raises(ValueError, match="method must be 'stacking' or 'pseudo-BMA\\+'"):
        hglm.model_weights(*sleep_pair, method="bma")


def test_cbpp_herd_effect():
    data = hglm.datasets.load("cbpp")
    lhs = "cbind(incidence, size - incidence) ~ period"
    c = hglm.compare(_fit(lhs + " + (1 | herd)", data, "binomial"), _fit(lhs, data, "binomial"))
    t = c.table
    assert t.loc["m1", "lrt_stat"] == pytest.approx(14.0053, abs=0.01)
    assert t.loc["m1", "p_boundary"] == pytest.approx(0.5 * t.loc["m1", "p_naive"])
    assert t.loc["m0", "logLik"] == pytest.approx(-99.0292, abs=0.01)
    _check_printed(c, t.formula)


@pytest.mark.slow
def test_grouseticks_location_effect():
    data = hglm.datasets.load("grouseticks")
    rhs = "TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD)"
    kw = dict(target_accept=0.95, chains=2)
    c = hglm.compare(_fit(rhs, data, "poisson", **kw),
                     _fit(rhs + " + (1 | LOCATION)", data, "poisson", **kw))
    t = c.table
    assert t.loc["m1", "lrt_stat"] == pytest.approx(2.1992, abs=0.01)
    assert t.loc["m1", "p_boundary"] == pytest.approx(0.5 * t.loc["m1", "p_naive"])
    _check_printed(c, t.formula)


def test_needs_same_rows_and_response(sleep_pair):
    data = hglm.datasets.load("sleepstudy")
    fewer = _fit("Reaction ~ Days + (1 | Subject)", data.iloc[:170], draws=50, tune=50, chains=1)
    with pytest.raises(ValueError, match="same rows"):
        hglm.compare(sleep_pair[0], fewer)
    other = _fit("Days ~ Reaction + (1 | Subject)", data, draws=50, tune=50, chains=1)
    with pytest.raises(ValueError, match="share the response"):
        hglm.compare(sleep_pair[0], other)
    with pytest.raises(ValueError, match="at least two"):
        hglm.compare(sleep_pair[0])


@pytest.mark.slow
def test_grouped_kfold():
    data = hglm.datasets.load("sleepstudy")
    small = dict(draws=300, tune=300, chains=2)
    fits = [_fit("Reaction ~ Days + (1 | Subject)", data, **small),
            _fit("Reaction ~ Days + (Days | Subject)", data, **small)]
    c = hglm.compare(*fits, method="kfold", group="Subject", K=3, bayes_factors=False)
    t = c.table
    assert "elpd_kfold" in t and "elpd_loo" not in t
    # leaving out whole subjects, the random slope predicts new subjects' trends better
    assert t.loc["m0", "elpd_diff"] < -2 * t.loc["m0", "se_diff"]
    assert np.isfinite(t.elpd_kfold).all() and t.p_loo.isna().all()
    assert "K-fold CV" in str(c)
    with pytest.raises(ValueError, match="needs group="):
        hglm.compare(*fits, method="kfold")


def test_bad_pareto_k_offers_kfold(sleep_pair):
    c = hglm.compare(*sleep_pair)
    for name, row in c.table.iterrows():
        if row.n_bad_k > 0:
            assert any(f"PSIS-LOO is unreliable for {name}" in n
                       and "method='kfold', group='Subject'" in n
                       for n in c.notes)


@pytest.mark.slow
def test_too_few_draws_for_bayes_factors_is_a_note_not_a_crash():
    from tests.conftest import toy_frame

    df = toy_frame()
    # 3 draws per half-chain, fewer than the 4 parameters of the marginalized model
    fits = [_fit(f, df, draws=6, tune=100, chains=1) for f in ("y ~ x + (1 | g)", "y ~ x")]
    c = hglm.compare(*fits)
    assert c.table.log_bf.isna().all()
    assert any(n.startswith("No Bayes factors: bridge sampling fits its proposal") for n in c.notes)
    assert np.isfinite(c.table.loc["m1", "lrt_stat"])

"""Student-t, end to end: the family added through its definition alone
(hglm/spec/families/definitions.py) fits, summarizes, predicts, gives LOO and sensitivity,
saves and reloads.  Its densities are checked against scipy in test_families.py, its maximum
likelihood against statsmodels' t-errors model in tests/ml/test_glm.py, its calibration by
the reduced SBC in tests/validation/test_sbc.py."""

import numpy as np
import pandas as pd
import pytest

import hglm

TRUTH = {"Intercept": 1.0, "x": 0.5, "sd": 0.7, "sigma": 0.5, "nu": 3.0}


def _data(seed: int = 4, n_groups: int = 25, per_group: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    x = rng.normal(size=g.size)
    u = rng.normal(0, TRUTH["sd"], n_groups)[g]
    y = (TRUTH["Intercept"] + TRUTH["x"] * x + u
         + TRUTH["sigma"] * rng.standard_t(TRUTH["nu"], g.size))
    return pd.DataFrame({"y": y, "x": x, "g": [f"g{j}" for j in g]})


@pytest.fixture(scope="module")
def fit():
    m = hglm.Model("y ~ x + (1 | g)", _data(), family="student")
    return m.fit(draws=500, tune=500, chains=2, seed=1, progressbar=False)


def test_priors_and_parameterization():
    m = hglm.Model("y ~ x + (1 | g)", _data(), family="student", priors={"nu": "Gamma(2, 0.2)"})
    table = m.priors.set_index("key")
    assert table.loc["nu", "distribution"] == "Gamma(alpha=2, beta=0.2)"
    assert table.loc["nu", "source"] == "user"
    assert table.loc["sigma", "distribution"].startswith("HalfStudentT(nu=3")
    assert m.parameterization["strategy"] == "indexed"      # no exact marginal for t errors
    with pytest.raises(ValueError, match="does not fit parameter 'nu'"):
        hglm.Model("y ~ x + (1 | g)", _data(), family="student", priors={"nu": "Normal(0, 1)"})


def test_fit_recovers_the_simulation(fit):
    assert fit.diagnostics.divergences == 0
    fixef = fit.fixef().set_index("term")
    varcorr = fit.varcorr().set_index("name")
    for name, row in [("Intercept", fixef.loc["Intercept"]), ("x", fixef.loc["x"]),
                      ("sigma", varcorr.loc["sigma"]), ("nu", varcorr.loc["nu"])]:
        assert row["lower"] < TRUTH[name] < row["upper"], (name, row)
    assert varcorr.loc["nu", "group"] == "Dispersion"
    assert varcorr.loc["sigma", "group"] == "Residual"


def test_summary_lists_the_auxiliary_parameters(fit):
    text = fit.summary()
    assert "Family: student  ( identity )" in text
    assert "Residual" in text and "Dispersion (nu):" in text


def test_predictions_loo_and_sensitivity(fit):
    mean = fit.predict(kind="mean")
    assert len(mean) == fit.design.n
    new = pd.DataFrame({"x": [0.0, 1.0], "g": ["new", "g1"]})
    assert np.all(np.isfinite(fit.predict(new, kind="response")["mean"]))
    ll = fit.log_likelihood()["y"].values
    # the stored pointwise log-likelihood is the t density at every draw (scipy, by hand)
    from scipy import stats

    post = fit.posterior
    eta = hglm.results.predict.linear_predictor(fit.design, post)
    expected = stats.t.logpdf(fit.design.y, post["nu"].values.reshape(-1, 1), eta,
                              post["sigma"].values.reshape(-1, 1))
    np.testing.assert_allclose(ll.reshape(-1, fit.design.n), expected, rtol=1e-8)
    # the t model predicts its own heavy-tailed data better than the gaussian model
    gaussian = fit.update(family="gaussian", progressbar=False)
    table = hglm.compare(gaussian, fit, bayes_factors=False).table
    student = table["formula"].str.contains("student")
    gain = table.loc[student, "elpd_loo"].iloc[0] - table.loc[~student, "elpd_loo"].iloc[0]
    assert gain > 2 * table["se_diff"].max(), table
    # a prior on nu alone can be power-scaled (its key, variable and component agree)
    assert "nu" in set(fit.sensitivity(keys=["nu"])["parameter"])


def test_save_and_reload_keep_the_family(fit, tmp_path):
    fit.save(tmp_path / "t")
    again = hglm.load(tmp_path / "t")
    assert again.spec == fit.spec and again.model.family == fit.model.family

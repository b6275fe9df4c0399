"""Distributional models: a formula for an auxiliary parameter (``sigma="~ x + (1 | g)"``).

The API, spec files, prior keys, bad input, and one short fit end to end (tables with a dpar
column, ``predict(dpar=)``, the pointwise log-likelihood against SciPy, save and load);
recovery of a heteroscedastic simulation with the slow tests.  Maximum likelihood:
tests/ml/test_distributional.py; calibration: tests/validation/test_sbc.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hglm
from hglm.spec.model_spec import ModelSpec
from hglm.workflow.spec_file import SpecError, parse_spec
from tests.ml.test_distributional import _heteroscedastic


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _heteroscedastic(seed=3, groups=12, per=10)


def test_each_auxiliary_formula_is_a_linear_predictor_of_its_own(data):
    m = hglm.Model("y ~ x + (1 | g)", data, sigma="~ x + (1 | g)")
    sub = m.design.dpar_design("sigma")
    assert sub.fixed_names == ("Intercept", "x") and sub.dpar == "sigma"
    assert [b.label for b in sub.blocks] == ["g__sigma"]
    assert sub.blocks[0].key_label == "sigma:g" and sub.blocks[0].factor_label == "g"
    assert m.spec.dpar_dict == {"sigma": "~ x + (1 | g)"}
    # the graph names its parts as brms does; sigma itself is no longer a parameter
    model = m.pymc_model
    for name in ("Intercept_sigma_centered", "b_sigma", "sd_g__sigma", "z_g__sigma",
                 "r_g__sigma", "beta_sigma"):
        assert name in model.named_vars, name
    assert "sigma" not in model.named_vars
    assert "log" in m.describe() and "sigma ~ x + (1 | g)" in m.describe()
    # the mean's effects integrated out exactly with a sigma per row; sigma's sampled
    assert m.parameterization["strategy"] == "marginal"
    assert m.parameterization["g__sigma"].startswith("non-centered")


def test_prior_keys_carry_the_parameters_name(data):
    m = hglm.Model("y ~ x + (1 | g)", data, sigma="~ x + (1 | g)",
                   priors={"sigma:x": "Normal(0, 1)", "sd(sigma:g)": "HalfNormal(0.5)"})
    table = m.priors.set_index("parameter")
    assert table.loc["sigma:x", "source"] == "user"
    assert table.loc["sd(Intercept|sigma:g)", "key"] == "sd(sigma:g)"
    # the intercept's default: on the log scale, centered on log sd(y)
    default = m.prior_set.get("sigma:Intercept").prior.args
    assert default["mu"] == pytest.approx(np.log(np.std(data.y, ddof=1)), rel=1e-6)
    assert default["sigma"] == 2.5
    assert "sigma" not in table.index            # no constant sigma any more
    with pytest.raises(ValueError, match="prior key 'sigma' matches nothing"):
        hglm.Model("y ~ x", data, sigma="~ x", priors={"sigma": "HalfNormal(1)"})
    # "sd" is the mean's group sds; sigma's have their own key
    m = hglm.Model("y ~ x + (1 | g)", data, sigma="~ (1 | g)", priors={"sigma:sd": "HalfNormal(1)"})
    table = m.priors.set_index("parameter")
    assert table.loc["sd(Intercept|sigma:g)", "key"] == "sigma:sd"
    assert table.loc["sd(Intercept|g)", "source"] == "default"


@pytest.mark.parametrize("kwargs, message", [
    ({"family": "poisson", "sigma": "~ x"}, "no parameter 'sigma'"),
    ({"family": "cumulative", "thresholds": "~ x"}, "no parameter 'thresholds'"),
    ({"sigma": "y ~ x"}, "'y' left of '~'"),
    ({"sigma": "x"}, "must be a string like"),
    ({"sigma": "~ x + (1 | site)"}, "site"),
    ({"sigma": "~ x + w"}, "w"),
])
def test_bad_auxiliary_formulas_are_clear_errors(data, kwargs, message):
    frame = data.assign(y=np.abs(data.y).round()) if "family" in kwargs else data
    with pytest.raises(ValueError, match=message) as err:
        hglm.Model("y ~ x + (1 | g)", frame, **kwargs)
    name = next(k for k in kwargs if k != "family")
    assert name in str(err.value)          # each names the parameter


def test_spec_update_and_round_trip(data):
    m = hglm.Model("y ~ x + (1 | g)", data, sigma="~ x")
    assert ModelSpec.from_dict(m.spec.to_dict()) == m.spec
    assert m.update(sigma=None).design.dpars == ()
    assert m.update(sigma="~ 1 + (1 | g)").design.dpar_design("sigma").blocks
    assert m.update(formula=". ~ . - x").spec.dpar_dict == {"sigma": "~ x"}
    with pytest.raises(ValueError, match="auxiliary parameters' formulas"):
        m.update(shape="~ x")


def test_spec_files_take_a_table_per_parameter():
    text = ('[data]\ndataset = "sleepstudy"\n[model]\nformula = "Reaction ~ Days + '
            '(1 | Subject)"\n[model.sigma]\nformula = "~ Days"\n')
    spec = parse_spec(text)
    assert spec.model_spec.dpar_dict == {"sigma": "~ Days"}
    assert spec.build_model().design.dpar_design("sigma").fixed_names == ("Intercept", "Days")
    with pytest.raises(SpecError, match="line 5.*takes one key"):
        parse_spec(text.replace('formula = "~ Days"', 'formula = "~ Days"\nlink = "log"'))
    with pytest.raises(SpecError, match="line 5.*no parameter 'zi'"):
        parse_spec(text.replace("[model.sigma]", "[model.zi]"))


@pytest.fixture(scope="module")
def fit(data):
    model = hglm.Model("y ~ x + (1 | g)", data, sigma="~ x")
    return model.fit(draws=200, tune=200, chains=2, seed=4, progressbar=False)


def test_tables_and_summary_have_one_part_per_linear_predictor(fit):
    fixef = fit.fixef()
    assert list(fixef.dpar) == ["mu", "mu", "sigma", "sigma"]
    assert list(fixef.term) == ["Intercept", "x", "Intercept", "x"]
    vc = fit.varcorr()
    assert list(vc.dpar) == ["mu"] and "sigma" not in set(vc.name)
    assert set(fit.ranef().dpar) == {"mu"}
    text = fit.summary()
    assert "Fixed effects of sigma (log scale):" in text and "sigma ~ x" in text


def test_predictions_of_sigma_and_the_pointwise_log_likelihood(fit, data):
    post = fit.posterior
    beta = post["beta_sigma"].values.reshape(-1, 2)
    sigma = fit.predict(dpar="sigma", summary=False)
    X = np.column_stack([np.ones(len(data)), data.x])
    np.testing.assert_allclose(sigma, np.exp(beta @ X.T), rtol=1e-10)
    link = fit.predict(dpar="sigma", kind="link", summary=False)
    np.testing.assert_allclose(link, beta @ X.T, rtol=1e-10)
    new = pd.DataFrame({"x": [0.0, 1.0], "g": ["g0", "unseen"]})
    table = fit.predict(new, dpar="sigma")
    assert table["mean"].iloc[1] > table["mean"].iloc[0]        # sigma grows with x
    with pytest.raises(ValueError, match="not a parameter of family 'gaussian'"):
        fit.predict(dpar="alpha")
    # each row's log-likelihood at each draw: normal with that row's mean and sigma
    mu = fit.predict(kind="link", summary=False)
    expected = stats.norm.logpdf(data.y.to_numpy(), mu, sigma)
    got = fit.idata.log_likelihood["y"].values.reshape(expected.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-8)


def test_save_and_load_keep_the_auxiliary_formula(fit, tmp_path):
    fit.save(tmp_path / "fit")
    back = hglm.load(tmp_path / "fit")
    assert back.spec.dpar_dict == {"sigma": "~ x"}
    pd.testing.assert_frame_equal(back.fixef(), fit.fixef())


@pytest.mark.slow
def test_recovers_a_heteroscedastic_simulation():
    """sigma ~ x + (1 | g) on 40 groups of 15: every truth of the simulation
    (:func:`tests.ml.test_distributional._heteroscedastic`) inside its 95% interval."""
    data = _heteroscedastic(seed=11, groups=40, per=15)
    fit = hglm.Model("y ~ x + (1 | g)", data, sigma="~ x + (1 | g)").fit(seed=2,
                                                                          progressbar=False)
    assert fit.diagnostics.divergences == 0
    fixef = fit.fixef().set_index(["dpar", "term"])
    truths = {("mu", "Intercept"): 1.0, ("mu", "x"): 0.5, ("sigma", "Intercept"): -0.5,
              ("sigma", "x"): 0.4}
    for key, truth in truths.items():
        assert fixef.loc[key, "lower"] < truth < fixef.loc[key, "upper"], key
    vc = fit.varcorr().set_index("dpar")
    assert vc.loc["mu", "lower"] < 0.6 < vc.loc["mu", "upper"]
    assert vc.loc["sigma", "lower"] < 0.3 < vc.loc["sigma", "upper"]


def test_strategies_and_samplers_that_cannot_take_a_formula_say_so(data):
    with pytest.raises(ValueError, match="strategy 'padded' does not apply.*laid out by row"):
        hglm.Model("y ~ x + (1 | g)", data, strategy="padded", sigma="~ x")
    m = hglm.Model("y ~ x + (1 | g)", data, sigma="~ x",
                   priors={"Intercept": "Normal(0, 10)"})
    with pytest.raises(ValueError, match="sampler='gibbs' needs a constant sigma"):
        m.fit(sampler="gibbs", draws=10, tune=10, chains=1, progressbar=False)

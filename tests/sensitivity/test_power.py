import warnings

import numpy as np
import pytest
from scipy import stats

import hglm
from hglm.sensitivity.power import log_prior_dataset

FAST = dict(draws=1000, tune=1000, chains=4, progressbar=False)


def _fit(formula, data, priors=None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hglm.Model(formula, data, priors=priors).fit(seed=1, **{**FAST, **kw})


def test_log_prior_holds_exactly_the_user_facing_priors(sleep_fit):
    lp = log_prior_dataset(sleep_fit)
    assert set(lp.data_vars) == {"Intercept_centered", "b", "sd_Subject", "L_Subject", "sigma"}
    # values are the priors' densities at the draws, on the parameters' own scale
    prior = sleep_fit.model.prior_set.get("sigma").prior
    sigma = sleep_fit.posterior["sigma"].values
    expected = np.log(2) + stats.t.logpdf(sigma, prior.args["nu"], scale=prior.args["sigma"])
    np.testing.assert_allclose(lp["sigma"].values, expected, rtol=1e-8)
    days = sleep_fit.model.prior_set.get("Days").prior
    np.testing.assert_allclose(lp["b"].values[..., 0],
                               stats.norm.logpdf(sleep_fit.posterior["b"].values[..., 0],
                                                 days.args["mu"], days.args["sigma"]), rtol=1e-8)


def test_log_prior_includes_hyperpriors_not_offsets(sleepstudy):
    fit = _fit("Reaction ~ Days + (1 | Subject)", sleepstudy,
               priors={"sd": hglm.HalfNormal(sigma=hglm.HalfCauchy(10))}, draws=100, tune=100,
               chains=2)
    names = set(log_prior_dataset(fit).data_vars)
    assert names == {"Intercept_centered", "b", "sd_Subject", "sd_sigma", "sigma"}


def test_tight_wrong_prior_is_a_conflict_and_vague_prior_is_not(sleepstudy):
    # A random intercept only: the within-subject data pin the Days slope down (se ~0.8).
    # (With a random Days slope the fixed slope is informed through the 18 subjects' slopes,
    # and power-scaling the observations' likelihood barely moves it.)
    tight = _fit("Reaction ~ Days + (1 | Subject)", sleepstudy, priors={"Days": "Normal(0, 1)"})
    table = tight.sensitivity().set_index("parameter")
    assert table.loc["beta[Days]", "diagnosis"] == "prior-data conflict"
    vague = _fit("Reaction ~ Days + (1 | Subject)", sleepstudy, priors={"Days": "Normal(0, 100)"})
    table = vague.sensitivity().set_index("parameter")
    assert table.loc["beta[Days]", "diagnosis"] == "-"
    assert table.loc["beta[Days]", "prior"] < 0.05
    assert list(table.columns) == ["prior", "likelihood", "diagnosis"]


def test_one_component(sleep_fit):
    full = sleep_fit.sensitivity().set_index("parameter")
    sds = sleep_fit.sensitivity(keys=["sd"]).set_index("parameter")
    assert list(sds.index) == list(full.index)
    assert not np.allclose(sds["prior"], full["prior"])
    np.testing.assert_allclose(sds["likelihood"], full["likelihood"])
    with pytest.raises(ValueError, match="unknown prior component"):
        sleep_fit.sensitivity(keys=["nope"])


def test_a_hyperprior_on_one_block_belongs_to_its_component(sleepstudy):
    """Key, variable and component agree: a hyperprior under "sd(Subject)" is the variable
    sd_Subject_sigma, which sensitivity(keys=["sd"]) power-scales with the sds."""
    from hglm.sensitivity.power import _select

    fit = _fit("Reaction ~ Days + (1 | Subject)", sleepstudy,
               priors={"sd(Subject)": hglm.HalfNormal(sigma=hglm.HalfCauchy(10))}, draws=100,
               tune=100, chains=2)
    variables = list(log_prior_dataset(fit).data_vars)
    assert "sd_Subject_sigma" in variables
    assert set(_select(variables, ["sd"], fit.design.family)) == {"sd_Subject", "sd_Subject_sigma"}

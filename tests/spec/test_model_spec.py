"""ModelSpec: one value that defines a model; update() and every refit go through it."""

import json

import numpy as np
import pytest

import hglm
from hglm.comparison.kfold import kfold
from hglm.spec.model_spec import ModelSpec, update_formula


@pytest.fixture(scope="module")
def sleep():
    return hglm.datasets.load("sleepstudy")


def test_spec_normalizes_and_round_trips_through_json():
    spec = ModelSpec.of("y ~ x + (1 | g)", hglm.Family("binomial", "probit"),
                        priors={"sd": hglm.HalfNormal(2), "b": "Normal(0, 1)"},
                        strategy="indexed", centered={"g": True})
    assert (spec.family, spec.link) == ("binomial", "probit")
    assert spec.prior_dict == {"sd": "HalfNormal(sigma=2)", "b": "Normal(mu=0, sigma=1)"}
    assert spec.centering == {"g": True}
    again = ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and hash(again) == hash(spec)


def test_bad_arguments_fail_in_the_spec():
    with pytest.raises(ValueError, match="prior 'sd'"):
        ModelSpec.of("y ~ x", priors={"sd": "Normal(0"})
    with pytest.raises(ValueError, match="no link 'logit'"):
        ModelSpec.of("y ~ x", "gaussian", link="logit")
    with pytest.raises(ValueError, match="update\\(\\) got color"):
        ModelSpec.of("y ~ x").update(color="red")
    with pytest.raises(ValueError, match="centered must be"):
        ModelSpec.of("y ~ x", centered="yes")


def test_update_formula_reads_lme4_dots():
    old = "Reaction ~ Days + (Days | Subject)"
    assert update_formula(old, ". ~ . + (1 | Night)") == \
        "Reaction ~ Days + (Days | Subject) + (1 | Night)"
    assert update_formula(old, "log(.) ~ Days") == "log(Reaction) ~ Days"
    assert update_formula(old, "y ~ x + 0.5") == "y ~ x + 0.5"      # numbers are not dots


def test_a_new_family_takes_its_default_link():
    spec = ModelSpec.of("y ~ x", "binomial", link="probit")
    assert spec.update(family="poisson").link == "log"
    assert spec.update(priors={}).link == "probit"


def test_model_update_keeps_what_was_not_changed(sleep):
    m = hglm.Model("Reaction ~ Days + (Days | Subject)", sleep, priors={"sd": "HalfNormal(50)"},
                   strategy="indexed", centered=False)
    small = m.update(formula=". ~ . - Days")
    assert small.design.fixed_names == ("Intercept",)
    assert (small.strategy, small.centered) == ("indexed", False)
    assert small.spec.prior_dict == m.spec.prior_dict
    assert m.update(priors={}).priors.source.eq("default").all()


def test_with_response_keeps_the_spec_and_writes_the_response(sleep):
    m = hglm.Model("Reaction ~ Days + (1 | Subject)", sleep, strategy="indexed", centered=True)
    y = np.arange(len(sleep), dtype=float)
    refit = m.with_response(y)
    assert refit.spec == m.spec and refit.parameterization == m.parameterization
    np.testing.assert_array_equal(refit.data["Reaction"], y)
    np.testing.assert_array_equal(m.data["Reaction"], sleep["Reaction"])   # untouched


def _first_refit_spec(monkeypatch):
    """Stop at the first model a refit builds and return its spec (joblib runs n_jobs=1
    in this process, so the patch is seen)."""
    seen = []

    def from_spec(cls, spec, data):
        seen.append(spec)
        raise RuntimeError("stop")

    monkeypatch.setattr(hglm.Model, "from_spec", classmethod(from_spec))
    return seen


def test_kfold_and_sweep_refits_keep_strategy_and_centering(sleep, monkeypatch):
    m = hglm.Model("Reaction ~ Days + (1 | Subject)", sleep, strategy="indexed", centered=True)
    with pytest.warns(hglm.SamplingWarning):     # a short fit: only its spec matters
        fit = m.fit(draws=20, tune=20, chains=1, seed=1, progressbar=False)
    seen = _first_refit_spec(monkeypatch)
    with pytest.raises(RuntimeError, match="stop"):
        kfold(fit, "Subject", K=2, n_jobs=1)
    with pytest.raises(RuntimeError, match="stop"):
        hglm.prior_sweep(m, {"tight": {"sd": "HalfNormal(5)"}}, n_jobs=1, progressbar=False)
    kfold_spec, sweep_spec = seen
    for spec in seen:
        assert (spec.strategy, spec.centering) == ("indexed", True)
    assert sweep_spec.prior_dict == {"sd": "HalfNormal(sigma=5)"}
    assert kfold_spec.formula == m.formula


@pytest.mark.filterwarnings("ignore::hglm.notices.SamplingWarning")   # short fits
def test_fit_update_refits_with_the_same_call(sleep):
    m = hglm.Model("Reaction ~ Days + (1 | Subject)", sleep)
    fit = m.fit(draws=50, tune=50, chains=1, seed=3, progressbar=False)
    assert fit.call["target_accept"] is None and fit.call["seed"] == 3
    again = fit.update(progressbar=False)
    np.testing.assert_array_equal(again.posterior["b"].values, fit.posterior["b"].values)
    wider = fit.update(priors={"sd": "HalfNormal(100)"}, draws=60, progressbar=False)
    assert wider.posterior.sizes["draw"] == 60
    assert wider.spec.prior_dict == {"sd": "HalfNormal(sigma=100)"}

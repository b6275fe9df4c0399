"""Simulation-based calibration: the uniformity test itself, the rules, and a reduced SBC of
every family that passes, next to a deliberately broken simulation that fails."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hglm
from hglm.validation.models import SBC_PRIORS, sbc_model
from hglm.validation.sbc import _holm, ecdf_uniformity_pvalue, sbc
from tests.conftest import toy_frame

#: reduced SBC: 40 simulations, 2 chains x 250 draws (ranks among <= 99 thinned draws)
REDUCED = dict(n_sims=40, draws=250, tune=300, chains=2, progressbar=False)


def test_uniformity_test_accepts_uniform_and_rejects_skewed_ranks():
    rng = np.random.default_rng(11)
    assert ecdf_uniformity_pvalue(rng.uniform(size=100)) > 0.05
    # ranks piling up at one end (a biased posterior) and in the middle (too wide a posterior)
    assert ecdf_uniformity_pvalue(rng.uniform(size=100) ** 2) < 0.01
    assert ecdf_uniformity_pvalue(rng.beta(3, 3, size=100)) < 0.01


def test_holm_adjusts_in_step_down_order():
    np.testing.assert_allclose(_holm(np.array([0.01, 0.04, 0.03, 0.5])),
                               [0.04, 0.09, 0.09, 0.5])


def test_refuses_data_scaled_default_priors():
    model = hglm.Model("y ~ x + (x | g)", toy_frame())
    with pytest.raises(ValueError, match="priors that do not depend on the data.*'Intercept'"):
        sbc(model, n_sims=20, progressbar=False)


def test_with_response_checks_the_new_response():
    model = sbc_model("poisson")
    with pytest.raises(ValueError, match="80 rows"):
        model.with_response(np.ones(5))
    with pytest.raises(ValueError, match="negative"):
        model.with_response(-np.ones(80))
    refit = model.with_response(np.full(80, 3.0))
    assert refit.design.y[0] == 3 and model.design.y[0] != 3  # the original is untouched


def test_sbc_runs_end_to_end():
    """The whole loop (prior draws, simulated responses, refits, thinned ranks, the test) on
    a handful of quick fits; calibration itself is checked by the slow tests below and by
    the full runs in docs/validation."""
    result = sbc(sbc_model("gaussian"), n_sims=10, draws=100, tune=150, chains=2, seed=2,
                 progressbar=False)
    assert len(result.fits) == 10 and result.ranks["u"].between(0, 1).all()
    assert {"divergences", "max_rhat", "refitted", "target_accept"} <= set(result.fits)
    assert "PASS" in result.summary() or "FAIL" in result.summary()


FULL_RUNS = Path(__file__).resolve().parents[2] / "docs" / "validation"


@pytest.mark.parametrize("family", ["gaussian", "poisson", "binomial", "bernoulli", "student",
                                    "gamma", "lognormal", "beta", "betabinomial", "cumulative",
                                    "hurdle_poisson", "hurdle_lognormal", "hurdle_negbinomial",
                                    "zero_inflated_poisson", "zero_inflated_negbinomial",
                                    "gaussian_sigma", "zip_zi"])
def test_recorded_full_runs_meet_the_targets(family):
    """The full SBC of every family, as `hglm sbc FAMILY --out docs/validation/FAMILY`
    recorded it at fit's default settings: calibrated, at most 2% of fits with a divergent
    transition, at least 99% with R-hat <= 1.01 (the targets docs/validation.md states)."""
    folder = FULL_RUNS / family
    fits = pd.read_csv(folder / "fits.csv")
    table = pd.read_csv(folder / "table.csv")
    settings = json.loads((folder / "settings.json").read_text())
    assert len(fits) == settings["n_sims"] == 200
    assert (settings["draws"], settings["tune"], settings["chains"]) == (1000, 1000, 4)
    assert (fits["divergences"] > 0).mean() <= 0.02
    assert (fits["max_rhat"] <= 1.01).mean() >= 0.99
    assert table["calibrated"].all()


@pytest.mark.slow
@pytest.mark.parametrize("family", list(SBC_PRIORS))     # every family with a calibration model
def test_reduced_sbc_is_calibrated(family):
    result = sbc(sbc_model(family), seed=1, **REDUCED)
    expected = {"beta[x]", "sd_g[Intercept]", "sd_g[x]", "cor_g[Intercept:x]"}
    # an ordinal model's intercept is in its thresholds
    expected |= ({"thresholds[0|1]", "thresholds[2|3]"} if family == "cumulative"
                 else {"beta[Intercept]"})
    assert set(result.table["parameter"]) >= expected
    assert result.passed, result.summary()


@pytest.mark.slow
def test_sbc_fails_when_the_simulation_uses_the_wrong_link():
    # data simulated through the probit link, fitted with the logit: the posterior of every
    # logit-scale coefficient is off by the links' ratio (~1.7), so the ranks pile up
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sbc(sbc_model("binomial"), simulator=sbc_model("binomial", link="probit"),
                     seed=1, **REDUCED)
    assert not result.passed
    assert not result.table.set_index("parameter").loc["sd_g[Intercept]", "calibrated"]


@pytest.mark.slow
def test_parallel_workers_give_the_same_ranks():
    """joblib workers (the backend prior_sweep uses) fit their share of the simulations with
    the same seeds: the ranks equal the in-process run's."""
    kw = dict(n_sims=10, draws=100, tune=150, chains=2, seed=3, progressbar=False)
    local = sbc(sbc_model("gaussian"), **kw)
    parallel = sbc(sbc_model("gaussian"), n_jobs=2, **kw)
    cols = ["sim", "parameter", "rank", "u"]
    assert local.ranks[cols].equals(parallel.ranks[cols])


@pytest.mark.slow
@pytest.mark.parametrize("family, dpars", [("gaussian", {"sigma": "~ x + (1 | g)"}),
                                           ("zero_inflated_poisson", {"zi": "~ x"})])
def test_reduced_sbc_of_distributional_models(family, dpars):
    """An auxiliary parameter's formula: its coefficients (and group sd) calibrated too."""
    model = sbc_model(family, dpars=dpars)
    result = sbc(model, seed=1, **REDUCED)
    name = next(iter(dpars))
    assert {f"beta_{name}[Intercept]", f"beta_{name}[x]"} <= set(result.table["parameter"])
    assert result.passed, result.summary()

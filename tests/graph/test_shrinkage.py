"""Shrinkage priors on many fixed effects: they compile, sample cleanly at their defaults and
separate the five real coefficients of a simulated GLMM from the 45 zeros."""

import warnings

import numpy as np
import pytest

import hglm
from hglm.validation.models import SPARSE_EFFECTS, sparse_glmm

FORMULA = "y ~ " + " + ".join(f"x{j + 1}" for j in range(50)) + " + (1 | g)"
PRIORS = ["Horseshoe(par_ratio=0.1)", "R2D2(mean_R2=0.5, prec_R2=2)", "Laplace(0, HalfCauchy(1))"]


@pytest.fixture(scope="module", params=PRIORS)
def shrunk_fit(request):
    model = hglm.Model(FORMULA, sparse_glmm(), priors={"fixed": request.param})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(seed=1, progressbar=False)  # default settings throughout


@pytest.mark.slow
def test_samples_cleanly_and_separates_signal_from_noise(shrunk_fit):
    assert shrunk_fit.diagnostics.divergences == 0
    assert shrunk_fit.diagnostics.max_rhat < 1.01
    table = shrunk_fit.shrinkage()
    k = len(SPARSE_EFFECTS)
    assert list(table["term"][:k]) == [f"x{j + 1}" for j in range(k)]
    assert (table["p_exceeds"][:k] > 0.9).all(), table.head(k)
    assert (table["p_exceeds"][k:] < 0.5).sum() >= 40
    # reported on the predictors' own scale: the estimates land near the truth
    np.testing.assert_allclose(table["mean"][:k], SPARSE_EFFECTS, atol=0.2)
    assert list(shrunk_fit.fixef()["term"])[:2] == ["Intercept", "x1"]


def test_shrinkage_factor_separates_too():
    model = hglm.Model(FORMULA, sparse_glmm(), priors={"fixed": PRIORS[0]})
    assert model.default_target_accept == 0.99
    assert {"z_b", "lambda_b", "tau_b", "c2_b", "kappa_b"} <= set(model.pymc_model.named_vars)


@pytest.mark.slow
def test_kappa_is_small_for_real_effects_and_large_for_zeros(shrunk_fit):
    kappa = shrunk_fit.shrinkage()["kappa"]
    if kappa.isna().all():  # Laplace: no per-coefficient scale, no kappa
        return
    assert kappa[:5].max() < 0.2 and kappa[5:].median() > 0.3


@pytest.mark.parametrize("text", ["Horseshoe()", "Horseshoe(par_ratio=0.2, scale_slab=1)",
                                  "R2D2()", "R2D2(mean_R2=0.3, prec_R2=5, cons_D2=1)",
                                  "Laplace(0, HalfCauchy(1))"])
def test_string_forms_round_trip(text):
    prior = hglm.parse_prior(text)
    assert hglm.parse_prior(repr(prior)) == prior


@pytest.mark.parametrize("text, message", [
    ("Horseshoe(par_ratio=1.5)", "par_ratio .* must be a number in \\(0, 1\\)"),
    ("Horseshoe(par_ratio=0)", "par_ratio"),
    ("Horseshoe(scale_slab=-1)", "'scale_slab' must be positive"),
    ("R2D2(mean_R2=1.2)", "mean_R2 must lie in \\(0, 1\\)"),
    ("R2D2(prec_R2=0)", "'prec_R2' must be positive"),
    ("Laplace(0, -1)", "'b' must be positive"),
])
def test_bad_arguments_are_clear_errors(text, message):
    with pytest.raises(ValueError, match=message):
        hglm.parse_prior(text)


def test_shrinkage_prior_only_on_all_slopes():
    data = sparse_glmm(n_predictors=3)
    with pytest.raises(ValueError, match="under the key 'fixed'"):
        hglm.Model("y ~ x1 + x2 + (1 | g)", data, priors={"x1": "Horseshoe()"})
    with pytest.raises(ValueError, match="drop the per-coefficient keys 'x1'"):
        hglm.Model("y ~ x1 + x2 + (1 | g)", data, priors={"fixed": "R2D2()", "x1": "Normal(0, 1)"})
    # under "beta" it means the same as under "fixed"
    m = hglm.Model("y ~ x1 + x2 + (1 | g)", data, priors={"beta": "Horseshoe()"})
    assert "lambda_b" in m.pymc_model.named_vars

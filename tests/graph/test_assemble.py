"""Each formula feature compiles to the intended PyMC structure."""

import numpy as np
import pytest
from pytensor.graph.traversal import ancestors

import hglm
from tests.conftest import PYTHON, toy_frame


def _free(model):
    return {v.name: tuple(model.initial_point()[model.rvs_to_values[v].name].shape)
            for v in model.free_RVs}


def _model(formula, df=None, family="gaussian", priors=None):
    """The sampled, non-centered structure (the graph tests' subject); strategies have theirs."""
    return hglm.Model(formula, toy_frame() if df is None else df, family, priors=priors,
                      strategy="indexed", centered=False).pymc_model


def test_correlated_slope_has_lkj_and_noncentered_offsets(sleepstudy):
    m = _model("Reaction ~ Days + (Days | Subject)", sleepstudy)
    free = _free(m)
    assert free == {"Intercept_centered": (), "b": (1,), "sd_Subject": (2,), "L_Subject": (1,),
                    "sigma": (), "z_Subject": (18, 2)}
    assert {d.name for d in m.deterministics} == {"beta", "cor_Subject", "r_Subject"}
    assert m.named_vars_to_dims["r_Subject"] == ("Subject", "Subject__term")
    assert list(m.coords["Subject__term"]) == ["Intercept", "Days"]
    assert list(m.coords["Subject__cor"]) == ["Intercept:Days"]
    assert m.observed_RVs[0].name == "Reaction"


def test_r_equals_diag_sd_L_z(sleepstudy):
    m = _model("Reaction ~ Days + (Days | Subject)", sleepstudy)
    point = m.initial_point()
    rng = np.random.default_rng(0)
    point = {k: rng.normal(size=v.shape) for k, v in point.items()}
    r, sd, L, z = m.compile_fn([m["r_Subject"], m["sd_Subject"], m["L_Subject"], m["z_Subject"]],
                               inputs=m.value_vars, on_unused_input="ignore", mode=PYTHON)(point)
    chol = np.array([[1.0, 0.0], [L[0], np.sqrt(1 - L[0] ** 2)]])
    np.testing.assert_allclose(r, (np.diag(sd) @ chol @ z.T).T, rtol=1e-10)


@pytest.mark.parametrize("formula, expected", [
    ("y ~ x + (1 | g)", {"sd_g": (1,), "z_g": (6, 1)}),
    ("y ~ x + (0 + x | g)", {"sd_g": (1,), "z_g": (6, 1)}),
    ("y ~ x + (1 + x || g)", {"sd_g": (2,), "z_g": (6, 2)}),
    ("y ~ x + (1 | g) + (1 | h)", {"sd_g": (1,), "z_g": (6, 1), "sd_h": (1,), "z_h": (3, 1)}),
    ("y ~ x + (1 | g) + (0 + x | g)",
     {"sd_g": (1,), "z_g": (6, 1), "sd_g.1": (1,), "z_g.1": (6, 1)}),
    ("y ~ x + (1 | g/h)", {"sd_g": (1,), "z_g": (6, 1), "sd_g:h": (1,), "z_g:h": (18, 1)}),
    ("y ~ x + (x + z | g)", {"sd_g": (3,), "z_g": (6, 3), "L_g": (3,)}),
])
def test_random_structures(formula, expected):
    free = _free(_model(formula))
    random = {k: v for k, v in free.items() if k.split("_")[0] in ("sd", "z", "L")}
    assert random == expected
    assert not any(k.startswith("L_") for k in free) or "L_g" in expected


def test_fixed_structures():
    m = _model("y ~ 0 + x + z + (1 | g)")
    assert "Intercept_centered" not in _free(m) and list(m.coords["coef"]) == ["x", "z"]
    m = _model("y ~ 1 + (1 | g)")
    assert "b" not in _free(m) and list(m.coords["coef"]) == ["Intercept"]
    m = _model("y ~ x * f + (1 | g)")
    assert _free(m)["b"] == (5,)


def test_beta_is_the_uncentered_coefficient_vector():
    df = toy_frame()
    m = _model("y ~ x + z + (1 | g)", df)
    f = m.compile_fn(m.replace_rvs_by_values([m["beta"]])[0], inputs=m.value_vars,
                     on_unused_input="ignore", mode=PYTHON)
    point = {"Intercept_centered": 1.0, "b": np.array([2.0, -1.0]), "sd_g_log__": np.zeros(1),
             "sigma_log__": 0.0, "z_g": np.zeros((6, 1))}
    beta = f(point)
    np.testing.assert_allclose(beta[1:], [2.0, -1.0])
    np.testing.assert_allclose(beta[0], 1.0 - 2.0 * df.x.mean() + df.z.mean())


def test_hyperprior_is_shared():
    m = _model("y ~ x + (1 | g) + (1 | h)",
               priors={"sd": hglm.HalfNormal(sigma=hglm.HalfCauchy(1))})
    free = _free(m)
    assert "sd_sigma" in free
    assert m["sd_sigma"] in ancestors([m["sd_g"]]) and m["sd_sigma"] in ancestors([m["sd_h"]])


def test_mixed_sd_priors_give_one_variable_per_term(sleepstudy):
    m = _model("Reaction ~ Days + (Days | Subject)", sleepstudy,
               priors={"sd(Days|Subject)": "Exponential(0.2)"})
    free = _free(m)
    assert "sd_Subject[Intercept]" in free and "sd_Subject[Days]" in free
    assert "sd_Subject" in {d.name for d in m.deterministics}


def test_semi_conjugate_priors_build(sleepstudy):
    m = _model("Reaction ~ Days + (Days | Subject)", sleepstudy, priors={
        "beta": hglm.MvNormal([250, 10], np.diag([1e4, 1e2])),
        "cov(Subject)": hglm.InverseWishart(3, np.diag([600.0, 40.0])),
        "sigma2": hglm.InverseGamma(1, 500)})
    free = _free(m)
    assert {"beta", "chol_cov_Subject", "sigma2", "z_Subject"} <= set(free)
    assert "L_Subject" not in free
    assert {"sd_Subject", "cor_Subject", "sigma"} <= {d.name for d in m.deterministics}
    assert np.isfinite(m.compile_logp(mode=PYTHON)(m.initial_point()))


@pytest.mark.parametrize("family, formula, likelihood", [
    ("poisson", "count ~ x + (1 | g)", "poisson"),
    ("negbinomial", "count ~ x + (1 | g)", "negative_binomial"),
    ("binomial", "p(succ, trials) ~ x + (1 | g)", "binomial"),
    ("bernoulli", "I(count > 2) ~ x + (1 | g)", "bernoulli"),
])
def test_family_likelihoods(family, formula, likelihood):
    m = _model(formula, family=family)
    obs = m.observed_RVs[0]
    assert obs.owner.op.name == likelihood
    assert np.isfinite(m.compile_logp(mode=PYTHON)(m.initial_point()))


def test_offset_enters_the_linear_predictor():
    df = toy_frame()
    with_offset = _model("count ~ x + offset(np.log(e)) + (1 | g)", df, "poisson")
    without = _model("count ~ x + (1 | g)", df, "poisson")
    point = with_offset.initial_point()
    obs_with = with_offset.compile_fn(
        with_offset.logp(vars=with_offset.observed_RVs, sum=False)[0], mode=PYTHON)
    obs_without = without.compile_fn(
        without.logp(vars=without.observed_RVs, sum=False)[0], mode=PYTHON)
    # at the initial point every row has the same eta, so the offset is the only difference
    eta = np.log(df["count"].mean())  # the default intercept prior's location
    from scipy import stats
    np.testing.assert_allclose(obs_with(point),
                               stats.poisson.logpmf(df["count"], np.exp(eta) * df.e))
    np.testing.assert_allclose(obs_without(point), stats.poisson.logpmf(df["count"], np.exp(eta)))

import numpy as np
import pytest

import hglm
from tests.conftest import toy_frame


def _table(formula, df, family="gaussian", priors=None):
    return hglm.Model(formula, df, family, priors=priors).priors.set_index("parameter")


def test_defaults_are_data_scaled(sleepstudy):
    t = _table("Reaction ~ Days + (Days | Subject)", sleepstudy)
    sd_y, sd_x = sleepstudy.Reaction.std(), sleepstudy.Days.std()
    assert t.loc["Days", "distribution"] == repr(hglm.Normal(0, 2.5 * sd_y / sd_x))
    assert t.loc["Intercept", "distribution"] == repr(
        hglm.Normal(sleepstudy.Reaction.mean(), 2.5 * sd_y))
    assert t.loc["sd(Days|Subject)", "distribution"] == repr(hglm.HalfStudentT(3, sd_y / sd_x))
    assert t.loc["cor(Subject)", "distribution"] == "LKJ(eta=1)"
    assert t.loc["sigma", "distribution"] == repr(hglm.HalfStudentT(3, sd_y))
    assert set(t.source) == {"default"}


def test_link_scale_defaults():
    df = toy_frame()
    t = _table("count ~ x + (1 | g)", df, "poisson")
    assert t.loc["x", "distribution"] == repr(hglm.Normal(0, 2.5 / df.x.std()))
    assert t.loc["Intercept", "distribution"] == repr(hglm.Normal(np.log(df["count"].mean()), 2.5))
    assert t.loc["sd(Intercept|g)", "distribution"] == repr(hglm.HalfStudentT(3, 2.5))
    t = _table("count ~ x + (1 | g)", df, "negbinomial")
    assert t.loc["alpha", "distribution"] == repr(hglm.Gamma(2, 0.1))


def test_most_specific_key_wins(sleepstudy):
    priors = {"fixed": hglm.Normal(0, 5), "sd": "HalfNormal(10)", "cor": hglm.LKJ(2),
              "sigma": "HalfStudentT(3, 25)", "sd(Days|Subject)": "HalfNormal(3)"}
    t = _table("Reaction ~ Days + (Days | Subject)", sleepstudy, priors=priors)
    assert t.loc["Days", ["key", "distribution", "source"]].tolist() == [
        "fixed", "Normal(mu=0, sigma=5)", "user"]
    assert t.loc["sd(Intercept|Subject)", "key"] == "sd"
    assert t.loc["sd(Days|Subject)", ["key", "distribution"]].tolist() == [
        "sd(Days|Subject)", "HalfNormal(sigma=3)"]
    assert t.loc["cor(Subject)", "distribution"] == "LKJ(eta=2)"
    assert t.loc["Intercept", "source"] == "default"  # "fixed" does not cover the intercept


def test_categorical_coefficient_key():
    df = hglm.datasets.load("cbpp")
    t = _table("p(incidence, size) ~ period + (1 | herd)", df, "binomial",
               {"period[2]": "Normal(0, 1)"})
    assert t.loc["period[2]", "source"] == "user" and t.loc["period[3]", "source"] == "default"


@pytest.mark.parametrize("priors, message", [
    ({"Dayz": "Normal(0, 1)"}, "'Dayz' matches nothing .* valid keys: .*Days"),
    ({"sd": "Normal(0, 1)"}, "needs a distribution on positive values"),
    ({"sigma": "HalfNormal(-2)"}, "must be positive"),
    ({"Days": "HalfNormal(2)"}, "needs a distribution on the real line"),
    ({"cor": "HalfNormal(2)"}, "LKJ"),
    ({"alpha": "Gamma(1, 1)"}, "'alpha' matches nothing"),
    ({"beta": "MvNormal([0], [[1]])"}, "2 fixed effects"),
    ({"beta": "Normal(0, 1)", "Days": "Normal(0, 1)"}, "cannot be combined"),
    ({"sigma": "HalfNormal(1)", "sigma2": "InverseGamma(1, 1)"}, "not both"),
    ({"cov(Subject)": "InverseWishart(3, [[1, 0, 0], [0, 1, 0], [0, 0, 1]])"}, "block has 2 terms"),
    ({"Days": 5}, "must be a hglm prior"),
])
def test_bad_priors(sleepstudy, priors, message):
    with pytest.raises(ValueError, match=message):
        hglm.Model("Reaction ~ Days + (Days | Subject)", sleepstudy, priors=priors)


def test_semi_conjugate_set_is_expressible(sleepstudy):
    priors = {"beta": hglm.MvNormal([250, 10], np.diag([1e4, 1e2])),
              "cov(Subject)": hglm.InverseWishart(3, np.diag([600.0, 40.0])),
              "sigma2": hglm.InverseGamma(1, 500)}
    t = _table("Reaction ~ Days + (Days | Subject)", sleepstudy, priors=priors)
    assert list(t.index) == ["beta", "cov(Subject)", "sigma2"]
    assert set(t.source) == {"user"}

import numpy as np
import pytest

import hglm
from hglm.spec.priors import parse_prior


@pytest.mark.parametrize("text", [
    "Normal(mu=0, sigma=5)", "HalfNormal(sigma=10)", "HalfStudentT(nu=3, sigma=25)",
    "LKJ(eta=2)", "HalfNormal(sigma=HalfCauchy(beta=1))", "Gamma(alpha=2, beta=0.1)",
    "MvNormal(mu=[0.0, 0.0], cov=[[1.0, 0.0], [0.0, 1.0]])",
])
def test_string_form_round_trips(text):
    prior = parse_prior(text)
    assert repr(prior) == text
    assert parse_prior(repr(prior)) == prior


def test_positional_and_keyword_forms_agree():
    assert parse_prior("HalfStudentT(3, 25)") == hglm.HalfStudentT(nu=3, sigma=25)
    assert parse_prior("Normal(0, 5)") == hglm.Normal(0, 5)
    nested = parse_prior("HalfNormal(sigma=HalfCauchy(1))")
    assert isinstance(nested.args["sigma"], hglm.HalfCauchy)
    assert not nested.is_constant()


@pytest.mark.parametrize("text, message", [
    ("HalfNormal(-1)", "must be positive"),
    ("Normal(0, 0)", "must be positive"),
    ("Normal(0, sigma=Normal(0, 1))", "positive support"),
    ("Banana(1)", "unknown distribution"),
    ("__import__('os').system('true')", "unknown distribution"),
    ("Normal(0, x)", "only distributions, numbers and lists"),
    ("Normal(0, 1", "cannot read prior"),
    ("Normal(0, 1, 2)", "at most 2 parameters"),
    ("Normal(0, scale=1)", "no parameter 'scale'"),
    ("LKJ(0)", "must be positive"),
    ("MvNormal([0, 0], [[1, 2], [2, 1]])", "positive definite"),
    ("InverseWishart(1, [[1, 0], [0, 1]])", "nu must exceed"),
])
def test_bad_priors_are_clear_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_prior(text)


def test_supports():
    assert hglm.HalfNormal(1).support == "positive"
    assert hglm.Normal(0, 1).support == "real"
    assert hglm.LKJ(2).support == "corr"
    assert hglm.InverseWishart(3, np.eye(2)).support == "cov"

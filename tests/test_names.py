"""hglm.names: every variable name and prior key made and parsed in one place."""

import pytest

from hglm import names
from hglm.names import PriorKey


@pytest.mark.parametrize("key, parsed", [
    ("sd(Days|Subject)", PriorKey("sd", "Subject", "Days")),
    ("sd(Subject)", PriorKey("sd", "Subject")),
    ("sd", PriorKey("sd")),
    ("cor(Subject:Night)", PriorKey("cor", "Subject:Night")),
    ("cov(g)", PriorKey("cov", "g")),
    ("sigma", PriorKey("sigma")),
    ("Days", PriorKey("coef", term="Days")),
    ("Intercept", PriorKey("Intercept")),
])
def test_prior_keys_parse_and_print_back(key, parsed):
    assert PriorKey.parse(key, coefficients=("Intercept", "Days")) == parsed
    assert str(parsed) == key
    assert names.sd_key("Subject", "Days") == "sd(Days|Subject)"
    assert names.cor_key("g") == "cor(g)" and names.cov_key("g") == "cov(g)"


def test_hyperprior_variables_start_with_their_component():
    assert names.hyper("sd(Subject)", "sigma") == "sd_Subject_sigma"
    assert names.hyper("sd(Days|Subject)", "sigma") == "sd_Subject__Days_sigma"
    assert names.hyper("sd", "sigma") == "sd_sigma"
    assert names.hyper("cor(g)", "eta") == "cor_g_eta"
    assert names.hyper("Days", "sigma", ("Intercept", "Days")) == "b_Days_sigma"
    assert names.hyper("nu", "alpha") == "nu_alpha"
    # a hyperprior's own hyperprior
    assert names.hyper("sd_Subject_sigma", "sigma") == "sd_Subject_sigma_sigma"


def test_variables_of_a_group():
    assert (names.sd("g"), names.L("g"), names.z("g"), names.r("g")) == \
        ("sd_g", "L_g", "z_g", "r_g")
    assert names.term_dim("g") == "g__term" and names.cor_dim("g") == "g__cor"
    assert names.cor_pairs(("a", "b", "c")) == ["a:b", "a:c", "b:c"]
    assert set(names.group_effect_variables("g")) == {"r_g", "z_g", "eta_g", "t_g", "c_g"}

import pytest

from hglm.design.formula import RandomTerm, parse_formula


def test_brackets_stay_blocks():
    p = parse_formula("Reaction ~ Days + (Days | Subject)")
    assert p.response == "Reaction" and p.fixed == "Days"
    assert p.random == (RandomTerm("Days", "Subject", True),)


def test_double_bar_is_one_uncorrelated_block():
    p = parse_formula("y ~ x + (1 + x || g)")
    assert p.random == (RandomTerm("1 + x", "g", False),)


def test_nesting_expands_like_lme4():
    p = parse_formula("y ~ 1 + (1 | a/b/c)")
    assert [t.factor for t in p.random] == ["a", "a:b", "a:b:c"]


def test_cbind_becomes_proportion():
    p = parse_formula("cbind(incidence, size - incidence) ~ period + (1 | herd)")
    assert p.response_formulae == "p(incidence, incidence + size - incidence)"


def test_fixed_part_keeps_signs_and_calls():
    assert parse_formula("y ~ x - 1 + (1|g)").fixed == "x - 1"
    assert parse_formula("y ~ (1|g)").fixed == "1"
    assert parse_formula("y ~ 0 + x + (0 + x | g)").fixed == "0 + x"
    assert parse_formula("y ~ I(x * -1) + {x - 2}").fixed == "I(x * -1) + {x - 2}"


@pytest.mark.parametrize("formula, message", [
    ("y ~ x + (1|g", "unclosed bracket"),
    ("y ~ x)", "unmatched"),
    ("y ~ ", "nothing right of"),
    ("~ x", "exactly one '~'"),
    ("y ~ x +", "needs a term"),
    ("y ~ x + ( | g)", "no terms left"),
    ("y ~ x + (1 | )", "no grouping factor"),
    ("y ~ x - (1 | g)", "cannot be removed"),
    ("y ~ x + (1 | log(g))", "column names"),
])
def test_syntax_errors(formula, message):
    with pytest.raises(ValueError, match=message):
        parse_formula(formula)

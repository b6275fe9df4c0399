import pytest
from scipy import stats

import hglm
from hglm.comparison.lrt import boundary_null, mixture_pvalue
from tests.conftest import toy_frame


def test_mixture_pvalues():
    assert mixture_pvalue(3.0, (0, 1), (0.5, 0.5)) == pytest.approx(0.5 * stats.chi2.sf(3.0, 1))
    assert mixture_pvalue(0.0, (0, 1), (0.5, 0.5)) == 1.0
    p = mixture_pvalue(5.0, (1, 2), (0.5, 0.5))
    assert p == pytest.approx(0.5 * stats.chi2.sf(5, 1) + 0.5 * stats.chi2.sf(5, 2))


def _d(formula, family="gaussian"):
    return hglm.make_design(formula, toy_frame(), family)


@pytest.mark.parametrize("small, large, df, dfs, exact", [
    ("y ~ x", "y ~ x + (1 | g)", 1, (0, 1), True),
    ("y ~ x + (1 | g)", "y ~ x + (x | g)", 2, (1, 2), True),
    ("y ~ x + (x | g)", "y ~ x + (x + z | g)", 3, (2, 3), True),
    ("y ~ x + (x || g)", "y ~ x + (x | g)", 1, (1,), True),
    ("y ~ x + (1 | g)", "y ~ x + z + (1 | g)", 1, (1,), True),
    ("y ~ x", "y ~ x + (x | g)", 3, (2, 3), False),
    ("y ~ x + (1 | g)", "y ~ x + (1 | g) + (1 | h)", 1, (0, 1), True),
])
def test_boundary_nulls(small, large, df, dfs, exact):
    null = boundary_null(_d(small), _d(large), df)
    assert null.dfs == dfs and null.exact == exact


def test_poisson_within_negbinomial():
    null = boundary_null(_d("count ~ x + (1 | g)", "poisson"),
                         _d("count ~ x + (1 | g)", "negbinomial"), 1)
    assert null.dfs == (0, 1)
    assert boundary_null(_d("count ~ x + (1 | g)", "negbinomial"),
                         _d("count ~ z + (1 | g)", "poisson"), 1) is None


def test_not_nested():
    assert boundary_null(_d("y ~ x + (1 | g)"), _d("y ~ z + (1 | h)"), 1) is None


def _dd(formula, family="gaussian", **dpars):
    return hglm.make_design(formula, toy_frame(), family, dpars=dpars)


def test_a_constant_auxiliary_parameter_is_its_formulas_intercept():
    """sigma constant is sigma ~ 1: nested in sigma ~ x (one fixed effect, chi2(1)), and a
    group term in sigma's formula is one variance on the boundary."""
    const, by_x = _dd("y ~ x + (1 | g)"), _dd("y ~ x + (1 | g)", sigma="~ x")
    null = boundary_null(const, by_x, 1)
    assert null.dfs == (1,) and null.exact and null.what == "fixed effects"
    null = boundary_null(by_x, _dd("y ~ x + (1 | g)", sigma="~ x + (1 | g)"), 1)
    assert null.dfs == (0, 1) and null.what == "one variance"
    # the same terms in sigma's formula and the mean's are different parameters
    assert boundary_null(_dd("y ~ 1 + (1 | g)", sigma="~ x"), _dd("y ~ x + (1 | g)"), 1) is None
    # negbinomial's alpha ~ x does not contain the poisson model (not at alpha's boundary)
    assert boundary_null(_dd("count ~ x", "poisson"), _dd("count ~ x", "negbinomial",
                                                          alpha="~ x"), 2) is None

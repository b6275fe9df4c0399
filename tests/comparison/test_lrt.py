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

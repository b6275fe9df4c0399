import numpy as np
import pandas as pd
import pytest

import hglm
from hglm.design.matrices import make_design
from tests.conftest import toy_frame


def test_sleepstudy_design(sleepstudy):
    d = make_design("Reaction ~ Days + (Days | Subject)", sleepstudy)
    assert d.fixed_names == ("Intercept", "Days")
    assert d.X.shape == (180, 2)
    (block,) = d.blocks
    assert block.terms == ("Intercept", "Days") and block.correlated
    assert block.n_levels == 18 and block.Z.shape == (180, 2)
    assert block.levels[:3] == ("308", "309", "310")
    np.testing.assert_array_equal(block.index[:10], 0)


def test_categorical_treatment_coding_reference_first_level():
    df = hglm.datasets.load("cbpp")
    d = make_design("cbind(incidence, size - incidence) ~ period + (1 | herd)", df, "binomial")
    assert d.fixed_names == ("Intercept", "period[2]", "period[3]", "period[4]")
    np.testing.assert_array_equal(d.trials, df["size"])
    np.testing.assert_array_equal(d.y, df["incidence"])
    d2 = make_design("p(incidence, size) ~ period + (1 | herd)", df, "binomial")
    np.testing.assert_array_equal(d2.X, d.X)


def test_interactions_transforms_and_no_intercept():
    df = toy_frame()
    d = make_design("y ~ x * f + scale(z) + np.log(e) + C(h)", df)
    assert d.fixed_names == ("Intercept", "x", "f[b]", "f[c]", "x:f[b]", "x:f[c]", "scale(z)",
                             "np.log(e)", "C(h)[h2]", "C(h)[h3]")
    np.testing.assert_allclose(d.X[:, 4], df.x * (df.f == "b"))
    np.testing.assert_allclose(d.X[:, 7], np.log(df.e))
    assert make_design("y ~ 0 + x", df).fixed_names == ("x",)
    assert make_design("y ~ x - 1", df).fixed_names == ("x",)
    assert make_design("y ~ x:z", df).fixed_names == ("Intercept", "x:z")


def test_offset_is_not_a_column():
    df = toy_frame()
    d = make_design("count ~ x + offset(np.log(e)) + (1 | g)", df, "poisson")
    assert d.fixed_names == ("Intercept", "x")
    np.testing.assert_allclose(d.offset, np.log(df.e))


def test_random_blocks():
    df = toy_frame()
    d = make_design("y ~ x + (x | g) + (1 | h)", df)
    assert [(b.label, b.terms, b.correlated) for b in d.blocks] == [
        ("g", ("Intercept", "x"), True), ("h", ("Intercept",), True)]
    d = make_design("y ~ x + (0 + x | g)", df)
    assert d.blocks[0].terms == ("x",)
    d = make_design("y ~ x + (1 + x || g)", df)
    assert d.blocks[0].terms == ("Intercept", "x") and not d.blocks[0].correlated
    d = make_design("y ~ x + (1 | g) + (0 + x | g)", df)
    assert [b.label for b in d.blocks] == ["g", "g.1"]
    d = make_design("y ~ x + (1 | g/h)", df)
    assert [b.factor for b in d.blocks] == ["g", "g:h"]
    assert d.blocks[1].n_levels == len(set(zip(df.g, df.h)))


def test_bernoulli_labels_second_level_is_success():
    df = toy_frame()
    df["yn"] = np.where(df.y > 0, "Y", "N")
    d = make_design("yn ~ x + (1 | g)", df, "bernoulli")
    np.testing.assert_array_equal(d.y, (df.y > 0).astype(int))
    assert d.success_level == "Y"
    df["b"] = df.y > 0
    np.testing.assert_array_equal(make_design("b ~ x", df, "bernoulli").y, (df.y > 0))


def test_missing_rows_dropped_with_warning():
    df = toy_frame()
    df.loc[[1, 4], "x"] = np.nan
    df["unused"] = np.nan
    with pytest.warns(UserWarning, match="dropped 2 of 30 rows"):
        d = make_design("y ~ x + (1 | g)", df)
    assert d.n == 28 and list(d.row_index[:3]) == [0, 2, 3]


def test_large_design_uses_indices_not_dense_z():
    rng = np.random.default_rng(1)
    n, levels = 100_000, 5_000
    df = pd.DataFrame({"y": rng.normal(size=n), "x": rng.normal(size=n),
                       "g": rng.integers(0, levels, size=n).astype(str)})
    d = make_design("y ~ x + (x | g)", df)
    (block,) = d.blocks
    assert block.n_levels == levels
    # every array in the design is N x (a few columns): no N x levels matrix anywhere
    arrays = [d.X, d.y, block.Z, block.index]
    assert max(a.nbytes for a in arrays) <= n * 2 * 8
    model = hglm.build_model(d, hglm.resolve_priors(d), strategy="indexed", centered=False)
    assert model["z_g"].type.shape == (levels, 2) or model["z_g"].eval().shape == (levels, 2)


def test_categorical_factor_levels_are_found_in_linear_time():
    # a membership test rebuilt per level made 1M rows x 10k levels take minutes
    n, levels = 1_000_000, 10_000
    df = pd.DataFrame({"y": np.zeros(n), "g": pd.Categorical(np.arange(n) % levels)})
    (block,) = make_design("y ~ 1 + (1 | g)", df).blocks
    assert block.n_levels == levels and block.levels[:2] == ("0", "1")


def _aggregated(seed: int = 0):
    """A frame of rows that repeat, and the same rows once each with their count."""
    rng = np.random.default_rng(seed)
    n = 600
    g, x = rng.integers(0, 8, n), rng.integers(0, 3, n)
    mean = 3 + rng.normal(0, 1.5, 8)[g] + (0.5 + rng.normal(0, 0.5, 8)[g]) * x
    full = pd.DataFrame({"y": np.round(mean + rng.normal(0, 1, n)), "x": x,
                         "g": np.array(list("abcdefgh"))[g]})
    keys = ["y", "x", "g"]
    return full, full.groupby(keys).size().rename("n").reset_index()


@pytest.mark.parametrize("strategy", ["marginal", "indexed"])
def test_counts_make_the_model_of_the_repeated_rows(strategy):
    full, aggregated = _aggregated()
    expanded = hglm.Model("y ~ x + (1 + x | g)", full, strategy=strategy)
    counted = hglm.Model("y ~ x + (1 + x | g)", aggregated, counts="n", strategy=strategy)
    assert counted.design.n == len(aggregated) and counted.design.n_rows == len(full)
    pd.testing.assert_frame_equal(counted.priors, expanded.priors)
    assert counted.parameterization == expanded.parameterization
    point = expanded.pymc_model.initial_point()
    point = {k: v + 0.1 for k, v in point.items()}
    logp = [m.pymc_model.compile_logp(mode="FAST_COMPILE")(point) for m in (counted, expanded)]
    assert logp[0] == pytest.approx(logp[1], rel=1e-10)
    assert counted.fit_ml().logLik == pytest.approx(expanded.fit_ml().logLik, rel=1e-8)


def test_counts_count_the_rows_dropped():
    _, aggregated = _aggregated()
    aggregated.loc[0, "x"] = np.nan
    with pytest.warns(UserWarning, match=f"dropped {aggregated.n[0]} of 600 rows"):
        d = make_design("y ~ x + (1 | g)", aggregated, counts="n")
    assert d.n_rows == 600 - aggregated.n[0] and d.n_dropped == aggregated.n[0]


def test_counts_refit_center_and_scale():
    full, aggregated = _aggregated()
    formula = "y ~ scale(x) + (1 + center(x) | g)"
    expanded = hglm.Model(formula, full)
    counted = hglm.Model(formula, aggregated, counts="n")
    pd.testing.assert_frame_equal(counted.priors, expanded.priors)
    point = {k: v + 0.1 for k, v in expanded.pymc_model.initial_point().items()}
    logp = [m.pymc_model.compile_logp(mode="FAST_COMPILE")(point) for m in (counted, expanded)]
    assert logp[0] == pytest.approx(logp[1], rel=1e-10)
    with pytest.raises(ValueError, match="of the response are not available"):
        hglm.Model("scale(y) ~ x + (1 | g)", aggregated, counts="n")


def test_counts_refit_poly_to_every_row():
    full, aggregated = _aggregated()
    formula = "y ~ poly(x, 2) + (1 | g)"
    expanded, counted = make_design(formula, full), make_design(formula, aggregated, counts="n")
    # each distinct row's basis values are those of its copies in the full frame
    first = full.reset_index().groupby(["y", "x", "g"])["index"].first().to_numpy()
    np.testing.assert_allclose(counted.X, expanded.X[first], rtol=1e-12)
    # orthonormal over the 600 rows, as R's poly(): X'WX = I for the basis columns
    basis = counted.X[:, 1:]
    np.testing.assert_allclose(basis.T @ (aggregated.n.to_numpy()[:, None] * basis), np.eye(2),
                               atol=1e-12)
    with pytest.raises(ValueError, match=r"bs\(\) depends on the whole column"):
        make_design("y ~ bs(x, df=4) + (1 | g)", aggregated, counts="n")


@pytest.mark.parametrize("values, column", [([0], "n"), ([1.5], "n"), ([1], "m")])
def test_bad_counts_are_refused(values, column):
    _, aggregated = _aggregated()
    aggregated["n"] = aggregated["n"].astype(float)
    aggregated.loc[0, "n"] = values[0]
    with pytest.raises(ValueError, match=f"counts column '{column}'"):
        make_design("y ~ x + (1 | g)", aggregated, counts=column)

"""predictions, comparisons and slopes against closed forms and hand computations from the
posterior draws."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

import hglm
from hglm.graph.posterior import draws_matrix
from hglm.interpret.effects import random_selection

FEW = dict(draws=300, tune=300, chains=2, progressbar=False)


def _frame(seed: int = 3, n_groups: int = 8, per_group: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_groups * per_group
    g = np.repeat(np.arange(n_groups), per_group)
    x = rng.normal(size=n)
    f = rng.choice(["ctl", "trt"], size=n)
    u = rng.normal(0, 0.7, n_groups)[g]
    eta = 0.3 + 0.8 * x + 0.9 * (f == "trt") + u
    return pd.DataFrame({"y": eta + rng.normal(0, 0.5, n), "b": rng.binomial(1, expit(eta)),
                         "x": x, "f": pd.Categorical(f),
                         "g": pd.Categorical([f"g{k}" for k in g])})


@pytest.fixture(scope="module")
def gaussian_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hglm.Model("y ~ x + f + (1 | g)", _frame()).fit(seed=2, **FEW)


@pytest.fixture(scope="module")
def logit_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hglm.Model("b ~ x + f + (1 | g)", _frame(), family="bernoulli").fit(seed=4, **FEW)


def _beta(fit, term: str) -> np.ndarray:
    return fit.posterior["beta"].sel(coef=term).values.reshape(-1)


def test_predictions_with_every_group_effect_equal_predict(sleep_fit):
    grid = pd.DataFrame({"Days": [0, 4, 9], "Subject": ["308", "999", "999"]})  # 999 is new
    ours = hglm.predictions(sleep_fit, newdata=grid)
    theirs = sleep_fit.predict(grid, summary=False)
    np.testing.assert_allclose(ours.draws.values.reshape(len(theirs), -1), theirs)
    np.testing.assert_allclose(ours["estimate"], theirs.mean(axis=0))
    assert list(ours.columns[:2]) == ["Days", "Subject"]
    assert ours.draws.dims == ("chain", "draw", "row")


def test_predictions_without_group_effects_are_the_fixed_part(sleep_fit):
    ours = hglm.predictions(sleep_fit, newdata=hglm.datagrid(sleep_fit, Days=[0, 9]),
                            re_formula="~ 0")
    beta = draws_matrix(sleep_fit.posterior, "beta")
    expected = beta[:, [0]] + beta[:, [1]] * np.array([0, 9])
    np.testing.assert_allclose(ours.draws.values.reshape(expected.shape), expected)


def test_re_formula_keeps_the_terms_it_names(sleep_fit):
    chosen = random_selection(sleep_fit.design, "~ (1 | Subject)")
    assert chosen == {"Subject": (0,)}
    assert random_selection(sleep_fit.design, "~ (Days | Subject)") == {"Subject": (0, 1)}
    assert random_selection(sleep_fit.design, "~ (0 + Days | Subject)") == {"Subject": (1,)}
    row = pd.DataFrame({"Days": [9], "Subject": ["308"]})
    fixed = sleep_fit.predict(row, kind="link", summary=False, include_random=False)
    r = sleep_fit.posterior["r_Subject"].sel(Subject="308").values.reshape(-1, 2)
    ours = hglm.predictions(sleep_fit, newdata=row, re_formula="~ (1 | Subject)")
    np.testing.assert_allclose(ours.draws.values.reshape(-1), fixed[:, 0] + r[:, 0])


def test_comparison_of_a_factor_on_the_identity_link_is_its_coefficient(gaussian_fit):
    ours = hglm.comparisons(gaussian_fit, "f", by=True)
    assert ours[["term", "contrast"]].values.tolist() == [["f", "trt - ctl"]]
    np.testing.assert_allclose(ours.draws.values.reshape(-1), _beta(gaussian_fit, "f[trt]"))


def test_slope_of_a_linear_term_is_its_coefficient(gaussian_fit):
    ours = hglm.slopes(gaussian_fit, "x", newdata=hglm.datagrid(gaussian_fit, x=[-1, 2]))
    draws = ours.draws.values.reshape(-1, 2)
    coefficient = _beta(gaussian_fit, "x")
    np.testing.assert_allclose(draws, np.column_stack([coefficient] * 2), rtol=1e-6)
    step = hglm.comparisons(gaussian_fit, {"x": 2.0}, by=True)    # linear: 2 x the slope
    np.testing.assert_allclose(step.draws.values.reshape(-1), 2 * coefficient, rtol=1e-9)


def test_average_comparison_on_the_logit_link_by_hand(logit_fit):
    post, design = logit_fit.posterior, logit_fit.design
    beta = {t: _beta(logit_fit, t) for t in ("Intercept", "x", "f[trt]")}
    r = draws_matrix(post, "r_g")[:, :, 0][:, design.blocks[0].index]       # (S, rows)
    x = design.data["x"].to_numpy()
    base = beta["Intercept"][:, None] + beta["x"][:, None] * x + r
    by_hand = (expit(base + beta["f[trt]"][:, None]) - expit(base)).mean(axis=1)
    ours = hglm.comparisons(logit_fit, "f", by=True)
    np.testing.assert_allclose(ours.draws.values.reshape(-1), by_hand, rtol=1e-10)
    lnor = hglm.comparisons(logit_fit, "f", comparison="lnor")     # row by row: the coefficient
    np.testing.assert_allclose(lnor.draws.values.reshape(-1, design.n),
                               np.repeat(beta["f[trt]"][:, None], design.n, axis=1), rtol=1e-8)


def test_by_averages_within_groups(logit_fit):
    rows = hglm.predictions(logit_fit)
    by_f = hglm.predictions(logit_fit, by="f")
    f = logit_fit.design.data["f"].to_numpy()
    draws = rows.draws.values.reshape(-1, logit_fit.design.n)
    for _, row in by_f.iterrows():
        assert row["estimate"] == pytest.approx(draws[:, f == row["f"]].mean())
    assert set(by_f["f"]) == {"ctl", "trt"}


def test_a_new_level_is_the_same_draw_on_both_sides_of_a_contrast(gaussian_fit):
    grid = hglm.datagrid(gaussian_fit, g=["unseen"])
    ours = hglm.comparisons(gaussian_fit, "f", newdata=grid)
    np.testing.assert_allclose(ours.draws.values.reshape(-1), _beta(gaussian_fit, "f[trt]"))


def test_datagrid_holds_other_columns_at_typical_values(gaussian_fit):
    grid = hglm.datagrid(gaussian_fit, x=[0, 1], f=["ctl", "trt"])
    data = gaussian_fit.design.data
    assert len(grid) == 4 and set(grid.columns) == {"x", "f", "g"}
    assert list(grid["f"].cat.categories) == ["ctl", "trt"]
    assert (grid["g"] == data["g"].value_counts().idxmax()).all()
    assert hglm.datagrid(gaussian_fit)["x"].iloc[0] == pytest.approx(data["x"].mean())


def test_draws_are_kept_through_selection(gaussian_fit):
    ours = hglm.predictions(gaussian_fit, by="f")
    assert ours.draws.shape == (2, gaussian_fit.settings.draws, 2)
    assert isinstance(ours, hglm.interpret.effects.Effects)


@pytest.mark.parametrize("call, message", [
    (lambda f: hglm.comparisons(f, "z"), "'z' not a variable of the model"),
    (lambda f: hglm.slopes(f, "f"), "slopes need a numeric variable"),
    (lambda f: hglm.predictions(f, newdata=hglm.datagrid(f, g=["new"]),
                                allow_new_levels=False), "levels of 'g' the model has not seen"),
    (lambda f: hglm.predictions(f, re_formula="~ (1 | h)"), "re_formula names group 'h'"),
    (lambda f: hglm.predictions(f, by="nope"), "by: 'nope' not among"),
    (lambda f: hglm.comparisons(f, "x", comparison="odds"), "comparison must be one of"),
    (lambda f: hglm.comparisons(f, {"f": "helmert"}), "a factor's contrast is"),
    (lambda f: hglm.datagrid(f, z=[1]), "datagrid: 'z' not in the model"),
    (lambda f: hglm.predictions(f, type="mean"), "type must be one of"),
])
def test_bad_input_is_a_clear_error(gaussian_fit, call, message):
    with pytest.raises(ValueError, match=message):
        call(gaussian_fit)


def test_conditional_effects_draw_one_figure_per_variable(gaussian_fit):
    import matplotlib

    matplotlib.use("Agg")
    figures = gaussian_fit.conditional_effects()
    assert list(figures) == ["x", "f"]
    line = figures["x"].axes[0].lines[0]
    beta = draws_matrix(gaussian_fit.posterior, "beta")
    x = line.get_xdata()
    # f at its most frequent level, g's effect left out: the fixed part's posterior mean
    f_hi = float(gaussian_fit.design.data["f"].value_counts().idxmax() == "trt")
    expected = (beta[:, [0]] + beta[:, [1]] * x + beta[:, [2]] * f_hi).mean(axis=0)
    np.testing.assert_allclose(line.get_ydata(), expected)
    interaction = gaussian_fit.conditional_effects("x:f")["x:f"]
    assert len(interaction.axes[0].lines) == 2
    comparison = hglm.plot_comparisons(gaussian_fit, "f", "x")
    assert comparison.axes[0].lines

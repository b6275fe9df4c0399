"""A Dask frame reduced to its distinct rows: the same model as the pandas frame of all rows.

Same model means the same default priors, the same parameterization and the same log density
and gradient at any point (to floating-point rounding, the sums being taken in another
order).  Draws are compared within Monte Carlo error, not draw for draw: NUTS amplifies
rounding differences, so even the pandas frame with its rows shuffled gives other draws
from the same seed (the same posterior).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import hglm
from hglm.design.distributed import is_dask

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

SMALL = dict(draws=500, tune=500, chains=2, progressbar=False)


@pytest.fixture(scope="module")
def client():
    """A local cluster of two worker processes: partitions are reduced where they lie."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def _frame(seed: int = 1, n: int = 3000, groups: int = 30) -> pd.DataFrame:
    """Discrete covariates, a few hundred distinct rows: bernoulli, binomial and count
    responses of one linear predictor."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    x = rng.integers(0, 3, n)
    c = rng.choice(["a", "b", "c"], n)
    eta = -0.3 + 0.4 * x + 0.3 * (c == "b") + rng.normal(0, 0.6, groups)[g] \
        + rng.normal(0, 0.2, groups)[g] * x
    trials = rng.integers(1, 4, n)
    return pd.DataFrame({
        "y": rng.binomial(1, 1 / (1 + np.exp(-eta))),
        "k": rng.binomial(trials, 1 / (1 + np.exp(-eta))), "n": trials,
        "count": rng.poisson(np.exp(eta)), "x": x, "c": c,
        "g": pd.Categorical([f"g{i}" for i in g])})


CASES = {
    "bernoulli": "y ~ x + c + (1 | g)",
    "binomial": "cbind(k, n - k) ~ c + (1 | g)",
    "poisson": "count ~ x + c + (1 + x | g)",
    "negbinomial": "count ~ c + (1 | g)",
}


def _models(family: str, frame: pd.DataFrame, partitions: int = 4):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pandas = hglm.Model(CASES[family], frame, family=family)
        dask = hglm.Model(CASES[family], dd.from_pandas(frame, npartitions=partitions),
                          family=family)
    return pandas, dask


def _points(model, n: int, seed: int) -> list[dict]:
    """Unconstrained points around the model's initial point."""
    rng = np.random.default_rng(seed)
    start = model.pymc_model.initial_point()
    return [{k: v + rng.normal(0, 0.3, np.shape(v)) for k, v in start.items()}
            for _ in range(n)]


@pytest.mark.parametrize("family", list(CASES))
def test_reduced_model_is_the_model_of_all_rows(client, family):
    frame = _frame()
    pandas, dask = _models(family, frame)
    assert dask.reduction.rows == len(frame) and dask.reduction.partitions == 4
    assert dask.design.n < len(frame) / 2                   # it reduced
    assert dask.design.n_rows == len(frame) == int(dask.design.counts.sum())
    pd.testing.assert_frame_equal(dask.priors, pandas.priors)
    assert dask.parameterization == pandas.parameterization
    ours, theirs = dask.pymc_model, pandas.pymc_model
    assert [v.name for v in ours.value_vars] == [v.name for v in theirs.value_vars]
    logp = (ours.compile_logp(mode="FAST_COMPILE"), theirs.compile_logp(mode="FAST_COMPILE"))
    dlogp = (ours.compile_dlogp(mode="FAST_COMPILE"), theirs.compile_dlogp(mode="FAST_COMPILE"))
    for point in _points(pandas, 4, seed=2):
        assert logp[0](point) == pytest.approx(logp[1](point), rel=1e-10)
        np.testing.assert_allclose(dlogp[0](point), dlogp[1](point), rtol=1e-8, atol=1e-8)


def test_reduction_does_not_depend_on_partitions(client):
    frame = _frame(seed=3)
    one = hglm.Model(CASES["poisson"], dd.from_pandas(frame, npartitions=1), family="poisson")
    seven = hglm.Model(CASES["poisson"], dd.from_pandas(frame, npartitions=7),
                       family="poisson")
    pd.testing.assert_frame_equal(one.data, seven.data)
    assert one.reduction.distinct == seven.reduction.distinct == len(one.data)
    # every distinct row once, and as often as the pandas frame has it
    keys = ["count", "x", "c", "g"]
    expected = frame.groupby(keys, observed=True).size().rename("expected").reset_index()
    merged = one.data.merge(expected, on=keys, how="outer", validate="1:1")
    assert (merged["expected"] == merged[one.spec.counts]).all()


@pytest.fixture(scope="module")
def bernoulli_fits(client):
    pandas, dask = _models("bernoulli", _frame(seed=4))
    return pandas.fit(seed=5, **SMALL), dask.fit(seed=6, **SMALL)


def test_posteriors_agree_within_monte_carlo_error(bernoulli_fits):
    import arviz as az

    ours, theirs = bernoulli_fits
    for name in ("beta", "sd_g"):
        a, b = ours.posterior[name], theirs.posterior[name]
        mcse = np.hypot(az.mcse(a.to_dataset()).to_array().values,
                        az.mcse(b.to_dataset()).to_array().values)
        gap = np.abs(a.mean(("chain", "draw")).values - b.mean(("chain", "draw")).values)
        assert (gap <= 4 * mcse.ravel()).all(), (name, gap, mcse)
    assert "3000 observations (" in theirs.summary()       # the user's rows, then distinct


def test_maximum_likelihood_is_the_same(client):
    pandas, dask = _models("bernoulli", _frame(seed=4))
    assert dask.fit_ml().logLik == pytest.approx(pandas.fit_ml().logLik, rel=1e-8)


def test_saved_fit_reloads_the_reduced_rows(bernoulli_fits, tmp_path):
    fit = bernoulli_fits[1]
    fit.save(tmp_path / "fit")
    loaded = hglm.load(tmp_path / "fit")
    assert loaded.design.n_rows == fit.design.n_rows and loaded.design.n == fit.design.n
    pd.testing.assert_frame_equal(loaded.fixef(), fit.fixef())


def test_update_reduces_again(client):
    _, dask = _models("bernoulli", _frame(seed=4))
    smaller = dask.update(formula="y ~ c + (1 | g)")
    assert is_dask(smaller.source_data)
    assert smaller.design.n_rows == 3000 and smaller.design.n < dask.design.n


def test_compare_needs_the_same_distinct_rows(bernoulli_fits):
    fit = bernoulli_fits[1]
    other = fit.model.update(formula="y ~ c + (1 | g)").fit(seed=1, **SMALL)
    with pytest.raises(ValueError, match="reduced to distinct rows of different columns"):
        hglm.compare(fit, other, bayes_factors=False)
    # the same columns, another random structure: the same distinct rows, LOO on them
    slope = fit.model.update(formula="y ~ x + c + (1 + x | g)").fit(seed=1, **SMALL)
    comparison = hglm.compare(fit, slope, bayes_factors=False)
    assert comparison.n_obs == 3000 and np.isfinite(comparison.table["elpd_loo"]).all()
    assert any("PSIS-LOO is over the 3,000 rows" in n for n in comparison.notes)


def test_parquet_files_read_with_dask(client, tmp_path):
    frame = _frame(seed=7)
    for i in range(3):
        frame.iloc[i * 1000:(i + 1) * 1000].to_parquet(tmp_path / f"part{i}.parquet")
    model = hglm.Model(CASES["bernoulli"], str(tmp_path / "*.parquet"), family="bernoulli",
                       engine="dask")
    pandas, _ = _models("bernoulli", frame)
    assert model.reduction.partitions == 3
    pd.testing.assert_frame_equal(model.priors, pandas.priors)


def _error(formula: str, data, **kwargs) -> str:
    with pytest.raises(ValueError) as info:
        hglm.Model(formula, data, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("formula, family, change", [
    ("y ~ x + (1 | zz)", "bernoulli", {}),                          # a missing column
    ("c ~ x + (1 | g)", "poisson", {}),                             # a non-numeric response
    ("y ~ x + (1 | g)", "poisson", {"y": ["a", "b"] * 1500}),       # ... given as labels
])
def test_bad_input_is_the_pandas_error(client, formula, family, change):
    frame = _frame().assign(**change)
    ours = _error(formula, dd.from_pandas(frame, npartitions=3), family=family)
    assert ours == _error(formula, frame, family=family)


def test_a_partition_of_another_type_is_named(client):
    ddf = dd.from_pandas(_frame(), npartitions=3)

    def spoil(part, partition_info=None):
        number = (partition_info or {}).get("number")
        return part.assign(x=part["x"].astype(str)) if number == 2 else part

    spoiled = ddf.map_partitions(spoil, meta=ddf._meta, partition_info=True)
    message = _error(CASES["bernoulli"], spoiled, family="bernoulli")
    assert "partition 2 of the data: column 'x' has type" in message


def test_models_that_do_not_reduce_are_refused_with_the_reason(client):
    frame = _frame().assign(z=np.random.default_rng(0).normal(size=3000))
    ddf = dd.from_pandas(frame, npartitions=3)
    message = _error("count ~ z + (1 | g)", ddf, family="poisson")
    assert "does not reduce" in message and "'z' (about" in message and "Bin" in message
    assert "exact for gaussian models with the identity link only" in message
    message = _error("y ~ bs(x, df=4) + (1 | g)", ddf, family="bernoulli")
    assert "bs() depends on the whole column" in message
    message = _error("z ~ poly(x, 2) + (1 | g)", ddf)             # gaussian: moment points
    assert "poly() depends on the whole column" in message
    message = _error("z ~ scale(np.log(n)) + (1 | g)", ddf)
    assert "center() and scale() take a numeric column" in message


def test_poly_on_distinct_rows_is_the_basis_of_every_row(client):
    frame = _frame()
    formula = "y ~ poly(x, 2) + c + (1 | g)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pandas = hglm.Model(formula, frame, family="bernoulli")
        dask = hglm.Model(formula, dd.from_pandas(frame, npartitions=3), family="bernoulli")
    assert dask.design.n <= 2 * 3 * 3 * 30        # y, x, c, g: distinct rows, not 3,000
    pd.testing.assert_frame_equal(dask.priors, pandas.priors)
    logp = [m.pymc_model.compile_logp(mode="FAST_COMPILE") for m in (dask, pandas)]
    for point in _points(pandas, 2, seed=3):
        assert logp[0](point) == pytest.approx(logp[1](point), rel=1e-10)


def test_center_and_scale_are_those_of_all_rows(client):
    frame = _frame()
    formula = "y ~ scale(x) + c + (1 + center(x) | g)"
    pandas = hglm.Model(formula, frame, family="bernoulli")
    dask = hglm.Model(formula, dd.from_pandas(frame, npartitions=3), family="bernoulli")
    pd.testing.assert_frame_equal(dask.priors, pandas.priors)
    point = _points(pandas, 1, seed=3)[0]
    assert dask.pymc_model.compile_logp(mode="FAST_COMPILE")(point) == pytest.approx(
        pandas.pymc_model.compile_logp(mode="FAST_COMPILE")(point), rel=1e-10)
    from hglm.design.matrices import evaluate_new_data

    new = frame.iloc[:7]          # new data: the full data's mean and sd, not the distinct rows'
    np.testing.assert_allclose(evaluate_new_data(dask.design, new).X,
                               evaluate_new_data(pandas.design, new).X, rtol=1e-12)


def test_engine_is_checked():
    assert "engine must be" in _error("y ~ x", _frame(), engine="spark")
    assert "a pandas DataFrame is fitted as it is" in _error("y ~ x", _frame(), engine="dask")


def _crossed(seed: int = 0, n: int = 4000) -> pd.DataFrame:
    """A gaussian response with a continuous covariate and two crossed factors."""
    rng = np.random.default_rng(seed)
    s, d = rng.integers(0, 40, n), rng.integers(0, 8, n)
    x = rng.normal(size=n)
    y = 2 + 0.5 * x + rng.normal(0, 1, 40)[s] + rng.normal(0, 0.7, 8)[d] \
        + rng.normal(0, 0.3, 40)[s] * x + rng.normal(0, 1, n)
    return pd.DataFrame({"y": y, "x": x, "s": [f"s{i}" for i in s], "d": d})


@pytest.mark.parametrize("formula, data", [
    ("Reaction ~ Days + (Days | Subject)", "sleepstudy"),
    ("y ~ x + (1 + x | s) + (1 | d)", "crossed"),
    ("y ~ scale(x) + (1 + center(x) | s) + (1 | d)", "crossed"),
])
def test_gaussian_moments_are_the_model_of_all_rows(client, formula, data):
    frame = hglm.datasets.load(data) if data == "sleepstudy" else _crossed()
    pandas = hglm.Model(formula, frame)
    dask = hglm.Model(formula, dd.from_pandas(frame, npartitions=3))
    assert dask.design.moments and dask.design.n < len(frame) / 2
    assert dask.design.n_rows == len(frame) and dask.reduction.rows == len(frame)
    pd.testing.assert_frame_equal(dask.priors, pandas.priors)
    assert dask.parameterization == pandas.parameterization
    logp = [m.pymc_model.compile_logp(mode="FAST_COMPILE") for m in (dask, pandas)]
    dlogp = [m.pymc_model.compile_dlogp(mode="FAST_COMPILE") for m in (dask, pandas)]
    for point in _points(pandas, 3, seed=1):
        assert logp[0](point) == pytest.approx(logp[1](point), rel=1e-10)
        np.testing.assert_allclose(dlogp[0](point), dlogp[1](point), rtol=1e-7, atol=1e-7)
    assert dask.fit_ml().logLik == pytest.approx(pandas.fit_ml().logLik, rel=1e-9)
    assert dask.fit_ml(reml=True).logLik == pytest.approx(pandas.fit_ml(reml=True).logLik,
                                                          rel=1e-9)


def test_moment_fit_summarises_and_predicts_but_has_no_rows(client):
    sleep = hglm.datasets.load("sleepstudy")
    model = hglm.Model("Reaction ~ Days + (Days | Subject)", dd.from_pandas(sleep, 3))
    fit = model.fit(seed=2, **SMALL)
    assert "180 observations (as 72 moment points)" in fit.summary()
    assert fit.ranef().shape[0] == 36
    new = sleep.iloc[:5]
    assert fit.predict(new).shape[0] == 5
    with pytest.raises(ValueError, match="pointwise log-likelihood .* needs the data's rows"):
        fit.log_likelihood()
    with pytest.raises(ValueError, match="give newdata"):
        fit.predict()
    with pytest.raises(ValueError, match="saving a fit"):
        fit.save("never-written")
    with pytest.raises(ValueError, match="prior_sweep .* needs the data's rows"):
        hglm.prior_sweep(model, {"a": None})


def _row_loo(posterior, design):
    """ArviZ's LOO of every row of a pandas design under ``posterior``'s draws."""
    import arviz as az
    import xarray as xr

    from hglm.results.predict import pointwise_log_likelihood

    ll = pointwise_log_likelihood(design, posterior)
    dims = ("chain", "draw", "obs")
    data = xr.Dataset({"y": (dims, ll.reshape(posterior.sizes["chain"], -1, ll.shape[1]))},
                      coords={"chain": posterior.chain, "draw": posterior.draw})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return az.loo(az.InferenceData(posterior=posterior, log_likelihood=data), pointwise=True)


def test_moment_fits_are_scored_at_the_rows_of_the_frame(client):
    sleep = hglm.datasets.load("sleepstudy")
    ddf = dd.from_pandas(sleep, npartitions=3)
    formulas = ["Reaction ~ Days + (Days | Subject)", "Reaction ~ Days + (1 | Subject)"]
    fits = [hglm.Model(f, ddf).fit(seed=2 + k, **SMALL) for k, f in enumerate(formulas)]
    # independently: ArviZ on the 180 rows of the pandas frame, under the same draws
    theirs = [_row_loo(f.posterior, hglm.Model(text, sleep).design)
              for f, text in zip(fits, formulas)]
    ours = fits[0].loo()
    assert ours.n_rows == 180 and ours.draws == 1000
    assert ours.elpd == pytest.approx(theirs[0].elpd_loo, rel=1e-9)
    assert ours.se == pytest.approx(theirs[0].se, rel=1e-7)
    assert ours.p_loo == pytest.approx(theirs[0].p_loo, rel=1e-7)
    assert ours.n_bad_k == int(np.sum(theirs[0].pareto_k.values > 0.7))
    table = hglm.compare(*fits, bayes_factors=False).table
    m0_minus_m1 = theirs[1].loo_i.values - theirs[0].loo_i.values    # m0: fewer parameters
    worse, diff = ("m0", m0_minus_m1) if m0_minus_m1.sum() < 0 else ("m1", -m0_minus_m1)
    assert table.loc[worse, "elpd_diff"] == pytest.approx(diff.sum(), rel=1e-8)
    assert table.loc[worse, "se_diff"] == pytest.approx(np.sqrt(180 * np.var(diff)), rel=1e-6)
    assert table["w_stack"].isna().all()


def test_crossed_cells_of_single_rows_do_not_reduce(client):
    frame = _crossed().assign(s=[f"s{i}" for i in range(4000)])
    with pytest.raises(ValueError, match="4,000 cells"):
        hglm.Model("y ~ x + (1 | s) + (1 | d)", dd.from_pandas(frame, npartitions=2))

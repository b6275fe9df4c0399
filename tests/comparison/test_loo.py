"""PSIS-LOO over the rows a fit stands for: ArviZ's own numbers on plain rows, and on
distinct rows with counts exactly ArviZ's LOO of all the rows they stand for."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import hglm
from hglm.comparison.loo import weighted_elpd
from hglm.results.predict import pointwise_log_likelihood

SMALL = dict(draws=400, tune=400, chains=2, progressbar=False)
FORMULA = "y ~ x + (1 | g)"


def _frame(seed: int = 3, n: int = 1500, groups: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    x = rng.integers(0, 3, n)
    eta = -0.2 + 0.5 * x + rng.normal(0, 0.7, groups)[g]
    return pd.DataFrame({"y": rng.binomial(1, 1 / (1 + np.exp(-eta))), "x": x,
                         "g": pd.Categorical([f"g{i:02d}" for i in g])})


def _arviz_loo(posterior, ll: np.ndarray):
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    data = xr.Dataset({"y": (("chain", "draw", "obs"), ll.reshape(chains, draws, -1))},
                      coords={"chain": posterior.chain, "draw": posterior.draw})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return az.loo(az.InferenceData(posterior=posterior, log_likelihood=data), pointwise=True)


@pytest.fixture(scope="module")
def plain_fit():
    return hglm.Model(FORMULA, _frame(), family="bernoulli").fit(seed=1, **SMALL)


def test_loo_of_plain_rows_is_arviz_loo(plain_fit):
    ours = plain_fit.loo()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = az.loo(plain_fit.idata, pointwise=True)
    assert ours.elpd == pytest.approx(theirs.elpd_loo, rel=1e-12)
    assert ours.se == pytest.approx(theirs.se, rel=1e-10)
    assert ours.p_loo == pytest.approx(theirs.p_loo, rel=1e-10)
    np.testing.assert_allclose(ours.pareto_k, theirs.pareto_k.values)
    posterior = plain_fit.posterior
    assert ours.n_rows == 1500 and ours.draws == posterior.sizes["chain"] * posterior.sizes["draw"]


def test_thinned_loo_uses_fewer_draws(plain_fit):
    thinned = plain_fit.loo(draws=200)
    assert thinned.draws == 200
    # the same rows, a noisier estimate of the same quantity: within a few of its SEs
    assert abs(thinned.elpd - plain_fit.loo().elpd) < thinned.se


def test_distinct_rows_give_the_loo_of_every_row_they_stand_for():
    frame = _frame()
    reduced = frame.groupby(["y", "x", "g"], observed=True).size().rename("n").reset_index()
    fit = hglm.Model(FORMULA, reduced, family="bernoulli", counts="n").fit(seed=2, **SMALL)
    # independently: every one of the 1,500 rows scored under the same draws
    rows = hglm.Model(FORMULA, frame, family="bernoulli").design
    theirs = _arviz_loo(fit.posterior, pointwise_log_likelihood(rows, fit.posterior))
    ours = fit.loo()
    assert len(reduced) < 200 and ours.n_rows == 1500
    assert ours.elpd == pytest.approx(theirs.elpd_loo, rel=1e-10)
    assert ours.se == pytest.approx(theirs.se, rel=1e-8)
    assert ours.p_loo == pytest.approx(theirs.p_loo, rel=1e-8)
    assert ours.n_bad_k == int(np.sum(theirs.pareto_k.values > 0.7))


def test_weighted_elpd_is_that_of_the_repeated_rows():
    values, counts = np.array([-1.0, -0.2, -3.5]), np.array([3, 1, 2])
    repeated = np.repeat(values, counts)
    total, se = weighted_elpd(values, counts)
    assert total == pytest.approx(repeated.sum())
    assert se == pytest.approx(np.sqrt(len(repeated) * np.var(repeated)))

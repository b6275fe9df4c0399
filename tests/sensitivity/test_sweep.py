import pandas as pd
import pymc as pm
import pytest

import hglm

VARIANTS = {"default": None, "tight sd": {"sd": "HalfNormal(1)"},
            "wide sd": {"sd": "HalfNormal(100)"}}
SMALL = dict(draws=200, tune=200, chains=2, seed=3, progressbar=False)


@pytest.fixture(scope="module")
def model(sleepstudy):
    return hglm.Model("Reaction ~ Days + (Days | Subject)", sleepstudy)


@pytest.fixture(scope="module")
def local_sweep(model):
    return hglm.prior_sweep(model, VARIANTS, **SMALL)


@pytest.mark.slow
def test_table_and_figure(local_sweep):
    t = local_sweep.table
    assert list(t.columns) == ["variant", "parameter", "mean", "sd", "lower", "upper", "r_hat",
                               "ess"]
    assert list(dict.fromkeys(t.variant)) == list(VARIANTS)
    assert set(t.parameter) == {"beta[Intercept]", "beta[Days]", "sd_Subject[Intercept]",
                                "sd_Subject[Days]", "cor_Subject[Intercept:Days]", "sigma"}
    sd = t[t.parameter == "sd_Subject[Days]"].set_index("variant")["mean"]
    assert sd["tight sd"] < sd["wide sd"]    # the tight prior pulls the slope sd in
    fig = local_sweep.plot()
    assert len(fig.axes) == 6


@pytest.mark.slow
def test_one_compile_per_variant(model, monkeypatch):
    calls = []
    original = pm.Model.logp_dlogp_function

    def counting(self, *args, **kwargs):
        calls.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pm.Model, "logp_dlogp_function", counting)
    # a fit whose R-hat runs it on samples (and PyMC's sampler compiles) once more: counted
    # apart from the sweep's own work here, so no variant runs on
    from hglm import model as model_module

    monkeypatch.setattr(model_module, "EXTEND_RHAT_UP_TO", 0.0)
    hglm.prior_sweep(model, VARIANTS, n_jobs=1, **SMALL)   # in-process, so the count is seen
    assert len(calls) == len(VARIANTS)
    assert len({id(m) for m in calls}) == len(VARIANTS)


@pytest.mark.slow
def test_dask_backend_matches_local(model, local_sweep):
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        sweep = hglm.prior_sweep(model, VARIANTS, backend="dask", client=client, **SMALL)
    pd.testing.assert_frame_equal(sweep.table, local_sweep.table)


def test_bad_variant_fails_before_fitting(model):
    with pytest.raises(ValueError, match="prior variant 'oops': .*'sdd' matches nothing"):
        hglm.prior_sweep(model, {"oops": {"sdd": "HalfNormal(1)"}}, **SMALL)
    with pytest.raises(ValueError, match="backend must be"):
        hglm.prior_sweep(model, VARIANTS, backend="spark", **SMALL)

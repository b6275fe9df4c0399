"""Every parallel workload on every backend: prior sweeps, SBC and grouped K-fold give the
same tables on this machine's processes, a Dask cluster and Ray (each started locally with
two worker processes), as their seeds fix every fit."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import hglm
from hglm.parallel import backend_context
from hglm.validation.models import sbc_model

pytestmark = pytest.mark.slow
SMALL = dict(draws=150, tune=150, chains=2, seed=3)
VARIANTS = {"default": None, "tight sd": {"sd": "HalfNormal(1)"}}


@pytest.fixture(scope="module", params=["dask", "ray"])
def backend(request):
    """(name, client) of a running local cluster of two worker processes."""
    if request.param == "dask":
        distributed = pytest.importorskip("distributed")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            yield "dask", client
    else:
        ray = pytest.importorskip("ray")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 object_store_memory=200 * 1024**2)
        try:
            yield "ray", None
        finally:
            ray.shutdown()


@pytest.fixture(scope="module")
def sleep_model(sleepstudy):
    return hglm.Model("Reaction ~ Days + (Days | Subject)", sleepstudy)


@pytest.fixture(scope="module")
def sleep_fit(sleep_model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sleep_model.fit(progressbar=False, **SMALL)


def test_prior_sweep(backend, sleep_model):
    name, client = backend
    local = hglm.prior_sweep(sleep_model, VARIANTS, progressbar=False, **SMALL)
    remote = hglm.prior_sweep(sleep_model, VARIANTS, backend=name, client=client,
                              progressbar=False, **SMALL)
    pd.testing.assert_frame_equal(remote.table, local.table)


def test_sbc(backend):
    name, client = backend
    kw = dict(n_sims=10, draws=100, tune=150, chains=2, seed=3, progressbar=False)
    local = hglm.sbc(sbc_model("gaussian"), **kw)
    remote = hglm.sbc(sbc_model("gaussian"), backend=name, client=client, n_jobs=2, **kw)
    cols = ["sim", "parameter", "rank", "u"]
    pd.testing.assert_frame_equal(remote.ranks[cols], local.ranks[cols])


def test_grouped_kfold(backend, sleep_fit):
    from hglm.comparison.kfold import kfold

    name, client = backend
    local = kfold(sleep_fit, "Subject", K=3, n_jobs=1)
    remote = kfold(sleep_fit, "Subject", K=3, backend=name, client=client)
    assert remote.elpd == local.elpd and (remote.pointwise == local.pointwise).all()


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend must be"), backend_context("spark"):
        pass

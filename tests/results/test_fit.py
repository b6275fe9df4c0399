import re

import numpy as np
import pandas as pd

import hglm


def test_summary_reads_like_lme4(sleep_fit):
    text = sleep_fit.summary()
    for piece in ("Family: gaussian  ( identity )", "Formula: Reaction ~ Days + (Days | Subject)",
                  "Random effects", "Residual", "Fixed effects:",
                  "Estimate  Est.Error  l-95% CI  u-95% CI   Rhat  Bulk_ESS  Tail_ESS",
                  "Number of obs: 180, groups:  Subject, 18",
                  "divergent transitions", "2 chains x 1000 draws"):
        assert piece in text, piece
    assert re.search(r"\n +Subject +\(Intercept\) +[0-9.]+ +[0-9.]+ +[0-9.]+\n"
                     r" +Days +[0-9.]+ .* [+-]0\.\d\d\n", text)
    assert re.search(r"\n\(Intercept\) +25\d\.\d{3} ", text)


def test_tables(sleep_fit):
    fe = sleep_fit.fixef()
    assert list(fe.term) == ["Intercept", "Days"]
    assert list(fe.columns) == ["term", "mean", "sd", "lower", "upper", "r_hat", "ess_bulk",
                                "ess_tail"]
    vc = sleep_fit.varcorr()
    assert list(vc.columns) == ["group", "name", "kind", "mean", "sd", "lower", "upper",
                                "ess_bulk", "r_hat"]
    assert vc[["group", "name", "kind"]].values.tolist() == [
        ["Subject", "Intercept", "sd"], ["Subject", "Days", "sd"],
        ["Subject", "Intercept:Days", "cor"], ["Residual", "sigma", "sd"]]
    re = sleep_fit.ranef()
    assert len(re) == 36 and set(re.term) == {"Intercept", "Days"}
    co = sleep_fit.coef()
    assert list(co.columns) == ["group", "level", "term", "mean", "sd", "lower", "upper"]
    # coef = fixef + ranef, draw by draw, so the means add up too
    merged = co.merge(re, on=["group", "level", "term"], suffixes=("", "_r"))
    fixed = merged.term.map(dict(zip(fe.term, fe["mean"])))
    np.testing.assert_allclose(merged["mean"], merged["mean_r"] + fixed, rtol=1e-9)
    assert list(sleep_fit.posterior["r_Subject"].coords["Subject"].values[:2]) == ["308", "309"]


def test_save_load_round_trip(sleep_fit, tmp_path):
    path = tmp_path / "sleep"
    sleep_fit.save(path)
    again = hglm.load(path)
    assert again.summary() == sleep_fit.summary()
    pd.testing.assert_frame_equal(again.varcorr(), sleep_fit.varcorr())
    assert again.model.formula == sleep_fit.model.formula
    assert again.model.parameterization == sleep_fit.model.parameterization
    assert again.model.pymc_model["Reaction_marginal"] is not None  # the model rebuilds


def test_save_never_overwrites_by_accident(sleep_fit, tmp_path):
    path = tmp_path / "keep"
    path.mkdir()
    (path / "mine.txt").write_text("precious")
    import pytest
    with pytest.raises(FileExistsError):
        sleep_fit.save(path)
    with pytest.raises(FileExistsError, match="not a saved hglm fit"):
        sleep_fit.save(path, overwrite=True)
    assert (path / "mine.txt").read_text() == "precious"


def test_integrated_effects_are_drawn_on_first_use(monkeypatch):
    """The marginal strategy's group effects are drawn when ``idata`` is first used, not by
    ``fit`` (when the pointwise log-likelihood is not stored at once): the summary and the
    diagnostics do without them, the draws are the same whenever they are made, and a fit
    not yet completed pickles."""
    import pickle

    from hglm import model as model_module

    monkeypatch.setattr(model_module, "LOG_LIKELIHOOD_EAGER", 0)
    m = hglm.Model("Reaction ~ Days + (Days | Subject)", hglm.datasets.load("sleepstudy"))
    fit = m.fit(draws=100, tune=100, chains=2, seed=3, progressbar=False, extend=False)
    assert m.parameterization["Subject"] == "marginalized"
    assert "r_Subject" not in fit._sampled and "sd_Subject" in fit._sampled
    assert "Subject" in fit.summary() and len(fit.varcorr()) == 4     # 2 sds, cor, sigma
    assert fit.diagnostics.draws == 200 and "r_Subject" not in fit._sampled
    copy = pickle.loads(pickle.dumps(fit))
    effects = fit.posterior["r_Subject"].values
    assert effects.shape == (2, 100, 18, 2)
    np.testing.assert_array_equal(copy.posterior["r_Subject"].values, effects)

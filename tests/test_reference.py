"""Posteriors against lme4 on the bundled data (reference values: shared notes, lme4 1.1-31)."""

import warnings

import numpy as np

import hglm
from tests.conftest import FAST


def _fit(formula, data, family, seed=1, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hglm.Model(formula, data, family).fit(seed=seed, **{**FAST, **kw})


def _close(fe, name, reference, within=0.5):
    row = fe.set_index("term").loc[name]
    assert abs(row["mean"] - reference) < within * row["sd"], (
        name, row["mean"], reference, row["sd"])


def test_sleepstudy_matches_lme4(sleep_fit):
    fe = sleep_fit.fixef()
    _close(fe, "Intercept", 251.40510)
    _close(fe, "Days", 10.46729)
    vc = sleep_fit.varcorr().set_index("name")
    # REML estimates 24.74, 5.92, 0.066: inside the 95% interval and within one posterior sd
    for name, ref in (("Intercept", 24.74066), ("Days", 5.92214), ("Intercept:Days", 0.06555),
                      ("sigma", 25.59180)):
        row = vc.loc[name]
        assert row["lower"] < ref < row["upper"], name
        assert abs(row["mean"] - ref) < row["sd"], (name, row["mean"], ref)


def test_cbpp_matches_glmer():
    fit = _fit("cbind(incidence, size - incidence) ~ period + (1 | herd)",
               hglm.datasets.load("cbpp"), "binomial")
    fe = fit.fixef()
    for name, ref in (("Intercept", -1.39834), ("period[2]", -0.99192), ("period[3]", -1.12822),
                      ("period[4]", -1.57975)):
        _close(fe, name, ref)
    sd = fit.varcorr().set_index("group").loc["herd"]
    assert sd["lower"] < 0.64207 < sd["upper"]


def test_grouseticks_matches_glmer():
    fit = _fit("TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD) + (1 | LOCATION)",
               hglm.datasets.load("grouseticks"), "poisson", tune=1000, target_accept=0.95)
    fe = fit.fixef()
    # formulae's scale() divides by the population sd, R's by the sample sd: rescale lme4's slope
    n = 403
    for name, ref in (("Intercept", 0.46686), ("YEAR[96]", 1.16558), ("YEAR[97]", -0.97793),
                      ("scale(HEIGHT)", -0.84664 * np.sqrt((n - 1) / n))):
        _close(fe, name, ref)
    # broods nested in locations: the strategy's default target_accept is 0.95 here (at 0.9
    # every peer, and hglm, left divergences); the test states it so it does not depend on it
    assert fit.diagnostics.divergences <= 0.01 * fit.diagnostics.draws

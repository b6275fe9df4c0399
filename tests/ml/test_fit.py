"""Maximum-likelihood fits against lme4 1.1-31 (shared notes: lme4-reference.md).

lme4 prints logLik to 4 decimals; 1e-3 allows that rounding and glmer's own stopping
(its Laplace optima are a few 1e-4 below hglm's polished ones, e.g. cbpp -92.0266 against
-92.02628); estimates to 1e-3 relative.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import hglm

LOGLIK_TOL, REL_TOL = 1e-3, 1e-3


def _rel(a, b):
    return abs(a - b) <= REL_TOL * abs(b)


def _check(ml, loglik, npar, fixef, sds):
    assert abs(ml.logLik - loglik) < LOGLIK_TOL, (ml.logLik, loglik)
    assert ml.npar == npar
    for name, ref in fixef.items():
        assert _rel(ml.fixef[name], ref), (name, ml.fixef[name], ref)
    vc = ml.varcorr.set_index(["group", "name"]).estimate
    for key, ref in sds.items():
        assert _rel(vc[key], ref), (key, vc[key], ref)
    assert ml.converged


@pytest.fixture(scope="module")
def data():
    return {n: hglm.datasets.load(n) for n in ("sleepstudy", "cbpp", "grouseticks", "dyestuff",
                                               "hsb82")}


def test_sleepstudy_ml(data):
    ml = hglm.Model("Reaction ~ Days + (Days | Subject)", data["sleepstudy"]).fit_ml()
    _check(ml, -875.9697, 6, {"Intercept": 251.40510, "Days": 10.46729},
           {("Subject", "Intercept"): 23.77976, ("Subject", "Days"): 5.71680,
            ("Subject", "Intercept:Days"): 0.08132, ("Residual", "sigma"): 25.59191})


def test_sleepstudy_reml(data):
    ml = hglm.Model("Reaction ~ Days + (Days | Subject)", data["sleepstudy"]).fit_ml(reml=True)
    _check(ml, -871.8141, 6, {"Intercept": 251.40510, "Days": 10.46729},
           {("Subject", "Intercept"): 24.74066, ("Subject", "Days"): 5.92214,
            ("Subject", "Intercept:Days"): 0.06555, ("Residual", "sigma"): 25.59180})


def test_sleepstudy_intercept_and_uncorrelated(data):
    ml = hglm.Model("Reaction ~ Days + (1 | Subject)", data["sleepstudy"]).fit_ml()
    _check(ml, -897.0393, 4, {"Intercept": 251.40510, "Days": 10.46729},
           {("Subject", "Intercept"): 36.01208, ("Residual", "sigma"): 30.89543})
    ml = hglm.Model("Reaction ~ Days + (Days || Subject)", data["sleepstudy"]).fit_ml()
    _check(ml, -876.0016, 5, {}, {("Subject", "Intercept"): 24.17159, ("Subject", "Days"): 5.79937})


def test_dyestuff_reml_and_ml(data):
    m = hglm.Model("Yield ~ 1 + (1 | Batch)", data["dyestuff"])
    _check(m.fit_ml(), -163.6635, 3, {"Intercept": 1527.5}, {("Batch", "Intercept"): 37.26035})
    _check(m.fit_ml(reml=True), -159.8271, 3, {}, {("Batch", "Intercept"): 42.00060,
                                                   ("Residual", "sigma"): 49.51010})


def test_cbpp_laplace(data):
    formula = "cbind(incidence, size - incidence) ~ period"
    ml = hglm.Model(formula + " + (1 | herd)", data["cbpp"], "binomial").fit_ml()
    _check(ml, -92.0266, 5, {"Intercept": -1.39834, "period[2]": -0.99192,
                             "period[3]": -1.12822, "period[4]": -1.57975},
           {("herd", "Intercept"): 0.64207})
    glm = hglm.Model(formula, data["cbpp"], "binomial").fit_ml()
    assert abs(glm.logLik - -99.0292) < LOGLIK_TOL and glm.npar == 4


def test_grouseticks_laplace(data):
    ml = hglm.Model("TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD) + (1 | LOCATION)",
                    data["grouseticks"], "poisson").fit_ml()
    # lme4 used R's scale() (sample sd), formulae's scale() uses the population sd: the
    # slopes differ by exactly sqrt((n - 1) / n), n = 403 rows
    _check(ml, -987.9382, 6, {"Intercept": 0.46686, "YEAR[96]": 1.16558, "YEAR[97]": -0.97793,
                              "scale(HEIGHT)": -0.84664 * np.sqrt(402 / 403)},
           {("BROOD", "Intercept"): 0.76965, ("LOCATION", "Intercept"): 0.57414})


def test_reml_only_for_gaussian(data):
    with pytest.raises(ValueError, match="REML is defined for gaussian"):
        hglm.Model("cbind(incidence, size - incidence) ~ period + (1 | herd)",
                   data["cbpp"], "binomial").fit_ml(reml=True)


def test_hsb82_random_intercept_and_slope(data):
    """A real gaussian model with one random intercept (the issue's 0.04 gap) and its
    random-slope extension: both at lme4's optimum, so their LRT is lme4's 4.5354."""
    small = hglm.Model("mAch ~ ses + (1 | school)", data["hsb82"]).fit_ml()
    _check(small, -23320.5023, 4, {"Intercept": 12.65762, "ses": 2.39150},
           {("school", "Intercept"): 2.17451, ("Residual", "sigma"): 6.08521})
    large = hglm.Model("mAch ~ ses + (ses | school)", data["hsb82"]).fit_ml()
    _check(large, -23318.2345, 6, {"Intercept": 12.66559, "ses": 2.39494},
           {("school", "Intercept"): 2.18745, ("school", "ses"): 0.63104,
            ("Residual", "sigma"): 6.06891})
    assert 2 * (large.logLik - small.logLik) == pytest.approx(4.5354, abs=2e-3)


def _no_group_effect(seed=0) -> pd.DataFrame:
    """Predictor and noise centered within each group: the group means of y are equal, so
    the maximum-likelihood group variance is exactly zero."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(10), 20)

    def within(v):
        return v - np.bincount(g, v)[g] / 20

    x, e = within(rng.normal(size=200)), within(rng.normal(size=200))
    return pd.DataFrame({"x": x, "y": 1 + x + e, "sep": (x > 0).astype(int),
                         "g": np.array(list("abcdefghij"))[g]})


def test_singular_fit_is_reported_as_lme4_does():
    with pytest.warns(hglm.SingularFitWarning, match="boundary \\(singular\\) fit"):
        ml = hglm.Model("y ~ x + (1 | g)", _no_group_effect()).fit_ml()
    assert ml.singular and ml.converged and ml.sd("g") == 0.0
    assert "variance of Intercept over g is estimated as zero" in ml.summary()


def test_correlation_at_one_is_named():
    from hglm.ml.fit import _singular
    from hglm.ml.objective import ParamLayout

    design = hglm.make_design("y ~ x + (1 + x | g)", _no_group_effect())
    layout = ParamLayout.from_design(design, reml=False)
    phi = np.zeros(layout.n_phi)
    phi[layout.theta[0]] = [1.0, 0.5, 0.0]         # second row of Lambda: [0.5, 0]
    (message,) = _singular(design, layout, phi)
    assert "x over g is perfectly correlated" in message


def test_perfect_separation_is_not_called_converged():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ml = hglm.Model("sep ~ x + (1 | g)", _no_group_effect(), "bernoulli").fit_ml()
    assert not ml.converged
    assert any(issubclass(w.category, hglm.ConvergenceWarning) and "perfect separation" in
               str(w.message) for w in caught)

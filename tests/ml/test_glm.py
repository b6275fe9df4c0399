"""Without random effects, fit_ml is a GLM: it matches statsmodels' maximum likelihood for
every family and link statsmodels has (an independent implementation: IRLS / Newton, not
hglm's code), and SciPy's optimizer on SciPy's densities (tests/spec/scipy_densities.py) for
the others."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import hglm
from tests.ml.test_scales import CASES, simulate
from tests.spec.scipy_densities import scipy_logpdf

LINKS = {"identity": sm.families.links.Identity, "log": sm.families.links.Log,
         "logit": sm.families.links.Logit, "probit": sm.families.links.Probit,
         "cloglog": sm.families.links.CLogLog}


def _statsmodels(family: str, link: str, data: pd.DataFrame):
    """(logLik, coefficients) of the same GLM in statsmodels (or SciPy)."""
    if family == "cumulative":
        return _ordered(link, data)
    X = sm.add_constant(np.column_stack([data.z, data.z**2]))
    if family not in ("gaussian", "student", "poisson", "negbinomial", "binomial", "bernoulli"):
        return _scipy(family, link, data, X)
    if family == "negbinomial":
        res = sm.NegativeBinomial(data.y, X).fit(disp=0, maxiter=200, method="bfgs", gtol=1e-10)
        return res.llf, res.params[:3]
    if family == "student":
        return _student(data, X)
    if family == "binomial":
        endog = np.column_stack([data.y, data.trials - data.y])
        fam = sm.families.Binomial(link=LINKS[link]())
    else:
        endog = data.y
        fam = {"gaussian": sm.families.Gaussian, "poisson": sm.families.Poisson,
               "bernoulli": sm.families.Binomial}[family](link=LINKS[link]())
    res = sm.GLM(endog, X, family=fam).fit(tol=1e-12, maxiter=200)
    if family != "gaussian":
        return res.llf, res.params
    # statsmodels' llf plugs in the Pearson scale; the maximum likelihood uses RSS / n
    resid = data.y - res.fittedvalues
    sigma = np.sqrt(np.mean(resid**2))
    return float(np.sum(stats.norm.logpdf(resid, 0, sigma))), res.params


def _scipy(family: str, link: str, data: pd.DataFrame, X: np.ndarray):
    """BFGS on SciPy's log densities over (coefficients, log or logit of each auxiliary
    parameter), then Nelder-Mead from there: the optimum to ~1e-9 in the log-likelihood."""
    from scipy import optimize, special

    family_obj = hglm.Family(family, link)
    aux = list(family_obj.aux)
    unit = [family_obj.aux_support(a) == "unit" for a in aux]
    y = data.y.to_numpy(dtype=float)
    trials = data.trials.to_numpy() if family_obj.response == "binomial" else None

    def loglik(theta):
        values = {a: (special.expit(t) if u else np.exp(t))
                  for a, t, u in zip(aux, theta[3:], unit)}
        with np.errstate(all="ignore"):
            value = np.sum(scipy_logpdf(family, link, y, X @ theta[:3], values, trials))
        return value if np.isfinite(value) else -1e300

    start = np.r_[family_obj.mean_on_link_scale(y, trials, 0.02), 0.0, 0.0, np.zeros(len(aux))]
    res = optimize.minimize(lambda t: -loglik(t), start, method="BFGS",
                            options={"gtol": 1e-9, "maxiter": 10_000})
    res = optimize.minimize(lambda t: -loglik(t), res.x, method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20_000})
    return -res.fun, res.x[:3]


def _ordered(link: str, data: pd.DataFrame):
    """statsmodels' OrderedModel (the same cumulative model, P(y <= k) = F(theta_k - x b)):
    (logLik, thresholds then coefficients, as fit_ml's fixef)."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    model = OrderedModel(data.y.to_numpy(), np.column_stack([data.z, data.z**2]), distr=link)
    res = model.fit(method="bfgs", maxiter=5000, gtol=1e-10, disp=0)
    res = model.fit(start_params=res.params, method="newton", maxiter=100, disp=0)
    thresholds = model.transform_threshold_params(res.params)[1:-1]
    return res.llf, np.r_[thresholds, res.params[:2]]


def _student(data: pd.DataFrame, X: np.ndarray):
    """statsmodels' t-errors linear model (generic MLE with numerical derivatives): BFGS from
    least squares, then Newton to the optimum."""
    from statsmodels.miscmodels.tmodel import TLinearModel

    model = TLinearModel(np.asarray(data.y), X)
    start = np.r_[np.linalg.lstsq(X, data.y, rcond=None)[0], 5.0, 0.5]   # beta, df, scale
    res = model.fit(start_params=start, method="bfgs", maxiter=2000, gtol=1e-10, disp=0)
    res = model.fit(start_params=res.params, method="newton", maxiter=100, disp=0)
    return res.llf, res.params[:3]


@pytest.mark.parametrize("family,link", CASES)
def test_fixed_effects_only_matches_statsmodels(family, link):
    data = simulate(family, link)
    response = "cbind(y, trials - y)" if hglm.Family(family).response == "binomial" else "y"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ml = hglm.Model(f"{response} ~ z + I(z**2)", data, family, link=link).fit_ml()
    loglik, params = _statsmodels(family, link, data)
    assert ml.converged
    assert ml.logLik == pytest.approx(loglik, abs=1e-6)
    np.testing.assert_allclose(ml.fixef.to_numpy(), np.asarray(params), rtol=1e-5, atol=1e-7)
    assert ml.npar == len(ml.fixef) + len(ml.varcorr)      # coefficients (thresholds), aux

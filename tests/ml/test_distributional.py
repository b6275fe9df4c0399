"""Maximum likelihood of distributional models (a formula for an auxiliary parameter).

Against glmmTMB's ``dispformula`` / ``ziformula`` (tests/reference/glmmtmb_distributional.csv,
made by glmmtmb_distributional.R): log-likelihoods within 1e-3 and estimates within 1e-3
relative, as the other glmmTMB comparisons (tests/spec/test_positive_families.py).  glmmTMB's
gaussian ``disp`` coefficients are those of log sigma^2, so hglm's log-sigma ones are half.

Group effects in an auxiliary formula are beyond glmmTMB 1.1.5, so the Laplace approximation
with them is checked against an independent NumPy/SciPy computation of the same integral
(per group: the mode of the integrand by BFGS, the Hessian by central differences).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import hglm

REFERENCE = Path(__file__).parents[1] / "reference"
LOGLIK_TOL, REL_TOL = 1e-3, 1e-3


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "glmmtmb_distributional.csv", keep_default_na=False)


def _grouse() -> pd.DataFrame:
    data = hglm.datasets.load("grouseticks")
    return data.assign(YEAR=data["YEAR"].astype("category"))


#: model -> (formula, data, family, auxiliary formulas, hglm's name of glmmTMB's parts, scale
#: of glmmTMB's auxiliary coefficients relative to hglm's)
MODELS = {
    "gaussian_sigma_days": ("Reaction ~ Days + (1 | Subject)",
                            lambda: hglm.datasets.load("sleepstudy"), "gaussian",
                            {"sigma": "~ Days"}, {"disp": "sigma"}, 2.0),
    "gaussian_sigma_days_slope": ("Reaction ~ Days + (Days | Subject)",
                                  lambda: hglm.datasets.load("sleepstudy"), "gaussian",
                                  {"sigma": "~ Days"}, {"disp": "sigma"}, 2.0),
    "negbinomial_disp_year": ("TICKS ~ YEAR + (1 | LOCATION)", _grouse, "negbinomial",
                              {"alpha": "~ YEAR"}, {"disp": "alpha"}, 1.0),
    "zip_zi_x": ("y ~ x + (1 | g)", lambda: pd.read_csv(REFERENCE / "zicounts_sim.csv"),
                 "zero_inflated_poisson", {"zi": "~ x"}, {"zi": "zi"}, 1.0),
}


def _hglm_name(name: str) -> str:
    """glmmTMB's coefficient names in hglm's spelling: (Intercept), YEAR96 -> YEAR[96]."""
    if name == "(Intercept)":
        return "Intercept"
    return f"YEAR[{name[4:]}]" if name.startswith("YEAR") else name


# all slow: each is a cold PyTensor compile of its own (about 10 s); the default suite's fits
# with a sigma formula are in tests/spec/test_distributional.py
@pytest.mark.parametrize("model", [pytest.param("gaussian_sigma_days", marks=pytest.mark.slow),
                                   pytest.param("gaussian_sigma_days_slope",
                                                marks=pytest.mark.slow),
                                   pytest.param("negbinomial_disp_year", marks=pytest.mark.slow),
                                   pytest.param("zip_zi_x", marks=pytest.mark.slow)])
def test_fit_ml_matches_glmmtmb(model, reference):
    formula, data, family, dpars, parts, factor = MODELS[model]
    ml = hglm.Model(formula, data(), family, **dpars).fit_ml()
    ref = reference[reference.model == model]
    loglik = float(ref[ref.quantity == "loglik"].value.iloc[0])
    assert abs(ml.logLik - loglik) < LOGLIK_TOL, (ml.logLik, loglik)
    assert ml.converged
    for row in ref.itertuples():
        value = float(row.value)
        if row.quantity == "cond":
            got = ml.fixef[_hglm_name(row.name)]
        elif row.quantity in parts:
            got = ml.fixef[f"{parts[row.quantity]}_{_hglm_name(row.name)}"] * factor
        elif row.quantity == "sd":
            group, term = row.name.split("|")
            got = ml.sd(group, _hglm_name(term))
        elif row.quantity == "cor":
            group, pair = row.name.split("|")
            vc = ml.varcorr
            got = vc[(vc.group == group) & (vc.kind == "cor")].estimate.iloc[0]
            assert pair == "(Intercept):Days"
        else:
            continue
        assert got == pytest.approx(value, rel=REL_TOL, abs=1e-5), (row.quantity, row.name)
    # glmmTMB's count: the mean's coefficients and covariance parameters, and the auxiliary
    # formula's coefficients in place of the constant (the other families here have none)
    blocks = ml.design.blocks
    theta = sum(b.q * (b.q + 1) // 2 if b.correlated else b.q for b in blocks)
    n_dpar = sum(len(d.fixed_names) for d in ml.design.dpars)
    assert ml.npar == len(ml.design.fixed_names) + theta + n_dpar


def _heteroscedastic(seed: int = 3, groups: int = 12, per: int = 10) -> pd.DataFrame:
    """y = 1 + 0.5 x + u_g + exp(-0.5 + 0.4 x + v_g) e, u_g ~ N(0, 0.6^2), v_g ~ N(0, 0.3^2)."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), per)
    x = rng.normal(size=g.size)
    u, v = rng.normal(0, 0.6, groups), rng.normal(0, 0.3, groups)
    y = 1 + 0.5 * x + u[g] + np.exp(-0.5 + 0.4 * x + v[g]) * rng.normal(size=g.size)
    return pd.DataFrame({"y": y, "x": x, "g": [f"g{k}" for k in g]})


def _laplace_numpy(data: pd.DataFrame, b, b_sigma, sd_u, sd_v) -> float:
    """The Laplace-approximated log-likelihood of y ~ x + (1|g), sigma ~ x + (1|g) with
    standard-normal effects (u, v) per group: sum_g [G* - log det(-G'') / 2] (the normal
    densities' 2 pi terms cancel with the Laplace integral's in two dimensions)."""
    total = 0.0
    for _, rows in data.groupby("g"):
        x, y = rows.x.to_numpy(), rows.y.to_numpy()

        def G(w, x=x, y=y):
            mean = b[0] + b[1] * x + sd_u * w[0]
            sigma = np.exp(b_sigma[0] + b_sigma[1] * x + sd_v * w[1])
            return stats.norm.logpdf(y, mean, sigma).sum() - 0.5 * w @ w

        mode = optimize.minimize(lambda w: -G(w), np.zeros(2), method="BFGS",
                                 options={"gtol": 1e-10}).x
        h, H = 1e-4, np.empty((2, 2))
        for i in range(2):
            for j in range(2):
                ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
                H[i, j] = -(G(mode + ei + ej) - G(mode + ei - ej) - G(mode - ei + ej)
                            + G(mode - ei - ej)) / (4 * h * h)
        total += G(mode) - 0.5 * np.linalg.slogdet(H)[1]
    return total


@pytest.mark.slow
def test_laplace_with_group_effects_in_sigma_matches_an_independent_computation():
    data = _heteroscedastic()
    ml = hglm.Model("y ~ x + (1 | g)", data, sigma="~ x + (1 | g)").fit_ml()
    assert ml.converged
    f = ml.fixef
    b, b_sigma = f[["Intercept", "x"]].to_numpy(), f[["sigma_Intercept", "sigma_x"]].to_numpy()
    sd_u, sd_v = ml.sd("g"), ml.sd("g__sigma")
    at_estimates = _laplace_numpy(data, b, b_sigma, sd_u, sd_v)
    # finite differences to ~1e-7 per group, the inner modes to BFGS's 1e-10 gradient
    assert ml.logLik == pytest.approx(at_estimates, abs=1e-4)
    # and hglm's estimates maximize that independent objective
    for k, step in enumerate(np.eye(6) * 0.02):
        moved = _laplace_numpy(data, b + step[:2], b_sigma + step[2:4], sd_u + step[4],
                               sd_v + step[5])
        assert moved < at_estimates, k

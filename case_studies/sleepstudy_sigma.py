# ---
# jupyter:
#   jupytext:
#     formats: py:percent,ipynb
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # sleepstudy: does the residual spread grow with sleep deprivation?
#
# Reaction times of 18 subjects over 10 days of restricted sleep (Belenky et al. 2003; lme4's
# `sleepstudy`). The usual model, `Reaction ~ Days + (Days | Subject)`, gives every day the
# same residual sd. If tired subjects are also more erratic, the spread grows with `Days`,
# and a constant sigma misstates the uncertainty of whatever depends on it. A distributional
# model gives sigma a formula of its own on the log scale, as brms's
# `bf(Reaction ~ Days + (Days | Subject), sigma ~ Days)` and glmmTMB's
# `dispformula = ~ Days` do: `hglm.Model(..., sigma="~ Days")`.

# %%
import os

import numpy as np
import pandas as pd

import hglm

DRAWS = int(os.environ.get("HGLM_CASE_DRAWS", 1000))
CHAINS = int(os.environ.get("HGLM_CASE_CHAINS", 4))
SEED = 20261127
SAMPLE = dict(draws=DRAWS, tune=DRAWS, chains=CHAINS, seed=SEED, progressbar=False)
data = hglm.datasets.load("sleepstudy")
# the raw spread of reaction times by day, around each subject's own line
resid = data.Reaction - data.groupby("Subject").apply(
    lambda d: pd.Series(np.polyval(np.polyfit(d.Days, d.Reaction, 1), d.Days), d.index),
    include_groups=False).droplevel(0)
print("sd of residuals from each subject's line, by day:",
      resid.groupby(data.Days).std().round(1).to_dict())

# %% [markdown]
# ## Declaration and priors
# sigma's formula has its own prior keys, prefixed with its name: `"sigma:Intercept"` (on the
# log scale, centered on log sd(Reaction)), `"sigma:Days"`, `"sigma:fixed"`, and, with group
# terms, `"sd(sigma:Subject)"`.

# %%
formula = "Reaction ~ Days + (Days | Subject)"
constant = hglm.Model(formula, data)
by_day = hglm.Model(formula, data, sigma="~ Days")
by_day.priors

# %%
print(by_day.describe())

# %% [markdown]
# ## Fit both

# %%
fit_constant = constant.fit(**SAMPLE)
fit_by_day = by_day.fit(**SAMPLE)
print(fit_by_day.summary())

# %% [markdown]
# ## Next to glmmTMB
# `glmmTMB(Reaction ~ Days + (Days | Subject), dispformula = ~ Days, REML = FALSE)`
# (glmmTMB 1.1.5; `tests/reference/glmmtmb_distributional.R`). glmmTMB's gaussian
# dispersion coefficients are those of log sigma², so its values are halved here.

# %%
ml = by_day.fit_ml()
tmb = pd.Series({"Intercept": 252.8560137, "Days": 10.08606646,
                 "sigma_Intercept": 5.62369842 / 2, "sigma_Days": 0.1692675066 / 2})
post = fit_by_day.fixef()
pd.DataFrame({"glmmTMB": tmb, "hglm fit_ml": ml.fixef[tmb.index],
              "posterior mean": post["mean"].to_numpy()}).round(4)

# %%
print(f"logLik: hglm {ml.logLik:.4f}, glmmTMB -870.0003")

# %% [markdown]
# ## sigma by day
# `predict(dpar="sigma")` gives the parameter itself on any rows.

# %%
days = pd.DataFrame({"Days": np.arange(10), "Subject": "new"})
sigma = fit_by_day.predict(days, dpar="sigma", include_random=False).round(1)
sigma.index = days.Days
sigma

# %% [markdown]
# ## Constant or modelled sigma?
# LOO, and the likelihood-ratio test: a constant sigma is `sigma ~ 1`, nested in
# `sigma ~ Days` with one more fixed effect, so the LRT has a chi-square(1) reference.

# %%
comparison = hglm.compare(fit_constant, fit_by_day)
print(comparison)

# %% [markdown]
# ## What changes in the fixed-effect intervals
# The average slope of `Days` is estimated from every subject's slope; what a constant sigma
# gets wrong is how noisy each day is. Late days, with their larger spread, now count for
# less and early days for more.

# %%
side = pd.concat({"constant sigma": fit_constant.fixef().set_index("term"),
                  "sigma ~ Days": post[post.dpar == "mu"].set_index("term")}, axis=1)
width = {k: side[k]["upper"] - side[k]["lower"] for k in ("constant sigma", "sigma ~ Days")}
table = pd.DataFrame({(k, c): side[k][c] for k in width for c in ("mean", "lower", "upper")})
table[("width", "ratio")] = width["sigma ~ Days"] / width["constant sigma"]
table.round(2)

# %% [markdown]
# ## Posterior predictive check: the spread by day
# Under each model, the sd of the simulated reaction times around their means, by day, next
# to the data's.

# %%
def spread_by_day(fit):
    sim = fit.sample_posterior_predictive(seed=SEED).posterior_predictive["Reaction"].values
    sim = sim.reshape(-1, len(data))
    mean = fit.predict(kind="mean", summary=False)
    return pd.DataFrame(sim - mean).T.groupby(data.Days.to_numpy()).std().mean(axis=1)


observed = (data.Reaction - fit_by_day.predict()["mean"]).groupby(data.Days).std()
checks = pd.DataFrame({"observed": observed, "constant sigma": spread_by_day(fit_constant),
                       "sigma ~ Days": spread_by_day(fit_by_day)})
checks.round(1)

# %% [markdown]
# ## Do subjects differ in their spread too?
# A group term in sigma's formula, `sigma ~ Days + (1 | Subject)`: one more variance, tested
# at its boundary.

# %%
fit_subjects = hglm.Model(formula, data, sigma="~ Days + (1 | Subject)").fit(**SAMPLE)
subjects = hglm.compare(fit_by_day, fit_subjects)
print(subjects)

# %% [markdown]
# ## Prior sensitivity

# %%
fit_by_day.sensitivity()

# %% [markdown]
# ## Interpretation

# %%
b = post.set_index(["dpar", "term"])
slope = b.loc[("sigma", "Days")]
print(f"The residual sd grows by {100 * (np.exp(slope['mean']) - 1):.0f}% a day (95% interval "
      f"{100 * (np.exp(slope['lower']) - 1):.0f}% to {100 * (np.exp(slope['upper']) - 1):.0f}%): "
      f"from {sigma['mean'].iloc[0]:.0f} ms on day 0 to {sigma['mean'].iloc[-1]:.0f} ms on "
      f"day 9.")
rows = comparison.table
print(f"Modelling it: elpd_loo {rows.loc['m1', 'elpd_loo'] - rows.loc['m0', 'elpd_loo']:+.1f} "
      f"(SE of the difference {rows.se_diff.max():.1f}); LRT {rows.loc['m1', 'lrt_stat']:.1f} "
      f"on 1 df, p = {rows.loc['m1', 'p_boundary']:.2g}.")
ratio = table[("width", "ratio")]
print(f"The fixed effects barely move; their 95% intervals change width by a factor "
      f"{ratio.min():.2f} to {ratio.max():.2f} (Days: {ratio.loc['Days']:.2f}).")
print(f"Subjects' own spread: {subjects.verdict()}")

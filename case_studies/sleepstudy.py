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
# # sleepstudy: a correlated random slope, the lme4 classic
#
# Eighteen subjects were kept to three hours of sleep a night; their reaction time was
# measured on each of ten days. Does reaction time grow with sleep deprivation, and do
# subjects differ in how fast it grows? This is the model of Bates et al. (2015, *J. Stat.
# Softw.*): `Reaction ~ Days + (Days | Subject)`.
#
# `HGLM_CASE_DRAWS` and `HGLM_CASE_CHAINS` set the draws per chain and the chains (the
# tests run this notebook with few; `hglm case-study sleepstudy` runs it at full size).

# %%
import os

import numpy as np
import pandas as pd

import hglm

DRAWS = int(os.environ.get("HGLM_CASE_DRAWS", 1000))
CHAINS = int(os.environ.get("HGLM_CASE_CHAINS", 4))
SEED = 20261123
data = hglm.datasets.load("sleepstudy")
data.head()

# %% [markdown]
# ## Declaration and priors
# Default priors are weakly informative and scaled to the data; the table lists every one.

# %%
model = hglm.Model("Reaction ~ Days + (Days | Subject)", data=data, family="gaussian")
model.priors

# %% [markdown]
# ## Prior predictive check
# Do the priors allow reaction times of the right order of magnitude (a few hundred ms),
# without excluding plausible values?

# %%
prior = model.sample_prior_predictive(draws=500, seed=SEED)
simulated = prior.prior_predictive["Reaction"].values.ravel()
print(f"prior predictive reaction times: median {np.median(simulated):.0f} ms, "
      f"90% between {np.quantile(simulated, 0.05):.0f} and {np.quantile(simulated, 0.95):.0f} ms; "
      f"observed {data.Reaction.min():.0f} to {data.Reaction.max():.0f} ms")

# %% [markdown]
# ## Fit and diagnostics

# %%
fit = model.fit(draws=DRAWS, tune=DRAWS, chains=CHAINS, seed=SEED, progressbar=False)
print(fit.summary())

# %%
fig = fit.plot_trace()

# %% [markdown]
# ## Next to lme4
# lme4's REML estimates (`lmer(Reaction ~ Days + (Days | Subject), sleepstudy)`) and the
# posterior means. With 18 subjects the posterior of a between-subject sd is right-skewed,
# so its mean sits above the REML point estimate.

# %%
lme4 = pd.Series({"Intercept": 251.405, "Days": 10.467, "sd Intercept": 24.741,
                  "sd Days": 5.922, "cor": 0.066, "sigma": 25.592})
vc = fit.varcorr().set_index("name")["mean"]
fe = fit.fixef().set_index("term")["mean"]
ml = model.fit_ml(reml=True)
side = pd.DataFrame({
    "lme4 (REML)": lme4,
    "hglm fit_ml(reml=True)": [ml.fixef["Intercept"], ml.fixef["Days"], ml.sd("Subject"),
                               ml.sd("Subject", "Days"),
                               ml.varcorr.set_index("name").estimate["Intercept:Days"],
                               ml.sd("Residual", "sigma")],
    "hglm posterior mean": [fe["Intercept"], fe["Days"], vc["Intercept"], vc["Days"],
                            vc["Intercept:Days"], vc["sigma"]],
})
side.round(3)

# %% [markdown]
# ## Posterior predictive check

# %%
fig = fit.plot_ppc()

# %%
fig = fit.plot_ranef()

# %% [markdown]
# ## Does the random slope matter?
# The same data with a random intercept only, compared by PSIS-LOO, a bridge-sampling
# Bayes factor and the boundary-corrected likelihood-ratio test.

# %%
fit0 = hglm.Model("Reaction ~ Days + (1 | Subject)", data=data).fit(
    draws=DRAWS, tune=DRAWS, chains=CHAINS, seed=SEED, progressbar=False)
comparison = hglm.compare(fit0, fit)
print(comparison)

# %% [markdown]
# ## Prior sensitivity
# Power-scaling the priors and the likelihood (no refits), then refits under a tight and a
# wide prior on the random-effect sds.

# %%
fit.sensitivity()

# %%
sweep = hglm.prior_sweep(model, {"default": None, "tight sd": {"sd": "HalfNormal(5)"},
                                 "wide sd": {"sd": "HalfNormal(200)"}},
                         draws=DRAWS, tune=DRAWS, chains=2, seed=SEED, progressbar=False)
sweep.table.pivot(index="parameter", columns="variant", values="mean").round(2)

# %%
fig = sweep.plot()

# %% [markdown]
# ## Interpretation

# %%
t = comparison.table
days = fit.fixef().set_index("term").loc["Days"]
sd_days = fit.varcorr().set_index("name").loc["Days"]
print(f"Reaction time grows by about {days['mean']:.1f} ms a day "
      f"(95% interval {days['lower']:.1f} to {days['upper']:.1f}).")
print(f"Subjects differ in that growth: the sd of their slopes is about {sd_days['mean']:.1f} ms "
      f"a day (95% interval {sd_days['lower']:.1f} to {sd_days['upper']:.1f}).")
print(comparison.verdict())
sens = fit.sensitivity()
flagged = sens[sens.diagnosis != "-"]
print("No parameter is sensitive to its prior." if flagged.empty else
      f"Prior sensitivity flags: {', '.join(flagged.parameter)}.")

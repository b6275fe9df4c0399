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
# # cbpp: binomial with trials — does the herd effect matter?
#
# Contagious bovine pleuropneumonia in 15 Ethiopian herds: new cases (`incidence`) among the
# animals at risk (`size`) in four periods. lme4's example:
# `glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial)`.
# The question: is there extra variation between herds beyond the period effects?

# %%
import os

import numpy as np
import pandas as pd

import hglm

DRAWS = int(os.environ.get("HGLM_CASE_DRAWS", 1000))
CHAINS = int(os.environ.get("HGLM_CASE_CHAINS", 4))
SEED = 20261123
data = hglm.datasets.load("cbpp")
data.head()

# %% [markdown]
# ## Declaration and priors

# %%
formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
model = hglm.Model(formula, data=data, family="binomial")
model.priors

# %% [markdown]
# ## Prior predictive check
# The implied proportion of new cases per herd and period should cover 0 to 1 without
# piling up at the extremes.

# %%
prior = model.sample_prior_predictive(draws=500, seed=SEED)
share = prior.prior_predictive[model.design.response_name].values / data["size"].to_numpy()
print(f"prior predictive share of new cases: quartiles "
      f"{np.quantile(share, [0.25, 0.5, 0.75]).round(2)}; observed median "
      f"{np.median(data.incidence / data['size']):.2f}")

# %% [markdown]
# ## Fit and diagnostics

# %%
fit = model.fit(draws=DRAWS, tune=DRAWS, chains=CHAINS, seed=SEED, progressbar=False)
print(fit.summary())

# %% [markdown]
# ## Next to lme4 (Laplace approximation)

# %%
ml = model.fit_ml()
lme4 = pd.Series({"Intercept": -1.39834, "period[2]": -0.99192, "period[3]": -1.12822,
                  "period[4]": -1.57975, "sd herd": 0.64207})
fe = fit.fixef().set_index("term")["mean"]
side = pd.DataFrame({"lme4": lme4,
                     "hglm fit_ml": list(ml.fixef.values) + [ml.sd("herd")],
                     "hglm posterior mean": list(fe.values) +
                     [fit.varcorr().set_index("group").loc["herd", "mean"]]})
print(f"logLik: hglm {ml.logLik:.4f}, lme4 -92.0266")
side.round(4)

# %% [markdown]
# ## Posterior predictive check

# %%
fig = fit.plot_ppc()

# %% [markdown]
# ## Does the herd effect matter?

# %%
fit0 = hglm.Model("cbind(incidence, size - incidence) ~ period", data=data,
                  family="binomial").fit(draws=DRAWS, tune=DRAWS, chains=CHAINS, seed=SEED,
                                         progressbar=False)
comparison = hglm.compare(fit0, fit)
print(comparison)

# %% [markdown]
# ## Prior sensitivity

# %%
fit.sensitivity()

# %%
sweep = hglm.prior_sweep(model, {"default": None, "tight sd": {"sd": "HalfNormal(0.5)"},
                                 "wide sd": {"sd": "HalfNormal(5)"}},
                         draws=DRAWS, tune=DRAWS, chains=2, seed=SEED, progressbar=False)
sweep.table.pivot(index="parameter", columns="variant", values="mean").round(3)

# %% [markdown]
# ## Interpretation

# %%
herd = fit.varcorr().set_index("group").loc["herd"]
lrt = comparison.table.loc["m1"]
print(f"Herds differ: the sd of their log-odds is about {herd['mean']:.2f} "
      f"(95% interval {herd['lower']:.2f} to {herd['upper']:.2f}).")
print(f"The likelihood-ratio statistic for the herd variance is {lrt.lrt_stat:.2f}; tested at "
      f"the boundary its p-value is {lrt.p_boundary:.2g}, half the naive {lrt.p_naive:.2g}.")
print(comparison.verdict())

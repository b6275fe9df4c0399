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
# # TITLE: the question in one line
#
# The data, where they come from, and the question the model answers.
# Copy this file to `case_studies/NAME.py`; `hglm case-study NAME` executes it into
# `NAME.ipynb`. `HGLM_CASE_DRAWS` / `HGLM_CASE_CHAINS` make quick runs (the tests use them).

# %%
import os

import numpy as np

import hglm

DRAWS = int(os.environ.get("HGLM_CASE_DRAWS", 1000))
CHAINS = int(os.environ.get("HGLM_CASE_CHAINS", 4))
SEED = 1
data = hglm.datasets.load("sleepstudy")          # or pd.read_csv(...)

# %% [markdown]
# ## Declaration and priors

# %%
model = hglm.Model("Reaction ~ Days + (Days | Subject)", data=data, family="gaussian")
model.priors

# %% [markdown]
# ## Prior predictive check: do the priors allow plausible data, and only those?

# %%
prior = model.sample_prior_predictive(draws=500, seed=SEED)
simulated = prior.prior_predictive[model.design.response_name].values.ravel()
print(np.quantile(simulated, [0.05, 0.5, 0.95]))

# %% [markdown]
# ## Fit and diagnostics

# %%
fit = model.fit(draws=DRAWS, tune=DRAWS, chains=CHAINS, seed=SEED, progressbar=False)
print(fit.summary())

# %% [markdown]
# ## Next to published estimates (e.g. lme4's), and maximum likelihood

# %%
print(model.fit_ml().summary())

# %% [markdown]
# ## Posterior predictive check

# %%
fig = fit.plot_ppc()

# %% [markdown]
# ## Does the variance component matter?

# %%
simpler = hglm.Model("Reaction ~ Days + (1 | Subject)", data=data).fit(
    draws=DRAWS, tune=DRAWS, chains=CHAINS, seed=SEED, progressbar=False)
print(hglm.compare(simpler, fit))

# %% [markdown]
# ## Prior sensitivity

# %%
fit.sensitivity()

# %% [markdown]
# ## Interpretation
# What the numbers say, in a few sentences, without claiming more than they show.

# %%
print(fit.fixef())

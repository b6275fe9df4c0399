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
# # grouseticks: Poisson counts with two grouping factors, and overdispersion
#
# Ticks counted on the heads of red grouse chicks (Elston et al. 2001), by brood, location,
# year and altitude. Two questions: does location add variation beyond broods, and are the
# counts more variable than a Poisson model with these effects allows?
# lme4: `glmer(TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD) + (1 | LOCATION), poisson)`.

# %%
import os

import numpy as np
import pandas as pd

import hglm

DRAWS = int(os.environ.get("HGLM_CASE_DRAWS", 1000))
CHAINS = int(os.environ.get("HGLM_CASE_CHAINS", 4))
SEED = 20261123
SAMPLE = dict(draws=DRAWS, tune=DRAWS, chains=CHAINS, seed=SEED, progressbar=False,
              target_accept=0.95)   # large counts inform the brood effects strongly
data = hglm.datasets.load("grouseticks")
data.head()

# %% [markdown]
# ## Declaration and priors

# %%
formula = "TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD) + (1 | LOCATION)"
model = hglm.Model(formula, data=data, family="poisson")
model.priors

# %% [markdown]
# ## Prior predictive check

# %%
prior = model.sample_prior_predictive(draws=500, seed=SEED)
ticks = prior.prior_predictive["TICKS"].values.ravel()
print(f"prior predictive counts: median {np.median(ticks):.0f}, 90% below "
      f"{np.quantile(ticks, 0.9):.0f}; observed median {data.TICKS.median():.0f}, "
      f"max {data.TICKS.max()}")

# %% [markdown]
# ## Fit and diagnostics

# %%
fit = model.fit(**SAMPLE)
print(fit.summary())

# %% [markdown]
# ## Next to lme4 (Laplace)
# formulae's `scale()` divides by the population sd and R's by the sample sd, so lme4's
# slope is converted by sqrt((n - 1) / n) to be comparable.

# %%
ml = model.fit_ml()
n = len(data)
lme4 = pd.Series({"Intercept": 0.46686, "YEAR[96]": 1.16558, "YEAR[97]": -0.97793,
                  "scale(HEIGHT)": -0.84664 * np.sqrt((n - 1) / n),
                  "sd BROOD": 0.76965, "sd LOCATION": 0.57414})
vc = fit.varcorr().set_index("group")["mean"]
side = pd.DataFrame({"lme4": lme4,
                     "hglm fit_ml": list(ml.fixef.values) + [ml.sd("BROOD"), ml.sd("LOCATION")],
                     "hglm posterior mean": list(fit.fixef()["mean"]) +
                     [vc["BROOD"], vc["LOCATION"]]})
print(f"logLik: hglm {ml.logLik:.4f}, lme4 -987.9382")
side.round(4)

# %% [markdown]
# ## Posterior predictive check

# %%
fig = fit.plot_ppc()

# %% [markdown]
# ## Does location matter beyond brood?

# %%
fit_brood = hglm.Model("TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD)", data=data,
                       family="poisson").fit(**SAMPLE)
location = hglm.compare(fit_brood, fit)
print(location)

# %% [markdown]
# ## Overdispersion: Poisson or negative binomial?
# With the same terms, the Poisson model is the negative binomial's limit 1/alpha -> 0; the
# likelihood-ratio test of that boundary uses 0.5·χ²(0) + 0.5·χ²(1).

# %%
fit_nb = hglm.Model(formula, data=data, family="negbinomial").fit(**SAMPLE)
print(fit_nb.summary())
dispersion = hglm.compare(fit, fit_nb)
print(dispersion)

# %% [markdown]
# ## Prior sensitivity

# %%
fit.sensitivity()

# %%
sweep = hglm.prior_sweep(model, {"default": None, "tight sd": {"sd": "HalfNormal(0.5)"},
                                 "wide sd": {"sd": "HalfNormal(5)"}},
                         draws=DRAWS, tune=DRAWS, chains=2, seed=SEED, target_accept=0.95,
                         progressbar=False)
sweep.table.pivot(index="parameter", columns="variant", values="mean").round(3)

# %% [markdown]
# ## Interpretation

# %%
vc = fit.varcorr().set_index("group")
print(f"Broods vary (sd {vc.loc['BROOD', 'mean']:.2f} on the log scale) and locations vary "
      f"(sd {vc.loc['LOCATION', 'mean']:.2f}, 95% interval {vc.loc['LOCATION', 'lower']:.2f} to "
      f"{vc.loc['LOCATION', 'upper']:.2f}).")
loc = location.table.loc["m1"]
print(f"Location variance: LRT {loc.lrt_stat:.2f}, boundary-corrected p = {loc.p_boundary:.2g}.")
alpha = fit_nb.varcorr().set_index("name").loc["alpha"]
print(f"Negative binomial shape alpha: {alpha['mean']:.1f} (95% interval {alpha['lower']:.1f} to "
      f"{alpha['upper']:.1f}); large alpha means little overdispersion beyond the random effects.")
for comparison in (location, dispersion):
    print(comparison.verdict())

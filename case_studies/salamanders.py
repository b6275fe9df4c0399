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
# # salamanders: counts with many zeros -- structural zeros or overdispersion?
#
# Stream salamanders counted at 23 sites in the Appalachians, some of them below
# mountaintop-removal mines, for 7 species (or life stages) on 4 visits (Price et al. 2016;
# the data as glmmTMB's `Salamanders`, bundled with hglm: `hglm.datasets.SOURCES`).
# Almost two thirds of the counts are zero. Two explanations compete: some zeros are
# *structural* (a species absent from a stream, a visit that could not find any), which a
# zero-inflated model captures with a zero probability `zi`; or the counts are just more
# variable than Poisson, which a negative binomial captures. glmmTMB:
# `glmmTMB(count ~ mined + spp + (1 | site), family = poisson / nbinom2, ziformula = ~1)`.

# %%
import os

import numpy as np
import pandas as pd

import hglm

DRAWS = int(os.environ.get("HGLM_CASE_DRAWS", 1000))
CHAINS = int(os.environ.get("HGLM_CASE_CHAINS", 4))
SEED = 20261127
SAMPLE = dict(draws=DRAWS, tune=DRAWS, chains=CHAINS, seed=SEED, progressbar=False)
data = hglm.datasets.load("salamanders")
print(f"{len(data)} counts, {(data['count'] == 0).mean():.0%} of them zero; "
      f"{data.site.nunique()} sites, {data.spp.nunique()} species")
data.head()

# %% [markdown]
# ## Declaration and priors
# The zero-inflated Poisson model: with probability `zi` a count is a structural zero,
# otherwise Poisson with log mean `mined + spp + site`. `zi`'s default prior is uniform.

# %%
formula = "count ~ mined + spp + (1 | site)"
zip_model = hglm.Model(formula, data=data, family="zero_inflated_poisson")
zip_model.priors

# %% [markdown]
# ## Prior predictive check: the share of zeros

# %%
prior = zip_model.sample_prior_predictive(draws=500, seed=SEED)
zeros = (prior.prior_predictive["count"].values == 0).mean(axis=-1).ravel()
print(f"prior predictive share of zeros: median {np.median(zeros):.2f}, 90% interval "
      f"{np.quantile(zeros, 0.05):.2f} to {np.quantile(zeros, 0.95):.2f}; observed "
      f"{(data['count'] == 0).mean():.2f}")

# %% [markdown]
# ## Fit and diagnostics

# %%
fit_zip = zip_model.fit(**SAMPLE)
print(fit_zip.summary())

# %% [markdown]
# ## Next to glmmTMB (Laplace)
# glmmTMB's estimates (R 4.2, glmmTMB 1.1.5; `mined` and `spp` releveled to hglm's
# alphabetical reference levels) beside `fit_ml` and the posterior means.

# %%
glmmtmb = pd.Series({"Intercept": 1.54220, "mined[yes]": -2.15932, "spp[DF]": -0.48523,
                     "spp[DM]": -0.36053, "spp[EC-A]": -1.18037, "spp[EC-L]": 0.03122,
                     "spp[GP]": -0.66607, "spp[PR]": -1.86848, "sd site": 0.54139,
                     "zi": 0.28991})
ml = zip_model.fit_ml()
vc = fit_zip.varcorr().set_index("name")["mean"]
side = pd.DataFrame({"glmmTMB": glmmtmb,
                     "hglm fit_ml": list(ml.fixef.values) + list(ml.varcorr.estimate),
                     "hglm posterior mean": list(fit_zip.fixef()["mean"])
                     + [vc["Intercept"], vc["zi"]]})
print(f"logLik: hglm {ml.logLik:.4f}, glmmTMB -896.6771")
side.round(4)

# %% [markdown]
# ## Posterior predictive check: zeros and large counts
# A count model can match the mean and still get the zeros wrong; the share of zeros and
# the upper tail are what the competing explanations disagree on.

# %%
def zeros_and_tail(fit) -> str:
    sim = fit.sample_posterior_predictive(seed=SEED).posterior_predictive["count"].values
    sim = sim.reshape(-1, len(data))
    share = (sim == 0).mean(axis=1)
    big = (sim >= 10).mean(axis=1)
    return (f"zeros {np.mean(share):.3f} [{np.quantile(share, 0.025):.3f}, "
            f"{np.quantile(share, 0.975):.3f}] (observed {(data['count'] == 0).mean():.3f}); "
            f"counts >= 10: {np.mean(big):.3f} [{np.quantile(big, 0.025):.3f}, "
            f"{np.quantile(big, 0.975):.3f}] (observed {(data['count'] >= 10).mean():.3f})")


print("zero-inflated Poisson:", zeros_and_tail(fit_zip))

# %% [markdown]
# ## Structural zeros or overdispersion?
# The same terms under four families. Poisson is zero-inflated Poisson's limit `zi = 0`,
# and negative binomial is the zero-inflated negative binomial's: those likelihood-ratio
# tests sit on the boundary and use 0.5·χ²(0) + 0.5·χ²(1).

# %%
fit_poisson = hglm.Model(formula, data=data, family="poisson").fit(**SAMPLE)
fit_nb = hglm.Model(formula, data=data, family="negbinomial").fit(**SAMPLE)
fit_zinb = hglm.Model(formula, data=data, family="zero_inflated_negbinomial").fit(**SAMPLE)
print("Poisson:", zeros_and_tail(fit_poisson))
print("negative binomial:", zeros_and_tail(fit_nb))
zero_inflation = hglm.compare(fit_poisson, fit_zip)
print(zero_inflation)

# %%
beyond_overdispersion = hglm.compare(fit_nb, fit_zinb)
print(beyond_overdispersion)

# %%
families = hglm.compare(fit_zip, fit_nb, bayes_factors=False)
print(families)

# %% [markdown]
# ## Prior sensitivity

# %%
fit_zinb.sensitivity()

# %% [markdown]
# ## Interpretation

# %%
zi = fit_zinb.varcorr().set_index("name").loc["zi"]
alpha = fit_nb.varcorr().set_index("name").loc["alpha"]
mined = fit_nb.fixef().set_index("term").loc["mined[yes]"]
print(f"Against a Poisson model, zero inflation looks strong: zi = "
      f"{fit_zip.varcorr().set_index('name').loc['zi', 'mean']:.2f} "
      f"(LRT {zero_inflation.table.loc['m1', 'lrt_stat']:.1f}).")
print(f"But the negative binomial (alpha {alpha['mean']:.2f}, 95% interval "
      f"{alpha['lower']:.2f} to {alpha['upper']:.2f}) explains the zeros by overdispersion: "
      f"added to it, zi is {zi['mean']:.3f} (95% interval {zi['lower']:.3f} to "
      f"{zi['upper']:.3f}), and the boundary LRT is "
      f"{beyond_overdispersion.table.loc['m1', 'lrt_stat']:.2f}.")
print(f"Mined streams: {np.exp(mined['mean']):.2f} times the salamanders of unmined ones "
      f"(95% interval {np.exp(mined['lower']):.2f} to {np.exp(mined['upper']):.2f}).")
for label, comparison in (("Poisson or zero-inflated Poisson", zero_inflation),
                          ("negative binomial or zero-inflated", beyond_overdispersion),
                          ("zero-inflated Poisson or negative binomial", families)):
    print(f"{label}: {comparison.verdict()}")

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
# # Interpreting a fitted GLMM: sleepstudy and cbpp
#
# A fitted mixed model answers questions only once they are asked on the response scale and
# with the group effects handled on purpose. This case study asks the usual ones of two
# bundled data sets, with hglm's interpretation layer (marginaleffects' `predictions`,
# `comparisons` and `slopes`; brms's `conditional_effects`, `bayes_R2`, `hypothesis` and
# `model_weights`; performance's `icc`):
#
# * **sleepstudy** (Belenky et al. 2003): reaction times of 18 subjects over 10 days of
#   restricted sleep, `Reaction ~ Days + (Days | Subject)`. How slow is a typical subject
#   after 9 days, and a new one? How much of the variance lies between subjects?
# * **cbpp** (Lesnoff et al. 2004): contagious bovine pleuropneumonia in 15 herds over four
#   periods, `cbind(incidence, size - incidence) ~ period + (1 | herd)`. How much lower is
#   the risk in later periods, as a risk difference, a risk ratio and an odds ratio?

# %%
import os

import matplotlib
import numpy as np

import hglm

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
DRAWS = int(os.environ.get("HGLM_CASE_DRAWS", 1000))
CHAINS = int(os.environ.get("HGLM_CASE_CHAINS", 4))
SEED = 20261127
SAMPLE = dict(draws=DRAWS, tune=DRAWS, chains=CHAINS, seed=SEED, progressbar=False)

sleep = hglm.datasets.load("sleepstudy")
sleep_fit = hglm.Model("Reaction ~ Days + (Days | Subject)", sleep).fit(**SAMPLE)
print(sleep_fit.summary())

# %% [markdown]
# ## Predictions on a grid
# `hglm.datagrid` makes the rows: the values given, everything else at typical values.
# Three kinds of subject after 0 and 9 days: the population line (`re_formula="~ 0"`, no
# subject effect), subject 308, and a subject the model has never seen, whose effects are
# drawn from the fitted population distribution draw by draw, so its interval carries the
# between-subject spread.

# %%
grid = hglm.datagrid(sleep_fit, Days=[0, 9], Subject=["308", "new subject"])
population = hglm.predictions(sleep_fit, newdata=hglm.datagrid(sleep_fit, Days=[0, 9]),
                              re_formula="~ 0")
subjects = hglm.predictions(sleep_fit, newdata=grid)
print(population.round(1).to_string(index=False))
print(subjects.round(1).to_string(index=False))

# %%
figures = sleep_fit.conditional_effects()      # the population line, the data behind it
figures["Days"]

# %% [markdown]
# ## The effect of a day, and its spread over subjects
# The average slope over the subjects observed (each with its own slope), and the same per
# subject: the draws are kept, so "how many subjects slow down by more than 5 ms a day"
# is a computation on `.draws`.

# %%
average = hglm.slopes(sleep_fit, "Days", by=True)
per_subject = hglm.slopes(sleep_fit, "Days", by="Subject")
print(average.round(2).to_string(index=False))
share = (per_subject.draws > 5).mean("row")
print(f"share of subjects slowing by more than 5 ms/day: posterior mean "
      f"{float(share.mean()):.2f}, 95% interval {np.quantile(share, [0.025, 0.975]).round(2)}")
hglm.plot_slopes(sleep_fit, "Days", "Subject", re_formula=None)

# %% [markdown]
# ## Variance explained, ICC and hypotheses

# %%
print(sleep_fit.r2().round(3))
print(sleep_fit.icc().round(3))
print(sleep_fit.hypothesis(["Days > 5", "sd(Days | Subject) < 10",
                            "cor(Intercept, Days | Subject) > 0"]).round(3).to_string())

# %% [markdown]
# ## cbpp: risk differences, risk ratios and odds ratios
# For a binomial model hglm predicts per trial (the probability of a new case per animal),
# as marginaleffects does. Against period 1, each later period's average contrast over the
# herds observed, on three scales; the log odds ratio at each row is the coefficient itself
# (the herd effects cancel on the link scale), while the risk difference averages over herds.

# %%
cbpp = hglm.datasets.load("cbpp")
cbpp_fit = hglm.Model("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp,
                      family="binomial").fit(**SAMPLE)
for comparison in ("difference", "ratio", "lnor"):
    table = hglm.comparisons(cbpp_fit, "period", comparison=comparison, by=True)
    print(comparison)
    print(table.round(3).to_string(index=False))

# %%
by_period = hglm.predictions(cbpp_fit, newdata=hglm.datagrid(cbpp_fit, period=["1", "2", "3",
                                                                          "4"]),
                             re_formula="~ 0")
print(by_period.round(3).to_string(index=False))
cbpp_fit.conditional_effects()["period"]

# %% [markdown]
# On the latent (logit) scale the herds' share of variance is the ICC of Nakagawa et al.
# (2017), with the logistic distribution's π²/3 as the residual; and does a model without
# `period` deserve any weight?

# %%
print(cbpp_fit.icc().round(3))
without = hglm.Model("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", cbpp,
                     family="binomial").fit(**SAMPLE)
print(hglm.model_weights(without, cbpp_fit).round(3))

# %% [markdown]
# ## Interpretation

# %%
day9 = subjects.loc[(subjects.Days == 9) & (subjects.Subject == "new subject")].iloc[0]
ratio = hglm.comparisons(cbpp_fit, {"period": ("1", "4")}, comparison="ratio", by=True).iloc[0]
print(f"- A typical subject slows by {average.estimate[0]:.1f} ms a day "
      f"(95% {average.lower[0]:.1f} to {average.upper[0]:.1f}); a new subject after 9 days "
      f"is expected at {day9.estimate:.0f} ms, but anywhere from {day9.lower:.0f} to "
      f"{day9.upper:.0f} ms: most of that width is the spread between subjects.")
print(f"- In cbpp the risk of a new case in period 4 is {ratio.estimate:.2f} times that in "
      f"period 1 (95% {ratio.lower:.2f} to {ratio.upper:.2f}), averaged over the herds.")

"""Writes the simulated data sets some references are fitted to (beta_sim.csv,
betabinomial_sim.csv, zicounts_sim.csv, hurdle_sim.csv; run once: glmmtmb_families.R reads
the files, so R and hglm see the same rounded numbers)."""

import numpy as np
import pandas as pd

# 30 groups x 10 rows; logit mean 0.3 - 0.8 x, group intercepts (sd 0.5) and slopes (sd 0.3,
# correlation 0.3), precision 15
rng = np.random.default_rng(16)
G, n = 30, 10
g = np.repeat(np.arange(G), n)
x = rng.normal(size=G * n)
u = rng.multivariate_normal([0, 0], [[0.5**2, 0.3 * 0.5 * 0.3], [0.3 * 0.5 * 0.3, 0.3**2]], G)
eta = 0.3 - 0.8 * x + u[g, 0] + u[g, 1] * x
mu = 1 / (1 + np.exp(-eta))
phi = 15.0
y = rng.beta(mu * phi, (1 - mu) * phi)
pd.DataFrame({"y": np.round(y, 6), "x": np.round(x, 6), "g": [f"g{j:02d}" for j in g]}).to_csv(
    "tests/reference/beta_sim.csv", index=False)

# beta-binomial: the same design, 20 trials a row, precision 8
rng = np.random.default_rng(17)
x = rng.normal(size=G * n)
u = rng.multivariate_normal([0, 0], [[0.6**2, 0.3 * 0.6 * 0.4], [0.3 * 0.6 * 0.4, 0.4**2]], G)
eta = -0.5 + 0.6 * x + u[g, 0] + u[g, 1] * x
mu = 1 / (1 + np.exp(-eta))
p = rng.beta(mu * 8.0, (1 - mu) * 8.0)
trials = np.full(G * n, 20)
pd.DataFrame({"k": rng.binomial(trials, p), "n": trials, "x": np.round(x, 6),
              "g": [f"g{j:02d}" for j in g]}).to_csv("tests/reference/betabinomial_sim.csv",
                                                      index=False)


def _correlated(rng, sd0, sd1, rho):
    return rng.multivariate_normal([0, 0], [[sd0**2, rho * sd0 * sd1], [rho * sd0 * sd1, sd1**2]],
                                   40)


# counts with structural zeros: 40 groups x 10 rows, negative binomial (alpha 3) on the log
# scale 1 + 0.5 x + correlated group intercepts and slopes, then 25% set to zero
rng = np.random.default_rng(18)
g = np.repeat(np.arange(40), 10)
x = rng.normal(size=400)
u = _correlated(rng, 0.6, 0.3, 0.3)
mu = np.exp(1.0 + 0.5 * x + u[g, 0] + u[g, 1] * x)
counts = rng.negative_binomial(3.0, 3.0 / (3.0 + mu))
counts[rng.random(400) < 0.25] = 0
pd.DataFrame({"y": counts, "x": np.round(x, 6), "g": [f"g{j:02d}" for j in g]}).to_csv(
    "tests/reference/zicounts_sim.csv", index=False)

# zeros (30%) and lognormal positives: log scale 0.5 - 0.4 x + correlated group effects
rng = np.random.default_rng(19)
x = rng.normal(size=400)
u = _correlated(rng, 0.5, 0.3, -0.2)
y = np.exp(rng.normal(0.5 - 0.4 * x + u[g, 0] + u[g, 1] * x, 0.5))
y[rng.random(400) < 0.3] = 0.0
pd.DataFrame({"y": np.round(y, 6), "x": np.round(x, 6), "g": [f"g{j:02d}" for j in g]}).to_csv(
    "tests/reference/hurdle_sim.csv", index=False)

# ordered ratings 1..5: 40 groups x 12 rows, latent 0.7 x + correlated group intercepts (sd
# 0.8) and slopes (sd 0.5, correlation 0.3) + logistic noise, cut at -1.2, -0.3, 0.6, 1.6
rng = np.random.default_rng(20)
g = np.repeat(np.arange(40), 12)
x = rng.normal(size=480)
u = rng.multivariate_normal([0, 0], [[0.8**2, 0.3 * 0.8 * 0.5], [0.3 * 0.8 * 0.5, 0.5**2]], 40)
latent = 0.7 * x + u[g, 0] + u[g, 1] * x + rng.logistic(size=480)
rating = 1 + np.searchsorted([-1.2, -0.3, 0.6, 1.6], latent)
pd.DataFrame({"rating": rating, "x": np.round(x, 6), "g": [f"g{j:02d}" for j in g]}).to_csv(
    "tests/reference/ordinal_sim.csv", index=False)

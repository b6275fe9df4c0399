"""The numbers of docs/shrinkage.md: horseshoe, R2D2 and Bayesian lasso on a simulated GLMM
with 50 candidate predictors (5 real), next to scikit-learn's cross-validated lasso on the
fixed part when scikit-learn is installed.  Run: python docs/scripts/shrinkage_example.py"""

import time
import warnings

import numpy as np

import hglm
from hglm.validation.models import SPARSE_EFFECTS, sparse_glmm

data = sparse_glmm()
names = [f"x{j + 1}" for j in range(50)]
formula = "y ~ " + " + ".join(names) + " + (1 | g)"
k = len(SPARSE_EFFECTS)
print("| method | x1..x5 estimates (truth 1, -0.8, 0.6, -0.5, 0.4) | zeros kept out | "
      "largest zero |β| | divergences | seconds |")
print("|---|---|---|---|---|---|")
for prior in ["Horseshoe(par_ratio=0.1)", "R2D2(mean_R2=0.5, prec_R2=2)",
              "Laplace(0, HalfCauchy(1))", None]:
    model = hglm.Model(formula, data, priors={"fixed": prior} if prior else None)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(seed=1, progressbar=False)
    seconds = time.perf_counter() - start
    table = fit.shrinkage()
    kept_out = int((table["p_exceeds"][k:] < 0.5).sum())
    est = ", ".join(f"{v:.2f}" for v in table["mean"][:k])
    print(f"| {prior or 'default Normal priors'} | {est} (P > thr: "
          f"{table['p_exceeds'][:k].min():.2f} or more) | {kept_out} of 45 have "
          f"P(|β| > thr) < 0.5 | {table['mean'][k:].abs().max():.3f} | "
          f"{fit.diagnostics.divergences} | {seconds:.0f} |")
try:
    from sklearn.linear_model import LassoCV
except ImportError:
    print("(scikit-learn not installed: no lasso row)")
else:
    X = data[names].to_numpy()
    # the lasso sees the fixed part only (the group intercepts are left in the noise)
    lasso = LassoCV(cv=5, random_state=1).fit(X, data["y"])
    coef = lasso.coef_
    print(f"| scikit-learn LassoCV (fixed part only) | "
          f"{', '.join(f'{v:.2f}' for v in coef[:k])} | {int((coef[k:] == 0).sum())} of 45 "
          f"set to exactly 0 | {np.abs(coef[k:]).max():.3f} | - | - |")

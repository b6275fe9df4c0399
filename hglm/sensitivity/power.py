"""Power-scaling prior/likelihood sensitivity (Kallioinen et al. 2024), via arviz-stats.

arviz-stats' ``psense_summary`` does the method; what hglm must get right is its input, the
``log_prior`` group: the log densities of the priors a user can set (fixed effects, sds,
correlations, sigma, dispersion, hyperpriors) and *not* the standard-normal offsets ``z`` of
the non-centered random effects, which belong to the hierarchy's likelihood (as brms's
``lprior`` treats them).  Densities are on the parameters' own (constrained) scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from hglm import names

__all__ = ["log_prior_dataset", "sensitivity", "COMPONENTS", "prior_variables"]

#: prior groups that ``sensitivity(fit, keys=[...])`` can power-scale alone, as name prefixes
COMPONENTS = {
    "fixed": ("Intercept_centered", "b", "beta", "fixed_", "Intercept_",
              # shrinkage priors' scales (hglm/graph/shrinkage.py)
              "tau_b", "lambda_b", "c2_b", "R2_b", "phi_b"),
    "sd": ("sd_",),
    "cor": ("L_", "cor_", "chol_cov_"),
}
# and each auxiliary parameter of the model's family by its own name (sigma, alpha, nu, ...)


def prior_variables(model) -> list:
    """The free variables whose priors a user sets: not the group effects (z or centered r)."""
    offsets = {v for b in model.design.blocks for v in names.group_effect_variables(b.label)}
    offsets.add("z_b")  # a shrinkage prior's standard-normal offsets, like the groups' z
    return [rv for rv in model.pymc_model.free_RVs if rv.name not in offsets]


def log_prior_dataset(fit) -> xr.Dataset:
    """log prior density of every user-facing prior variable at every posterior draw."""
    from hglm.comparison.bridge import unconstrained_draws

    model, pm_model = fit.model, fit.model.pymc_model
    rvs = prior_variables(model)
    outs = pm_model.logp(vars=rvs, sum=False, jacobian=False)
    fn = pm_model.compile_fn(outs, inputs=pm_model.value_vars, on_unused_input="ignore")
    draws, layout = unconstrained_draws(pm_model, fit.posterior)
    chains, n, _ = draws.shape
    flat = draws.reshape(chains * n, -1)
    values = [np.empty((chains * n,) + tuple(fit.posterior[rv.name].shape[2:])) for rv in rvs]
    for i, row in enumerate(flat):
        point = {name: row[sl].reshape(shape) for name, shape, sl in layout}
        for store, value in zip(values, fn(point)):
            store[i] = np.broadcast_to(value, store.shape[1:])
    data = {}
    for rv, value in zip(rvs, values):
        dims = ("chain", "draw") + tuple(fit.posterior[rv.name].dims[2:])
        data[rv.name] = xr.DataArray(value.reshape((chains, n) + value.shape[1:]), dims=dims,
                                     coords={d: fit.posterior[rv.name][d] for d in dims})
    return xr.Dataset(data)


def _select(names: list[str], keys, family) -> list[str]:
    if keys is None:
        return names
    keys = [keys] if isinstance(keys, str) else list(keys)
    components = {**COMPONENTS, **{a: (a,) for a in family.aux}}
    unknown = [k for k in keys if k not in components]
    if unknown:
        raise ValueError(f"unknown prior component(s) {unknown}; choose from {list(components)}")
    chosen = [n for n in names if any(n.startswith(p) for k in keys for p in components[k])]
    if not chosen:
        raise ValueError(f"this model has no priors in component(s) {keys}")
    return chosen


def sensitivity(fit, keys=None, alphas=(0.99, 1.01), threshold: float = 0.05) -> pd.DataFrame:
    """Prior and likelihood sensitivity of every population-level parameter.

    One row per parameter (fixed effects, random-effect sds and correlations, sigma,
    dispersion): the cumulative Jensen-Shannon distance per log2 of the power for
    power-scaling the prior and the likelihood, and priorsense's diagnosis at ``threshold``.
    ``keys`` (e.g. ``["sd"]``) power-scales only those prior components; flat priors
    (uniform, Beta(1, 1)) are not changed by power-scaling and count as insensitive.
    """
    from arviz_stats import psense_summary

    from hglm.results.tables import population_vars

    fit.log_likelihood()
    if "log_prior" not in fit.idata.groups():
        fit.idata.add_groups({"log_prior": log_prior_dataset(fit)})
    prior_names = _select(list(fit.idata.log_prior.data_vars), keys, fit.design.family)
    # a flat prior (Beta(1, 1) on a zero-inflation) has the same log density at every draw:
    # power-scaling it changes nothing, so its sensitivity is 0 (arviz-stats refuses it)
    varying = [n for n in prior_names if np.ptp(fit.idata.log_prior[n].values) > 0]
    table = psense_summary(fit.idata, var_names=population_vars(fit.design, fit.posterior),
                           prior_var_names=varying or None, alphas=alphas,
                           threshold=threshold, round_to=6)
    table = table.reset_index().rename(columns={"index": "parameter"})
    if not varying:
        table["prior"], table["diagnosis"] = 0.0, "-"
    # priorsense's labels (arviz-stats words them "potential ..." and marks "no issue" with ✓)
    table["diagnosis"] = table["diagnosis"].map(_label)
    return table


def _label(text: str) -> str:
    text = str(text).replace("potential ", "").strip()
    return text if text in ("prior-data conflict", "strong prior / weak likelihood") else "-"

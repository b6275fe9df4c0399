"""Figures, drawn by ArviZ: traces, posterior predictive checks, caterpillars, intervals."""

from __future__ import annotations

import arviz as az

from hglm import names
from hglm.results.tables import population_vars

__all__ = ["plot_trace", "plot_ppc", "plot_ranef", "plot_fixef"]


def _figure(axes):
    import numpy as np

    return np.ravel(axes)[0].figure


def plot_trace(fit):
    """Traces and densities of the population-level parameters."""
    fig = _figure(az.plot_trace(fit.idata, var_names=population_vars(fit.design, fit.posterior),
                                compact=False))
    fig.tight_layout()
    return fig


def plot_ppc(fit, num_pp_samples: int = 100):
    """Observed response against posterior predictive draws."""
    if "posterior_predictive" not in fit.idata.groups():
        fit.sample_posterior_predictive()
    return _figure(az.plot_ppc(fit.idata, num_pp_samples=num_pp_samples,
                               random_seed=fit.settings.seed))


def plot_ranef(fit):
    """Caterpillar plot: each level's group effects with 95% intervals."""
    effects = [names.r(b.label) for b in fit.design.blocks]
    if not effects:
        raise ValueError("the model has no random effects to plot")
    return _figure(az.plot_forest(fit.idata, var_names=effects, combined=True, hdi_prob=0.95))


def plot_fixef(fit):
    """Fixed effects with 95% intervals."""
    return _figure(az.plot_forest(fit.idata, var_names=["beta"], combined=True, hdi_prob=0.95))

"""``hglm.Fit``: the posterior of a fitted model and what a mixed-model user asks of it."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hglm.results import tables
from hglm.results.summary import format_summary
from hglm.sample.diagnostics import Diagnostics, diagnose

if TYPE_CHECKING:
    from hglm.comparison.bridge import BridgeResult
    from hglm.model import Model
    from hglm.sample.nuts import SamplerSettings

__all__ = ["Fit"]


class Fit:
    """A fitted model: ``idata`` (ArviZ InferenceData) plus lme4-style tables."""

    def __init__(self, model: Model, idata, settings: SamplerSettings, elapsed: float,
                 notes: list[str] | None = None, call: dict | None = None,
                 complete: Callable[[object], None] | None = None):
        self.model = model
        self._idata = idata
        # the strategy's conditional draws (the integrated effects r_<group>), made on first
        # use of ``idata``: 10M rows' 100,000 x 2 effects are 6.4 GB of draws, and the
        # diagnostics, fixed effects and variance components do not need them
        self._complete = complete
        self.settings = settings
        self.elapsed = elapsed
        self.notes = list(notes or [])      # what hglm decided while fitting, in plain words
        # the arguments of fit() (seed resolved, target_accept None when fit chose it):
        # update() refits with them, as lme4's update() re-evaluates the call
        self.call = dict(call) if call is not None else {**settings.to_dict()}
        self._cache: dict = {}

    @property
    def spec(self):
        """The model's :class:`hglm.ModelSpec` (formula, family, priors, strategy, ...)."""
        return self.model.spec

    def update(self, data=None, progressbar: bool = True, **changes) -> Fit:
        """Refit with ``changes`` to the model (``formula``, ``family``, ``link``, ``priors``,
        ``strategy``, ``centered``), new ``data``, or changed ``fit`` arguments (``draws``,
        ``seed``, ...), as lme4's ``update``; everything else as in this fit."""
        sampling = {k: changes.pop(k) for k in list(changes) if k in self.call}
        model = self.model.update(data, **changes) if data is not None or changes else self.model
        return model.fit(**{**self.call, **sampling}, progressbar=progressbar)

    def log_likelihood(self):
        """The pointwise log-likelihood group of ``idata`` (computed on first use).

        Conditional on the group effects, one value per row and draw, the same for every
        strategy (rows summed into counts or effects integrated out are put back first).
        """
        import xarray as xr

        from hglm.results.predict import pointwise_log_likelihood

        if "log_likelihood" not in self.idata.groups():
            values = pointwise_log_likelihood(self.design, self.posterior)
            chains, draws = self.posterior.sizes["chain"], self.posterior.sizes["draw"]
            data = xr.DataArray(values.reshape(chains, draws, -1), dims=("chain", "draw", "obs"),
                                coords={"chain": self.posterior.chain,
                                        "draw": self.posterior.draw,
                                        "obs": np.arange(self.design.n)})
            self.idata.add_groups({"log_likelihood": xr.Dataset({self.design.response_name: data})})
        return self.idata.log_likelihood

    @property
    def design(self):
        return self.model.design

    @property
    def idata(self):
        """The ArviZ InferenceData: posterior (every parameter, group effects included),
        sample_stats, observed_data, and the groups added on request."""
        if self._complete is not None:
            complete, self._complete = self._complete, None
            complete(self._idata)
        return self._idata

    @property
    def posterior(self):
        return self.idata.posterior

    @property
    def _sampled(self):
        """The posterior as the sampler left it: every population parameter, without the
        integrated effects that ``idata`` adds on first use."""
        return self._idata.posterior

    @cached_property
    def diagnostics(self) -> Diagnostics:
        return diagnose(self._idata, tables.population_vars(self.design, self._sampled))

    def summary(self) -> str:
        """lme4-like text: header, random effects, fixed effects, sampler diagnostics."""
        return format_summary(self)

    def fixef(self) -> pd.DataFrame:
        """Fixed effects: term, mean, sd, lower, upper (95%), r_hat, ess_bulk, ess_tail."""
        return tables.fixef_table(self.design, self._sampled)

    def shrinkage(self, threshold: float | dict[str, float] | None = None) -> pd.DataFrame:
        """Per slope: posterior mean and sd, the practical ``threshold``, P(|beta| > threshold)
        and the mean shrinkage factor ``kappa`` (0 = untouched, 1 = shrunk to zero; NaN
        where the prior defines none).  ``threshold`` defaults to 0.1 sd(y) / sd(x) on the
        identity link and 0.1 / sd(x) otherwise; a number or a dict per term overrides it.
        """
        from hglm.results.shrinkage import shrinkage_table

        return shrinkage_table(self.design, self.posterior, threshold)

    def varcorr(self) -> pd.DataFrame:
        """Variance components: group, name, kind (sd|cor), mean, sd, lower, upper, ess_bulk,
        r_hat."""
        return tables.varcorr_table(self.design, self._sampled)

    def ranef(self) -> pd.DataFrame:
        """Group effects: one row per (group, level, term)."""
        return tables.ranef_table(self.design, self.posterior)

    def coef(self) -> pd.DataFrame:
        """Per-level coefficients, fixed plus random: one row per (group, level, term)."""
        return tables.coef_table(self.design, self.posterior)

    # -- predictions and checks ---------------------------------------------------------
    def predict(self, newdata: pd.DataFrame | None = None, kind: str = "mean",
                include_random: bool = True, allow_new_levels: bool = True,
                summary: bool = True, seed: int | None = None, dpar: str | None = None):
        """Predictions for ``newdata`` (default: the fitted rows).

        ``kind``: ``"link"`` (linear predictor), ``"mean"`` (expected response; for binomial
        the expected successes; for an ordinal family the probability of each category, one
        row per (row, category), draws (draws, rows, categories)) or ``"response"``
        (simulated responses; ordinal: category codes 0 .. K-1 of ``design.categories``).
        A level the model has not seen gets effects drawn from the fitted population
        distribution, draw by draw, unless ``allow_new_levels=False``.  Returns a summary
        frame (mean, sd, lower, upper per row) or, with ``summary=False``, the (draws, rows)
        array.  ``dpar="sigma"`` (any auxiliary parameter): that parameter on each row
        (``kind="mean"``) or its linear predictor (``kind="link"``), as brms's ``dpar``.
        """
        from hglm.results.predict import predict_draws

        draws = predict_draws(self.design, self.posterior, newdata, kind, include_random,
                              allow_new_levels, self.settings.seed if seed is None else seed,
                              dpar)
        if not summary:
            return draws
        lower, upper = np.quantile(draws, [0.025, 0.975], axis=0)
        table = {"mean": draws.mean(axis=0), "sd": draws.std(axis=0, ddof=1),
                 "lower": lower, "upper": upper}
        if draws.ndim == 2:
            return pd.DataFrame(table)
        # category probabilities (ordinal): one row per (row, category)
        rows, k = draws.shape[1:]
        categories = np.asarray(self.design.categories, dtype=object)
        return pd.DataFrame({"row": np.repeat(np.arange(rows), k),
                             "category": np.tile(categories, rows),
                             **{key: value.reshape(-1) for key, value in table.items()}})

    def sample_posterior_predictive(self, seed: int | None = None):
        """Add ``posterior_predictive`` draws of the response to ``idata`` (and return it).

        One simulated data set per posterior draw, from the same engine as ``predict``.
        """
        import xarray as xr

        from hglm.results.predict import predict_draws

        draws = predict_draws(self.design, self.posterior, kind="response",
                              seed=self.settings.seed if seed is None else seed)
        chains, n = self.posterior.sizes["chain"], self.posterior.sizes["draw"]
        name = self.design.response_name
        values = xr.DataArray(draws.reshape(chains, n, -1), dims=("chain", "draw", "obs"),
                              coords={"chain": self.posterior.chain, "draw": self.posterior.draw,
                                      "obs": np.arange(self.design.n)})
        group = xr.Dataset({name: values})
        if "posterior_predictive" in self.idata.groups():
            self.idata.posterior_predictive = group
        else:
            self.idata.add_groups({"posterior_predictive": group})
        return self.idata

    def plot_trace(self):
        from hglm.results.plots import plot_trace
        return plot_trace(self)

    def plot_ppc(self):
        from hglm.results.plots import plot_ppc
        return plot_ppc(self)

    def plot_ranef(self):
        from hglm.results.plots import plot_ranef
        return plot_ranef(self)

    def plot_fixef(self):
        from hglm.results.plots import plot_fixef
        return plot_fixef(self)

    def loo(self, draws: int | None = None):
        """PSIS-LOO over the rows the fit stands for (brms's ``loo``): elpd_loo, its SE,
        p_loo and the rows with Pareto k > 0.7.  Distinct rows with counts count as their
        rows; moment points of a Dask frame are scored at its rows by a distributed map
        (``draws``: thin the posterior to that many; :mod:`hglm.comparison.loo`)."""
        from hglm.comparison.loo import loo

        return loo(self, draws)

    def log_marginal_likelihood(self, seed: int | None = None) -> BridgeResult:
        """log p(y) by bridge sampling, with an error estimate (for Bayes factors).

        Priors must be proper (hglm's defaults are). Needs enough draws: it warns, and says
        how many, when the estimate is unstable.
        """
        from hglm.comparison.bridge import bridge_sampler

        if "bridge" not in self._cache:
            self._cache["bridge"] = bridge_sampler(
                self.model.pymc_model, self.idata,
                seed=self.settings.seed if seed is None else seed)
        return self._cache["bridge"]

    def sensitivity(self, keys=None, alphas=(0.99, 1.01), threshold: float = 0.05) -> pd.DataFrame:
        """Power-scaling prior/likelihood sensitivity; see :func:`hglm.sensitivity`."""
        from hglm.sensitivity.power import sensitivity

        return sensitivity(self, keys=keys, alphas=alphas, threshold=threshold)

    # -- interpretation (hglm.interpret) ------------------------------------------------
    def predictions(self, **kwargs):
        """Predictions over rows or a grid; see :func:`hglm.predictions`."""
        from hglm.interpret.effects import predictions

        return predictions(self, **kwargs)

    def comparisons(self, variables, **kwargs):
        """Contrasts of predictions; see :func:`hglm.comparisons`."""
        from hglm.interpret.effects import comparisons

        return comparisons(self, variables, **kwargs)

    def slopes(self, variables, **kwargs):
        """Partial derivatives of predictions; see :func:`hglm.slopes`."""
        from hglm.interpret.effects import slopes

        return slopes(self, variables, **kwargs)

    def conditional_effects(self, effects=None, **kwargs):
        """One figure per predictor (or interaction ``"x:f"``); see
        :func:`hglm.interpret.plots.conditional_effects`."""
        from hglm.interpret.plots import conditional_effects

        return conditional_effects(self, effects, **kwargs)

    def r2(self, summary: bool = True):
        """Bayesian R² (Gelman et al. 2019), marginal and conditional; see
        :func:`hglm.interpret.variance.bayes_r2`."""
        from hglm.interpret.variance import bayes_r2

        return bayes_r2(self, summary=summary)

    def loo_r2(self, summary: bool = True):
        """LOO-adjusted R²; see :func:`hglm.interpret.variance.loo_r2`."""
        from hglm.interpret.variance import loo_r2

        return loo_r2(self, summary=summary)

    def r2_nakagawa(self, summary: bool = True):
        """Nakagawa's marginal and conditional R² on the latent scale; see
        :func:`hglm.interpret.variance.r2_nakagawa`."""
        from hglm.interpret.variance import r2_nakagawa

        return r2_nakagawa(self, summary=summary)

    def icc(self, summary: bool = True):
        """Intraclass correlations on the latent scale; see :func:`hglm.interpret.variance.icc`."""
        from hglm.interpret.variance import icc

        return icc(self, summary=summary)

    def variance_decomposition(self, summary: bool = True):
        """Variance shares of fixed effects, each group term and the residual (latent scale);
        see :func:`hglm.interpret.variance.variance_decomposition`."""
        from hglm.interpret.variance import variance_decomposition

        return variance_decomposition(self, summary=summary)

    def hypothesis(self, hypothesis, alpha: float = 0.05, seed: int | None = None):
        """brms's ``hypothesis()``; see :func:`hglm.interpret.hypothesis.hypothesis`."""
        from hglm.interpret.hypothesis import hypothesis as test

        return test(self, hypothesis, alpha=alpha, seed=seed)

    def save(self, path, overwrite: bool = False) -> None:
        """Write the fit to a folder (InferenceData, data, model spec); see :func:`hglm.load`."""
        from hglm.results.io import save_fit

        save_fit(self, path, overwrite)

    def __repr__(self) -> str:
        return (f"<hglm.Fit {self.model.formula!r}: {self.settings.chains} chains x "
                f"{self.settings.draws} draws>")

    def __str__(self) -> str:
        return self.summary()

"""``hglm.Model``: declare a model, see its priors, fit it.

The model is the front of the pipeline: spec (formula, family, priors) -> design
(:func:`hglm.design.make_design`) -> PyMC graph (:func:`hglm.graph.build_model`) -> NUTS
(:func:`hglm.sample.sample`) -> :class:`hglm.Fit`.  Each step is a public function that
hands the next one a plain bundle, so each can be used and tested on its own.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from hglm import names
from hglm.design.matrices import Design, make_design, used_columns
from hglm.graph.priors import PriorSet, resolve_priors
from hglm.graph.strategies import get_strategy
from hglm.spec.families import Family
from hglm.spec.model_spec import ModelSpec
from hglm.spec.priors import Prior

if TYPE_CHECKING:
    import pymc as pm

    from hglm.graph.describe import Description
    from hglm.ml.fit import MLFit
    from hglm.results.fit import Fit
    from hglm.sample.nuts import SamplerSettings

__all__ = ["Model", "load"]

#: draws x rows up to which ``fit()`` stores the pointwise log-likelihood at once (80 MB,
#: under a second); beyond, ``Fit.log_likelihood()`` computes it when LOO, sensitivity or
#: saving asks (PyMC and Bambi leave it out by default too)
LOG_LIKELIHOOD_EAGER = 1e7
HORSESHOE_TARGET_ACCEPT = 0.99
#: with ``target_accept=None``, a fit that ends with divergent transitions is run again at
#: this target (a smaller step size).  Count models keep a few divergences in the tails of
#: their posterior whatever the parameterization: poisson SBC fits with random slopes
#: diverged (1-12 of 4,000 draws) in 7 of 20 at 0.9, 4 of 20 at 0.95, 0 of 20 at 0.99,
#: where every draw costs 1.8 times the leapfrog steps; only the fits that need it pay that
RETRY_TARGET_ACCEPT = 0.99
#: with ``extend=True``, a fit whose R-hat exceeds 1.01 runs this many times its draws.  The
#: full SBC's misses were R-hat 1.011-1.018 at bulk ESS 450-750 (hurdle negative binomial,
#: zero-inflated Poisson with a zi formula: a correlation that mixes slowly), where R-hat's
#: own Monte Carlo noise reaches 1.01; doubling the ESS halves that excess.  Stan and brms
#: leave this to the user ("run more iterations"); only the fits that need it pay
EXTEND = 2
#: ... and only up to this R-hat: beyond it the chains disagree by more than slow mixing at
#: a few hundred effective draws explains (a stuck chain, separate modes), which running on
#: does not mend; the warning says what to try
EXTEND_RHAT_UP_TO = 1.05


def _divergences(idata) -> int:
    stats = idata.sample_stats if "sample_stats" in idata.groups() else {}
    return int(stats["diverging"].sum()) if "diverging" in stats else 0


def _observed_data(idata, design: Design) -> None:
    """The user's response, row by row (strategies may have summed or integrated rows)."""
    import numpy as np

    if design.moments:      # moment points are not the user's rows
        return
    import xarray as xr

    data = xr.Dataset({design.response_name: xr.DataArray(
        design.y, dims=("obs",), coords={"obs": np.arange(design.n)})})
    if "observed_data" in idata.groups():
        del idata.observed_data
    idata.add_groups({"observed_data": data})


def _design(spec: ModelSpec, data: pd.DataFrame) -> Design:
    return make_design(spec.formula, data, spec.family_object, spec.weights, spec.dpar_dict,
                       spec.counts)


def _response_column(data: pd.DataFrame, design: Design):
    import numpy as np

    values = design.y
    if design.categories is not None:       # ordinal codes -> the categories themselves
        values = pd.Categorical.from_codes(design.y, categories=list(design.categories),
                                           ordered=True)
    if len(data) == design.n:
        return values
    column = pd.Series(pd.NA if design.categories is not None else np.nan, index=data.index,
                       dtype=values.dtype if design.categories is not None else float)
    column.iloc[data.index.get_indexer(design.row_index)] = values
    return column.to_numpy()


class Model:
    """A Bayesian GLMM declared with an lme4 formula.

    Parameters
    ----------
    formula : str
        lme4 syntax, e.g. ``"Reaction ~ Days + (Days | Subject)"``.
    data : pandas.DataFrame
        The data; rows with missing values in used columns are dropped with a warning.
    family : str or Family
        ``"gaussian"``, ``"student"``, ``"lognormal"``, ``"gamma"``, ``"beta"``,
        ``"poisson"``, ``"negbinomial"``, ``"binomial"``, ``"bernoulli"``, ``"betabinomial"``,
        ``"zero_inflated_poisson"``, ``"hurdle_poisson"``, ... (the README's family table).
    priors : dict, optional
        Prior key -> :class:`hglm.Prior` or its string form; see ``m.priors`` for the keys
        in use and :mod:`hglm.graph.priors` for the default rules.
    link : str, optional
        A non-default link, e.g. ``"probit"``.
    strategy : str
        How random effects enter the likelihood: ``"auto"`` (the fastest that applies),
        ``"marginal"`` (gaussian: integrated out exactly), ``"collapsed"`` (binomial rows
        summed into counts) or ``"indexed"``; see :mod:`hglm.graph.strategies`.
    centered : bool or dict, optional
        Centered (``True``) or non-centered (``False``) sampled group effects, for all blocks or
        per group label; by default chosen from the data (see ``m.parameterization``).
    weights : str, optional
        A column of likelihood weights: row i's log-likelihood counts ``weights[i]`` times
        (brms's ``weights()``, glmmTMB's ``weights``); integer weights are frequencies, so
        a row of weight 3 is three identical rows.
    counts : str, optional
        A column saying how many identical rows each row stands for (aggregated data: a row
        with count 5 is five rows); priors and centering count each row as often.
    engine : str, optional
        ``"dask"`` reads ``data`` given as a path or glob of Parquet files with Dask.  A Dask
        DataFrame (``engine`` implied) is reduced where its partitions are to the distinct
        rows the model reads, with their counts (:mod:`hglm.design.distributed`), and the
        model of those is exactly the model of all the rows; ``m.reduction`` says what it
        did.  For models whose columns are discrete; others are refused with the reason.
    **dpars : str
        A formula for an auxiliary parameter of the family, by its name (brms's distributional
        parameters): ``sigma="~ x + (1 | g)"``, ``zi="~ x"``, ``phi="~ group"``.  Each has a
        right-hand side only, with fixed and group terms as in ``formula``, on the parameter's
        link scale (log for positive parameters, logit for probabilities); parameters without
        one stay constants.
    """

    def __init__(self, formula: str, data: pd.DataFrame, family: str | Family = "gaussian",
                 priors: Mapping[str, Prior | str] | None = None, link: str | None = None,
                 strategy: str = "auto", centered: bool | Mapping[str, bool] | None = None,
                 weights: str | None = None, counts: str | None = None,
                 engine: str | None = None, **dpars: str) -> None:
        from hglm.design.distributed import read_data

        spec = ModelSpec.of(formula, family, priors, link, strategy, centered, weights, dpars,
                            counts)
        self._build(spec, read_data(data, engine))

    @classmethod
    def from_spec(cls, spec: ModelSpec, data: pd.DataFrame) -> Model:
        """The model ``spec`` describes, on ``data`` (a pandas or Dask DataFrame)."""
        model = cls.__new__(cls)
        model._build(spec, data)
        return model

    def _build(self, spec: ModelSpec, data) -> None:
        """The design of ``data`` (a Dask frame reduced to its distinct rows first), then
        priors and strategy."""
        from hglm.design.distributed import is_dask, reduce_data

        if is_dask(data):
            reduced = reduce_data(spec, data)
            design = reduced.design or _design(reduced.spec, reduced.data)
            self._assemble(reduced.spec, design, reduced.data, source=data,
                           reduction=reduced.reduction)
        else:
            self._assemble(spec, _design(spec, data), data)

    def _assemble(self, spec: ModelSpec, design: Design, data: pd.DataFrame,
                  source=None, reduction=None) -> None:
        """Priors and strategy for ``design``: the steps after the design, shared by every
        way a model is made; ``source``: the data ``data`` was reduced from, as
        ``reduction`` (:class:`hglm.design.distributed.Reduction`) says."""
        self.spec = spec
        self.reduction = reduction
        self.family = design.family
        self.design = design
        # the user's frame, so update() can add columns
        self.source_data = data if source is None else source
        columns = [c for d in design.predictors for c in used_columns(d.formula)]
        columns += [c for c in (spec.weights, spec.counts) if c]
        # moment points: the cells' labels only (the rows are not data)
        self.data = data if design.moments else data[list(dict.fromkeys(columns))]
        self.prior_set: PriorSet = resolve_priors(design, spec.prior_dict)
        self._strategy = get_strategy(spec.strategy, design, spec.centering)  # refuses misfits
        self._pymc_model: pm.Model | None = None
        self._ml: dict[bool, MLFit] = {}

    def update(self, data: pd.DataFrame | None = None, **changes) -> Model:
        """The same model with ``changes`` to its spec (``formula``, ``family``, ``link``,
        ``priors``, ``strategy``, ``centered``) or new ``data``, as lme4's ``update``:
        ``m.update(formula=". ~ . + (1 | site)")``, ``m.update(priors={"sd": "HalfNormal(5)"})``.
        Anything not changed stays as it was."""
        return Model.from_spec(self.spec.update(**changes),
                               self.source_data if data is None else data)

    @property
    def strategy(self) -> str:
        return self.spec.strategy

    @property
    def centered(self) -> bool | dict[str, bool] | None:
        return self.spec.centering

    @property
    def formula(self) -> str:
        return self.design.formula.formula

    @property
    def priors(self) -> pd.DataFrame:
        """Every prior the model uses: key, parameter, distribution, source (default|user)."""
        return self.prior_set.table()

    def __getstate__(self) -> dict:
        # the PyMC model holds partials that plain pickle refuses; it is rebuilt on first use
        return {**self.__dict__, "_pymc_model": None}

    @property
    def pymc_model(self) -> pm.Model:
        """The compiled PyMC model (built on first use)."""
        if self._pymc_model is None:
            from hglm.graph.assemble import build_model

            self._pymc_model = build_model(self.design, self.prior_set, self._strategy)
        return self._pymc_model

    def describe(self) -> Description:
        """The generated PyMC model as readable text, one commented block per part (data,
        priors, group effects in their parameterization, likelihood, outputs), as brms's
        ``stancode``: ``print(m.describe())``."""
        from hglm.graph.describe import describe_model

        return describe_model(self.design, self.prior_set, self._strategy, self.pymc_model)

    @property
    def parameterization(self) -> dict[str, str]:
        """How each group's effects enter: marginalized, centered or non-centered (+ strategy)."""
        out = {"strategy": self._strategy.name, **self._strategy.describe(self.design)}
        for name, why in self._strategy.passed_over.items():
            out["strategy"] += f" ({name} does not apply: {why})"
        for block in self.design.all_blocks:
            if block.dpar is not None:
                out[block.label] = f"non-centered ({block.dpar}'s formula)"
        return out

    @property
    def default_target_accept(self) -> float:
        """NUTS's target acceptance rate when ``fit`` is given none: the strategy's (0.9, or
        0.95 for nested sampled factors), 0.99 under a horseshoe prior (as brms advises: its
        heavy-tailed local scales left 3-4 divergences per fit at 0.95 on
        ``hglm.validation.models.sparse_glmm``, none at 0.99)."""
        from hglm.spec.priors import Horseshoe

        if any(isinstance(e.prior, Horseshoe) for e in self.prior_set):
            return HORSESHOE_TARGET_ACCEPT
        return self._strategy.target_accept(self.design)

    def fit(self, draws: int = 1000, tune: int = 1000, chains: int = 4, seed: int | None = None,
            sampler: str = "auto", target_accept: float | None = None, progressbar: bool = True,
            cores: int | None = None, mass_matrix: str = "auto", extend: bool = True) -> Fit:
        """Sample the posterior with NUTS; warns in plain words if the draws need a look.

        ``sampler``: ``"auto"`` (numpyro through hglm's JAX driver when installed, else
        PyMC's), ``"pymc"``, ``"numpyro"``, ``"nutpie"`` or ``"blackjax"``; or ``"gibbs"``,
        hglm's Gibbs sampler of the semi-conjugate hierarchical model
        (:mod:`hglm.sample.gibbs`; one grouping factor, MvNormal / InverseWishart /
        InverseGamma priors).
        ``mass_matrix``: ``"auto"`` (dense for up to 12 sampled parameters, else diagonal),
        ``"diag"``, ``"dense"`` or ``"block"`` (numpyro: dense over the population
        parameters when they number 2 to 12, diagonal over the group effects).
        ``target_accept``: by default 0.9, or 0.95 where the strategy knows the geometry needs
        it (``m.default_target_accept``); a default-target
        fit that ends with divergent transitions is run again at
        :data:`RETRY_TARGET_ACCEPT`, and ``fit.notes`` says so.
        ``extend``: a fit whose largest R-hat over the population parameters is above 1.01
        (up to :data:`EXTEND_RHAT_UP_TO`) is run again with :data:`EXTEND` times the draws
        (numpyro: the same seed repeats the warm-up and the first draws, so the chains run
        on), and ``fit.notes`` says so.
        """
        from hglm.results.fit import Fit
        from hglm.sample.diagnostics import warn_diagnostics
        from hglm.sample.nuts import SamplerSettings

        chosen = target_accept is not None
        settings = SamplerSettings(draws, tune, chains, seed, sampler,
                                   target_accept if chosen else self.default_target_accept,
                                   cores, mass_matrix)
        idata, elapsed = self._sample(settings, progressbar)
        notes = []
        divergent = _divergences(idata)
        if divergent and not chosen and settings.target_accept < RETRY_TARGET_ACCEPT:
            notes.append(f"{divergent} divergent transitions at target_accept "
                         f"{settings.target_accept:g}: refitted at {RETRY_TARGET_ACCEPT:g}")
            settings = dataclasses.replace(settings, target_accept=RETRY_TARGET_ACCEPT)
            idata, more = self._sample(settings, progressbar)
            elapsed += more
        _observed_data(idata, self.design)
        call = {**settings.to_dict(), "target_accept": target_accept,   # what update() reuses
                "extend": extend}
        fit = Fit(self, idata, settings, elapsed, notes, call, self._completion(settings))
        if extend:
            fit = self._extend(fit, progressbar)
        if fit.settings.draws * settings.chains * self.design.n <= LOG_LIKELIHOOD_EAGER \
                and not self.design.moments:
            fit.log_likelihood()
        warn_diagnostics(fit.diagnostics, settings.target_accept)
        return fit

    def _extend(self, fit: Fit, progressbar: bool) -> Fit:
        """``fit`` again with :data:`EXTEND` times its draws where its R-hat says the chains
        mixed slowly (above 1.01, up to :data:`EXTEND_RHAT_UP_TO`); else ``fit``."""
        from hglm.results.fit import Fit
        from hglm.sample.diagnostics import RHAT_MAX

        rhat = fit.diagnostics.max_rhat
        if not RHAT_MAX < rhat <= EXTEND_RHAT_UP_TO or fit.settings.sampler == "gibbs":
            return fit
        settings = dataclasses.replace(fit.settings, draws=EXTEND * fit.settings.draws)
        notes = fit.notes + [f"R-hat {rhat:.3f} (above {RHAT_MAX}) after {fit.settings.draws} "
                             f"draws per chain: ran to {settings.draws}"]
        idata, more = self._sample(settings, progressbar)
        _observed_data(idata, self.design)
        return Fit(self, idata, settings, fit.elapsed + more, notes, fit.call,
                   self._completion(settings))

    def _sample(self, settings: SamplerSettings, progressbar: bool):
        if settings.sampler == "gibbs":
            from hglm.sample.gibbs import sample_gibbs

            return sample_gibbs(self.design, self.prior_set, settings.draws, settings.tune,
                                settings.chains, settings.seed, progressbar)
        grouped = frozenset(n for b in self.design.all_blocks
                            for n in names.group_effect_variables(b.label))
        from hglm.sample.nuts import sample

        return sample(self.pymc_model, settings, progressbar, grouped, self.design.n_rows)

    def _completion(self, settings: SamplerSettings):
        """What the strategy adds to a posterior after sampling (``Fit`` runs it on first use
        of ``idata``), with the fit's seed, so the draws do not depend on when; the Gibbs
        sampler draws every effect itself."""
        if settings.sampler == "gibbs":
            return None
        # a partial, not a lambda: a Fit not yet completed still pickles
        return functools.partial(self._strategy.complete, design=self.design, seed=settings.seed)

    def sample_prior_predictive(self, draws: int = 500, seed: int | None = None):
        """Draws from the priors and the prior predictive distribution (InferenceData).

        Parameters come from PyMC's forward sampler (on a model of their own: PyMC 5.28's
        forward sampling leaves the model it ran on unable to compile its log density);
        responses from the same simulator as ``Fit.predict``.  Wide priors on a log or logit
        scale can imply absurd means; count means are capped at 1e15 so the draws stay finite.
        """
        import xarray as xr

        from hglm.results.predict import predict_draws

        idata = self.prior_draws(draws, seed)
        simulated = predict_draws(self.design, idata.prior, kind="response", seed=seed)
        response = xr.DataArray(simulated[None], dims=("chain", "draw", "obs"),
                                coords={"chain": idata.prior.chain, "draw": idata.prior.draw,
                                        "obs": range(self.design.n)})
        idata.add_groups({"prior_predictive": xr.Dataset({self.design.response_name: response})})
        return idata

    def prior_draws(self, draws: int, seed: int | None = None,
                    var_names: list[str] | None = None):
        """Forward draws of the parameters (``var_names``: those only; default every variable)
        from the priors, as InferenceData with a ``prior`` group."""
        # indexed: the forward sampler needs the group effects as variables
        # non-centered: the same prior, written so that every variable can be drawn forwards
        # a model of its own: PyMC's forward sampling can leave the model it ran on unable to
        # compile its log density (bridge sampling needs it)
        import pymc as pm

        from hglm.graph.assemble import build_model

        fresh = build_model(self.design, self.prior_set, "indexed", False)
        drawn = [v.name for v in fresh.free_RVs + fresh.deterministics]
        if var_names is not None:
            drawn = [n for n in drawn if n in set(var_names)]
        return pm.sample_prior_predictive(draws=draws, model=fresh, var_names=drawn,
                                          random_seed=seed)

    def with_response(self, y) -> Model:
        """The same model (design, priors, strategy choice) with another response vector, one
        value per used row: the refit step of simulation studies such as :func:`hglm.sbc`.

        User priors carry over unchanged; data-scaled defaults are recomputed from ``y``.
        """
        import numpy as np

        from hglm.design import checks

        y = np.asarray(y, dtype=float)
        if y.shape != self.design.y.shape:
            raise ValueError(f"the new response has shape {y.shape}; the model has "
                             f"{self.design.n} rows")
        name = self.design.response_name
        checks.check_finite(pd.DataFrame({name: y}), [name])
        self.family.check_response(y, name, self.design.trials)
        # the dtype make_design gives (whole-number responses are integers)
        y = y.astype(self.design.y.dtype)
        design = dataclasses.replace(self.design, y=y, dpars=tuple(
            dataclasses.replace(d, y=y) for d in self.design.dpars))
        data = self.data
        if (name in data.columns and self.design.success_level is None
                and data.index.is_unique):
            # the frame says what the design says (a saved refit reloads the same data); rows
            # the design dropped stay dropped
            data = data.assign(**{name: _response_column(data, design)})
        model = Model.__new__(Model)
        model._assemble(self.spec, design, data, reduction=self.reduction)
        return model

    def fit_ml(self, reml: bool = False) -> MLFit:
        """Maximum-likelihood (or, for gaussian models, REML) fit: exact for gaussian, Laplace
        otherwise (glmer's default), with ``logLik`` and ``npar`` as lme4 reports them."""
        from hglm.ml.fit import fit_ml

        # deterministic given the model, and compare() asks for it again
        if reml not in self._ml:
            self._ml[reml] = fit_ml(self.design, reml=reml)
        return self._ml[reml]

    def __repr__(self) -> str:
        dpars = "".join(f", {k}={v!r}" for k, v in self.spec.dpars)
        return (f"hglm.Model({self.formula!r}, family={self.spec.family!r}, "
                f"link={self.spec.link!r}{dpars}, n={self.design.n_rows})")


def load(path) -> Fit:
    """Read a fit written by ``Fit.save``: the same summaries, and the model rebuilt from its
    spec and data, so data-scaled defaults are re-derived exactly."""
    from hglm.results.fit import Fit
    from hglm.results.io import read_fit
    from hglm.sample.nuts import SamplerSettings

    saved = read_fit(path)
    model = Model.from_spec(ModelSpec.from_dict(saved), saved["data"])
    return Fit(model, saved["idata"], SamplerSettings(**saved["settings"]), saved["elapsed"],
               saved.get("notes", []), saved.get("call"))

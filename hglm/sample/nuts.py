"""NUTS through PyMC, or through nutpie / numpyro / blackjax when installed."""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import asdict, dataclass

import numpy as np
import pymc as pm

__all__ = ["SamplerSettings", "sample", "SAMPLERS"]

#: sampler name -> the module it needs ("gibbs" is hglm's own, :mod:`hglm.sample.gibbs`)
SAMPLERS = {"pymc": "pymc", "nutpie": "nutpie", "numpyro": "numpyro", "blackjax": "blackjax",
            "gibbs": "numpy"}

#: what ``sampler="auto"`` tries, in order.  hglm's own JAX driver for numpyro's NUTS
#: (:mod:`hglm.sample.jax_nuts`) fits sleepstudy in ~3 s with warm caches; nutpie spends
#: ~9 s of every fit compiling its numba callbacks (not cached across processes), PyMC's
#: sampler ~10 s (bench/RESULTS.md).  numpyro and JAX are core dependencies, so "pymc" is
#: only reached where they cannot be imported (a broken JAX install)
AUTO_ORDER = ("numpyro", "pymc")

#: free parameters up to which ``mass_matrix="auto"`` adapts a dense mass matrix: on the small
#: posteriors left after marginalizing (sleepstudy: 7) it doubles the effective draws.  Not
#: more: numpyro (like Stan) estimates it from a first slow window of 25 warm-up draws, which
#: is rank-deficient beyond ~12 dimensions; at 25 (a poisson GLMM with 10 groups of random
#: slopes) 5 of 200 SBC fits left a chain stuck with its step size collapsed to ~1e-34
DENSE_MAX = 12
MASS_MATRICES = ("auto", "diag", "dense", "block")


def resolve_sampler(name: str) -> str:
    """``"auto"``: the first of :data:`AUTO_ORDER` whose package is installed."""
    if name != "auto":
        return name
    return next(s for s in AUTO_ORDER if importlib.util.find_spec(SAMPLERS[s]) is not None)


@dataclass(frozen=True)
class SamplerSettings:
    """Everything that decides the draws; stored with every fit."""

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int | None = None
    sampler: str = "auto"
    target_accept: float = 0.9
    cores: int | None = None
    mass_matrix: str = "auto"

    def __post_init__(self) -> None:
        for name in ("draws", "tune", "chains"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < (1 if name != "tune" else 0):
                raise ValueError(f"{name} must be a positive whole number, got {value!r}")
        if not 0 < self.target_accept < 1:
            raise ValueError(f"target_accept must lie in (0, 1), got {self.target_accept!r}")
        if self.mass_matrix not in MASS_MATRICES:
            raise ValueError(f"mass_matrix must be one of {', '.join(MASS_MATRICES)}, got "
                             f"{self.mass_matrix!r}")
        object.__setattr__(self, "sampler", resolve_sampler(self.sampler))
        if self.sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {self.sampler!r}; choose one of "
                             f"{', '.join(SAMPLERS)}")
        if importlib.util.find_spec(SAMPLERS[self.sampler]) is None:
            raise ValueError(f"sampler {self.sampler!r} needs the package "
                             f"{SAMPLERS[self.sampler]!r}: pip install "
                             f"{SAMPLERS[self.sampler]} (or use sampler='pymc')")
        if self.seed is None:
            # record a seed even when none was given, so every fit can be repeated
            object.__setattr__(self, "seed", int(np.random.SeedSequence().entropy % 2**31))

    def to_dict(self) -> dict:
        return asdict(self)


def dense_mass(model: pm.Model, settings: SamplerSettings,
               grouped: frozenset[str] = frozenset()) -> bool | tuple[tuple[str, ...], ...]:
    """The mass matrix to adapt: True (dense), False (diagonal), or numpyro's structured form,
    a dense block over the population parameters (every value variable not in ``grouped``,
    the group-effect variables) with the group effects diagonal.

    ``"auto"``: dense up to :data:`DENSE_MAX` parameters, else diagonal; ``"block"``: the
    block where the population parameters number 2 to :data:`DENSE_MAX` (numpyro only;
    other samplers adapt a diagonal)."""
    if settings.mass_matrix in ("dense", "diag"):
        return settings.mass_matrix == "dense"
    sizes = {k: int(np.size(v)) for k, v in model.initial_point().items()}
    if settings.mass_matrix == "auto":
        return sum(sizes.values()) <= DENSE_MAX
    population = tuple(sorted(v.name for v in model.value_vars if v.name not in grouped))
    if settings.sampler != "numpyro" or not 2 <= sum(sizes[n] for n in population) <= DENSE_MAX:
        return False
    return (population,) if len(population) < len(sizes) else True


def sample(model: pm.Model, settings: SamplerSettings, progressbar: bool = True,
           grouped: frozenset[str] = frozenset(), rows: int | None = None):
    """Run NUTS; returns InferenceData and the wall time in seconds.

    numpyro runs through hglm's own JAX driver (:mod:`hglm.sample.jax_nuts`); the other
    samplers through ``pm.sample``.  The pointwise log-likelihood is left to
    :meth:`hglm.Fit.log_likelihood`, which computes it on the user's rows whatever the
    strategy did to them.  ``grouped``: the value variables holding group effects (for the
    ``"block"`` mass matrix).  ``rows``: the data's rows, where known; numpyro then looks for
    coordinates to sample rescaled only from :data:`~hglm.sample.jax_nuts.RESCALE_ROWS` on.
    """
    dense = dense_mass(model, settings, grouped)
    if settings.sampler == "numpyro":
        from hglm.sample.jax_nuts import RESCALE_ROWS, sample_jax

        return sample_jax(model, settings.draws, settings.tune, settings.chains, settings.seed,
                          settings.target_accept, dense_mass=dense, progressbar=progressbar,
                          rescale=rows is None or rows >= RESCALE_ROWS)
    kwargs = dict(
        draws=settings.draws, tune=settings.tune, chains=settings.chains,
        random_seed=settings.seed, target_accept=settings.target_accept,
        progressbar=progressbar,
        compute_convergence_checks=False,  # hglm words its own warnings
        model=model,
    )
    if settings.sampler == "pymc":
        kwargs["cores"] = settings.cores or min(settings.chains, os.cpu_count() or 1)
        kwargs["init"] = "jitter+adapt_full" if dense is True else "jitter+adapt_diag"
    else:
        kwargs["nuts_sampler"] = settings.sampler
        if settings.sampler == "blackjax":
            from hglm.sample.jax_nuts import configure_jax

            configure_jax()
        if settings.sampler == "nutpie" and dense is True:
            kwargs["nuts_sampler_kwargs"] = {"low_rank_modified_mass_matrix": True}
    start = time.perf_counter()
    idata = pm.sample(**kwargs)
    return idata, time.perf_counter() - start

"""NUTS through PyMC, or through nutpie / numpyro / blackjax when installed."""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import asdict, dataclass

import numpy as np
import pymc as pm

__all__ = ["SamplerSettings", "sample", "SAMPLERS"]

#: sampler name -> the module it needs
SAMPLERS = {"pymc": "pymc", "nutpie": "nutpie", "numpyro": "numpyro", "blackjax": "blackjax"}

#: what ``sampler="auto"`` tries, in order: numpyro with a warm JAX cache beat PyMC's own
#: sampler on sleepstudy and cbpp (bench/RESULTS.md); nutpie has yet to be measured warm
AUTO_ORDER = ("numpyro", "pymc")


def resolve_sampler(name: str) -> str:
    """``"auto"``: the first of :data:`AUTO_ORDER` whose package is installed."""
    if name != "auto":
        return name
    return next(s for s in AUTO_ORDER if importlib.util.find_spec(SAMPLERS[s]) is not None)


def configure_jax() -> None:
    """Before JAX loads: one XLA device per core (chains run in parallel) and a persistent
    compilation cache, so refitting a model of the same structure skips XLA's compile."""
    import sys

    if "jax" not in sys.modules and "xla_force_host_platform_device_count" not in \
            os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   f" --xla_force_host_platform_device_count={os.cpu_count() or 1}")
    import jax

    if jax.config.jax_compilation_cache_dir is None:
        cache = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                             "hglm", "jax")
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


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

    def __post_init__(self) -> None:
        for name in ("draws", "tune", "chains"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < (1 if name != "tune" else 0):
                raise ValueError(f"{name} must be a positive whole number, got {value!r}")
        if not 0 < self.target_accept < 1:
            raise ValueError(f"target_accept must lie in (0, 1), got {self.target_accept!r}")
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


def sample(model: pm.Model, settings: SamplerSettings, progressbar: bool = True):
    """Run NUTS; returns InferenceData and the wall time in seconds.

    The pointwise log-likelihood is left to :meth:`hglm.Fit.log_likelihood`, which computes
    it on the user's rows whatever the strategy did to them.
    """
    kwargs = dict(
        draws=settings.draws, tune=settings.tune, chains=settings.chains,
        random_seed=settings.seed, target_accept=settings.target_accept,
        progressbar=progressbar,
        compute_convergence_checks=False,  # hglm words its own warnings
        model=model,
    )
    if settings.sampler == "pymc":
        kwargs["cores"] = settings.cores or min(settings.chains, os.cpu_count() or 1)
    else:
        kwargs["nuts_sampler"] = settings.sampler
        if settings.sampler in ("numpyro", "blackjax"):
            configure_jax()
    start = time.perf_counter()
    idata = pm.sample(**kwargs)
    return idata, time.perf_counter() - start

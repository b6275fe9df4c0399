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


@dataclass(frozen=True)
class SamplerSettings:
    """Everything that decides the draws; stored with every fit."""

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int | None = None
    sampler: str = "pymc"
    target_accept: float = 0.9
    cores: int | None = None

    def __post_init__(self) -> None:
        for name in ("draws", "tune", "chains"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < (1 if name != "tune" else 0):
                raise ValueError(f"{name} must be a positive whole number, got {value!r}")
        if not 0 < self.target_accept < 1:
            raise ValueError(f"target_accept must lie in (0, 1), got {self.target_accept!r}")
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
    """Run NUTS; returns InferenceData with log-likelihood and the wall time in seconds."""
    kwargs = dict(
        draws=settings.draws, tune=settings.tune, chains=settings.chains,
        random_seed=settings.seed, target_accept=settings.target_accept,
        progressbar=progressbar, idata_kwargs={"log_likelihood": True},
        compute_convergence_checks=False,  # hglm words its own warnings
        model=model,
    )
    if settings.sampler == "pymc":
        kwargs["cores"] = settings.cores or min(settings.chains, os.cpu_count() or 1)
    else:
        kwargs["nuts_sampler"] = settings.sampler
    start = time.perf_counter()
    idata = pm.sample(**kwargs)
    if "log_likelihood" not in idata.groups():  # the external samplers skip idata_kwargs
        pm.compute_log_likelihood(idata, model=model, progressbar=False)
    return idata, time.perf_counter() - start

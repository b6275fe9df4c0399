"""hglm: lme4-style formulas compiled into Bayesian GLMMs in PyMC.

>>> import hglm
>>> df = hglm.datasets.load("sleepstudy")
>>> m = hglm.Model("Reaction ~ Days + (Days | Subject)", data=df)
>>> fit = m.fit(seed=1)
>>> print(fit.summary())

``import hglm`` is cheap: each public name is imported on first use (PEP 562), so PyMC,
PyTensor, ArviZ, JAX and matplotlib load when a model is built or a figure drawn, not before
(a shell's ``hglm --help`` or a script that only reads a spec file never pays for them).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

from hglm.environment import hglm_version, quick_exit, quiet_installation_notices

quiet_installation_notices()   # before anything imports ArviZ or compiles with PyTensor
quick_exit()

#: module -> the public names it gives ``hglm``
_EXPORTS: dict[str, tuple[str, ...]] = {
    "hglm.comparison.table": ("Comparison", "compare", "model_weights"),
    "hglm.design.matrices": ("make_design",),
    "hglm.graph.assemble": ("build_model",),
    "hglm.graph.priors": ("resolve_priors",),
    "hglm.interpret.effects": ("comparisons", "predictions", "slopes"),
    "hglm.interpret.grid": ("datagrid",),
    "hglm.interpret.plots": ("plot_comparisons", "plot_predictions", "plot_slopes"),
    "hglm.model": ("Model", "load"),
    "hglm.notices": ("ConvergenceWarning", "DataWarning", "HglmWarning", "SamplingWarning",
        "SingularFitWarning"),
    "hglm.results.agreement": ("posterior_agreement",),
    "hglm.results.fit": ("Fit",),
    "hglm.sample.nuts": ("sample",),
    "hglm.sensitivity.power": ("sensitivity",),
    "hglm.sensitivity.sweep": ("PriorSweep", "prior_sweep"),
    "hglm.spec.families": ("Family",),
    "hglm.spec.model_spec": ("ModelSpec",),
    "hglm.spec.priors": ("Beta", "Cauchy", "Exponential", "Gamma", "HalfCauchy", "HalfNormal",
        "HalfStudentT", "Horseshoe", "InverseGamma", "InverseWishart", "LKJ", "Laplace",
        "LogNormal", "MvNormal", "Normal", "Prior", "R2D2", "StudentT", "Uniform", "parse_prior"),
    "hglm.validation.sbc": ("sbc",),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
#: functions named like a subpackage of hglm (``hglm.sample``, ``hglm.sensitivity``): importing
#: the subpackage would set the package attribute to the module, so these always resolve to
#: the function
_SHADOWING = {"sample", "sensitivity"}


def _load(name: str):
    value = getattr(importlib.import_module(_WHERE[name]), name)
    if name not in _SHADOWING:
        globals()[name] = value          # later lookups are plain attribute reads
    return value


class _Package(types.ModuleType):
    def __getattribute__(self, name: str):
        if name in _SHADOWING:
            return _load(name)
        return super().__getattribute__(name)

    def __getattr__(self, name: str):
        if name in _WHERE:
            return _load(name)
        try:
            return importlib.import_module(f"hglm.{name}")    # hglm.datasets, hglm.interpret
        except ModuleNotFoundError as err:
            if err.name != f"hglm.{name}":       # a dependency of the subpackage is missing
                raise
            raise AttributeError(f"module 'hglm' has no attribute {name!r}") from None

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(__all__))


sys.modules[__name__].__class__ = _Package

if TYPE_CHECKING:    # what static tools see: the eager imports
    from hglm.comparison.table import Comparison, compare, model_weights
    from hglm.design.matrices import make_design
    from hglm.graph.assemble import build_model
    from hglm.graph.priors import resolve_priors
    from hglm.interpret.effects import comparisons, predictions, slopes
    from hglm.interpret.grid import datagrid
    from hglm.interpret.plots import plot_comparisons, plot_predictions, plot_slopes
    from hglm.model import Model, load
    from hglm.notices import (
        ConvergenceWarning,
        DataWarning,
        HglmWarning,
        SamplingWarning,
        SingularFitWarning,
    )
    from hglm.results.agreement import posterior_agreement
    from hglm.results.fit import Fit
    from hglm.sample.nuts import sample
    from hglm.sensitivity.power import sensitivity
    from hglm.sensitivity.sweep import PriorSweep, prior_sweep
    from hglm.spec.families import Family
    from hglm.spec.model_spec import ModelSpec
    from hglm.spec.priors import (
        LKJ,
        R2D2,
        Beta,
        Cauchy,
        Exponential,
        Gamma,
        HalfCauchy,
        HalfNormal,
        HalfStudentT,
        Horseshoe,
        InverseGamma,
        InverseWishart,
        Laplace,
        LogNormal,
        MvNormal,
        Normal,
        Prior,
        StudentT,
        Uniform,
        parse_prior,
    )
    from hglm.validation.sbc import sbc

__version__ = hglm_version()

__all__ = [
    "Model", "Fit", "Family", "load", "predictions", "comparisons", "slopes", "datagrid",
    "plot_predictions", "plot_comparisons", "plot_slopes",
    "model_weights", "HglmWarning", "DataWarning", "SamplingWarning",
    "ConvergenceWarning", "SingularFitWarning", "datasets", "compare", "Comparison", "sensitivity",
    "prior_sweep", "PriorSweep", "sbc", "posterior_agreement", "make_design", "resolve_priors",
    "build_model", "ModelSpec", "sample", "Prior", "parse_prior", "Normal", "StudentT", "Cauchy",
    "Laplace",
    "HalfNormal", "HalfStudentT", "HalfCauchy", "Exponential", "Gamma", "InverseGamma",
    "LogNormal", "Uniform", "Beta", "LKJ", "MvNormal", "InverseWishart", "Horseshoe", "R2D2",
]

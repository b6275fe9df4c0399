"""hglm: lme4-style formulas compiled into Bayesian GLMMs in PyMC.

>>> import hglm
>>> df = hglm.datasets.load("sleepstudy")
>>> m = hglm.Model("Reaction ~ Days + (Days | Subject)", data=df)
>>> fit = m.fit(seed=1)
>>> print(fit.summary())
"""

from hglm.environment import hglm_version, quiet_installation_notices

quiet_installation_notices()   # before anything imports ArviZ or compiles with PyTensor

from hglm import datasets
from hglm.comparison.table import Comparison, compare, model_weights
from hglm.design.matrices import make_design
from hglm.graph.assemble import build_model
from hglm.graph.priors import resolve_priors
from hglm.interpret.effects import comparisons, predictions, slopes
from hglm.interpret.grid import datagrid
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
    "model_weights", "HglmWarning", "DataWarning", "SamplingWarning",
    "ConvergenceWarning", "SingularFitWarning", "datasets", "compare", "Comparison", "sensitivity",
    "prior_sweep", "PriorSweep", "sbc", "posterior_agreement", "make_design", "resolve_priors",
    "build_model", "ModelSpec", "sample", "Prior", "parse_prior", "Normal", "StudentT", "Cauchy",
    "Laplace",
    "HalfNormal", "HalfStudentT", "HalfCauchy", "Exponential", "Gamma", "InverseGamma",
    "LogNormal", "Uniform", "Beta", "LKJ", "MvNormal", "InverseWishart", "Horseshoe", "R2D2",
]

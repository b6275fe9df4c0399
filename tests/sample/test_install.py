"""The ordinary install is the fast install: numpyro and JAX are core dependencies, so
``sampler="auto"`` takes hglm's JAX driver without any extra.

`.ci/run` also runs this file in a second virtual environment made by a plain
``pip install -e .`` (no extras), where only the core dependencies exist.
"""

from importlib.metadata import requires

from packaging.requirements import Requirement

from hglm.sample.nuts import SamplerSettings, resolve_sampler


def test_fast_sampler_needs_no_extra():
    core = {Requirement(r).name for r in requires("hglm") if Requirement(r).marker is None}
    assert {"numpyro", "jax"} <= core


def test_auto_resolves_to_the_jax_driver():
    assert resolve_sampler("auto") == "numpyro"
    assert SamplerSettings(sampler="auto").sampler == "numpyro"
    assert SamplerSettings(sampler="pymc").sampler == "pymc"      # still a named choice

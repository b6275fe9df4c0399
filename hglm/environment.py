"""Process-wide settings hglm makes when it is imported, each with its reason.

hglm prints its own progress, results and advice; these keep two messages out of its output
that are about the installation, not the user's model, and that the user cannot act on:

* ArviZ 0.23's daily notice of its coming refactor (a ``FutureWarning`` at import);
* PyTensor's "could not link to a BLAS installation", raised when pip-installed PyTensor
  finds no system BLAS.  No code path hglm takes by default needs one: sampling runs on JAX
  (XLA has its own linear algebra) and maximum likelihood on PyTensor's Python linker
  (:mod:`hglm.ml.objective`), whose matrix products are NumPy's, linked to the OpenBLAS that
  NumPy's wheel ships.  Only ``sampler="pymc"`` runs PyTensor's C backend, which then uses
  NumPy's C API for BLAS calls (slower, still correct).

Both filters match those exact messages; every other warning is shown as usual.
"""

from __future__ import annotations

import logging
import warnings

__all__ = ["quiet_installation_notices", "versions", "hglm_version"]

#: the packages whose versions every saved result records
RECORDED = ("hglm", "pymc", "pytensor", "numpyro", "jax", "arviz", "formulae", "numpy",
            "pandas")


def versions(packages: tuple[str, ...] = RECORDED) -> dict[str, str]:
    """Installed versions (``"unknown"`` for a package that is not installed)."""
    from importlib import metadata

    out = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def hglm_version() -> str:
    """hglm's own version, from the installed package's metadata."""
    return versions(("hglm",))["hglm"]


def quiet_installation_notices() -> None:
    """Install the two targeted filters (idempotent: ``warnings`` drops duplicates)."""
    warnings.filterwarnings("ignore", message=r"\s*ArviZ is undergoing a major refactor",
                            category=FutureWarning)
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS installation",
                            category=UserWarning)
    # the C backend's fallback announces itself through logging, once per compiled op
    logging.getLogger("pytensor.tensor.blas").setLevel(logging.ERROR)


def quick_exit() -> None:
    """At interpreter exit, freeze the garbage collector before Python finalizes its modules.

    A fitted model leaves hundreds of thousands of objects in reference cycles (PyTensor
    graphs, JAX traces); the collections Python runs while tearing down modules walked them
    for 2.8 s after a sleepstudy fit (measured: 2.8 s from the last atexit handler to process
    end, 0.17 s with the collector frozen), time a user waits for a script that has already
    printed its result.  Frozen objects are left to the operating system, as every cycle
    alive at exit is anyway; handlers registered later (JAX's, ArviZ's) still run first.
    """
    import atexit
    import gc

    atexit.register(gc.freeze)

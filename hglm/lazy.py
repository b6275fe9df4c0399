"""Modules imported on first use.

PyMC, PyTensor, ArviZ and xarray take seconds to import; a model's design, priors, strategy
choice and maximum-likelihood fit need none of them.  Modules that build PyMC graphs bind
``pm = lazy("pymc")`` instead of ``import pymc as pm``: the first attribute looked up imports
the real module, so ``hglm.Model(...)`` and ``m.fit_ml()`` run without them.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["lazy"]


class _Lazy:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


def lazy(name: str) -> Any:
    """A stand-in for module ``name`` that imports it on first attribute access."""
    return _Lazy(name)

"""``ModelSpec``: everything that defines a model except its data, as one frozen value.

lme4 keeps the call on the fit, so ``update()`` and ``refit()`` work for any model; hglm keeps
a :class:`ModelSpec`.  Every rebuild of a model (loading a saved fit, K-fold and prior-sweep
refits, simulation-based calibration, spec files) goes through it, so a refit is the same
model unless the caller changed something.  It holds plain values only (priors in their
string forms), so it pickles to worker processes and writes to JSON as it is.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hglm.spec.families import Family, as_family
from hglm.spec.priors import Prior, as_prior

__all__ = ["ModelSpec", "update_formula"]

#: a ``.`` standing alone in a formula (not part of a name or a number): lme4's "as before"
_DOT = re.compile(r"(?<![\w.])\.(?![\w.])")


@dataclass(frozen=True)
class ModelSpec:
    """Formula, family, link, priors, strategy, centering, observation weights and row counts
    of a model.

    Build one with :meth:`of` (which checks and normalizes its arguments) or take it from a
    model (``m.spec``) or a fit (``fit.spec``); :meth:`update` gives a changed copy.
    """

    formula: str
    family: str = "gaussian"
    link: str = "identity"
    priors: tuple[tuple[str, str], ...] = ()
    strategy: str = "auto"
    centered: bool | tuple[tuple[str, bool], ...] | None = None
    weights: str | None = None     # the data column of likelihood weights
    #: auxiliary parameters with a formula of their own: (name, "~ x + (1 | g)"), in the
    #: family's order (brms's ``bf(y ~ ..., sigma ~ ...)``)
    dpars: tuple[tuple[str, str], ...] = ()
    #: the data column saying how many identical rows each row stands for (aggregated data)
    counts: str | None = None

    @classmethod
    def of(cls, formula: str, family: str | Family = "gaussian",
           priors: Mapping[str, Prior | str] | None = None, link: str | None = None,
           strategy: str = "auto", centered: bool | Mapping[str, bool] | None = None,
           weights: str | None = None,
           dpars: Mapping[str, str] | None = None, counts: str | None = None) -> ModelSpec:
        """The spec of ``hglm.Model``'s arguments; bad priors, families, links and auxiliary
        formulas fail here."""
        if not isinstance(formula, str):
            raise ValueError(f"formula must be a string such as 'y ~ x + (1 | g)', "
                             f"got {type(formula).__name__}")
        if not isinstance(strategy, str):
            raise ValueError(f"strategy must be a name such as 'auto' or 'indexed', "
                             f"got {type(strategy).__name__}")
        fam = as_family(family, link)
        if priors is not None and not isinstance(priors, Mapping):
            raise ValueError("priors must be a dict of prior key -> prior, e.g. "
                             "{'sd': 'HalfNormal(10)'}")
        forms = tuple((str(key), repr(as_prior(value, key)))
                      for key, value in (priors or {}).items())
        for what, value in (("weights", weights), ("counts", counts)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{what} must name a data column ({what}='w'), got "
                                 f"{type(value).__name__}")
        return cls(formula, fam.name, fam.link, forms, strategy, _centering(centered), weights,
                   _dpars(fam, dpars), counts)

    @property
    def family_object(self) -> Family:
        return Family(self.family, self.link)

    @property
    def prior_dict(self) -> dict[str, str]:
        """The user's priors, key -> string form (defaults are derived from the data)."""
        return dict(self.priors)

    @property
    def dpar_dict(self) -> dict[str, str]:
        """Auxiliary parameter -> its formula (those without one are constants)."""
        return dict(self.dpars)

    @property
    def centering(self) -> bool | dict[str, bool] | None:
        """``centered`` as ``Model`` takes it: one flag, a flag per group label, or None."""
        return dict(self.centered) if isinstance(self.centered, tuple) else self.centered

    def update(self, **changes: Any) -> ModelSpec:
        """A copy with ``changes`` (any of the fields; ``priors`` replaces the user's priors).

        A formula may use lme4's ``.`` for "as before": ``". ~ . + (1 | site)"``.  Changing
        the family without a link takes the new family's default link.
        """
        fields = {f.name for f in dataclasses.fields(self)}
        family = as_family(changes.get("family", self.family))
        formulas = {k: changes.pop(k) for k in list(changes) if k in family.aux}
        unknown = set(changes) - fields
        if unknown:
            raise ValueError(f"update() got {', '.join(sorted(unknown))}; it changes "
                             f"{', '.join(sorted(fields))} and the family's auxiliary "
                             f"parameters' formulas ({', '.join(family.aux) or 'none'})")
        if formulas:     # sigma="~ x" sets sigma's formula, sigma=None makes it constant
            merged = {**changes.get("dpars", self.dpar_dict), **formulas}
            changes["dpars"] = {k: v for k, v in merged.items() if v is not None}
        args = {"formula": self.formula, "family": self.family, "priors": self.prior_dict,
                "link": None if "family" in changes else self.link,
                "strategy": self.strategy, "centered": self.centering,
                "weights": self.weights, "dpars": self.dpar_dict, "counts": self.counts}
        if "formula" in changes:
            changes["formula"] = update_formula(self.formula, changes["formula"])
        args.update(changes)
        return ModelSpec.of(**args)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` reads it back."""
        return {"formula": self.formula, "family": self.family, "link": self.link,
                "priors": self.prior_dict, "strategy": self.strategy,
                "centered": self.centering, "weights": self.weights,
                "dpars": self.dpar_dict, "counts": self.counts}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ModelSpec:
        return cls.of(values["formula"], values.get("family", "gaussian"),
                      values.get("priors"), values.get("link"),
                      values.get("strategy", "auto"), values.get("centered"),
                      values.get("weights"), values.get("dpars"), values.get("counts"))


def _dpars(family: Family, dpars: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    """Check that each formula is for an auxiliary parameter of ``family`` that can have one
    (a scalar: not the ordinal thresholds), and put them in the family's order."""
    if dpars is not None and not isinstance(dpars, Mapping):
        raise ValueError("auxiliary formulas must be given as name -> formula, e.g. "
                         "sigma='~ x'")
    dpars = dict(dpars or {})
    scalar = [a for a in family.aux if family.aux_support(a) != "real"]   # not thresholds
    for name, text in dpars.items():
        if name not in scalar:
            have = (f"its auxiliary parameters are {', '.join(scalar)}" if scalar
                    else "it has no auxiliary parameter that takes one")
            raise ValueError(f"family {family.name!r} has no parameter {name!r} for a formula; "
                             f"{have}")
        if not isinstance(text, str) or "~" not in text:
            raise ValueError(f"the formula of {name!r} must be a string like '~ x + (1 | g)', "
                             f"got {text!r}")
    return tuple((a, " ".join(dpars[a].split())) for a in scalar if a in dpars)


def _centering(centered: bool | Mapping[str, bool] | None):
    if centered is None or isinstance(centered, bool):
        return centered
    if isinstance(centered, Mapping):
        return tuple((str(k), bool(v)) for k, v in centered.items())
    raise ValueError(f"centered must be True, False, None or a dict of group label -> bool, "
                     f"got {centered!r}")


def update_formula(old: str, new: str) -> str:
    """lme4's ``update.formula``: a ``.`` in ``new`` stands for that side of ``old``."""
    if not isinstance(new, str) or new.count("~") != 1 or old.count("~") != 1:
        return new     # the design reports a malformed formula with its own message
    old_lhs, old_rhs = (s.strip() for s in old.split("~"))
    lhs, rhs = (s.strip() for s in new.split("~"))
    lhs = _DOT.sub(lambda _: old_lhs, lhs)
    rhs = _DOT.sub(lambda _: old_rhs, rhs)
    return f"{lhs} ~ {rhs}"

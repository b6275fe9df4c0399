"""Response families: each one's links, densities, priors and quirks in one definition
(:mod:`hglm.spec.families.definitions`); :class:`Family` is what the rest of hglm asks."""

from hglm.spec.families import definitions  # noqa: F401  (registers the families)
from hglm.spec.families.base import FAMILIES, Family, FamilyDef, as_family, register
from hglm.spec.families.links import LINKS, Link

__all__ = ["Family", "FamilyDef", "FAMILIES", "as_family", "register", "Link", "LINKS"]

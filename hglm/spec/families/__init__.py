"""Response families: each one's links, densities, priors and quirks in one definition
(:mod:`.definitions`: gaussian, counts, binomial, student; :mod:`.positive`: gamma,
lognormal, beta, beta-binomial; :mod:`.zeros`: zero-inflated and hurdle; :mod:`.ordinal`:
cumulative); :class:`Family`
is what the rest of hglm asks."""

from hglm.spec.families import definitions, ordinal, positive, zeros  # noqa: F401  (registers)
from hglm.spec.families.base import FAMILIES, Family, FamilyDef, as_family, register
from hglm.spec.families.links import LINKS, Link

__all__ = ["Family", "FamilyDef", "FAMILIES", "as_family", "register", "Link", "LINKS"]

"""Prior keys -> one prior per model parameter, data-scaled defaults filled in.

Keys, most specific first (the most specific key that matches wins):

=====================  ===========================================================
``"Days"``             one fixed-effect coefficient (design-column name, ``"period[2]"``)
``"fixed"``            every fixed-effect slope without its own key (not the intercept); or
                       a shrinkage prior on all slopes, on standardized predictors:
                       ``Horseshoe()``, ``R2D2()``, ``Laplace(0, b)`` (``b`` may be a prior)
``"Intercept"``        the intercept, on centered predictors (as brms and rstanarm)
``"beta"``             one joint prior on the whole fixed-effect vector, intercept included,
                       in design-column order (e.g. ``MvNormal(mu, cov)``); predictors are
                       then not centered
``"sd(Days|Subject)"`` one random-effect sd; ``"sd(Subject)"`` a block's sds; ``"sd"`` all
``"cor(Subject)"``     LKJ(eta) on a block's correlations; ``"cor"`` all blocks
``"cov(Subject)"``     InverseWishart(nu, S) on a block's whole covariance (instead of sd, cor)
``"sigma"``            residual sd (gaussian, student); or ``"sigma2"`` for its variance
``"alpha"``, ``"nu"``  each auxiliary parameter of the family by its name: negbinomial's
                       shape alpha (variance mu + mu^2 / alpha), student's degrees of freedom
                       nu, gamma's ``"shape"``, beta's precision ``"phi"``, the
                       cumulative family's ``"thresholds"`` (one prior for every cut)
=====================  ===========================================================

Default priors, with s_y = sd(y) on the identity link and 1 on the others, and s_x the
sample sd of a predictor column (1 for constant columns such as an intercept):

* Intercept (centered predictors): Normal(mean(y), 2.5 s_y) on the identity link,
  Normal(link(mean response), 2.5) otherwise;
* slopes: Normal(0, 2.5 s_y / s_x);
* random-effect sds: HalfStudentT(3, s_y / s_x) on the identity link, HalfStudentT(3, 2.5 / s_x)
  otherwise (brms's scale), s_x from the block's own term column;
* correlations: LKJ(1), uniform over correlation matrices;
* auxiliary parameters: the family's own defaults (``Family.default_aux_priors``, listed in
  the README's family table): sigma HalfStudentT(3, sd(y)) (lognormal: sd(log y)); alpha
  Gamma(2, 0.1) (mean 20, mild overdispersion); nu Gamma(2, 0.1); gamma's shape and beta's
  phi Gamma(0.01, 0.01) (brms); ordinal thresholds StudentT(3, 0, 2.5) each, ordered (brms).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from hglm import names
from hglm.design.matrices import Design
from hglm.names import PriorKey
from hglm.spec.families.responses import sample_sd
from hglm.spec.priors import LKJ, HalfStudentT, InverseWishart, Normal, Prior, as_prior

__all__ = ["PriorEntry", "PriorSet", "resolve_priors", "default_priors"]

# which kind of value each parameter takes, to catch e.g. a Normal prior on an sd
_SUPPORT = {"coef": ("real", "shrinkage"), "beta": ("vector", "real"),
            "sd": ("positive", "unit"),
            "cor": ("corr",), "cov": ("cov",), "sigma2": ("positive", "unit")}
#: a family's auxiliary parameters are scales, shapes and degrees of freedom (positive) or
#: probabilities (zero-inflation, hurdle): ``Family.aux_support`` says which
_AUX_SUPPORT = {"positive": ("positive", "unit"), "unit": ("unit",), "real": ("real",)}


@dataclass(frozen=True)
class PriorEntry:
    """The prior of one parameter, and which key supplied it."""

    parameter: str        # "Days", "sd(Days|Subject)", "cor(Subject)", "sigma", ...
    kind: str             # "coef" | "beta" | "sd" | "cor" | "cov" | "sigma" | "sigma2" | "alpha"
    key: str              # the key that supplied it (for defaults: the key that would change it)
    prior: Prior
    source: str           # "default" | "user"
    block: str | None = None
    term: str | None = None
    dpar: str | None = None   # the auxiliary parameter whose formula has it (None: the mean's)


@dataclass(frozen=True)
class PriorSet:
    """Every prior the model uses, in model order."""

    entries: tuple[PriorEntry, ...]
    user: Mapping[str, Prior]

    def __iter__(self):
        return iter(self.entries)

    def of_kind(self, kind: str, block: str | None = None,
                dpar: str | None = None) -> list[PriorEntry]:
        """The entries of ``kind``: of one group block (labels are unique across formulas),
        or else of one linear predictor (``dpar``; None is the mean's)."""
        return [e for e in self.entries if e.kind == kind
                and (e.block == block if block is not None else e.dpar == dpar)]

    def get(self, parameter: str) -> PriorEntry | None:
        return next((e for e in self.entries if e.parameter == parameter), None)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [(e.key, e.parameter, repr(e.prior), e.source) for e in self.entries],
            columns=["key", "parameter", "distribution", "source"])


def _response_scale(design: Design) -> float:
    return design.family.prior_scale(design.y, design.counts)


def _intercept_location(design: Design) -> float:
    """The link of the mean response (rates and probabilities kept 0.01 inside their range)."""
    return design.family.mean_on_link_scale(design.y, design.trials, margin=0.01,
                                            counts=design.counts)


def _predictor_defaults(design: Design, s_y: float, identity: bool,
                        location: float) -> dict[str, Prior]:
    """Default priors of one linear predictor's coefficients and group terms, keyed by
    parameter (unprefixed)."""
    out: dict[str, Prior] = {}
    for j, name in enumerate(design.fixed_names):
        if name == "Intercept":
            out[name] = Normal(location, 2.5 * s_y)
        else:
            out[name] = Normal(0.0, 2.5 * s_y / sample_sd(design.X[:, j], design.counts))
    for block in design.blocks:
        for k, term in enumerate(block.terms):
            scale = (s_y if identity else 2.5) / sample_sd(block.Z[:, k], design.counts)
            out[names.sd_key(block.key_label, term)] = HalfStudentT(3.0, scale)
        if block.has_correlation:
            out[names.cor_key(block.key_label)] = LKJ(1.0)
    return out


def default_priors(design: Design) -> dict[str, Prior]:
    """The default prior of every parameter, keyed by its parameter name; an auxiliary
    parameter's formula is on its link scale (log or logit), where the rules of a non-identity
    link apply (s_y = 1), its intercept centered on the link of the parameter's typical value
    (:meth:`hglm.Family.aux_typical`)."""
    out = _predictor_defaults(design, _response_scale(design), design.family.identity_link,
                              _intercept_location(design))
    aux = design.family.default_aux_priors(design.y, design.counts)   # each family's own
    for sub in design.dpars:
        location = design.family.aux_link(sub.dpar).numpy(
            design.family.aux_typical(sub.dpar, design.y, design.counts))
        for key, prior in _predictor_defaults(sub, 1.0, False, float(location)).items():
            out[key if key.startswith(("sd(", "cor(")) else names.dpar_key(sub.dpar, key)] = prior
        aux.pop(sub.dpar)
    out.update(aux)
    return out


def resolve_priors(design: Design, priors: Mapping[str, Prior | str] | None = None) -> PriorSet:
    """Match user priors to parameters by the most specific key; fill in defaults."""
    user = {key: as_prior(value, key) for key, value in (priors or {}).items()}
    if "beta" in user and user["beta"].support == "shrinkage":
        if "fixed" in user:
            raise ValueError("give the shrinkage prior under 'beta' or 'fixed', not both")
        user["fixed"] = user.pop("beta")  # a shrinkage prior is on the slopes either way
    _check_keys(design, user)
    defaults = default_priors(design)
    entries: list[PriorEntry] = []

    def add(parameter, kind, keys, block=None, term=None, dpar=None):
        for key in keys:
            if key in user:
                entry = PriorEntry(parameter, kind, key, user[key], "user", block, term, dpar)
                break
        else:
            entry = PriorEntry(parameter, kind, keys[0], defaults[parameter], "default",
                               block, term, dpar)
        _check_support(entry, design.family.aux_support(kind))
        entries.append(entry)

    for sub in design.predictors:
        _predictor_entries(sub, user, add, entries)
    for name in design.family.aux:
        if design.dpar_design(name) is not None:
            continue
        if name == "sigma" and "sigma2" in user:     # a prior on the variance instead
            add("sigma2", "sigma2", ["sigma2"])
        else:
            add(name, name, [name])
    return PriorSet(tuple(entries), user)


def _predictor_entries(design: Design, user: Mapping[str, Prior], add, entries: list) -> None:
    """The entries of one linear predictor's coefficients and group terms."""
    dpar = design.dpar
    key = lambda k: names.dpar_key(dpar, k)  # noqa: E731
    if key("beta") in user:
        prior = user[key("beta")]
        if prior.support == "vector" and prior.size != len(design.fixed_names):
            raise ValueError(f"prior {key('beta')!r} has {prior.size} elements but the "
                             f"formula has {len(design.fixed_names)} fixed effects "
                             f"({', '.join(design.fixed_names)})")
        entry = PriorEntry(names.beta(dpar), "beta", key("beta"), prior, "user", dpar=dpar)
        _check_support(entry)
        entries.append(entry)
    else:
        for name in design.fixed_names:
            add(key(name), "coef", [key(name)] if name == "Intercept" else [key(name),
                                                                            key("fixed")],
                term=name, dpar=dpar)
    for block in design.blocks:
        label = block.key_label
        cov_key = names.cov_key(label)
        if cov_key in user:
            if not block.has_correlation:
                raise ValueError(f"prior {cov_key!r} needs a correlated block with two or more "
                                 f"terms; ({' + '.join(block.terms)} | {block.factor}) has none")
            if user[cov_key].size != block.q:
                raise ValueError(f"prior {cov_key!r} is {user[cov_key].size} x "
                                 f"{user[cov_key].size} but the block has {block.q} terms")
            add(cov_key, "cov", [cov_key], block.label, dpar=dpar)
            continue
        for term in block.terms:
            sd_key = names.sd_key(label, term)
            add(sd_key, "sd", [sd_key, names.sd_key(label), key("sd")], block.label, term, dpar)
        if block.has_correlation:
            add(names.cor_key(label), "cor", [names.cor_key(label), key("cor")], block.label,
                dpar=dpar)


def _predictor_keys(design: Design) -> list[str]:
    """The prior keys of one linear predictor (prefixed ``"sigma:"`` in sigma's formula,
    except the group keys, which name the group ``sd(sigma:g)``)."""
    key = lambda k: names.dpar_key(design.dpar, k)  # noqa: E731
    keys = [key("beta")]
    slopes = [n for n in design.fixed_names if n != "Intercept"]
    if design.has_intercept:
        keys.append(key("Intercept"))
    if slopes:
        keys += [key("fixed")] + [key(n) for n in slopes]
    if design.blocks:
        keys.append(key("sd"))
    if any(b.has_correlation for b in design.blocks):
        keys.append(key("cor"))
    for block in design.blocks:
        label = block.key_label
        keys += [names.sd_key(label)] + [names.sd_key(label, t) for t in block.terms]
        if block.has_correlation:
            keys += [names.cor_key(label), names.cov_key(label)]
    return keys


def valid_keys(design: Design) -> list[str]:
    """Every prior key this design accepts."""
    keys = [k for sub in design.predictors for k in _predictor_keys(sub)]
    for name in design.family.aux:
        if design.dpar_design(name) is None:
            keys += [name, "sigma2"] if name == "sigma" else [name]
    return keys


def _check_keys(design: Design, user: Mapping[str, Prior]) -> None:
    valid = valid_keys(design)
    if "Intercept" in user and design.family.absorbs_intercept:
        raise ValueError(f"family {str(design.family)!r} has no intercept: the thresholds "
                         f"absorb it; set their prior with the key 'thresholds'")
    for key in user:
        if key not in valid:
            raise ValueError(f"prior key {key!r} matches nothing in this model; valid keys: "
                             f"{', '.join(valid)}")
    for sub in design.predictors:
        _check_predictor_keys(sub, user)
    if "sigma" in user and "sigma2" in user:
        raise ValueError("give a prior on 'sigma' or on 'sigma2', not both")
    for label in (b.key_label for b in design.all_blocks):
        cov = names.cov_key(label)
        if cov in user:
            clash = [k for k in (names.sd_key(label), names.cor_key(label)) if k in user]
            parsed = {k: PriorKey.parse(k) for k in user}
            clash += [k for k, p in parsed.items() if p.kind == "sd" and p.group == label
                      and p.term]
            if clash:
                raise ValueError(f"prior {cov!r} already sets the sds and correlations of "
                                 f"{label!r}; drop {', '.join(map(repr, clash))}")


def _check_predictor_keys(design: Design, user: Mapping[str, Prior]) -> None:
    """A joint prior on one linear predictor's coefficients excludes their own keys."""
    key = lambda k: names.dpar_key(design.dpar, k)  # noqa: E731
    if key("beta") in user:
        clash = [k for k in user if k in (key("fixed"), key("Intercept"))
                 or k in map(key, design.fixed_names)]
        if clash:
            raise ValueError(f"prior {key('beta')!r} is a joint prior on all fixed effects and "
                             f"cannot be combined with {', '.join(map(repr, clash))}")
    if key("fixed") in user and shrinks(user[key("fixed")]):
        own = [k for k in user if k in map(key, design.fixed_names) and k != key("Intercept")]
        if own:
            raise ValueError(f"prior {key('fixed')!r} = {user[key('fixed')]!r} shrinks all "
                             f"slopes jointly on standardized predictors; drop the "
                             f"per-coefficient keys {', '.join(map(repr, own))}")


def shrinks(prior: Prior) -> bool:
    """Whether a ``"fixed"`` prior acts on all slopes jointly, on standardized predictors."""
    from hglm.spec.priors import Laplace

    return prior.support == "shrinkage" or isinstance(prior, Laplace)


def _check_support(entry: PriorEntry, aux_support: str = "positive") -> None:
    if entry.prior.support == "shrinkage" and entry.key != names.dpar_key(entry.dpar, "fixed"):
        raise ValueError(f"prior {entry.key!r} = {entry.prior!r} is a joint prior on all "
                         f"slopes: give it under the key 'fixed' (or 'beta')")
    allowed = _SUPPORT.get(entry.kind) or _AUX_SUPPORT[aux_support]
    if entry.prior.support not in allowed:
        need = {"real": "a distribution on the real line (e.g. Normal)",
                "positive": "a distribution on positive values (e.g. HalfNormal, HalfStudentT)",
                "unit": "a distribution on (0, 1) (e.g. Beta, Uniform(0, 1))",
                "corr": "LKJ(eta)", "cov": "InverseWishart(nu, S)",
                "vector": "a joint prior such as MvNormal(mu, cov)"}[allowed[0]]
        raise ValueError(f"prior {entry.key!r} = {entry.prior!r} does not fit parameter "
                         f"{entry.parameter!r}, which needs {need}")
    if isinstance(entry.prior, InverseWishart) and isinstance(entry.prior.args["nu"], Prior):
        raise ValueError(f"prior {entry.key!r}: InverseWishart's nu must be a number")

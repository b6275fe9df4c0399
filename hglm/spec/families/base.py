"""What a response family is: one :class:`FamilyDef` per family holds everything that differs
by family, and :class:`Family` (a definition with a link) is what the rest of hglm asks.

Code outside this package never branches on a family's or a link's name: it asks the family
(``family.exact_marginal``, ``family.counts_family``, ``family.default_aux_priors(y)``,
``family.log_density(...)``, ...), as Bambi's family table and brms's family objects do.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from hglm.spec.families.links import LINKS, Link
from hglm.spec.families.responses import check_response_numeric, sample_mean, sample_sd

__all__ = ["FamilyDef", "Family", "FAMILIES", "register", "as_family", "delta_variance",
           "THRESHOLD_VARIANCE", "GaussianPart"]

#: the latent (link-scale) residual variance of a threshold model: the variance of the
#: standard logistic, normal and Gumbel (minimum) distributions (Nakagawa, Johnson &
#: Schielzeth 2017, Table 1)
THRESHOLD_VARIANCE = {"logit": np.pi**2 / 3, "probit": 1.0, "cloglog": np.pi**2 / 6}


def delta_variance(link: Link, eta, variance):
    """Var(g(y)) ~ Var(y) / (dmu/deta)^2, the first-order delta method at ``eta`` (exact on
    the identity link)."""
    if link.name == "identity":
        return variance
    return variance / link.derivative_numpy(eta) ** 2


@dataclass(frozen=True)
class GaussianPart:
    """The rows on which a family's likelihood is a normal density in the mean's linear
    predictor after a fixed transform of the response: there ``log p(y_i) = log N(z_i | eta_i,
    sigma^2) + (terms free of eta)``, so the marginal strategy integrates the group effects
    out of those rows exactly.  The terms free of eta (a Jacobian, a hurdle's zeros) come from
    :meth:`FamilyDef.gaussian_remainder`."""

    rows: np.ndarray | None       # boolean mask of the rows; None: every row
    z: np.ndarray                 # the transformed response on those rows


@dataclass(frozen=True)
class Summed:
    """A family's rows summed by pattern (the ``collapsed`` strategy): the summed response,
    its trials, the log exposure added to the linear predictor (None: none), and the
    constant that keeps the log density that of the rows."""

    observed: np.ndarray
    trials: np.ndarray | None
    log_exposure: np.ndarray | None
    constant: float
    kind: str                     # "binomial counts", ...


class FamilyDef:
    """One response distribution.  Subclasses set the class attributes and write the
    densities; the defaults are what most families want."""

    name: ClassVar[str]
    links: ClassVar[tuple[str, ...]]            # the first is the default
    aux: ClassVar[tuple[str, ...]] = ()         # auxiliary parameters, each its own prior key
    #: what each auxiliary parameter is, in a few words (``Model.describe()``)
    aux_meaning: ClassVar[dict[str, str]] = {}
    #: auxiliary parameters that are probabilities (zero-inflation, hurdle); the others are
    #: positive (scales, shapes, precisions, degrees of freedom)
    probabilities: ClassVar[tuple[str, ...]] = ()
    #: auxiliary parameters that are increasing vectors, one value per ``aux_coords`` label
    #: (an ordinal model's thresholds): real, sampled under the ordered transform
    ordered: ClassVar[tuple[str, ...]] = ()
    #: the intercept is absorbed into such parameters (ordinal thresholds): the design
    #: drops it, so ``y ~ x`` is read as written
    absorbs_intercept: ClassVar[bool] = False
    #: the variance-component table's group of an auxiliary parameter other than the scale
    #: (default "Dispersion", as glmmTMB; "Zero-inflation", "Hurdle")
    aux_groups: ClassVar[dict[str, str]] = {}
    #: "continuous" | "count" | "binomial" | "binary" | "ordinal": how the design reads the
    #: response (ordinal: ordered categories, coded 0 .. K-1)
    response: ClassVar[str] = "continuous"
    #: the PyMC likelihood's class name; None: a CustomDist with the family's log_density
    #: (where PyMC's own needs gradients JAX lacks, e.g. the truncated negative binomial's
    #: regularized incomplete beta function)
    pymc: ClassVar[str | None]
    #: the auxiliary parameter in the response's units (lme4's residual sd), if any: default
    #: priors, maximum likelihood and the tables scale it with the response
    scale_parameter: ClassVar[str | None] = None
    #: the working response's residual variance has an unknown scale, estimated from the
    #: residuals (a family with a dispersion parameter); otherwise the working weights are
    #: the Fisher information itself (poisson, binomial)
    working_dispersion: ClassVar[bool] = False
    #: the range of the mean, for starting values and for spotting fitted means at its edge
    mean_range: ClassVar[tuple[float, float]] = (-np.inf, np.inf)
    #: the family whose counts rows summed by pattern follow (the ``collapsed`` strategy:
    #: "binomial" for binomial rows, "poisson" for poisson rows on the log link), or None
    summed_family: ClassVar[str | None] = None
    #: the data-chosen parameterization may center group effects (False: non-centered
    #: unless the user asks, where centering measured worse)
    centers: ClassVar[bool] = True
    #: the ``padded`` strategy may lay rows out per level (False where it measured slower)
    pads_rows: ClassVar[bool] = True
    #: NUTS's default target acceptance when sampled effects of one factor are nested in
    #: another's (see ``Strategy.target_accept``)
    nested_target_accept: ClassVar[float] = 0.95
    #: REML (integrating the fixed effects out) is defined for this family
    supports_reml: ClassVar[bool] = False
    #: the semi-conjugate Gibbs sweep of this family ("gaussian", "poisson", "binomial"),
    #: which hglm's Gibbs sampler runs on the canonical link ``gibbs_link`` only
    gibbs: ClassVar[str | None] = None
    gibbs_link: ClassVar[str | None] = None
    #: families nested in this one on the boundary of its parameter space, with what sits at
    #: the boundary (for the likelihood-ratio test's reference distribution)
    boundary_of: ClassVar[dict[str, str]] = {}
    #: maximum likelihood's start of auxiliary parameters other than the scale (else 1)
    ml_aux_start: ClassVar[dict[str, float]] = {}
    #: the link of an auxiliary parameter's own formula, where not the default: log for a
    #: positive parameter, logit for a probability (brms's and glmmTMB's choices)
    aux_links: ClassVar[dict[str, str]] = {}
    #: fixed, data-independent priors of the family's simulation-based calibration model
    #: (``hglm.validation.models.sbc_model``); None where no calibration model is defined
    calibration_priors: ClassVar[dict[str, str] | None] = None

    # -- what every family writes --------------------------------------------------------
    def params(self, link: Link, eta: Any, aux: dict[str, Any],
               trials: np.ndarray | None) -> dict[str, Any]:
        """The PyMC likelihood's arguments."""
        return {"mu": link.inverse(eta), **aux}

    def log_density(self, link: Link, y, eta, aux, trials):
        """Pointwise log density (PyTensor) on the link scale, without parameter checks."""
        raise NotImplementedError

    def logpdf_numpy(self, link: Link, y, eta, aux, trials) -> np.ndarray:
        raise NotImplementedError

    def simulate(self, mu, aux, trials, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def simulate_eta(self, link: Link, eta, aux, trials, rng: np.random.Generator) -> np.ndarray:
        """Draw responses given the linear predictor (default: from the mean)."""
        return self.simulate(link.inverse_numpy(eta), aux, trials, rng)

    def aux_coords(self, name: str, categories: tuple | None) -> tuple[str, ...] | None:
        """The labels of a vector auxiliary parameter's values (None: a scalar)."""
        return None

    def summed(self, link: Link, y: np.ndarray, trials: np.ndarray | None, freq: np.ndarray,
               inverse: np.ndarray) -> Summed | None:
        """The rows summed by pattern (``inverse``: each row's pattern; ``freq``: how many
        times each row counts), or None where the family's rows do not sum."""
        return None

    def aux_start(self, link: Link, y: np.ndarray, categories: tuple | None,
                  counts: np.ndarray | None = None) -> dict:
        """Where maximum likelihood (and NUTS, for vector parameters) starts the auxiliary
        parameters other than the scale (``counts``: how many rows each value stands for)."""
        return dict(self.ml_aux_start)

    def default_aux_priors(self, y: np.ndarray, counts: np.ndarray | None = None) -> dict:
        """Default prior of each auxiliary parameter, given the response (each value counted
        ``counts[i]`` times)."""
        return {}

    def working_response(self, link: Link, y: np.ndarray, trials: np.ndarray | None,
                         eta: np.ndarray | None, counts: np.ndarray | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
        """IRLS's working response and weights on the link scale, at ``eta`` (or from the
        data alone): what the data-chosen centering weighs levels by.  Families with a
        residual scale take the response as it is."""
        y = np.asarray(y, dtype=float)
        return y, np.ones_like(y)

    def location(self, y: np.ndarray) -> np.ndarray:
        """The response on the scale of the distribution's location (lognormal: log y):
        where the default intercept prior is centered and scaled."""
        return np.asarray(y, dtype=float)

    def response_mean(self, link: Link, eta: np.ndarray, aux: dict[str, np.ndarray],
                      trials: np.ndarray | None) -> np.ndarray:
        """E[y] given the linear predictor (NumPy, broadcasting over draws); binomial: the
        expected successes."""
        mu = link.inverse_numpy(eta)
        return mu if trials is None else mu * trials

    def example_response(self, n: int) -> np.ndarray:
        """A valid placeholder response of ``n`` rows (calibration models replace it)."""
        return np.arange(n) % 2

    # -- hooks with defaults -------------------------------------------------------------
    def exact_marginal(self, link: Link) -> bool:
        """Whether group effects integrate out exactly (the ``marginal`` strategy, exact
        maximum likelihood rather than Laplace's approximation)."""
        return False

    def gaussian_part(self, link: Link, y: np.ndarray) -> GaussianPart | None:
        """Where the likelihood is gaussian in the linear predictor (None: nowhere): every row,
        untransformed, for the families whose group effects integrate out exactly."""
        return GaussianPart(None, np.asarray(y, dtype=float)) if self.exact_marginal(link) \
            else None

    def gaussian_remainder(self, link: Link, y: np.ndarray, aux: dict, weights: np.ndarray):
        """sum_i w_i log p(y_i) less the normal densities of :meth:`gaussian_part` (a constant
        or a PyTensor scalar of the auxiliary parameters)."""
        return 0.0

    def summed_logp(self, link: Link, y, eta, aux, trials, weights: np.ndarray):
        """sum_i weights_i log p(y_i) (PyTensor; rows of weight 0, such as padding, left out
        entirely); families with a cheaper closed form over many rows write it out."""
        import pytensor.tensor as pt

        logp = Family(self.name, link.name).logp(y, eta, aux, trials)
        w = np.asarray(weights, dtype=float)
        return pt.sum(pt.where(w > 0, w * logp, 0.0))

    def check_response(self, y: np.ndarray, name: str, trials: np.ndarray | None) -> None:
        """Refuse a response this family cannot model, naming the problem."""
        check_response_numeric(y, name, self.name)

    def response_variance(self, link: Link, eta, aux: dict, trials) -> np.ndarray:
        """Var(y) given the linear predictor (NumPy, broadcasting over draws); binomial: of
        the successes.  What the latent variance of the log and identity links needs."""
        raise NotImplementedError(f"family {self.name!r} has no response variance")

    def latent_variance(self, link: Link, eta, group_variance, aux: dict) -> np.ndarray:
        """The distribution-specific variance on the link scale (sigma^2_epsilon of Nakagawa,
        Johnson & Schielzeth 2017) at the mean fixed-effects predictor ``eta``, with
        ``group_variance`` the group terms' summed variance (NumPy, broadcasting over draws).

        By link: a threshold model's latent distribution (logit pi^2/3, probit 1, cloglog
        pi^2/6); log: the lognormal approximation log(1 + Var(y) / E[y]^2) at
        ``exp(eta + group_variance / 2)``, the mean over the group effects (Nakagawa et al.
        2017's recommended lambda; poisson: log(1 + 1/lambda)); otherwise the delta method
        Var(y) / (dmu/deta)^2 at ``eta`` (identity: the residual variance itself).
        """
        if link.name in THRESHOLD_VARIANCE:
            return np.broadcast_to(THRESHOLD_VARIANCE[link.name], np.shape(eta))
        if link.name == "log":
            at = eta + group_variance / 2.0
            return np.log1p(self.response_variance(link, at, aux, None)
                            / self.response_mean(link, at, aux, None) ** 2)
        return delta_variance(link, eta, self.response_variance(link, eta, aux, None))


FAMILIES: dict[str, FamilyDef] = {}


def register(definition: type[FamilyDef]) -> type[FamilyDef]:
    """Class decorator: make a family available by its name."""
    FAMILIES[definition.name] = definition()
    return definition


@dataclass(frozen=True)
class Family:
    """A response distribution with its link, e.g. ``Family("binomial", link="probit")``."""

    name: str
    link: str | None = None
    info: FamilyDef = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.name not in FAMILIES:
            raise ValueError(f"unknown family {self.name!r}; choose one of "
                             f"{', '.join(FAMILIES)}")
        info = FAMILIES[self.name]
        link = self.link or info.links[0]
        if link not in info.links:
            raise ValueError(f"family {self.name!r} has no link {link!r}; "
                             f"its links are {', '.join(info.links)}")
        object.__setattr__(self, "link", link)
        object.__setattr__(self, "info", info)

    def __str__(self) -> str:
        return self.name

    @property
    def title(self) -> str:
        """lme4's summary header: ``gaussian  ( identity )``."""
        return f"{self.name}  ( {self.link} )"

    @property
    def description(self) -> str:
        """``gaussian, identity link``: the family in words."""
        return f"{self.name}, {self.link} link"

    def aux_support(self, name: str) -> str:
        """``"unit"`` for an auxiliary parameter that is a probability, ``"real"`` for an
        ordered vector, else ``"positive"`` (other prior kinds than auxiliary parameters are
        not the family's: "positive")."""
        if name in self.info.ordered:
            return "real"
        return "unit" if name in self.info.probabilities else "positive"

    def aux_to_internal(self, name: str, value):
        """An auxiliary parameter on the unconstrained scale maximum likelihood works on:
        log of a positive parameter, logit of a probability, (first, log differences) of an
        ordered vector (NumPy)."""
        from scipy.special import logit

        if name in self.info.ordered:
            value = np.asarray(value, dtype=float)
            return np.concatenate([value[:1], np.log(np.diff(value))])
        return logit(value) if name in self.info.probabilities else np.log(value)

    def aux_from_internal(self, name: str, x):
        """The inverse of :meth:`aux_to_internal`, for NumPy arrays and PyTensor tensors."""
        # a tensor implies PyTensor is loaded; NumPy callers (fit_ml) never import it here
        pt = sys.modules.get("pytensor.tensor")
        xp = pt if pt is not None and isinstance(x, pt.TensorVariable) else np
        if name in self.info.ordered:
            return xp.cumsum(xp.concatenate([x[:1], xp.exp(x[1:])]))
        if name in self.info.probabilities:
            from scipy.special import expit

            return pt.sigmoid(x) if xp is pt else expit(x)
        return xp.exp(x)

    def aux_coords(self, name: str, categories: tuple | None = None) -> tuple[str, ...] | None:
        """The labels of a vector auxiliary parameter's values (ordinal thresholds:
        ``"1|2"``, ``"2|3"``, ... as ordinal's ``clmm``), or None for a scalar."""
        return self.info.aux_coords(name, categories)

    def aux_link(self, name: str) -> Link:
        """The link of auxiliary parameter ``name``'s formula (``sigma = exp(X_sigma b)``)."""
        default = "logit" if name in self.info.probabilities else "log"
        return LINKS[self.info.aux_links.get(name, default)]

    def aux_typical(self, name: str, y: np.ndarray, counts: np.ndarray | None = None) -> float:
        """A typical value of auxiliary parameter ``name`` for response ``y``: where the
        default prior of its formula's intercept is centered (the scale: the sd of the
        response's location, as the constant's default prior; others: maximum likelihood's
        start)."""
        if name == self.scale_parameter:
            return max(sample_sd(self.info.location(y), counts), 1e-8)
        return float(self.info.ml_aux_start.get(name, 1.0))

    def aux_start(self, y: np.ndarray, categories: tuple | None = None,
                  counts: np.ndarray | None = None) -> dict:
        """Starting values of auxiliary parameters other than the scale."""
        return self.info.aux_start(self._link, y, categories, counts)

    @property
    def absorbs_intercept(self) -> bool:
        return self.info.absorbs_intercept

    def aux_meaning(self, name: str) -> str | None:
        """What the auxiliary parameter ``name`` is, in a few words."""
        return self.info.aux_meaning.get(name)

    @property
    def _link(self) -> Link:
        return LINKS[self.link]

    # -- declarative facts ---------------------------------------------------------------
    @property
    def aux(self) -> tuple[str, ...]:
        return self.info.aux

    @property
    def response(self) -> str:
        return self.info.response

    @property
    def scale_parameter(self) -> str | None:
        return self.info.scale_parameter

    @property
    def exact_marginal(self) -> bool:
        return self.info.exact_marginal(self._link)

    def gaussian_part(self, y: np.ndarray) -> GaussianPart | None:
        return self.info.gaussian_part(self._link, y)

    def gaussian_remainder(self, y: np.ndarray, aux: dict, weights: np.ndarray):
        return self.info.gaussian_remainder(self._link, y, aux, weights)

    @property
    def identity_link(self) -> bool:
        """The linear predictor is on the response's own scale (data-scaled priors)."""
        return self.link == "identity"

    @property
    def counts_family(self) -> Family | None:
        """The family that rows summed by pattern follow (collapsed strategy), or None."""
        probe = self.summed(np.zeros(1), None, np.ones(1), np.zeros(1, dtype=np.int64))
        return None if probe is None else Family(self.info.summed_family, self.link)

    def summed(self, y: np.ndarray, trials: np.ndarray | None, freq: np.ndarray,
               inverse: np.ndarray) -> Summed | None:
        """The rows summed by pattern (see :meth:`FamilyDef.summed`), or None where this
        family's rows do not sum (a subclass that set ``summed_family`` to None)."""
        if self.info.summed_family is None:
            return None
        return self.info.summed(self._link, y, trials, freq, inverse)

    def aux_label(self, name: str) -> tuple[str, str]:
        """(group, kind) of an auxiliary parameter in variance-component tables: lme4's
        ``Residual`` sd for the scale parameter, ``Dispersion`` (glmmTMB) or the family's
        own group (``Zero-inflation``, ``Hurdle``) for the others."""
        if name == self.scale_parameter:
            return ("Residual", "sd")
        return (self.info.aux_groups.get(name, "Dispersion"), name)

    def boundary_description(self, smaller: Family) -> str | None:
        """What sits on the boundary when ``smaller`` is this family's limit (or None)."""
        return self.info.boundary_of.get(smaller.name)

    @property
    def mean_range(self) -> tuple[float, float]:
        return self.info.mean_range

    @property
    def working_dispersion(self) -> bool:
        return self.info.working_dispersion

    def example_response(self, n: int) -> np.ndarray:
        return self.info.example_response(n)

    def response_mean(self, eta: np.ndarray, aux: dict[str, np.ndarray],
                      trials: np.ndarray | None = None) -> np.ndarray:
        """E[y] given the linear predictor (NumPy); binomial: the expected successes."""
        return self.info.response_mean(self._link, eta, aux, trials)

    def response_variance(self, eta: np.ndarray, aux: dict[str, np.ndarray],
                          trials: np.ndarray | None = None) -> np.ndarray:
        """Var(y) given the linear predictor (NumPy); binomial: of the successes."""
        return self.info.response_variance(self._link, eta, aux, trials)

    def latent_variance(self, eta: np.ndarray, group_variance: np.ndarray,
                        aux: dict[str, np.ndarray]) -> np.ndarray:
        """The distribution-specific variance on the link scale, one value per draw
        (Nakagawa, Johnson & Schielzeth 2017): ``eta`` and ``group_variance`` are (draws,)
        arrays (the mean fixed-effects predictor, the group terms' summed variance), ``aux``
        the auxiliary parameters as (draws, 1) arrays; see :meth:`FamilyDef.latent_variance`.
        """
        eta = np.atleast_1d(np.asarray(eta, dtype=float))[:, None]
        group_variance = np.broadcast_to(np.asarray(group_variance, dtype=float).reshape(-1, 1),
                                         eta.shape)
        out = self.info.latent_variance(self._link, eta, group_variance, aux)
        return np.array(np.broadcast_to(out, eta.shape)[:, 0], dtype=float)

    @property
    def centers(self) -> bool:
        return self.info.centers

    @property
    def pads_rows(self) -> bool:
        return self.info.pads_rows

    @property
    def nested_target_accept(self) -> float:
        return self.info.nested_target_accept

    @property
    def supports_reml(self) -> bool:
        return self.info.supports_reml

    @property
    def gibbs(self) -> str | None:
        """The Gibbs sweep that applies, or None (other links, other families)."""
        return self.info.gibbs if self.link == self.info.gibbs_link else None

    @property
    def ml_aux_start(self) -> dict[str, float]:
        return self.info.ml_aux_start

    @property
    def calibration_priors(self) -> dict[str, str] | None:
        return self.info.calibration_priors

    # -- links ---------------------------------------------------------------------------
    def inverse_link(self, eta: Any) -> Any:
        """Mean of the response given the linear predictor (PyTensor)."""
        return self._link.inverse(eta)

    def inverse_link_numpy(self, eta: np.ndarray) -> np.ndarray:
        """Mean of the response given the linear predictor (NumPy)."""
        return self._link.inverse_numpy(eta)

    def link_numpy(self, mu: np.ndarray) -> np.ndarray:
        """The link function itself (NumPy)."""
        return self._link.numpy(mu)

    def mean_on_link_scale(self, y: np.ndarray, trials: np.ndarray | None, margin: float,
                           counts: np.ndarray | None = None) -> float:
        """The link of the mean response (per trial), kept ``margin`` inside the mean's range:
        where default intercept priors and maximum likelihood start (``counts``: how many
        rows each value stands for)."""
        c = 1 if counts is None else counts
        mean = float(np.sum(c * y) / max(np.sum(c * trials), 1)) if trials is not None \
            else sample_mean(self.info.location(y), counts)
        low, high = self.info.mean_range
        mean = min(max(mean, low + margin), high - margin)
        return float(self.link_numpy(mean))

    def prior_scale(self, y: np.ndarray, counts: np.ndarray | None = None) -> float:
        """The scale default priors of coefficients are measured in: sd(y) on the identity
        link, 1 on the others (brms, rstanarm)."""
        return sample_sd(self.info.location(y), counts) if self.identity_link else 1.0

    def default_aux_priors(self, y: np.ndarray, counts: np.ndarray | None = None) -> dict:
        return self.info.default_aux_priors(y, counts)

    def working_response(self, y: np.ndarray, trials: np.ndarray | None,
                         eta: np.ndarray | None = None, counts: np.ndarray | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
        """IRLS's working response and weights (``counts``: how many rows each row stands
        for, where the data-alone start uses the overall mean)."""
        return self.info.working_response(self._link, y, trials, eta, counts)

    def check_response(self, y: np.ndarray, name: str, trials: np.ndarray | None = None) -> None:
        self.info.check_response(y, name, trials)

    # -- densities -----------------------------------------------------------------------
    def likelihood(self, name: str, eta: Any, aux: dict[str, Any], observed: np.ndarray,
                   trials: np.ndarray | None = None, **kwargs: Any):
        """Add the observed variable ``name`` with linear predictor ``eta``."""
        import pymc as pm

        if self.info.pymc is None:      # no PyMC distribution: the family's own density
            return self._custom_likelihood(name, eta, aux, observed, trials, **kwargs)
        dist = getattr(pm, self.info.pymc)
        return dist(name, **self.info.params(self._link, eta, aux, trials), observed=observed,
                    **kwargs)

    def _custom_likelihood(self, name, eta, aux, observed, trials, **kwargs):
        """``pm.CustomDist`` with :meth:`log_density` as its log-probability."""
        import pymc as pm

        keys = list(aux)

        def logp(value, eta, *values):
            return self.info.log_density(self._link, value, eta, dict(zip(keys, values)), trials)

        # each row: a scalar linear predictor, scalar or vector (thresholds) parameters
        cores = ["(k)" if key in self.info.ordered else "()" for key in keys]
        signature = ",".join(["()"] + cores) + "->()"
        return pm.CustomDist(name, eta, *aux.values(), logp=logp, observed=observed,
                             signature=signature, **kwargs)

    def logp(self, y: np.ndarray, eta: Any, aux: dict[str, Any],
             trials: np.ndarray | None = None):
        """Pointwise log-likelihood (PyTensor), normalizing constants included."""
        import pymc as pm

        if self.info.pymc is None:
            return self.info.log_density(self._link, y, eta, aux, trials)
        dist = getattr(pm, self.info.pymc).dist(**self.info.params(self._link, eta, aux, trials))
        return pm.logp(dist, y)

    def summed_logp(self, y, eta, aux, trials, weights: np.ndarray):
        """sum_i weights_i log p(y_i | eta_i) (PyTensor): the padded strategy's likelihood."""
        return self.info.summed_logp(self._link, y, eta, aux, trials, weights)

    def log_density(self, y: np.ndarray, eta: Any, aux: dict[str, Any],
                    trials: np.ndarray | None = None):
        """Pointwise log-likelihood (PyTensor) written on the link scale, without parameter
        checks: finite and smooth for every finite ``eta``, so an optimizer can step
        anywhere (maximum likelihood, :mod:`hglm.ml`).  Normalizing constants included."""
        return self.info.log_density(self._link, y, eta, aux, trials)

    def logpdf_numpy(self, y: np.ndarray, eta: np.ndarray, aux: dict[str, np.ndarray],
                     trials: np.ndarray | None = None) -> np.ndarray:
        """Pointwise log-likelihood (NumPy/SciPy), broadcasting over draws."""
        return self.info.logpdf_numpy(self._link, y, eta, aux, trials)

    def simulate_numpy(self, eta: np.ndarray, aux: dict[str, np.ndarray],
                       trials: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
        """Draw responses given the linear predictor (prior and posterior predictive)."""
        return self.info.simulate_eta(self._link, eta, aux, trials, rng)


def as_family(family: str | Family, link: str | None = None) -> Family:
    """Accept a family name or a :class:`Family`."""
    if isinstance(family, Family):
        if link is not None and link != family.link:
            return Family(family.name, link)
        return family
    if isinstance(family, str):
        return Family(family.lower(), link)
    raise ValueError(f"family must be a name ({', '.join(FAMILIES)}) or hglm.Family, "
                     f"got {type(family).__name__}")

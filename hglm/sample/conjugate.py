"""What the Gibbs sampler needs from a model, and the rules that decide whether it applies.

The sampler (:mod:`hglm.sample.gibbs`) works on the classic semi-conjugate hierarchical model
of one grouping factor with correlated effects::

    y_i | ... ~ family(g^-1(x_i' beta + z_i' b_j[i])),   b_j ~ MVN(0, Sigma)
    beta ~ MvNormal(mu0, C0),   Sigma ~ InverseWishart(nu0, S0),   sigma^2 ~ InverseGamma(a0, b0)

:func:`conjugate_problem` checks each rule with a small named function (one rule, one message)
and hands the sampler a plain bundle of arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from hglm import names
from hglm.design.matrices import Design, GroupBlock, group_matrix
from hglm.graph.priors import PriorSet
from hglm.spec.priors import InverseGamma, InverseWishart, MvNormal

__all__ = ["ConjugateProblem", "conjugate_problem"]



@dataclass(frozen=True)
class ConjugateProblem:
    """Arrays and prior constants of one semi-conjugate model (see the module docstring).

    The group coefficients are sampled centered, ``c_j = A beta + b_j``: ``A`` (q x p) picks
    each term's fixed-effect counterpart (a zero row where a term has none), and ``Xf`` is
    ``X`` with those absorbed columns zeroed, so ``eta = offset + Xf beta + Z c_j``.
    """

    family: str                   # "gaussian" | "poisson" | "binomial"
    y: np.ndarray
    trials: np.ndarray            # ones unless binomial
    offset: np.ndarray
    Xf: np.ndarray                # N x p
    Z: np.ndarray                 # N x q
    index: np.ndarray             # N level indices
    n_levels: int
    A: np.ndarray                 # q x p
    mu0: np.ndarray
    prec0: np.ndarray             # C0^-1
    nu0: float
    S0: np.ndarray
    a0: float = 0.0
    b0: float = 0.0

    @property
    def p(self) -> int:
        return self.Xf.shape[1]

    @property
    def q(self) -> int:
        return self.Z.shape[1]

    @property
    def G(self) -> sp.csr_matrix:
        """(J q) x N sparse map: ``G @ v`` sums ``Z[i, k] v[i]`` over each level's rows."""
        return group_matrix(self.Z, self.index, self.n_levels).T.tocsr()

    @property
    def fixed_only(self) -> bool:
        """Whether some fixed effect enters the likelihood outside the group coefficients."""
        return bool(np.any(self.Xf))


def conjugate_problem(design: Design, priors: PriorSet) -> ConjugateProblem:
    """The sampler's bundle, or a ValueError naming the rule the model breaks."""
    check_family(design)
    check_unweighted(design)
    check_one_factor(design)
    block = design.blocks[0]
    check_correlated(block)
    beta, cov, sigma2 = check_priors(design, priors, block)
    A = _counterparts(design, block)
    Xf = design.X * (A.sum(axis=0) == 0)
    C0 = np.atleast_2d(beta.args["cov"])
    trials = design.trials if design.trials is not None else np.ones(design.n)
    return ConjugateProblem(
        family=design.family.gibbs,
        y=np.asarray(design.y, dtype=float), trials=np.asarray(trials, dtype=float),
        offset=np.zeros(design.n) if design.offset is None else np.asarray(design.offset, float),
        Xf=Xf, Z=block.Z, index=block.index, n_levels=block.n_levels, A=A,
        mu0=np.atleast_1d(beta.args["mu"]).astype(float), prec0=np.linalg.inv(C0),
        nu0=float(cov.args["nu"]), S0=np.atleast_2d(cov.args["S"]).astype(float),
        a0=float(sigma2.args["alpha"]) if sigma2 else 0.0,
        b0=float(sigma2.args["beta"]) if sigma2 else 0.0)


# --- the rules -------------------------------------------------------------------------------
def check_family(design: Design) -> None:
    fam = design.family
    if fam.gibbs is None:
        from hglm.spec.families import FAMILIES

        supported = ", ".join(f"{name} ({f.gibbs_link})" for name, f in FAMILIES.items()
                              if f.gibbs)
        raise ValueError(f"sampler='gibbs' handles {supported} with their canonical links; "
                         f"this model is {fam} with the {fam.link} link: use NUTS "
                         f"(sampler='auto')")


def check_unweighted(design: Design) -> None:
    if design.weights is not None:
        raise ValueError("sampler='gibbs' does not take observation weights; use NUTS "
                         "(sampler='auto')")
    if design.dpars:
        raise ValueError(f"sampler='gibbs' needs a constant sigma; this model gives "
                         f"{', '.join(d.dpar for d in design.dpars)} a formula: use NUTS "
                         f"(sampler='auto')")


def check_one_factor(design: Design) -> None:
    if len(design.blocks) != 1:
        found = ", ".join(f"({' + '.join(b.terms)} | {b.factor})" for b in design.blocks)
        raise ValueError(f"sampler='gibbs' handles exactly one grouping factor; this model has "
                         f"{len(design.blocks)}: {found or 'none'}. Use NUTS (sampler='auto')")


def check_correlated(block: GroupBlock) -> None:
    if not block.has_correlation:
        raise ValueError(f"sampler='gibbs' needs correlated group effects with two or more "
                         f"terms under an inverse-Wishart prior; ({' + '.join(block.terms)} "
                         f"{'||' if not block.correlated else '|'} {block.factor}) is not. "
                         f"Use NUTS (sampler='auto')")


def check_priors(design: Design, priors: PriorSet, block: GroupBlock):
    """The semi-conjugate priors, each with constant parameters."""
    want = {"beta": ("beta", MvNormal), names.cov_key(block.label): ("cov", InverseWishart)}
    if design.family.gibbs == "gaussian":
        want["sigma2"] = ("sigma2", InverseGamma)
    found = {}
    for key, (kind, cls) in want.items():
        entries = priors.of_kind(kind)
        prior = entries[0].prior if entries else None
        if not isinstance(prior, cls) or not prior.is_constant():
            raise ValueError(
                f"sampler='gibbs' needs the semi-conjugate priors {_needed(want)}; prior "
                f"{key!r} is {'not set' if prior is None else repr(prior)}. Set them with "
                f"constant arguments, e.g. priors={{'beta': hglm.MvNormal(mu, cov), "
                f"'cov({block.label})': hglm.InverseWishart(nu, S), 'sigma2': "
                f"hglm.InverseGamma(a, b)}}, or use sampler='nuts'")
        found[kind] = prior
    return found["beta"], found["cov"], found.get("sigma2")


def _needed(want: dict) -> str:
    return ", ".join(f"{k!r}: {cls.__name__}(...)" for k, (_, cls) in want.items())


def _counterparts(design: Design, block: GroupBlock) -> np.ndarray:
    """q x p: term k's fixed-effect column (same name and same values), if any."""
    A = np.zeros((block.q, len(design.fixed_names)))
    for k, term in enumerate(block.terms):
        if term in design.fixed_names:
            j = design.fixed_names.index(term)
            if np.allclose(design.X[:, j], block.Z[:, k]):
                A[k, j] = 1.0
    return A

"""Likelihood-ratio tests between nested mixed models, with the boundary correction.

A variance tested at zero lies on the boundary of the parameter space, where the LRT
statistic is not chi-square(df) but a mixture of chi-squares (Self & Liang 1987; Stram &
Lee 1994).  :func:`boundary_null` decides which reference distribution applies to the
difference between two designs:

=======================================================  ==============================  =====
what the larger model adds                               reference distribution          exact
=======================================================  ==============================  =====
fixed effects only                                       chi2(df)                        yes
one independent variance (a new ``(1|g)`` block)        0.5 chi2(0) + 0.5 chi2(1)       yes
poisson -> negbinomial, same terms (1/alpha at 0)       0.5 chi2(0) + 0.5 chi2(1)       yes
one term to a correlated block of k terms (its variance   0.5 chi2(k) + 0.5 chi2(k+1)     yes
and its k correlations), e.g. (1|g) -> (1 + x|g)
correlations only (``||`` -> ``|``)                      chi2(df): interior parameters   yes
anything else (several variances at once, a new            0.5 chi2(df-1) + 0.5 chi2(df)   no
correlated block, mixed changes)
=======================================================  ==============================  =====

The last row is an approximation (exact mixtures there have weights that depend on the
information matrix); it is marked ``approximate`` in the comparison table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from hglm.design.matrices import Design

__all__ = ["BoundaryNull", "boundary_null", "mixture_pvalue"]


@dataclass(frozen=True)
class BoundaryNull:
    """A mixture of chi-squares: ``weights[i]`` on chi2 with ``dfs[i]`` degrees of freedom."""

    dfs: tuple[int, ...]
    weights: tuple[float, ...]
    exact: bool
    what: str

    def pvalue(self, stat: float) -> float:
        return mixture_pvalue(stat, self.dfs, self.weights)

    def __str__(self) -> str:
        parts = [f"{w:g}·χ²({d})" for d, w in zip(self.dfs, self.weights)]
        return " + ".join(parts) if len(parts) > 1 else f"χ²({self.dfs[0]})"


def mixture_pvalue(stat: float, dfs, weights) -> float:
    """P(X >= stat) for X a mixture of chi-squares; chi2(0) is a point mass at zero."""
    if not np.isfinite(stat):
        return float("nan")
    total = 0.0
    for df, w in zip(dfs, weights):
        total += w * (float(stat <= 0) if df == 0 else stats.chi2.sf(max(stat, 0.0), df))
    return float(min(total, 1.0))


def _structure(design: Design, constants: bool = True):
    """Fixed effects, sds and correlations of every linear predictor, keyed by which
    (``None``: the mean's, else the auxiliary parameter's); with ``constants``, a constant
    auxiliary parameter counts as its formula's intercept (``sigma`` is ``sigma ~ 1``), so a
    constant sigma is nested in ``sigma ~ x``."""
    sds, cors, blocks = set(), set(), {}
    fixed = {(d.dpar, name) for d in design.predictors for name in d.fixed_names}
    if constants:
        fixed |= {(a, "Intercept") for a in design.family.aux
                  if design.dpar_design(a) is None
                  and design.family.aux_coords(a, design.categories) is None}
    for block in design.all_blocks:
        for t in block.terms:
            sds.add((block.dpar, block.factor, t))
        if block.has_correlation:
            for i in range(block.q):
                for j in range(i):
                    cors.add((block.dpar, block.factor,
                              frozenset((block.terms[i], block.terms[j]))))
        blocks.setdefault((block.dpar, block.factor), []).append(block)
    return fixed, sds, cors, blocks


def boundary_null(small: Design, large: Design, df: int) -> BoundaryNull | None:
    """The reference distribution of the LRT of ``small`` within ``large``; None if not nested."""
    if str(small.family) != str(large.family):
        # a family that is the other's limit on its boundary (poisson in negbinomial)
        limit = large.family.boundary_description(small.family)
        same_terms = _structure(small, False)[:3] == _structure(large, False)[:3]
        if limit and same_terms and df == 1:
            return BoundaryNull((0, 1), (0.5, 0.5), True, limit)
        return None
    fe0, sd0, cor0, blocks0 = _structure(small)
    fe1, sd1, cor1, blocks1 = _structure(large)
    if not (fe0 <= fe1 and sd0 <= sd1 and cor0 <= cor1) or df <= 0:
        return None
    new_sd, new_cor, new_fe = sd1 - sd0, cor1 - cor0, fe1 - fe0
    if not new_sd and not new_cor:
        return BoundaryNull((df,), (1.0,), True, "fixed effects")
    if not new_sd:
        return BoundaryNull((df,), (1.0,), not new_fe, "correlations (interior)")
    if not new_fe and len(new_sd) == 1:
        dpar, factor, term = next(iter(new_sd))
        (block,) = [b for b in large.all_blocks
                    if term in b.terms and b.factor == factor and b.dpar == dpar]
        k = len([c for c in new_cor if c[:2] == (dpar, factor) and term in c[2]])
        if not block.has_correlation or k == 0:
            if df == 1 and not new_cor:
                return BoundaryNull((0, 1), (0.5, 0.5), True, "one variance")
        elif len(new_cor) == k and df == k + 1 and k == block.q - 1:
            return BoundaryNull((k, k + 1), (0.5, 0.5), True,
                                f"one variance and its {k} correlation{'s' * (k > 1)}")
    return BoundaryNull((df - 1, df), (0.5, 0.5), False, "several parameters (approximate)")

"""Where each maximum-likelihood parameter lives: the outer vector ``phi`` (fixed effects,
each block's relative covariance factor, auxiliary parameters, auxiliary formulas) and the
inner vector ``w`` (spherical group effects, plus beta for REML).  NumPy only, so the
profiled gaussian fit (:mod:`hglm.ml.profiled`) runs without PyTensor."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hglm.design.matrices import Design

__all__ = ["ParamLayout"]


@dataclass
class ParamLayout:
    """Where each parameter lives in the outer vector ``phi`` and inner vector ``w``."""

    p: int                                  # fixed effects
    reml: bool
    theta: list[slice] = field(default_factory=list)   # one slice per block
    tri: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    u: list[slice] = field(default_factory=list)
    #: log sigma, logit zi, ... position; a slice for a vector (ordinal thresholds)
    aux: dict[str, int | slice] = field(default_factory=dict)
    #: each auxiliary formula's coefficients (their link scale)
    dpar_fixed: dict[str, slice] = field(default_factory=dict)
    n_phi: int = 0
    n_w: int = 0
    n_u: int = 0

    @classmethod
    def from_design(cls, design: Design, reml: bool) -> ParamLayout:
        layout = cls(p=len(design.fixed_names), reml=reml)
        pos = layout._blocks(design.blocks, 0 if reml else layout.p)
        for name in design.family.aux:
            coords = design.family.aux_coords(name, design.categories)
            if design.dpar_design(name) is not None:
                continue
            if coords is None:
                layout.aux[name] = pos
                pos += 1
            else:               # a vector (ordinal thresholds): a slice
                layout.aux[name] = slice(pos, pos + len(coords))
                pos += len(coords)
        for sub in design.dpars:     # [coefficients, each block's theta] per formula
            layout.dpar_fixed[sub.dpar] = slice(pos, pos + len(sub.fixed_names))
            pos = layout._blocks(sub.blocks, pos + len(sub.fixed_names))
        layout.n_phi = pos
        upos = 0
        for block in design.all_blocks:
            layout.u.append(slice(upos, upos + block.n_levels * block.q))
            upos += block.n_levels * block.q
        layout.n_u = upos
        layout.n_w = upos + (layout.p if reml else 0)
        return layout

    def _blocks(self, blocks, pos: int) -> int:
        """Add each block's theta (its relative factor's elements) from ``pos`` on."""
        for block in blocks:
            rows, cols = np.tril_indices(block.q) if block.correlated else \
                (np.arange(block.q), np.arange(block.q))
            self.tri.append((rows, cols))
            self.theta.append(slice(pos, pos + len(rows)))
            pos += len(rows)
        return pos

    def theta_is_diagonal(self) -> np.ndarray:
        """Mask over phi: True where a parameter is a diagonal element of some Lambda."""
        mask = np.zeros(self.n_phi, dtype=bool)
        for sl, (rows, cols) in zip(self.theta, self.tri):
            mask[sl] = rows == cols
        return mask

    def lam(self, phi: np.ndarray, k: int, q: int) -> np.ndarray:
        """Block ``k``'s factor Lambda (NumPy) from ``phi``."""
        rows, cols = self.tri[k]
        out = np.zeros((q, q))
        out[rows, cols] = phi[self.theta[k]]
        return out

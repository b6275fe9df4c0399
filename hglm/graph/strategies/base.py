"""The strategy interface and the bundles it receives."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from hglm.design.matrices import Design, GroupBlock
from hglm.graph.strategies.layout import select
from hglm.lazy import lazy

pt = lazy("pytensor.tensor")

__all__ = ["BlockParams", "FixedPart", "Strategy", "likelihood_name"]


def likelihood_name(design: Design, suffix: str = "") -> str:
    """The response's name for its likelihood node in the model under construction, with
    ``_obs`` added where a response is called like a model variable (``b``, ``sigma``)."""
    pm = lazy("pymc")

    name = design.response_name + suffix
    return name if name not in pm.modelcontext(None).named_vars else f"{name}_obs"


@dataclass
class FixedPart:
    """The fixed part of the linear predictor as ``X @ coef`` (X numeric, coef symbolic).

    ``X`` is the design the sampler sees (slopes centered around the intercept), so strategies
    can take rows of it or reduce it to sufficient statistics.
    """

    X: np.ndarray                  # N x k
    coef: object                   # (k,) PyTensor vector

    def eta(self, rows=None):
        X = select(self.X, rows)
        if X.shape[1] == 0:
            return pt.zeros(X.shape[0])
        return pt.as_tensor(X) @ self.coef


@dataclass
class BlockParams:
    """A block's population parameters as PyTensor variables."""

    block: GroupBlock
    sd: object                    # (q,) standard deviations
    corr_chol: object | None      # (q, q) Cholesky factor of the correlations, None if independent

    def scale_tril(self):
        """Cholesky factor of the block's covariance, diag(sd) @ L."""
        if self.corr_chol is None:
            return pt.diag(self.sd)
        return self.sd[:, None] * self.corr_chol


class Strategy(ABC):
    """Adds the group effects and the likelihood to the model under construction."""

    name: str = ""
    #: strategies ``"auto"`` would have picked but could not, with why (auxiliary formulas)
    passed_over: dict[str, str] = {}

    def unsupported(self, design: Design) -> str | None:
        """Why this strategy cannot fit the design (None when it can)."""
        return None

    def worthwhile(self, design: Design) -> bool:
        """Whether ``"auto"`` should pick this strategy for the design."""
        return self.unsupported(design) is None

    @abstractmethod
    def likelihood(self, design: Design, fixed: FixedPart, blocks: list[BlockParams],
                   aux: dict) -> None:
        """Add the group effects and the likelihood of the response to the current model."""

    # an optional hook, deliberately not abstract: most strategies have nothing to add
    def complete(self, idata, design: Design, seed: int | None = None) -> None:  # noqa: B027
        """Add to ``idata.posterior`` whatever the sampler did not draw (``r_<group>``)."""

    def describe(self, design: Design) -> dict[str, str]:
        """How each block enters the likelihood, e.g. {"Subject": "marginalized"}."""
        return {}

    def notes(self, design: Design) -> dict[str, str]:
        """A comment on each model variable this strategy adds, for ``Model.describe()``."""
        return {}

    def completes(self, design: Design) -> list[str]:
        """The variables :meth:`complete` adds to the posterior after sampling."""
        return []

    def target_accept(self, design: Design) -> float:
        """The default NUTS target acceptance rate: the family's ``nested_target_accept`` where
        sampled effects of one factor are nested in another's (0.95 for most families:
        grouseticks, broods in locations, had up to 36 divergences and R-hat up to 1.02 at
        0.9 across seeds), else 0.9."""
        from hglm.graph.strategies.centering import nested

        kinds = self.describe(design)
        sampled = [b for b in design.blocks if kinds.get(b.label) != "marginalized"]
        if len(sampled) > 1 and any(nested(design, b) for b in sampled):
            return design.family.nested_target_accept
        return 0.9

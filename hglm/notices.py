"""The warning classes hglm issues: each says what happened and what to try.

They share :class:`HglmWarning`, so a user (or ``hglm``'s command line) can tell hglm's own
advice from other libraries' messages: ``warnings.simplefilter("error", hglm.HglmWarning)``.
"""

from __future__ import annotations

__all__ = ["HglmWarning", "DataWarning", "SamplingWarning", "ConvergenceWarning",
           "SingularFitWarning", "BridgeSamplingWarning"]


class HglmWarning(UserWarning):
    """Base class of hglm's warnings."""


class DataWarning(HglmWarning):
    """The data were changed to fit (rows dropped, aliased columns removed) or are degenerate."""


class SamplingWarning(HglmWarning):
    """The sampler's output needs a look before the results are trusted."""


class ConvergenceWarning(HglmWarning):
    """A maximum-likelihood fit stopped before its convergence check passed."""


class SingularFitWarning(HglmWarning):
    """A maximum-likelihood estimate lies on the boundary: a variance at zero or a
    correlation at +-1 (lme4's "boundary (singular) fit")."""


class BridgeSamplingWarning(HglmWarning):
    """A bridge-sampling estimate of the marginal likelihood is unstable."""

"""Convergence checks after sampling, worded for people, with what to try."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import arviz as az
import numpy as np

from hglm.notices import SamplingWarning

__all__ = ["Diagnostics", "diagnose", "warn_diagnostics", "RHAT_MAX", "ESS_MIN"]

RHAT_MAX = 1.01
ESS_MIN = 400


@dataclass(frozen=True)
class Diagnostics:
    divergences: int
    draws: int
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    worst_rhat: str
    worst_ess: str

    def problems(self, target_accept: float) -> list[str]:
        out = []
        if self.divergences:
            out.append(
                f"{self.divergences} of {self.draws} draws ended in a divergent transition: "
                f"the posterior has regions the sampler cannot explore, so estimates may be "
                f"biased. Try fit(target_accept="
                f"{min(0.99, target_accept + (1 - target_accept) / 2):.3g}),"
                f" or tighter priors on the sds.")
        if self.max_rhat > RHAT_MAX:
            out.append(f"R-hat is {self.max_rhat:.3f} for {self.worst_rhat} (should be below "
                       f"{RHAT_MAX}): the chains disagree. Run more tune and draws.")
        if min(self.min_ess_bulk, self.min_ess_tail) < ESS_MIN:
            out.append(f"effective sample size is only "
                       f"{min(self.min_ess_bulk, self.min_ess_tail):.0f}"
                       f" for {self.worst_ess} (want at least {ESS_MIN}): means and intervals "
                       f"are noisy. Run more draws or chains.")
        return out


def diagnose(idata, var_names: list[str]) -> Diagnostics:
    """Divergences, worst R-hat and smallest bulk/tail ESS over ``var_names``."""
    post = idata.posterior[var_names]
    rhat, bulk = az.rhat(post), az.ess(post, method="bulk")
    tail = az.ess(post, method="tail")

    def extreme(ds, pick):
        best_val, best_name = None, ""
        for name, da in ds.data_vars.items():
            values = np.asarray(da.values, dtype=float).reshape(-1)
            if values.size == 0 or np.all(np.isnan(values)):
                continue
            i = int(np.nanargmax(values) if pick is max else np.nanargmin(values))
            if best_val is None or pick(values[i], best_val) == values[i]:
                best_val = values[i]
                idx = np.unravel_index(i, da.shape) if da.ndim else ()
                labels = [str(da[d].values[j]) for d, j in zip(da.dims, idx)]
                best_name = f"{name}[{', '.join(labels)}]" if labels else name
        return (np.nan if best_val is None else float(best_val)), best_name

    max_rhat, worst_rhat = extreme(rhat, max)
    min_bulk, worst_bulk = extreme(bulk, min)
    min_tail, worst_tail = extreme(tail, min)
    # samplers other than NUTS (Gibbs) have no divergences to count
    stats = idata.sample_stats if "sample_stats" in idata.groups() else {}
    divergences = int(stats["diverging"].sum()) if "diverging" in stats else 0
    draws = int(idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"])
    return Diagnostics(divergences, draws, max_rhat, min_bulk, min_tail, worst_rhat,
                       worst_bulk if min_bulk <= min_tail else worst_tail)


def warn_diagnostics(diag: Diagnostics, target_accept: float) -> None:
    for message in diag.problems(target_accept):
        warnings.warn(message, SamplingWarning, stacklevel=3)

"""The generated PyMC model as readable text, one commented block per part (``Model.describe``).

In the spirit of brms's ``stancode``: data and design, the priors (as ``m.priors`` lists them),
the group effects in the parameterisation the strategy chose, the likelihood or marginal
density, and the deterministic outputs.  Every line under the comments is read off the built
``pm.Model`` (PyMC's own printing), so whatever a strategy adds is shown; the comments come
from the strategy (:meth:`~hglm.graph.strategies.base.Strategy.notes`) and from the names
this module knows (:mod:`hglm.names`).
"""

from __future__ import annotations

import textwrap

import numpy as np
import pymc as pm
from pymc.printing import str_for_dist, str_for_potential_or_deterministic

from hglm import names
from hglm.design.matrices import Design
from hglm.graph.priors import PriorEntry, PriorSet
from hglm.graph.shrinkage import NOTES as SHRINKAGE_NOTES
from hglm.graph.strategies import Strategy
from hglm.spec.families.responses import sample_mean

__all__ = ["Description", "describe_model"]

_RULE = 88


class Description(str):
    """Text that prints as itself, also as the value of a notebook cell."""

    def __repr__(self) -> str:
        return str(self)


def describe_model(design: Design, priors: PriorSet, strategy: Strategy,
                   model: pm.Model) -> Description:
    """The model as text: header, data, priors, group effects, likelihood, outputs."""
    notes = {**_population_notes(design, priors), **strategy.notes(design)}
    grouped = _group_variables(design, model)
    taken = set().union(*grouped.values()) if grouped else set()
    parts = [_header(design, strategy), _data(design), _priors(design, priors, model, notes),
             _group_effects(design, strategy, model, grouped, notes),
             _likelihood(model, taken, notes), _outputs(model, taken, notes)]
    return Description("\n\n".join(p for p in parts if p) + "\n")


# -- sections ---------------------------------------------------------------------------------
def _section(title: str, lines: list[str]) -> str:
    return "\n".join([f"# -- {title} ".ljust(_RULE, "-"), *lines]) if lines else ""


def _header(design: Design, strategy: Strategy) -> str:
    return "\n".join([f"# hglm model: {design.formula.formula}",
                      *[f"#             {d.formula.formula}" for d in design.dpars],
                      f"# family: {design.family.description}; strategy: {strategy.name}"])


def _data(design: Design) -> str:
    lines = [f"N = {design.n_rows} rows; response {design.response_name}"
             + (" (successes of trials)" if design.trials is not None else "")]
    if design.moments:
        lines.append(f"the rows as {design.n} points with each cell's count, means and cross "
                     f"products (exact for this likelihood); each point counts for its share "
                     f"of its cell's rows")
    elif design.counts is not None:
        lines.append(f"the rows as {design.n} distinct rows, each with its count; each "
                     f"log-likelihood counts that many times")
    lines += _predictor_data(design)
    if design.weights is not None and (design.counts is None
                                       or not np.array_equal(design.weights, design.counts)):
        lines.append("likelihood weights: each row's log-likelihood times its weight "
                     f"(sum {_num(float(design.weights.sum()))})")
    for sub in design.dpars:
        link = sub.family.aux_link(sub.dpar).name
        lines.append(f"{sub.dpar}'s formula, on the {link} scale: {sub.formula.formula}")
        lines += _predictor_data(sub)
    return _section("data", [c for line in lines for c in _comment(line)])


def _predictor_data(design: Design) -> list[str]:
    """One linear predictor's fixed effects, centering, offset and group blocks."""
    lines = []
    if design.fixed_names:
        lines.append(f"fixed effects: {', '.join(design.fixed_names)}")
    slopes = [j for j, n in enumerate(design.fixed_names) if n != "Intercept"]
    if design.has_intercept and slopes:
        means = ", ".join(f"{design.fixed_names[j]} "
                          f"{_num(sample_mean(design.X[:, j], design.counts))}" for j in slopes)
        lines.append(f"slopes centered at their means ({means}); the sampled intercept is "
                     f"{names.intercept_centered(design.dpar)}")
    if design.offset is not None:
        lines.append("offset: added to the linear predictor")
    for block in design.blocks:
        corr = "correlated" if block.has_correlation else "independent" if block.q > 1 else ""
        factor = "" if block.factor == block.label else f" of {block.factor}"
        lines.append(f"{block.label}: {block.n_levels} levels{factor}; terms "
                     f"{', '.join(block.terms)}" + (f"; {corr}" if corr else ""))
    return lines


def _priors(design: Design, priors: PriorSet, model: pm.Model, notes: dict) -> str:
    lines, seen = [], set()
    for entry in priors:
        variable, element = _governed(design, entry)
        if variable not in seen and variable in notes:
            lines += _comment(f"{variable}: {notes[variable]}")
        seen.add(variable)
        target = variable if element is None else f"{variable}[{element}]"
        lines.append(f'{target} ~ {entry.prior!r}    # "{entry.key}" ({entry.source})')
    governed = {_governed(design, e)[0] for e in priors}
    grouped = {n for b in design.all_blocks for n in names.group_effect_variables(b.label)}
    for rv in model.free_RVs:
        stem = rv.name.split("[")[0]
        if stem not in governed and rv.name not in grouped:
            lines += _variable_lines(model, rv, notes.get(rv.name, "part of a prior above"))
    return _section("population parameters and their priors (m.priors)", lines)


def _group_effects(design: Design, strategy: Strategy, model: pm.Model,
                   grouped: dict[str, list[str]], notes: dict) -> str:
    kinds = strategy.describe(design)
    later = set(strategy.completes(design))
    lines = []
    for block in design.all_blocks:
        kind = f"non-centered ({block.dpar}'s formula)" if block.dpar else \
            kinds.get(block.label, "sampled")
        lines.append(f"# {block.label}: {kind}")
        for name in grouped[block.label]:
            lines += _variable_lines(model, model[name], notes.get(name))
        for name in (n for n in names.group_effect_variables(block.label) if n in later):
            lines += [*_comment(notes.get(name, "drawn after sampling")),
                      f"{name} (drawn after sampling)"]
    return _section("group effects", lines)


def _likelihood(model: pm.Model, taken: set[str], notes: dict) -> str:
    return _section("likelihood", _listed(model, [*model.observed_RVs, *model.potentials],
                                          taken, notes))


def _outputs(model: pm.Model, taken: set[str], notes: dict) -> str:
    return _section("deterministic outputs", _listed(model, model.deterministics, taken, notes))


def _listed(model: pm.Model, variables, taken: set[str], notes: dict) -> list[str]:
    """The lines of ``variables`` not already shown under a group."""
    return [line for var in variables if var.name not in taken
            for line in _variable_lines(model, var, notes.get(var.name))]


# -- pieces -----------------------------------------------------------------------------------
def _group_variables(design: Design, model: pm.Model) -> dict[str, list[str]]:
    """Per block, its effect variables in the model and their written-out priors."""
    out = {}
    for block in design.all_blocks:
        stems = names.group_effect_variables(block.label)
        wanted = [*stems, *(f"{s}_prior" for s in stems)]
        out[block.label] = [v.name for v in model.named_vars.values()
                            if v.name in wanted]
    return out


def _variable_lines(model: pm.Model, var, note: str | None) -> list[str]:
    """``# note`` over PyMC's own line for the variable (``name ~ Normal(f(...), sigma)``)."""
    if var in model.potentials and var.owner is None:        # a constant term
        text = f"{var.name} ~ Potential({_num(float(var.eval()))})"
    elif var in model.potentials:
        text = str_for_potential_or_deterministic(var, dist_name="Potential")
    elif var in model.deterministics:
        text = str_for_potential_or_deterministic(var)
    else:
        text = str_for_dist(var)
    return (_comment(note) if note else []) + [text]


def _comment(text: str) -> list[str]:
    """``text`` as comment lines within the rule's width."""
    return textwrap.wrap(text, _RULE, initial_indent="# ", subsequent_indent="#   ")


def _governed(design: Design, entry: PriorEntry) -> tuple[str, str | None]:
    """The model variable (and element) a prior entry is the prior of."""
    if entry.kind == "coef":
        if entry.term == "Intercept":
            return names.intercept_centered(entry.dpar), None
        return names.slopes(entry.dpar), entry.term
    if entry.kind in ("sd", "cor", "cov"):
        variable = {"sd": names.sd, "cor": names.L, "cov": names.chol_cov}[entry.kind]
        return variable(entry.block), entry.term
    return entry.parameter, None          # beta, sigma, sigma2, the family's aux parameters


def _population_notes(design: Design, priors: PriorSet) -> dict[str, str]:
    """What the population-level variables built by :mod:`hglm.graph.assemble` are."""
    notes = {"Intercept_centered": "the intercept at the slopes' means (centered predictors)",
             "b": "the slopes", "sigma2": "the residual variance; sigma = sqrt(sigma2)",
             "beta": "every fixed effect on the predictors' own scales (brms's b_)",
             **SHRINKAGE_NOTES}
    for entry in priors:
        for param, value in entry.prior.args.items():
            if hasattr(value, "args"):          # a prior on a prior's parameter
                name = names.hyper(entry.key, param, design.fixed_names)
                notes[name] = f'hyperprior on the {param} of "{entry.key}"'
    for name in design.family.aux:
        notes[name] = design.family.aux_meaning(name)
    if priors.of_kind("beta"):
        notes["beta"] = "every fixed effect, one joint prior (predictors not centered)"
    for sub in design.dpars:
        link = sub.family.aux_link(sub.dpar).name
        notes[names.intercept_centered(sub.dpar)] = (f"{sub.dpar}'s intercept ({link} scale) at "
                                                     "its slopes' means")
        notes[names.slopes(sub.dpar)] = f"{sub.dpar}'s slopes ({link} scale)"
        notes[names.beta(sub.dpar)] = f"{sub.dpar}'s fixed effects on the predictors' scales"
    for block in design.all_blocks:
        label = block.label
        notes[names.z(label)] = f"standard-normal offsets (non-centered) of {label}'s effects"
        notes[names.sd(label)] = f"the standard deviations of {label}'s effects"
        notes[names.L(label)] = f"Cholesky factor of {label}'s correlation matrix"
        notes[names.chol_cov(label)] = f"Cholesky factor of {label}'s covariance matrix"
        notes[names.cor(label)] = f"{label}'s correlations, from its Cholesky factor"
        notes[names.r(label)] = (f"{label}'s effects on the linear predictor, levels x terms "
                                 "(brms's r_)")
    return notes


def _num(value: float) -> str:
    return np.format_float_positional(value, precision=4, trim="-", fractional=False)

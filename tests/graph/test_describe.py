"""Model.describe(): every strategy's and family's model as text (snapshots), complete.

Snapshots live in ``tests/graph/snapshots/``; after an intended change, rewrite them with
``HGLM_UPDATE_SNAPSHOTS=1 python -m pytest tests/graph/test_describe.py`` and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hglm
from hglm.datasets import load

SNAPSHOTS = Path(__file__).parent / "snapshots"


def _bernoulli_cbpp() -> pd.DataFrame:
    """cbpp as one row per animal: many identical rows, so "auto" collapses them."""
    cbpp = load("cbpp")
    rows = [(h, p, int(i < k)) for h, p, k, n in cbpp[["herd", "period", "incidence", "size"]]
            .itertuples(index=False) for i in range(n)]
    frame = pd.DataFrame(rows, columns=["herd", "period", "sick"])
    return frame.astype({"herd": "category", "period": "category"})


def _reference(name: str) -> pd.DataFrame:
    return pd.read_csv(Path(__file__).parents[1] / "reference" / f"{name}.csv")


CASES = {
    "gaussian_marginal": lambda: hglm.Model(
        "Reaction ~ Days + (Days | Subject)", load("sleepstudy"),
        priors={"sd(Subject)": "HalfNormal(sigma=Gamma(2, 0.1))"}),
    "gaussian_indexed_hierarchical": lambda: hglm.Model(
        "Reaction ~ Days + (Days | Subject)", load("sleepstudy"), strategy="indexed"),
    "gaussian_indexed_noncentered": lambda: hglm.Model(
        "Reaction ~ Days + (Days | Subject)", load("sleepstudy"), strategy="indexed",
        centered=False),
    "gaussian_partially_centered": lambda: hglm.Model(
        "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", load("sleepstudy"),
        strategy="indexed"),
    "gaussian_horseshoe": lambda: hglm.Model(
        "Reaction ~ Days + (1 | Subject)", load("sleepstudy"), priors={"fixed": "Horseshoe(0.5)"}),
    "student": lambda: hglm.Model(
        "Reaction ~ Days + (Days || Subject)", load("sleepstudy"), family="student"),
    "poisson_nested": lambda: hglm.Model(
        "TICKS ~ YEAR + (1 | BROOD) + (1 | LOCATION)", load("grouseticks"), family="poisson"),
    "negbinomial_padded": lambda: hglm.Model(
        "TICKS ~ YEAR + (1 | LOCATION)", load("grouseticks"), family="negbinomial",
        strategy="padded"),
    "binomial": lambda: hglm.Model(
        "cbind(incidence, size - incidence) ~ period + (1 | herd)", load("cbpp"),
        family="binomial"),
    "gamma_inverse_link": lambda: hglm.Model(
        "Reaction ~ Days + (1 | Subject)", load("sleepstudy"), family="gamma", link="inverse"),
    "lognormal": lambda: hglm.Model(
        "Reaction ~ Days + (Days | Subject)", load("sleepstudy"), family="lognormal"),
    "beta": lambda: hglm.Model(
        "y ~ x + (x | g)", _reference("beta_sim"), family="beta"),
    "betabinomial": lambda: hglm.Model(
        "cbind(k, n - k) ~ x + (1 | g)", _reference("betabinomial_sim"), family="betabinomial"),
    **{family: (lambda family=family: hglm.Model(
        "y ~ x + (1 | g)", _reference("zicounts_sim"), family=family))
       for family in ("zero_inflated_poisson", "zero_inflated_negbinomial", "hurdle_poisson",
                      "hurdle_negbinomial")},
    "hurdle_lognormal": lambda: hglm.Model(
        "y ~ x + (1 | g)", _reference("hurdle_sim"), family="hurdle_lognormal"),
    "cumulative": lambda: hglm.Model(
        "rating ~ temp + contact + (1 | judge)", load("wine"), family="cumulative"),
    "gaussian_sigma_formula": lambda: hglm.Model(
        "Reaction ~ Days + (Days | Subject)", load("sleepstudy"),
        sigma="~ Days + (1 | Subject)"),
    "bernoulli_collapsed": lambda: hglm.Model(
        "sick ~ period + (1 | herd)", _bernoulli_cbpp(), family="bernoulli"),
}


@pytest.fixture(scope="module", params=list(CASES))
def described(request):
    model = CASES[request.param]()
    return request.param, model, model.describe()


def test_matches_snapshot(described):
    name, _, text = described
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("HGLM_UPDATE_SNAPSHOTS"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"describe() of {name} changed; see the module docstring"


def test_every_variable_and_prior_is_shown(described):
    """Independent of the snapshots: each PyMC variable has its line (``b[Days] ~`` for a
    vector whose elements have their own priors), each prior its key."""
    _, model, text = described
    lines = text.splitlines()
    pm_model = model.pymc_model
    for var in [*pm_model.free_RVs, *pm_model.observed_RVs, *pm_model.potentials,
                *pm_model.deterministics]:
        assert any(line.startswith((f"{var.name} ~ ", f"{var.name}[")) for line in lines), \
            var.name
    for key in model.priors["key"]:
        assert f'"{key}"' in text, key


def test_strategies_and_families_are_all_covered():
    from hglm.graph.strategies import STRATEGIES
    from hglm.spec.families import FAMILIES

    texts = [CASES[name]().describe() for name in CASES]
    strategies = {line.split("strategy: ")[1] for t in texts for line in t.splitlines()
                  if "strategy: " in line}
    families = {line.split("family: ")[1].split(",")[0] for t in texts
                for line in t.splitlines() if line.startswith("# family: ")}
    assert strategies == set(STRATEGIES)
    assert families == set(FAMILIES)


def test_marginal_model_names_its_integral_and_later_draws():
    text = CASES["gaussian_marginal"]().describe()
    assert "Reaction_marginal ~ Potential(" in text
    assert "r_Subject (drawn after sampling)" in text
    assert "integrated out exactly" in text


def test_partial_centring_reports_its_weights():
    model = CASES["gaussian_partially_centered"]()
    text = model.describe()
    block = next(b for b in model.design.blocks if b.terms == ("Days",))
    weights = model._strategy.weights(model.design, block)
    assert f"Days {np.median(weights[:, 0]):.2f}" in text


def test_readme_excerpt_is_what_describe_prints():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    excerpt = readme.split("# -- group effects", 1)[1].split("```", 1)[0]
    assert "# -- group effects" + excerpt in CASES["gaussian_marginal"]().describe()

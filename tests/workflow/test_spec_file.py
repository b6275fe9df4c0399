
import pytest

from hglm.cli import TEMPLATES, templates_dir
from hglm.workflow.spec_file import SpecError, load_spec, parse_spec

GOOD = """
[data]
dataset = "sleepstudy"

[model]
formula = "Reaction ~ Days + (Days | Subject)"

[priors]
sd = "HalfNormal(50)"

[sampling]
draws = 100
seed = 1
"""


def test_templates_are_valid_specs():
    assert sorted(p.stem for p in templates_dir().glob("*.toml")) == sorted(TEMPLATES)
    for name in TEMPLATES:
        spec = load_spec(templates_dir() / f"{name}.toml")
        spec.build_model()   # data, formula and priors all fit together


def test_good_spec():
    spec = parse_spec(GOOD)
    assert spec.priors == {"sd": "HalfNormal(50)"} and spec.sampling["draws"] == 100
    assert spec.build_model().prior_set.get("sd(Days|Subject)").source == "user"


@pytest.mark.parametrize("edit, message", [
    (lambda t: t + "\n[plots]\nx = 1\n", r"line 15: unknown section \[plots\]"),
    (lambda t: t.replace("seed = 1", "seeed = 1"), r"line 13: unknown key 'seeed' in \[sampling\]"),
    (lambda t: t.replace("draws = 100", 'draws = "many"'),
     r"line 12: \[sampling\] draws must be int"),
    (lambda t: t.replace('"HalfNormal(50)"', '"HalfNormal(-5)"'),
     r"line 9: prior 'sd': .*must be positive"),
    (lambda t: t.replace('"HalfNormal(50)"', '"__import__(\'os\')"'), r"line 9: prior 'sd'"),
    (lambda t: t.replace("(Days | Subject)", "(Days | Subject"), r"line 6: formula .* unclosed"),
    (lambda t: t.replace('"sleepstudy"', '"iris"'), r"line 3: unknown dataset 'iris'"),
    (lambda t: t.replace('formula = "Reaction ~ Days + (Days | Subject)"', 'family = "gaussian"'),
     r"\[model\] needs 'formula'"),
    (lambda t: t.replace('dataset = "sleepstudy"', 'dataset = "sleepstudy"\npath = "x.csv"'),
     "exactly one of 'dataset'"),
    (lambda t: t.replace("[priors]", "[priors"), "not valid TOML"),
    (lambda t: t.replace("Reaction ~", "Reaction__x ~"), "contains '__'"),
    (lambda t: t + '\n[interpret]\nr2 = "yes"\n', r"line 16: \[interpret\] r2 must be bool"),
    (lambda t: t + "\n[interpret]\nconditional_effects = 3\n",
     r"line 16: \[interpret\] conditional_effects must be bool or list"),
])
def test_bad_specs_name_the_problem_and_line(edit, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(edit(GOOD))


def test_formula_cannot_reach_files(tmp_path):
    spec = parse_spec(GOOD.replace("Reaction ~ Days", "Reaction ~ np.load(Days)"))
    with pytest.raises(ValueError, match="has no attribute 'load'"):
        spec.build_model()


def test_data_path_relative_to_spec(tmp_path, sleepstudy):
    sleepstudy.to_csv(tmp_path / "sleep.csv", index=False)
    path = tmp_path / "spec.toml"
    path.write_text(GOOD.replace('dataset = "sleepstudy"', 'path = "sleep.csv"'))
    assert load_spec(path).build_model().design.n == 180
    path.write_text(GOOD.replace('dataset = "sleepstudy"', 'path = "nope.csv"'))
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(path).load_data()


def test_interpret_section_names_model_variables():
    from hglm.workflow.interpretation import check_interpretation

    spec = parse_spec(GOOD + '\n[interpret]\nslopes = ["Dayz"]\nconditional_effects = ["Days"]\n')
    assert spec.interpret["conditional_effects"] == ["Days"]
    with pytest.raises(ValueError, match=r"\[interpret\] names 'Dayz', not variables"):
        check_interpretation(spec.interpret, spec.build_model())

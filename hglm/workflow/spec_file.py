"""Spec files: one small TOML file that declares a whole analysis, validated with line numbers.

```toml
[data]
dataset = "sleepstudy"            # a bundled dataset, or: path = "data.csv" (CSV or Parquet,
                                  # relative to the spec file)
[model]
formula = "Reaction ~ Days + (Days | Subject)"
family = "gaussian"               # link = "..." for a non-default link
                                  # weights = "w": a column of likelihood weights
                                  # counts = "n": rows standing for n identical rows each
[model.sigma]                     # optional: a formula for an auxiliary parameter
formula = "~ Days"                # (sigma, shape, phi, alpha, nu, zi, hu, ...)

[priors]                          # prior keys and their string forms
sd = "HalfStudentT(3, 50)"

[sampling]
draws = 1000
tune = 1000
chains = 4
seed = 1
sampler = "pymc"
target_accept = 0.9

[compare]                         # optional: alternative formulas for hglm.compare
formulas = ["Reaction ~ Days + (1 | Subject)"]

[sensitivity]                     # optional: power-scaling and prior variants
power_scaling = true
variants = { "tight sd" = { sd = "HalfNormal(1)" } }

[interpret]                       # optional: what hglm run writes to interpret the fit
conditional_effects = true        # or ["Days", "x:f"]: conditional_effects_<name>.png
r2 = true                         # r2.csv: Bayesian R², marginal and conditional
icc = true                        # icc.csv: intraclass correlations (latent scale)
hypotheses = ["Days > 5"]         # hypotheses.csv, as fit.hypothesis
comparisons = ["Days"]            # comparisons.csv: average contrasts (hglm.comparisons)
slopes = ["Days"]                 # slopes.csv: average slopes (hglm.slopes)
```

A spec is data, never code: formulas may use column names and the documented transforms
only (see :func:`hglm.design.matrices.formula_env`), priors are parsed, not evaluated.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from hglm.spec.model_spec import ModelSpec

__all__ = ["Spec", "SpecError", "load_spec", "parse_spec"]

_SCHEMA: dict[str, dict[str, type | tuple]] = {
    "data": {"dataset": str, "path": str},
    "model": {"formula": str, "family": str, "link": str, "strategy": str, "weights": str,
              "counts": str},
    "priors": {},  # any key -> str, checked against the model
    "sampling": {"draws": int, "tune": int, "chains": int, "seed": int, "sampler": str,
                 "target_accept": float, "extend": bool},
    "compare": {"formulas": list, "method": str, "group": str, "K": int},
    "sensitivity": {"power_scaling": bool, "keys": list, "variants": dict},
    "interpret": {"conditional_effects": (bool, list), "r2": bool, "icc": bool,
                  "hypotheses": list, "comparisons": list, "slopes": list},
}
_REQUIRED = {"data": (), "model": ("formula",)}


class SpecError(ValueError):
    """A spec file that cannot be used; the message names the file, the key and the line."""


@dataclass
class Spec:
    """A validated spec: what to fit, how to sample it, what to compare."""

    path: Path | None
    data: dict[str, str]
    model: dict[str, str]
    priors: dict[str, str] = field(default_factory=dict)
    sampling: dict[str, Any] = field(default_factory=dict)
    compare: dict[str, Any] = field(default_factory=dict)
    sensitivity: dict[str, Any] = field(default_factory=dict)
    interpret: dict[str, Any] = field(default_factory=dict)

    def load_data(self) -> pd.DataFrame:
        from hglm import datasets

        if "dataset" in self.data:
            return datasets.load(self.data["dataset"])
        base = self.path.parent if self.path else Path.cwd()
        file = (base / self.data["path"]).resolve()
        if not file.exists():
            raise SpecError(f"{self._where()}: data file {str(file)!r} does not exist")
        if file.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(file)
        return pd.read_csv(file)

    @property
    def model_spec(self) -> ModelSpec:
        """The ``[model]`` (with its ``[model.<parameter>]`` formulas) and ``[priors]``
        sections as a :class:`hglm.ModelSpec`."""
        plain = {k: v for k, v in self.model.items() if not isinstance(v, dict)}
        dpars = {k: v["formula"] for k, v in self.model.items() if isinstance(v, dict)}
        return ModelSpec.from_dict({**plain, "priors": self.priors, "dpars": dpars})

    def build_model(self, formula: str | None = None, data: pd.DataFrame | None = None):
        """The spec's model (``formula`` replacing the spec's, lme4's ``.`` allowed)."""
        from hglm.model import Model

        spec = self.model_spec if formula is None else self.model_spec.update(formula=formula)
        return Model.from_spec(spec, self.load_data() if data is None else data)

    def to_dict(self) -> dict:
        return {"data": self.data, "model": self.model, "priors": self.priors,
                "sampling": self.sampling, "compare": self.compare,
                "sensitivity": self.sensitivity, "interpret": self.interpret}

    def _where(self) -> str:
        return str(self.path) if self.path else "spec"


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec file."""
    path = Path(path)
    if not path.exists():
        raise SpecError(f"spec file {str(path)!r} does not exist")
    return parse_spec(path.read_text(), path)


def parse_spec(text: str, path: Path | None = None) -> Spec:
    """Validate spec text; every error names the key and its line."""
    where = str(path) if path else "spec"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{where}: not valid TOML: {err}") from None
    for section, value in raw.items():
        if section not in _SCHEMA:
            raise SpecError(f"{where}, line {_line(text, None, section)}: unknown section "
                            f"[{section}]; sections are {', '.join(_SCHEMA)}")
        if not isinstance(value, dict):
            raise SpecError(f"{where}, line {_line(text, None, section)}: {section!r} must be "
                            f"a [{section}] table")
    for section, keys in _REQUIRED.items():
        if section not in raw:
            raise SpecError(f"{where}: missing section [{section}]")
        for key in keys:
            if key not in raw[section]:
                raise SpecError(f"{where}: [{section}] needs {key!r}")
    for section, table in raw.items():
        schema = _SCHEMA[section]
        for key, value in table.items():
            line = _line(text, section, key)
            if section == "priors":
                _check_prior(where, line, key, value)
                continue
            if section == "model" and isinstance(value, dict):      # [model.sigma]
                _check_dpar_table(where, text, key, value)
                continue
            if key not in schema:
                raise SpecError(f"{where}, line {line}: unknown key {key!r} in [{section}]; "
                                f"keys are {', '.join(schema)}")
            _check_type(where, line, section, key, value, schema[key])
    data = raw["data"]
    if ("dataset" in data) == ("path" in data):
        raise SpecError(f"{where}, line {_line(text, None, 'data')}: [data] needs exactly one of "
                        f"'dataset' (bundled) or 'path' (a CSV or Parquet file)")
    spec = Spec(path, data, raw["model"], raw.get("priors", {}), raw.get("sampling", {}),
                raw.get("compare", {}), raw.get("sensitivity", {}), raw.get("interpret", {}))
    _check_semantics(spec, text, where)
    return spec


def _check_type(where, line, section: str, key: str, value, expected) -> None:
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        kinds = expected if isinstance(expected, tuple) else (expected,)
        raise SpecError(f"{where}, line {line}: [{section}] {key} must be "
                        f"{' or '.join(k.__name__ for k in kinds)}, got "
                        f"{type(value).__name__} {value!r}")


def _table_line(text: str, name: str) -> int | str:
    """The line of the table header ``[name]``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"^\[\s*{re.escape(name)}\s*\]", line.strip()):
            return number
    return "?"


def _check_dpar_table(where: str, text: str, key: str, value: dict) -> None:
    """``[model.sigma]``: one string key, ``formula``."""
    line = _table_line(text, f"model.{key}")
    if set(value) != {"formula"} or not isinstance(value["formula"], str):
        raise SpecError(f"{where}, line {line}: [model.{key}] takes one key, formula = "
                        f"\"~ x + (1 | g)\" (a formula for the family's parameter {key!r})")


def _check_prior(where, line, key, value) -> None:
    from hglm.spec.priors import parse_prior

    if not isinstance(value, str):
        raise SpecError(f"{where}, line {line}: prior {key!r} must be a string such as "
                        f"\"Normal(0, 5)\", got {value!r}")
    try:
        parse_prior(value)
    except ValueError as err:
        raise SpecError(f"{where}, line {line}: prior {key!r}: {err}") from None


def _check_semantics(spec: Spec, text: str, where: str) -> None:
    from hglm import datasets
    from hglm.design.formula import parse_dpar_formula, parse_formula
    from hglm.spec.families import as_family

    if "dataset" in spec.data and spec.data["dataset"].lower() not in datasets.names():
        raise SpecError(f"{where}, line {_line(text, 'data', 'dataset')}: unknown dataset "
                        f"{spec.data['dataset']!r}; bundled: {', '.join(datasets.names())}")
    checks = [("model", "formula", spec.model["formula"], parse_formula)]
    checks += [("compare", "formulas", f, parse_formula) for f in spec.compare.get("formulas", [])]
    for section, key, value, check in checks:
        try:
            check(value)
        except ValueError as err:
            raise SpecError(f"{where}, line {_line(text, section, key)}: {err}") from None
    try:
        as_family(spec.model.get("family", "gaussian"), spec.model.get("link"))
    except ValueError as err:
        raise SpecError(f"{where}, line {_line(text, 'model', 'family')}: {err}") from None
    for key, value in spec.model.items():
        if not isinstance(value, dict):
            continue
        try:
            _ = spec.model_spec        # the family has the parameter
            parse_dpar_formula(key, value["formula"], "y")
        except ValueError as err:
            raise SpecError(f"{where}, line {_table_line(text, f'model.{key}')}: {err}") \
                from None
    for name, variant in spec.sensitivity.get("variants", {}).items():
        if not isinstance(variant, dict):
            raise SpecError(f"{where}, line {_line(text, 'sensitivity', 'variants')}: variant "
                            f"{name!r} must be a table of prior keys")
        for key, value in variant.items():
            _check_prior(where, _line(text, "sensitivity", "variants"), key, value)


def _line(text: str, section: str | None, key: str) -> int | str:
    """The line where ``key`` is set in ``[section]`` (or where ``[key]`` starts)."""
    current = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[+\s*([^\]]+?)\s*\]+", stripped)
        if header:
            current = header.group(1).split(".")[0]
            if section is None and current == key:
                return number
            continue
        if section is not None and current == section and \
                re.match(rf'^["\']?{re.escape(key)}["\']?\s*=', stripped):
            return number
    return "?"

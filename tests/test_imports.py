"""The package's import graph has no cycles: modules import along the pipeline (spec ->
design -> graph -> sample -> results, with ml, comparison, sensitivity and validation
beside), function-level imports included, and no private name crosses a package."""

import ast
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

ROOT = Path(__file__).resolve().parents[1] / "hglm"


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]):
    """(module imported, names taken) for every import in the file, at any depth."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):      # type-only imports never run: drop them
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            for alias in node.names:        # "from hglm import names" imports a module
                full = f"{base}.{alias.name}"
                yield (full, []) if full in modules else (base, [alias.name])


def import_graph() -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """module -> the hglm modules it imports; and private names imported across packages."""
    files = {_module(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    private = []
    for name, path in files.items():
        for target, taken in _imports(path, set(files)):
            if target in files and target != name:
                graph[name].add(target)
                top = lambda m: m.split(".")[1] if m.count(".") else m  # noqa: E731
                private += [(name, target, t) for t in taken
                            if t.startswith("_") and top(target) != top(name)]
    return graph, private


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected sets of two or more modules (each holds a cycle)."""
    nodes = sorted(graph)
    index = {n: i for i, n in enumerate(nodes)}
    rows = [index[a] for a in nodes for b in graph[a]]
    cols = [index[b] for a in nodes for b in graph[a]]
    adjacency = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(nodes),) * 2)
    _, label = connected_components(adjacency, directed=True, connection="strong")
    groups = [[n for n in nodes if label[index[n]] == k] for k in np.unique(label)]
    return [g for g in groups if len(g) > 1]


def test_no_import_cycles():
    cycles = _cycles(import_graph()[0])
    assert not cycles, "\n".join(", ".join(c) for c in cycles)


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_private_names_cross_packages():
    _, private = import_graph()
    assert not private, private


@pytest.mark.parametrize("module", ["hglm.sample.gibbs", "hglm.sample.jax_nuts"])
def test_version_comes_from_the_installed_metadata(module):
    graph, _ = import_graph()
    assert "hglm" not in graph[module]


#: the pipeline's order: a module may import modules of its own stage or an earlier one
PIPELINE = ["hglm.lazy", "hglm.names", "hglm.notices", "hglm.environment", "hglm.parallel",
            "hglm.spec", "hglm.design", "hglm.datasets", "hglm.graph", "hglm.sample",
            "hglm.results", "hglm.ml", "hglm.comparison", "hglm.sensitivity", "hglm.interpret",
            "hglm.model", "hglm.validation", "hglm.workflow", "hglm", "hglm.cli",
            "hglm.__main__"]

#: ``Fit`` is the user's handle on every later stage: its convenience methods (``fit.r2()``,
#: ``fit.sensitivity()``, ...) import those stages inside the method, as lme4's methods
#: dispatch to other packages' generics.  Nothing else may reach forward.
FACADES = {"hglm.results.fit"}


def _stage(module: str) -> int:
    """The pipeline position of a module (the package "hglm" itself only for its __init__)."""
    return max(i for i, s in enumerate(PIPELINE)
               if module == s or (s != "hglm" and module.startswith(s + ".")))


def test_imports_follow_the_pipeline():
    graph, _ = import_graph()
    backwards = [(a, b) for a, targets in graph.items() for b in targets
                 if _stage(b) > _stage(a) and a not in FACADES]
    assert not backwards, backwards


def test_the_stage_of_a_module_is_its_own_package():
    assert _stage("hglm.results.fit") < _stage("hglm.comparison.table") < _stage("hglm")


def test_import_hglm_loads_no_heavy_dependency():
    """``import hglm`` is cheap (PEP 562 lazy names): PyMC, PyTensor, ArviZ, JAX, pandas and
    matplotlib load on first use of a name that needs them."""
    import subprocess
    import sys

    heavy = ["pymc", "pytensor", "arviz", "jax", "numpyro", "pandas", "matplotlib", "scipy"]
    code = f"import sys, hglm; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "", f"import hglm loaded {out}"


def test_model_and_maximum_likelihood_load_no_sampler_stack():
    """A model's design, priors and strategy, and a gaussian ``fit_ml``, run without PyMC,
    PyTensor, ArviZ or JAX (lme4 users comparing fits by likelihood never wait for them)."""
    import subprocess
    import sys

    heavy = ["pymc", "pytensor", "arviz", "jax", "numpyro", "xarray", "matplotlib"]
    code = ("import sys, hglm; d = hglm.datasets.load('sleepstudy'); "
            "m = hglm.Model('Reaction ~ Days + (Days | Subject)', d); "
            "m.fit_ml(); m.fit_ml(reml=True); m.priors; m.parameterization; "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "", f"a model and its ML fit loaded {out}"


def test_lazy_names_resolve_to_the_public_objects():
    import importlib

    import hglm

    importlib.import_module("hglm.sample.nuts")          # sets the subpackage attributes
    importlib.import_module("hglm.sensitivity.power")
    assert callable(hglm.sample) and hglm.sample.__module__ == "hglm.sample.nuts"
    assert callable(hglm.sensitivity) and hglm.sensitivity.__module__ == "hglm.sensitivity.power"
    assert all(getattr(hglm, name) is not None for name in hglm.__all__)
    assert hglm.Model.__module__ == "hglm.model" and hglm.datasets.load
    with pytest.raises(AttributeError, match="no attribute 'Modle'"):
        _ = hglm.Modle


def test_the_collector_is_frozen_before_python_finalizes():
    """hglm.environment.quick_exit: the last atexit handler (registered before hglm's) sees
    the collector's objects frozen, so module teardown does not walk a fit's object graph."""
    import subprocess
    import sys

    code = ("import atexit, gc; atexit.register(lambda: print(gc.get_freeze_count() > 0)); "
            "import hglm")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "True"

"""Packaging: declared dependencies match the imports, type information is shipped, CI floors are derivable."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "muse_gnn"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# import name -> distribution name, where they differ; mpl_toolkits ships with matplotlib
DIST = {"sklearn": "scikit-learn", "torch_geometric": "torch-geometric", "mpl_toolkits": "matplotlib"}
# optional imports: import name -> the extra that declares it (imported lazily, inside a function)
OPTIONAL = {"rdata": "data"}


def _names(reqs: list[str]) -> set[str]:
    return {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower() for r in reqs}


def _third_party_imports() -> set[str]:
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "muse_gnn"}


def test_every_import_is_a_declared_dependency():
    declared = _names(PYPROJECT["project"]["dependencies"])
    missing = {DIST.get(m, m) for m in _third_party_imports() - set(OPTIONAL)} - declared
    assert not missing, f"imported but not in [project].dependencies: {sorted(missing)}"


def test_no_unused_runtime_dependencies():
    declared = _names(PYPROJECT["project"]["dependencies"])
    used = {DIST.get(m, m) for m in _third_party_imports() - set(OPTIONAL)} | {"igraph"}  # igraph: scanpy's flavor="igraph"
    assert declared <= used, f"declared but never imported: {sorted(declared - used)}"
    assert "leidenalg" not in declared and "mudata" not in declared


def test_extras():
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {"test", "doc", "tutorials", "validation"} <= set(extras)
    assert "mudata" in _names(extras["test"]) and "ipywidgets" in _names(extras["tutorials"])
    assert "scib-metrics" in _names(extras["validation"])


def test_optional_imports_are_lazy_and_declared_in_their_extra():
    extras = PYPROJECT["project"]["optional-dependencies"]
    for module, extra in OPTIONAL.items():
        assert module in _names(extras[extra]) and module in _names(extras["test"])
        assert module not in _names(PYPROJECT["project"]["dependencies"])
        for path in SRC.rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
            names = {a.name.split(".")[0] for n in top if isinstance(n, ast.Import) for a in n.names}
            names |= {n.module.split(".")[0] for n in top if isinstance(n, ast.ImportFrom) and n.module and not n.level}
            assert module not in names, f"{path} imports the optional {module} at module level"


def test_py_typed_is_shipped():
    assert (SRC / "py.typed").is_file()
    assert PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["src/muse_gnn"]


def test_min_constraints_pin_every_floor():
    out = subprocess.run([sys.executable, str(ROOT / ".github" / "scripts" / "min_constraints.py")],
                         capture_output=True, text=True, check=True).stdout.split()
    assert "anndata==0.10.*" in out and "torch==2.1.*" in out and "numpy==1.26.*" in out
    assert len(out) == len(PYPROJECT["project"]["dependencies"])

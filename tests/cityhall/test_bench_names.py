"""The benchmarks run only under `make bench`, never in the test suite, so a name they read from
the application that has moved (a function taken into another module) would surface as a
failed script half an hour into a run. Every `module.name` a bench script reads from a module it
imports from the application must exist."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = {"cityhall", "residents", "procedures", "payments", "gis", "counter", "facilities"}
APPS |= {"notices", "taxes"}


def _imported_modules(tree: ast.AST) -> dict[str, str]:
    """Local name -> dotted module, for `from app import module` and `import app.module as m`."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] not in APPS:
                continue
            folder = ROOT.joinpath(*node.module.split("."))
            for alias in node.names:
                # Only modules: a name imported from one (a function, a class) is checked where
                # it is defined, not here.
                if (folder / f"{alias.name}.py").exists() or (folder / alias.name).is_dir():
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in APPS and alias.asname:
                    names[alias.asname] = alias.name
    return names


def _reads(path: Path) -> list[tuple[str, str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = _imported_modules(tree)
    return [
        (modules[node.value.id], node.attr, node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in modules
        and isinstance(node.ctx, ast.Load)
    ]


@pytest.mark.parametrize("script", sorted((ROOT / "bench").glob("*.py")), ids=lambda p: p.name)
def test_every_application_name_a_bench_script_reads_exists(script):
    missing = [
        f"{script.name}:{line}: {module}.{name}"
        for module, name, line in _reads(script)
        if not hasattr(importlib.import_module(module), name)
    ]
    assert not missing, "bench script reads names its modules no longer have:\n" + "\n".join(
        missing
    )


def test_the_check_sees_a_name_that_moved(tmp_path):
    script = tmp_path / "moved.py"
    script.write_text(
        "from gis import selectors, tiles\nselectors._features_in_tile\ntiles._features_in_tile\n",
        encoding="utf-8",
    )
    reads = _reads(script)
    assert ("gis.selectors", "_features_in_tile", 2) in reads
    absent = [(m, n) for m, n, _ in reads if not hasattr(importlib.import_module(m), n)]
    assert absent == [("gis.selectors", "_features_in_tile")]

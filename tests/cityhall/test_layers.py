"""Code outside an app's services reaches them only through public names."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _private_service_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "services":
            found += [
                f"{path.relative_to(ROOT)}: {node.module}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_")
            ]
    return found


def test_no_module_imports_a_private_service_function():
    offenders = []
    for init in sorted(ROOT.glob("*/__init__.py")):
        for path in init.parent.rglob("*.py"):
            if "migrations" not in path.parts and "services" not in path.parts:
                offenders += _private_service_imports(path)
    assert offenders == []

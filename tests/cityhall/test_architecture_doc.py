"""The newcomers' map stays true: every app says what it owns and may import, and
docs/architecture.md names every public service and selector of every app."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = sorted(
    path.parent.name for path in ROOT.glob("*/apps.py") if (path.parent / "models.py").exists()
)


def _public_functions(app: str, kind: str) -> list[str]:
    module = ROOT / app / f"{kind}.py"
    package = ROOT / app / kind
    files = [module] if module.exists() else sorted(package.glob("*.py"))
    return [
        node.name
        for path in files
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    ]


def _section(app: str) -> str:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    match = re.search(rf"^### `{app}/`\n(.*?)(?=^### |\Z)", text, re.M | re.S)
    assert match, f"docs/architecture.md has no section for {app}"
    return match.group(1)


def test_every_app_is_on_the_diagram():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    diagram = text.split("```mermaid", 1)[1].split("```", 1)[0]
    for node in [*APPS, "Redis", "PostgreSQL", "Celery"]:
        assert node in diagram


@pytest.mark.parametrize("app", APPS)
def test_app_docstring_says_what_it_owns_and_may_import(app):
    docstring = ast.get_docstring(ast.parse((ROOT / app / "__init__.py").read_text())) or ""
    assert re.search(r"\bowns?\b|owned|own\b", docstring, re.I), app
    assert re.search(r"may import", docstring, re.I), app


@pytest.mark.parametrize("app", APPS)
def test_architecture_doc_names_every_public_service_and_selector(app):
    section = _section(app)
    missing = [
        f"{kind}.{name}"
        for kind in ("services", "selectors")
        for name in _public_functions(app, kind)
        if f"`{name}`" not in section
    ]
    assert missing == []

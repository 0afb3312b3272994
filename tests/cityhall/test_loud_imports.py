"""A broken import of our own code fails loudly, in the product and in the tests."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import pytest
from loudimports import PROJECT_MODULES

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PLACEHOLDER = "cityhall.<computed>"
SOURCE_DIRS = sorted(path.parent for path in ROOT.glob("*/__init__.py"))


def _python_files():
    for folder in [*SOURCE_DIRS, ROOT / "tests"]:
        for path in folder.rglob("*.py"):
            if "migrations" not in path.parts and "node_modules" not in path.parts:
                yield path


def _guarded_imports(tree: ast.AST) -> list[str]:
    """Project modules imported inside `try: ... except ImportError` (a silent fallback)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        catches_import_error = any(
            handler.type is not None
            and any(
                isinstance(name, ast.Name)
                and name.id in {"ImportError", "ModuleNotFoundError", "Exception"}
                for name in ast.walk(handler.type)
            )
            for handler in node.handlers
        )
        if not catches_import_error:
            continue
        for inner in (n for stmt in node.body for n in ast.walk(stmt)):
            if isinstance(inner, ast.Import):
                found += [alias.name for alias in inner.names]
            elif isinstance(inner, ast.ImportFrom) and inner.level == 0 and inner.module:
                found.append(inner.module)
            elif isinstance(inner, ast.Call) and "import_module" in {
                getattr(inner.func, "attr", None),
                getattr(inner.func, "id", None),
            }:
                # A module name computed at run time may be ours: a fallback either way.
                found += [
                    a.value if isinstance(a, ast.Constant) else PROJECT_PLACEHOLDER
                    for a in inner.args[:1]
                ]
    return [name for name in found if name.split(".")[0] in PROJECT_MODULES]


def _dynamic_probes(tree: ast.AST) -> list[str]:
    """`find_spec("ours")` and `importorskip("ours")`: asking whether our own code exists."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", "")
            if name in {"find_spec", "importorskip"}:
                found += [
                    a.value
                    for a in node.args
                    if isinstance(a, ast.Constant) and isinstance(a.value, str)
                ]
    return [name for name in found if name.split(".")[0] in PROJECT_MODULES]


def test_no_module_of_ours_is_imported_behind_a_fallback():
    offenders = []
    for path in _python_files():
        if path.name in {"loudimports.py", "test_loud_imports.py"}:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name in _guarded_imports(tree) + _dynamic_probes(tree):
            offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_importorskip_of_a_project_module_is_an_error():
    with pytest.raises(pytest.fail.Exception, match="payments.selectors"):
        pytest.importorskip("payments.selectors")


def test_importorskip_of_a_third_party_module_still_works():
    assert pytest.importorskip("hypothesis").__name__ == "hypothesis"
    with pytest.raises(pytest.skip.Exception):
        pytest.importorskip("no_such_library_anywhere")


def test_a_skip_naming_a_project_module_fails_the_run_and_the_summary_counts_skips(
    pytester, monkeypatch
):
    pytester.makeconftest('pytest_plugins = ["loudimports"]\n')
    pytester.makepyfile(
        test_sample="""
        import pytest

        def test_external():
            pytest.skip("needs GDAL's ogr2ogr")

        def test_ours():
            pytest.skip("could not import 'residents.selectors': No module named 'residents'")

        def test_passes():
            assert True
        """
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT / "tests"), *sys.path]))
    result = pytester.runpytest_subprocess("-p", "no:django", "-p", "no:cacheprovider", "-ra")
    result.assert_outcomes(passed=1, skipped=1, failed=1)
    result.stdout.fnmatch_lines(["*must fail instead*residents*", "1 skipped"])
    assert result.ret != 0


def test_the_summary_says_zero_skipped_when_nothing_skipped(pytester, monkeypatch):
    pytester.makeconftest('pytest_plugins = ["loudimports"]\n')
    pytester.makepyfile(test_sample="def test_passes():\n    assert True\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT / "tests"), *sys.path]))
    result = pytester.runpytest_subprocess("-p", "no:django", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["0 skipped"])

"""A missing module of our own fails the run; it never turns into a skip.

A test that skips when `payments` or `residents.selectors` cannot be imported hides a broken
import behind a green run. This plugin makes that impossible: `pytest.importorskip` of a project
module is an error, any skip whose reason names a project module is reported as a failure, and
the summary always says how many tests were skipped (also when none were), so a reviewer reads
"0 skipped" instead of inferring it from a missing word.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Our own top-level modules: every package at the root of the checkout, plus the test helpers
# on pytest's pythonpath (factories, workers...).
PROJECT_MODULES = frozenset(
    {path.parent.name for path in ROOT.glob("*/__init__.py")}
    | {path.stem for path in ROOT.glob("tests/**/*.py") if not path.stem.startswith("test_")}
) - {"conftest", "__init__"}

_importorskip = pytest.importorskip


def is_project_module(name: str) -> bool:
    return name.split(".", 1)[0] in PROJECT_MODULES


def names_project_module(text: str) -> bool:
    """Whether a skip reason is about one of our modules failing to import."""
    for match in re.finditer(r"(?:module named|import)\s+'?\"?([A-Za-z_][\w.]*)", text):
        if is_project_module(match.group(1)):
            return True
    return False


def importorskip(modname: str, *args, **kwargs):
    if is_project_module(modname):
        pytest.fail(
            f"pytest.importorskip({modname!r}): {modname} is Machiba's own module; import it "
            "directly so a broken import fails the run instead of skipping it.",
            pytrace=False,
        )
    return _importorskip(modname, *args, **kwargs)


pytest.importorskip = importorskip


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _fail_if_project_skip(report) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report)
        if names_project_module(reason):
            report.outcome = "failed"
            report.longrepr = f"skipped for a missing project module (must fail instead): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_if_project_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_if_project_skip(outcome.get_result())


def pytest_terminal_summary(terminalreporter):
    skipped = len(terminalreporter.stats.get("skipped", []))
    terminalreporter.write_line(f"{skipped} skipped")

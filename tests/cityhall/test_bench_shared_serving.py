"""The benchmarks that put the app under load share one way to serve it and one way to load it
(bench/_common.py: gunicorn with production settings, wrk with the report script, the load
average beside each figure), so a change to how a figure is taken is made once."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = {
    "SERVER_ENV",
    "free_port",
    "wait_until_up",
    "load_average",
    "gunicorn",
    "run_wrk",
    "proc_cpu_ticks",
    "proc_status_kb",
}


def _defined(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def test_the_serving_block_is_defined_once_in_bench_common():
    assert SHARED <= _defined(ROOT / "bench" / "_common.py")
    again = {
        path.name: sorted(SHARED & _defined(path))
        for path in sorted((ROOT / "bench").glob("*.py"))
        if path.name != "_common.py" and SHARED & _defined(path)
    }
    assert again == {}


def test_only_bench_common_starts_gunicorn_or_wrk():
    starters = [
        path.name
        for path in sorted((ROOT / "bench").glob("*.py"))
        if path.name != "_common.py"
        and any(word in path.read_text(encoding="utf-8") for word in ('"gunicorn",', '"wrk",'))
    ]
    assert starters == []

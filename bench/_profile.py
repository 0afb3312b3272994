"""Where one page's time goes: its SQL queries and the functions that take the most time.

`bench/portal.py` runs this after each page's load: one warm-up request, then one request under
cProfile with every query captured, so the table says not only how fast a page is but why.
"""

from __future__ import annotations

import cProfile
import pstats
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class PageProfile:
    path: str
    status: int
    queries: int
    milliseconds: float
    # (function, calls, cumulative ms, own ms), largest cumulative first.
    top: list[tuple[str, int, float, float]] = field(default_factory=list)
    sql: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """A readable block: the page, its queries, then the top functions by cumulative time."""
        out = [
            f"profile {self.path}: {self.status}, {self.queries} queries, "
            f"{self.milliseconds:.1f} ms in process (one request after the load, cProfile on)",
            f"  {'cumulative ms':>13} {'own ms':>8} {'calls':>7}  function",
        ]
        out += [
            f"  {cumulative:13.1f} {own:8.1f} {calls:7d}  {name}"
            for name, calls, cumulative, own in self.top
        ]
        return out


def _label(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":  # a built-in
        return name
    path = Path(filename)
    try:
        shown = str(path.resolve().relative_to(ROOT))
    except ValueError:
        parts = path.parts
        shown = (
            "/".join(parts[parts.index("site-packages") + 1 :])
            if "site-packages" in parts
            else path.name
        )
    return f"{shown}:{line}({name})"


# Frames that wrap the whole request and so always top the cumulative list without saying
# anything: the test client, the handler, the middleware, the request log, decorators.
_WRAPPERS = (
    "django/test/",
    "django/core/handlers/",
    "middleware",
    "django/utils/deprecation.py",
    "cityhall/logs.py",
    "contextlib.py",
    "decorators.py",
    "_profile.py",
    "cProfile",
    "builtins.exec",
    "builtins.next",
)


def profile_request(client, path: str, *, top: int = 10, warm: bool = True) -> PageProfile:
    """Request `path` with `client` (a django.test.Client, signed in or not) once under cProfile,
    counting its queries. A first, unprofiled request warms URL, template and translation caches
    so the figure is a steady request's, like the ones under load."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if warm:
        client.get(path)
    profiler = cProfile.Profile()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        profiler.enable()
        response = client.get(path)
        profiler.disable()
        elapsed = (time.perf_counter() - started) * 1000
    stats = pstats.Stats(profiler)
    rows = []
    for func, (_calls, ncalls, own, cumulative, _callers) in stats.stats.items():
        label = _label(func)
        if any(marker in label for marker in _WRAPPERS):
            continue
        rows.append((label, ncalls, cumulative * 1000, own * 1000))
    rows.sort(key=lambda row: row[2], reverse=True)
    return PageProfile(
        path=path,
        status=response.status_code,
        queries=len(queries.captured_queries),
        milliseconds=elapsed,
        top=rows[:top],
        sql=[query["sql"] for query in queries.captured_queries],
    )

"""Shared plumbing for the benchmarks: a private database per benchmark and JSON output.

Every benchmark works in its own database `bench_<name>` on the same PostgreSQL server as the
app (created, migrated, and dropped at the end), so it never touches the demo or test data.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityhall.settings")
# Benchmarks run the development settings, said explicitly (production is the default).
os.environ.setdefault("DJANGO_DEBUG", "true")


def _server_settings() -> dict:
    from cityhall import settings as project_settings

    return project_settings.DATABASES["default"]


def _admin_execute(*statements: str) -> None:
    conn = _admin_connection()
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


def _admin_connection():
    import psycopg2

    db = _server_settings()
    conn = psycopg2.connect(
        dbname="postgres",
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        host=db["HOST"],
        port=db["PORT"],
    )
    conn.autocommit = True
    return conn


@contextlib.contextmanager
def bench_database(name: str, *, keep: bool = False) -> Iterator[str]:
    """Create `bench_<name>`, point Django (and child processes) at it, migrate, then drop it."""
    dbname = f"bench_{name}"
    db = _server_settings()
    _admin_execute(
        f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)', f'CREATE DATABASE "{dbname}"'
    )
    db["NAME"] = dbname
    password = db.get("PASSWORD") or ""
    os.environ["DATABASE_URL"] = (
        f"postgis://{db['USER']}:{password}@{db['HOST']}:{db['PORT']}/{dbname}"
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    try:
        yield dbname
    finally:
        from django.db import connections

        connections.close_all()
        if not keep:
            _admin_execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def emit(name: str, value: float, unit: str, scale: int | str, **extra) -> None:
    """Print one figure as a JSON line (bench/run_all.py collects these)."""
    record = {"name": name, "value": round(value, 3), "unit": unit, "scale": scale, **extra}
    print(json.dumps(record, ensure_ascii=False), flush=True)


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def timed(func, *args, repeat: int = 1, **kwargs) -> tuple[float, object]:
    """Median wall time of `repeat` calls, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = func(*args, **kwargs)
        times.append(time.perf_counter() - started)
    return statistics.median(times), result

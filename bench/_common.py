"""Shared plumbing for the benchmarks: a private database per benchmark, JSON output, and a
gunicorn server with wrk against it for the pages and the API under load.

Every benchmark works in its own database `bench_<name>` on the same PostgreSQL server as the
app (created, migrated, and dropped at the end), so it never touches the demo or test data.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
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


# --- serving under load: gunicorn on loopback with production settings, wrk against it -------

# The server's settings (DEBUG off, as in production); the benchmark process takes them too, so
# a session it signs is one the server accepts.
SERVER_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_SECURE_COOKIES": "false",
    "MACHIBA_MYNUMBER_KEYS": "dev-only-mynumber-key-0001",
    "LOG_LEVEL": "WARNING",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server did not come up at {url}")


def proc_cpu_ticks(pid: int | str, *, reaped_children: bool = False) -> int:
    """utime + stime of a process from /proc/PID/stat, in clock ticks (os.sysconf
    ("SC_CLK_TCK") per second); with ``reaped_children`` also cutime + cstime, the children it
    has waited for. 0 once the process is gone."""
    try:
        # Fields 14-17 of proc(5), counted after the command name (which may hold spaces).
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    except (OSError, IndexError, ValueError):
        return 0
    return utime + stime + (cutime + cstime if reaped_children else 0)


def proc_status_kb(pid: int | str, field: str) -> int:
    """A size field of /proc/PID/status (VmRSS, RssAnon) in kB; 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: figures on a shared machine are read beside it."""
    return " ".join(open("/proc/loadavg").read().split()[:3])


class ServedURL(str):
    """The base URL of a server `gunicorn()` started; `.pid` is its master process."""

    pid: int


@contextlib.contextmanager
def gunicorn(
    *, workers: int, worker_class: str = "sync", threads: int = 1, boot_seconds: float = 180
) -> Iterator[str]:
    """gunicorn serving the app on a free loopback port, up (its /livez answers) while the block
    runs, stopped after it; yields the base URL. Booting waits up to `boot_seconds`: on the
    shared machine under load one import of the app alone has taken 47 s."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "cityhall.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            worker_class,
            "--threads",
            str(threads),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=dict(os.environ),
    )
    try:
        base = ServedURL(f"http://127.0.0.1:{port}")
        base.pid = server.pid
        wait_until_up(base + "/livez", timeout=boot_seconds)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_wrk(url: str, *, connections: int, seconds: int, headers: tuple[str, ...] = ()) -> dict:
    """wrk on two threads with `connections` open for `seconds`; its report (bench/wrk_report.lua:
    requests, errors, non-2xx, duration and latency percentiles in µs) as a dict."""
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    cmd += ["-s", str(ROOT / "bench" / "wrk_report.lua")]
    for header in headers:
        cmd += ["-H", header]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("{")))

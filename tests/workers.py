"""Starting and stopping real Celery worker processes for tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_celery_worker(
    queue: str,
    *,
    name: str,
    log: Path | None = None,
    env: dict | None = None,
    level: str = "WARNING",
) -> subprocess.Popen:
    """A real `celery worker` process (solo pool) on the test database, consuming `queue`.

    With `log`, the worker's output (both streams) is appended to that file, so a test can read
    what it logged; `env` adds or overrides environment variables of the worker.
    """
    from django.db import connection

    db = connection.settings_dict
    full_env = dict(os.environ)
    full_env.update(
        DJANGO_SETTINGS_MODULE="cityhall.settings_test",
        DATABASE_URL=(
            f"postgis://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        CELERY_QUEUE=queue,
    )
    full_env.update(env or {})
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "cityhall",
        "worker",
        "-P",
        "solo",
        "-Q",
        queue,
        "--without-gossip",
        "--without-mingle",
        "-n",
        f"{name}-{os.getpid()}@%h",
        "-l",
        level,
    ]
    if log is None:
        return subprocess.Popen(command, cwd=ROOT, env=full_env)
    with open(log, "ab") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT
        )


def stop_celery_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

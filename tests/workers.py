"""Starting and stopping real Celery worker processes for tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_celery_worker(queue: str, *, name: str) -> subprocess.Popen:
    """A real `celery worker` process (solo pool) on the test database, consuming `queue`."""
    from django.db import connection

    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="cityhall.settings_test",
        DATABASE_URL=(
            f"postgis://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        CELERY_QUEUE=queue,
    )
    return subprocess.Popen(
        [
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
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
    )


def stop_celery_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

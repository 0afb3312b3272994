"""Helpers for the operations tests: a Redis of the test's own that it may stop and start,
worker processes with their own log file, and free ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


class PrivateRedis:
    """A redis-server on a free port with its data in `folder`; SHUTDOWN saves, start loads."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.cache_url = f"redis://127.0.0.1:{self.port}/1"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1)

    def up(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--daemonize",
                "yes",
                "--save",
                "",
                "--appendonly",
                "no",
                "--pidfile",
                str(self.folder / "redis.pid"),
                "--logfile",
                str(self.folder / "log"),
            ],
            check=True,
        )
        assert wait_for(self.up, 10), "redis did not start"

    def stop(self) -> None:
        if self.up():
            try:
                self.client().shutdown(save=True)
            except redis.ConnectionError:
                pass  # the server closes the connection as it goes
        assert wait_for(lambda: not self.up(), 10), "redis did not stop"


def start_worker(*, queue: str, name: str, log: Path, env: dict | None = None) -> subprocess.Popen:
    """A real Celery worker (solo pool, INFO logs in JSON) on the test database."""
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
    with open(log, "ab") as out:
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
                "INFO",
            ],
            cwd=ROOT,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

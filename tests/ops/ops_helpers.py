"""Helpers for the operations tests: a Redis of the test's own that it may stop and start,
worker processes with their own log file, and free ports."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import redis

from workers import start_celery_worker, stop_celery_worker

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
    return start_celery_worker(queue, name=name, log=log, env=env, level="INFO")


def stop_process(proc: subprocess.Popen) -> None:
    stop_celery_worker(proc)

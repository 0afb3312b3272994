"""What /healthz checks: PostgreSQL, Redis, and a worker that beat its heart recently.

Each check answers "ok" or says what is wrong; the view answers 503 naming every part that is
down. A Celery worker writes a heartbeat key per queue it consumes (see `WorkerHeartbeat` in
cityhall/celery.py) that expires on its own, so a worker that died simply stops being seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection

HEARTBEAT_EVERY = 10  # seconds between a worker's heartbeats
HEARTBEAT_STALE = 60  # a worker unseen this long counts as down
_HEARTBEAT_KEY = "machiba:heartbeat:{queue}:{worker}"

_clients: dict[str, redis.Redis] = {}


def broker() -> redis.Redis:
    """A Redis client on the broker with short timeouts (a health check must answer quickly)."""
    url = settings.CELERY_BROKER_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    return _clients[url]


def record_heartbeat(*, queues: list[str], worker: str, client: redis.Redis | None = None) -> None:
    client = client or broker()
    now = time.time()
    pipe = client.pipeline()
    for queue in queues:
        pipe.set(_HEARTBEAT_KEY.format(queue=queue, worker=worker), now, ex=HEARTBEAT_STALE * 2)
    pipe.execute()


def last_heartbeat(queue: str) -> float | None:
    """Unix time of the newest heartbeat of any worker consuming `queue`, or None."""
    client = broker()
    keys = list(client.scan_iter(match=_HEARTBEAT_KEY.format(queue=queue, worker="*"), count=100))
    values = [float(v) for v in client.mget(keys) if v is not None] if keys else []
    return max(values, default=None)


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure to answer is "down", whatever the driver raises
        connection.close()
        return f"down: {type(exc).__name__}"
    return "ok"


def check_redis() -> str:
    try:
        broker().ping()
    except (redis.RedisError, OSError) as exc:
        return f"down: {type(exc).__name__}"
    return "ok"


def check_worker() -> str:
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    try:
        seen = last_heartbeat(queue)
    except (redis.RedisError, OSError):
        return "unknown: Redis unreachable"
    if seen is None:
        return f"down: no worker heartbeat on queue {queue}"
    age = time.time() - seen
    if age > HEARTBEAT_STALE:
        return f"down: last worker heartbeat {int(age)} s ago"
    return "ok"


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "redis": check_redis,
    "worker": check_worker,
}


def run_checks(parts: list[str] | None = None) -> dict[str, str]:
    names = [p for p in (parts or CHECKS) if p in CHECKS]
    return {name: CHECKS[name]() for name in names}

"""Per-channel rate limits shared by every worker: a counter per channel and second in Redis.

A worker asks for n units (e-mails, or LINE requests) before sending; when the second's budget
is spent it waits for the next second. Several workers on several machines share the budget,
because the counter lives in Redis, not in a process.
"""

from __future__ import annotations

import time
from functools import cache

import redis
from django.conf import settings


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def per_second(channel: str) -> int:
    return int(settings.NOTICES_RATE_PER_SECOND.get(channel, 0))


def acquire(channel: str, units: int = 1) -> float:
    """Block until `units` fit in the channel's budget; returns the seconds waited."""
    limit = per_second(channel)
    if limit <= 0:
        return 0.0
    client = _client(settings.REDIS_CACHE_URL)
    waited = 0.0
    left = units
    while left > 0:
        second = int(time.time())
        key = f"{settings.CACHES['default'].get('KEY_PREFIX', 'machiba')}:notices:rate:{channel}:{second}"
        take = min(left, limit)
        used = client.incrby(key, take)
        if used == take:
            client.expire(key, 5)
        granted = take - max(0, used - limit)
        if granted > 0:
            left -= granted
        if left > 0:
            pause = max(0.0, second + 1 - time.time())
            time.sleep(pause)
            waited += pause
    return waited

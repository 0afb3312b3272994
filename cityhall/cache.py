"""The cache degrades to a miss when Redis is down, instead of failing the page.

Django's RedisCache raises on a connection error, so a page that merely caches a figure (the
counter's congestion summary on /my/) answered 500 while Redis restarted. Here every read is a
miss and every write is dropped while Redis cannot be reached, and after a failure Redis is left
alone for a few seconds, so a dead or unreachable Redis costs one short timeout, not one per
cache call. `add()` answers False (not stored): allauth's rate limits take their lock with it, so
a rate limit whose store is down refuses (fails closed) rather than lets everything through.
"""

from __future__ import annotations

import logging
import time

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

logger = logging.getLogger("machiba.cache")

UNREACHABLE = (redis.ConnectionError, redis.TimeoutError, OSError)


class KeptClientRedisCacheClient(RedisCacheClient):
    """Django's client, but one `redis.Redis` kept per connection pool instead of a new one per
    call: building it copies ~170 response callbacks, which cProfile of /my/ showed costing
    about as much CPU as the round trip itself (~0.6 ms of 1.2 per call, four calls a page).
    A `redis.Redis` over a pool is safe to share between threads (each command takes its own
    connection from the pool), and the pool starts afresh in a forked worker (it checks its pid)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = super().get_client(key, write=write)
        return client


class DegradingRedisCache(RedisCache):
    # Seconds to skip Redis after a connection error before trying it again.
    retry_after = 5.0

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = KeptClientRedisCacheClient
        self._down_until = 0.0

    def is_available(self) -> bool:
        """True if Redis answers a PING now (used where a miss is not good enough)."""
        if time.monotonic() < self._down_until:
            return False
        try:
            self._cache.get_client(write=True).ping()
        except UNREACHABLE as exc:
            self._mark_down(exc)
            return False
        return True

    def _mark_down(self, exc: Exception) -> None:
        if time.monotonic() >= self._down_until:
            logger.warning("cache unreachable, serving misses: %s", exc)
        self._down_until = time.monotonic() + self.retry_after

    def _call(self, method: str, fallback, *args, **kwargs):
        if time.monotonic() < self._down_until:
            return fallback
        try:
            return getattr(super(), method)(*args, **kwargs)
        except UNREACHABLE as exc:
            self._mark_down(exc)
            return fallback

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", False, key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call("get", default, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", None, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", False, key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", False, key, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", {}, keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", False, key, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", list(data), data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", None, keys, version)

    def incr(self, key, delta=1, version=None):
        result = self._call("incr", None, key, delta, version)
        if result is None:
            raise ValueError(f"Key '{key}' not found (cache unreachable)")
        return result

    def clear(self):
        return self._call("clear", False)

    def get_counter(self, key, version=None) -> int | None:
        """An integer written by set()/add()/incr() (stored as plain digits, not pickled), read
        through one client kept per cache object, or None when absent or Redis is away.

        For reads on every request (facilities' availability version): Django's get() makes a
        new client object, with its ~170 response callbacks, on each call, which costs as much
        CPU as the round trip. The kept client's pool reconnects after a fork."""
        if time.monotonic() < self._down_until:
            return None
        key = self.make_and_validate_key(key, version=version)
        try:
            client = self._counter_client
        except AttributeError:
            client = self._counter_client = self._cache.get_client(key)
        try:
            value = client.get(key)
        except UNREACHABLE as exc:
            self._mark_down(exc)
            return None
        return int(value) if value is not None else None

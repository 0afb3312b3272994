"""Fixtures of the operations tests."""

import pytest

from ops_helpers import PrivateRedis


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()

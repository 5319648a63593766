"""Integration tests share one stack, and with it the rollback controller's state in Redis:
each test starts with every path active, so one test's failures never reroute another's."""

from collections.abc import Iterator

import pytest
import redis

from genroute.keys import HEALTH_PREFIX


@pytest.fixture(autouse=True)
def every_path_active(redis_client: redis.Redis) -> Iterator[None]:
    keys = list(redis_client.scan_iter(match=f"{HEALTH_PREFIX}*"))
    if keys:
        redis_client.delete(*keys)
    yield

"""Redis connections (standalone or cluster mode) and the mapping of connection failures to StoreUnavailable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from redis.cluster import RedisCluster

from chirp.ports import StoreUnavailable

RedisLike = Any  # redis.Redis | RedisCluster: both expose the same command methods


def connect(url: str, *, cluster: bool = False) -> RedisLike:
    """A client with short timeouts: during an outage requests fail fast instead of hanging."""
    options: dict[str, Any] = {
        "socket_timeout": 2.0,
        "socket_connect_timeout": 1.0,
        "health_check_interval": 15,
        "decode_responses": True,
    }
    if cluster:
        return RedisCluster.from_url(url, **options)
    return redis.Redis.from_url(url, retry_on_timeout=False, **options)


@contextmanager
def available() -> Iterator[None]:
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailable(f"redis: {exc}") from exc

"""The cache-side contract suite (tests/contract/test_cache_contract.py: timelines, WebSocket connections, trends,
rate limits, idempotency) on a Redis Cluster of 3 primaries + 3 replicas, through chirp's connect(cluster=True).
Keys of one test spread over all three shards, so a multi-key command whose keys are in different slots is refused
by the server (CROSSSLOT) or the client, and fails the test: it is not a StoreUnavailable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cluster.redis_fixtures import CLUSTER_BACKEND, cluster_client, redis_cluster_3x3, reuse
from contract import test_cache_contract as suite

from chirp.adapters.redis_cache.client import RedisLike
from chirp.local.servers.redis_cluster import RedisClusterSet

__all__ = ["redis_cluster_3x3"]

globals().update(reuse(suite, ("timelines", "connections", "trends", "limiter", "idempotency")))


@pytest.fixture
def backend() -> str:
    return CLUSTER_BACKEND


@pytest.fixture
def redis_client(redis_cluster_3x3: RedisClusterSet) -> Iterator[RedisLike]:
    client = cluster_client(redis_cluster_3x3)
    client.flushdb()  # on every primary
    yield client
    client.close()

"""The tweet cache contract suite (tests/contract/test_tweet_cache_contract.py) on a Redis Cluster of 3 primaries +
3 replicas, through chirp's connect(cluster=True): a page of tweets spans all three shards, so an MGET or a script
across slots fails the test (CROSSSLOT is a bug, not a StoreUnavailable)."""

from __future__ import annotations

import pytest
from cluster.redis_fixtures import CLUSTER_BACKEND, redis_cluster_3x3, reuse
from contract import test_tweet_cache_contract as suite

from chirp.local.servers.redis_cluster import RedisClusterNode, RedisClusterSet

__all__ = ["redis_cluster_3x3"]

globals().update(reuse(suite, ("redis_client", "cache", "only_redis")))


@pytest.fixture
def kind() -> str:
    return CLUSTER_BACKEND


@pytest.fixture
def redis_kind() -> str:
    return CLUSTER_BACKEND


@pytest.fixture
def cluster_node(redis_cluster_3x3: RedisClusterSet) -> RedisClusterNode:
    return redis_cluster_3x3.endpoint

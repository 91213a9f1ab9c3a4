"""The cluster suites can fail: a multi-key command across slots is refused on the 3+3 cluster, so the standalone
code paths (one MGET of many tweets, one fan-out script over many timelines) fail there, and the cluster paths the
suites run are what keeps them green. A CROSSSLOT is a bug, never reported as StoreUnavailable (an outage)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cluster.redis_fixtures import cluster_client, redis_cluster_3x3
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException, ResponseError

from chirp.adapters.redis_cache.timelines import RedisTimelineStore
from chirp.adapters.redis_cache.tweet_cache import RedisTweetCache, tweet_key
from chirp.local.servers.redis_cluster import RedisClusterSet
from chirp.ports import StoreUnavailable

__all__ = ["redis_cluster_3x3"]

IDS = list(range(10**17, 10**17 + 50))  # 50 keys: all three shards, ~50 slots


@pytest.fixture
def client(redis_cluster_3x3: RedisClusterSet) -> Iterator[RedisCluster]:
    client = cluster_client(redis_cluster_3x3)
    assert isinstance(client, RedisCluster)
    yield client
    client.close()


def test_the_server_refuses_keys_of_two_slots_in_one_command(client: RedisCluster) -> None:
    first = tweet_key(IDS[0])
    node = client.get_node_from_key(first)
    other = next(tweet_key(t) for t in IDS[1:] if client.get_node_from_key(tweet_key(t)) == node)
    with pytest.raises(ResponseError, match=r"CROSSSLOT|hash to the same slot"):
        client.execute_command("MGET", first, other, target_nodes=node)


def test_the_standalone_tweet_lookup_fails_on_a_cluster(client: RedisCluster) -> None:
    with pytest.raises((ResponseError, RedisClusterException)) as refused:
        RedisTweetCache(client, cluster=False).lookup(IDS, viewer_id=None)
    assert not isinstance(refused.value, StoreUnavailable)
    assert RedisTweetCache(client, cluster=True).lookup(IDS, viewer_id=None).tweets == {}


def test_the_standalone_fan_out_fails_on_a_cluster(client: RedisCluster) -> None:
    standalone = RedisTimelineStore(client, cap=10, ttl_s=60, fan_out_chunk=1000)
    with pytest.raises((ResponseError, RedisClusterException)):
        standalone.add_if_exists(IDS, 10**18)
    clustered = RedisTimelineStore(client, cap=10, ttl_s=60, cluster=True)
    for user in IDS:
        clustered.build(user, [])
    assert clustered.add_if_exists(IDS, 10**18) == len(IDS)

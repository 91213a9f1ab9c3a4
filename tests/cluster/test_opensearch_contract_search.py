"""The search contract suite (tests/contract/test_search_contract.py) on an OpenSearch cluster of three nodes (one
JVM each, security plugin, TLS on HTTP and transport), Chirp's indices with 3 primary shards and 1 replica each, so
every query gathers from shards on several nodes (and relevance's dfs phase from all of them)."""

from __future__ import annotations

import secrets
import time

import pytest
from cluster.store_fixtures import ClusterStores, opensearch_cluster, reuse
from contract import test_search_contract as suite

from chirp.local.servers.harness import opensearch_client
from chirp.local.servers.opensearch_cluster import OpenSearchCluster
from servers.fixtures import opensearch_index

__all__ = ["opensearch_cluster"]

globals().update(reuse(suite, fixtures=("index", "search")))


@pytest.fixture
def backend() -> str:
    return "servers"


@pytest.fixture
def server_set(opensearch_cluster: OpenSearchCluster) -> ClusterStores:
    return ClusterStores(opensearch=opensearch_cluster.endpoint)


@pytest.fixture
def servers(server_set: ClusterStores) -> ClusterStores:
    return server_set


def test_chirp_indices_are_spread_over_the_cluster(opensearch_cluster: OpenSearchCluster) -> None:
    """The layout the suite above ran on: each monthly index has 3 primaries and 1 replica, all started, on all
    three nodes, never a shard's two copies on one node."""
    index = opensearch_index(opensearch_cluster.endpoint, prefix=f"cl{secrets.token_hex(6)}-tweets")
    index.ensure_setup()
    client = opensearch_client(opensearch_cluster.endpoint, admin=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            shards = client.cat.shards(index=f"{index.prefix}-2*", format="json")
            if shards and all(s["state"] == "STARTED" for s in shards):
                break
            assert time.monotonic() < deadline, f"shards not all started: {shards}"
            time.sleep(0.5)
        months = {s["index"] for s in shards}
        for month in months:
            copies = [s for s in shards if s["index"] == month]
            assert sorted(s["prirep"] for s in copies) == ["p", "p", "p", "r", "r", "r"]
            assert {s["node"] for s in copies} == {n.name for n in opensearch_cluster.nodes}
            for shard in {s["shard"] for s in copies}:
                assert len({s["node"] for s in copies if s["shard"] == shard}) == 2
    finally:
        client.close()
        index.close()

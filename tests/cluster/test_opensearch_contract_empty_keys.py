"""The empty-keys contract (tests/contract/test_empty_keys_contract.py) for the search port on an OpenSearch cluster
of three nodes (Chirp's indices with 3 shards and 1 replica): a user search for an empty prefix finds nobody."""

from __future__ import annotations

import pytest
from cluster.store_fixtures import ClusterStores, opensearch_cluster, reuse
from contract import test_empty_keys_contract as suite

from chirp.local.servers.opensearch_cluster import OpenSearchCluster

__all__ = ["opensearch_cluster"]

globals().update(reuse(suite, fixtures=("index",), tests=("test_a_user_search_for_an_empty_prefix_finds_nobody",)))


@pytest.fixture
def backend() -> str:
    return "servers"


@pytest.fixture
def server_set(opensearch_cluster: OpenSearchCluster) -> ClusterStores:
    return ClusterStores(opensearch=opensearch_cluster.endpoint)

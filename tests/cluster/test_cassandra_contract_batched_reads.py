"""The batched-reads contract (tests/contract/test_batched_reads_contract.py: tweets, counters, likes and users,
exact for any number of ids, one IN request per 100 ids) on a Cassandra ring of three nodes, keyspace at replication
factor 3 (NetworkTopologyStrategy) and the product's Keyspaces adapters at LOCAL_QUORUM."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cluster.store_fixtures import ClusterStores, SharedKeyspace, cassandra_ring, reuse, shared_holder
from contract import test_batched_reads_contract as suite

from chirp.local.servers.cassandra_ring import CassandraRing

__all__ = ["cassandra_ring"]

globals().update(reuse(suite, fixtures=("stores",)))


@pytest.fixture
def backend() -> str:
    return "servers"


@pytest.fixture
def server_set(cassandra_ring: CassandraRing) -> ClusterStores:
    return ClusterStores(cassandra=cassandra_ring.endpoint)


@pytest.fixture(scope="module")
def cassandra_holder(cassandra_ring: CassandraRing) -> Iterator[SharedKeyspace]:
    yield from shared_holder(cassandra_ring)

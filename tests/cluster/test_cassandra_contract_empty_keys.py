"""The empty-keys contract (tests/contract/test_empty_keys_contract.py) for the Cassandra-backed ports (users,
notifications, media) on a Cassandra ring of three nodes at replication factor 3, through the product's Keyspaces
adapters at LOCAL_QUORUM: an empty key names nothing and a write with one is refused before any node sees it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cluster.store_fixtures import ClusterStores, SharedKeyspace, cassandra_ring, reuse, shared_holder
from contract import test_empty_keys_contract as suite

from chirp.local.servers.cassandra_ring import CassandraRing

__all__ = ["cassandra_ring"]

RECORD_TESTS = (
    "test_a_user_looked_up_by_an_empty_username_is_absent",
    "test_a_user_with_an_empty_username_or_email_is_refused_and_nothing_is_written",
    "test_a_bulk_load_with_an_empty_username_is_refused",
    "test_media_with_an_empty_id_is_refused_and_an_empty_id_names_nothing",
    "test_a_notification_with_an_empty_dedupe_key_is_refused",
)

globals().update(reuse(suite, fixtures=("records",), tests=RECORD_TESTS))


@pytest.fixture
def backend() -> str:
    return "servers"


@pytest.fixture
def server_set(cassandra_ring: CassandraRing) -> ClusterStores:
    return ClusterStores(cassandra=cassandra_ring.endpoint)


@pytest.fixture(scope="module")
def keyspace_holder(cassandra_ring: CassandraRing) -> Iterator[SharedKeyspace]:
    yield from shared_holder(cassandra_ring)

"""Fixtures of the cluster suite for the records and search stores: a Cassandra ring of three nodes at replication
factor 3 (``servers/cassandra_ring.py``; the product's adapters at LOCAL_QUORUM) and an OpenSearch cluster of three
nodes whose indices have shards and replicas (``servers/opensearch_cluster.py``).

The contract suites of tests/contract/ run on them unchanged: ``reuse`` places a suite's tests and fixtures in a
module of this folder, whose ``backend`` and ``server_set`` fixtures then hand the suite's own fixtures the
cluster's endpoint (``ClusterStores``) where they would take the single stand-in's, and whose keyspace holder
hands them the ring's one provisioned keyspace (``ring_keyspace``).

Both clusters are heavy (three JVMs each, on a 2-core machine), so at most one runs at a time: each is shared by
the modules that use it and stopped when a module asks for the other one (modules run in file order: the Cassandra
ones, then the OpenSearch ones), or at the end of the session. Their start time and RSS are printed and written to
test-artifacts/cluster-stores.json."""

from __future__ import annotations

import atexit
import json
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from chirp.adapters.keyspaces import KeyspacesBackend
from chirp.local.servers.cassandra_ring import CassandraRing
from chirp.local.servers.harness import Endpoint
from chirp.local.servers.opensearch_cluster import OpenSearchCluster
from servers.fixtures import keyspaces_backend, keyspaces_settings

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
OPENSEARCH_SHARDS = 3  # one primary per node
OPENSEARCH_REPLICAS = 1  # two copies of every shard, on two different nodes: any one node may go

_lock = threading.Lock()
_clusters: dict[str, Any] = {}  # "cassandra" -> CassandraRing, "opensearch" -> OpenSearchCluster
_users: dict[str, int] = {}


def record_figures(name: str, figures: dict[str, Any]) -> None:
    """Print ``figures`` and merge them into test-artifacts/cluster-stores.json under ``name``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "cluster-stores.json"
    stored: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    stored[name] = figures
    path.write_text(json.dumps(stored, indent=2) + "\n")
    print(f"\n[cluster] {name}: {json.dumps(figures)}")


def _start(kind: str) -> Any:
    if kind == "cassandra":
        ring = CassandraRing()
        ring.start()
        record_figures("cassandra-ring", ring.stats())
        return ring
    cluster = OpenSearchCluster(shards=OPENSEARCH_SHARDS, replicas=OPENSEARCH_REPLICAS)
    cluster.start()
    record_figures("opensearch-cluster", cluster.stats())
    return cluster


def acquire(kind: str) -> Any:
    """The shared cluster of ``kind`` (started on first use); an idle cluster of the other kind is stopped first."""
    with _lock:
        for other, cluster in list(_clusters.items()):
            if other != kind and _users.get(other, 0) == 0:
                cluster.stop()
                del _clusters[other]
        if kind not in _clusters:
            _clusters[kind] = _start(kind)
        _users[kind] = _users.get(kind, 0) + 1
        return _clusters[kind]


def release(kind: str) -> None:
    """Leave the shared cluster (it keeps running for the next module until the other kind is asked for)."""
    with _lock:
        _users[kind] -= 1


@atexit.register
def stop_all() -> None:
    with _lock:
        for cluster in _clusters.values():
            cluster.stop()
        _clusters.clear()


def _shared(kind: str) -> Callable[[], Iterator[Any]]:
    def fixture() -> Iterator[Any]:
        cluster = acquire(kind)
        try:
            yield cluster
        finally:
            release(kind)

    return fixture


cassandra_ring = pytest.fixture(scope="module", name="cassandra_ring")(_shared("cassandra"))
opensearch_cluster = pytest.fixture(scope="module", name="opensearch_cluster")(_shared("opensearch"))


@pytest.fixture(scope="session", autouse=True)
def _stop_clusters_at_session_end() -> Iterator[None]:
    yield
    stop_all()


_keyspaces: weakref.WeakKeyDictionary[CassandraRing, str] = weakref.WeakKeyDictionary()  # ring -> its keyspace


def ring_keyspace(ring: CassandraRing) -> str:
    """One keyspace per ring, provisioned once as the CDK app would (RF 3 in the ring's data center, the app's role
    granted SELECT and MODIFY), shared by the cluster modules: a keyspace's DDL waits for schema agreement on three
    nodes (~20 s here), and the suites' tests stay independent inside it (fresh ids, usernames and emails)."""
    with _lock:
        if ring not in _keyspaces:
            keyspace = f"cluster_{uuid.uuid4().hex[:12]}"
            keyspaces_backend(ring.endpoint, keyspace).close()
            _keyspaces[ring] = keyspace
        return _keyspaces[ring]


def ring_backend(ring: CassandraRing) -> KeyspacesBackend:
    """Chirp's Keyspaces adapters on the ring's shared keyspace, connected as the app's role to every node."""
    return KeyspacesBackend.connect(
        keyspaces_settings(ring.endpoint, ring_keyspace(ring)),
        username=ring.endpoint.extra["username"],
        password=ring.endpoint.extra["password"],
    )


class SharedKeyspace:
    """What a contract suite's keyspace holder gives its fixtures (``contract.held_keyspace.HeldKeyspace``:
    ``backend(server_set)``), here Chirp's adapters on the ring's shared keyspace, closed (not dropped) at the end of
    the module."""

    def __init__(self, ring: CassandraRing) -> None:
        self._ring = ring
        self._backend: KeyspacesBackend | None = None

    def backend(self, server_set: Any) -> KeyspacesBackend:
        if self._backend is None:
            self._backend = ring_backend(self._ring)
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None


def shared_holder(ring: CassandraRing) -> Iterator[SharedKeyspace]:
    """The body of a cluster module's keyspace-holder fixture."""
    held = SharedKeyspace(ring)
    try:
        yield held
    finally:
        held.close()


class ClusterStores:
    """What the contract suites' fixtures ask of a server set (``endpoint(name)``), answered by the clusters."""

    def __init__(self, **endpoints: Endpoint) -> None:
        self._endpoints = endpoints

    def endpoint(self, name: str) -> Endpoint:
        if name not in self._endpoints:
            raise KeyError(f"the cluster suite runs no {name!r} here (only {sorted(self._endpoints)})")
        return self._endpoints[name]

    __getitem__ = endpoint


def reuse(suite: ModuleType, *, fixtures: tuple[str, ...], tests: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A suite's test functions (all, or the named ones) and the named fixtures, to place in a cluster module's
    namespace: pytest collects them there, so that module's ``backend``/``server_set`` fixtures apply to them."""
    names = [n for n in vars(suite) if n.startswith("test_") and (tests is None or n in tests)]
    if tests is not None and set(tests) - set(names):
        raise ValueError(f"{suite.__name__} has no {sorted(set(tests) - set(names))}")
    return {name: getattr(suite, name) for name in (*names, *fixtures)}

"""Redis Cluster fixtures: one cluster of 3 primaries + 3 replicas (TLS on clients and the cluster bus, AUTH) per
test session, shared by the cluster contract suites; tests that kill nodes start their own (``redis_cluster_set``).

The contract suites of tests/contract/ run here unchanged: ``reuse`` copies a suite's tests and fixtures into a
module of this folder, which then overrides the few fixtures that pick the backend (the client, the cluster flag)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from chirp.adapters.redis_cache.client import RedisLike, connect
from chirp.local.servers.redis_cluster import RedisClusterSet, redis_cluster_set

CLUSTER_BACKEND = "redis-cluster"  # the contract suites' name for a Redis adapter in cluster mode


_shared: dict[str, Any] = {"users": 0, "cluster": None, "stack": None}


@pytest.fixture(scope="session")
def redis_cluster_3x3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterSet]:
    """One cluster for the session, however many modules import this fixture (each import is its own fixture
    definition to pytest; they share the cluster, and the last to finish stops it)."""
    if _shared["cluster"] is None:
        stack = contextlib.ExitStack()
        work = Path(tmp_path_factory.mktemp("redis-cluster-3x3"))
        _shared["cluster"] = stack.enter_context(redis_cluster_set(work, primaries=3, replicas=1))
        _shared["stack"] = stack
    _shared["users"] += 1
    try:
        yield _shared["cluster"]
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            stack, _shared["stack"], _shared["cluster"] = _shared["stack"], None, None
            stack.close()


def cluster_client(cluster: RedisClusterSet) -> RedisLike:
    """Chirp's own connect path in cluster mode (TLS verified against the stand-in's CA, AUTH)."""
    return connect(cluster.url, cluster=True, password=cluster.password, ca_file=cluster.ca_file)


def reuse(suite: ModuleType, fixtures: tuple[str, ...]) -> dict[str, Any]:
    """The suite's test functions and the named fixtures, to place in a cluster module's namespace (pytest collects
    and resolves them there, so that module's fixture overrides apply to them)."""
    names = [name for name in vars(suite) if name.startswith("test_")] + list(fixtures)
    return {name: getattr(suite, name) for name in names}

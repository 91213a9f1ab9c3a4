"""Pytest fixture ``servers``: the real stand-in servers, started once per test session.

Use it from any conftest (one ``ServerSet`` per session however many conftests import it)::

    from servers.fixtures import servers  # noqa: F401   (tests/ without __init__.py: tests/ is on sys.path)

``$CHIRP_SERVERS`` (comma-separated, e.g. ``redis,cassandra``) limits which servers start; default: all of them.
The set is stopped at the end of the session, whatever the tests did; its last report (endpoints, start
seconds, RSS) stays in ``last_report`` for the terminal summary (see conftest.py beside this file).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from chirp.local.servers.harness import ALL_SERVERS, Endpoint, ServerSet, cassandra_cluster

if TYPE_CHECKING:
    from chirp.adapters.keyspaces import KeyspacesBackend
    from chirp.config import Settings

_lock = threading.Lock()
_shared: ServerSet | None = None
_users = 0
last_report: dict[str, Any] | None = None


def requested_servers() -> list[str]:
    """The servers to start: ``$CHIRP_SERVERS`` (comma-separated) or all."""
    raw = os.environ.get("CHIRP_SERVERS", "").strip()
    if not raw or raw == "all":
        return list(ALL_SERVERS)
    return [name.strip() for name in raw.split(",") if name.strip()]


def acquire() -> ServerSet:
    """Start the shared set (first caller) or join it; pair every call with ``release()``."""
    global _shared, _users
    with _lock:
        if _shared is None:
            candidate = ServerSet()
            candidate.start(requested_servers())  # raises (after stopping what it started) on failure
            _shared = candidate
        _users += 1
        return _shared


def release() -> None:
    """Leave the shared set; the last user stops it."""
    global _shared, _users, last_report
    with _lock:
        _users -= 1
        if _users <= 0 and _shared is not None:
            last_report = _shared.report()
            _shared.stop()
            _shared, _users = None, 0


@pytest.fixture(scope="session")
def servers() -> Iterator[ServerSet]:
    """All stand-in servers (or ``$CHIRP_SERVERS``) on loopback, ready; stopped at the end of the session."""
    server_set = acquire()
    try:
        yield server_set
    finally:
        release()


# ---- Keyspaces adapters on the Cassandra stand-in ------------------------------------------------------------------


def keyspaces_settings(ep: Endpoint, keyspace: str) -> Settings:
    """``Settings`` for the Keyspaces adapters on the stand-in ``ep``: its CA, TLS, the given keyspace; on a ring
    (``cassandra_ring.py``) every node as a contact point and its replication factor (hence LOCAL_QUORUM)."""
    from chirp.config import Settings

    return Settings(
        backend="servers",
        cassandra_hosts=ep.extra.get("contact_points", ep.host),
        cassandra_port=ep.port,
        cassandra_keyspace=keyspace,
        cassandra_replication_factor=ep.extra.get("replication_factor", 1),
        cassandra_local_dc=ep.extra.get("local_dc", "datacenter1"),
        tls_ca_bundle=str(ep.extra["ca_file"]),
    )


def keyspaces_backend(ep: Endpoint, keyspace: str) -> KeyspacesBackend:
    """The ``KeyspacesBackend`` Chirp runs on the stand-in: the schema provisioned as the superuser (as the CDK app
    does on AWS), the adapters connected as the app's data-only role."""
    from chirp.adapters.keyspaces import KeyspacesBackend, provision_schema

    settings = keyspaces_settings(ep, keyspace)
    extra = ep.extra
    provision_schema(
        settings, username=extra["admin_username"], password=extra["admin_password"], grant_to=extra["username"]
    )
    return KeyspacesBackend.connect(settings, username=extra["username"], password=extra["password"])


def drop_keyspace(ep: Endpoint, keyspace: str) -> None:
    """Drop a keyspace as the superuser (the app's role may not)."""
    cluster = cassandra_cluster(ep, role="admin")
    try:
        cluster.connect().execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)
    finally:
        cluster.shutdown()


def opensearch_index(ep: Any, *, prefix: str, **kwargs: Any) -> Any:
    """Chirp's OpenSearch adapter on the stand-in node, as production connects (HTTPS verified against the
    stand-in's CA, HTTP basic as the ``chirp`` user whose role is the adapter's own ``chirp_indexer``)."""
    from chirp.adapters.opensearch_index import OpenSearchIndex

    options: dict[str, Any] = {
        "auth": "basic",
        "username": ep.extra["username"],
        "password": ep.extra["password"],
        "ca_file": ep.extra["ca_file"],
    }
    # A cluster (opensearch_cluster.py) says how its indices are laid out: shards across the nodes, replicas.
    options.update({k: ep.extra[k] for k in ("shards", "replicas") if k in ep.extra})
    options.update(kwargs)
    return OpenSearchIndex(ep.url, prefix=prefix, **options)

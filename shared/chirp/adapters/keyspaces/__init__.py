"""Production adapters for the durable records on Amazon Keyspaces (CQL, ``cassandra-driver``): users, tweets,
engagement, notifications and media metadata. The schema is ``chirp.schema``; locally the same adapters run against
Apache Cassandra with TLS and a password role (``Settings.cassandra_sigv4`` off), on Keyspaces with TLS + SigV4
(on) or service-specific credentials (off)."""

from __future__ import annotations

import time

from cassandra.cluster import Cluster, Session  # type: ignore[import-untyped]

from chirp.adapters.keyspaces.connection import (
    cluster_options,
    local_dc,
    on_keyspaces,
    open_session,
    translate_errors,
)
from chirp.adapters.keyspaces.engagement import KeyspacesEngagementStore
from chirp.adapters.keyspaces.media import KeyspacesMediaCatalog
from chirp.adapters.keyspaces.notifications import KeyspacesNotificationStore
from chirp.adapters.keyspaces.tweets import KeyspacesTweetStore
from chirp.adapters.keyspaces.users import KeyspacesUserStore
from chirp.config import Settings
from chirp.ports import StoreUnavailable
from chirp.schema import TABLES, ddl, valid_identifier

DDL_TIMEOUT_S = 60.0
KEYSPACES_ACTIVE_WAIT_S = 300.0

__all__ = [
    "KeyspacesBackend",
    "KeyspacesEngagementStore",
    "KeyspacesMediaCatalog",
    "KeyspacesNotificationStore",
    "KeyspacesTweetStore",
    "KeyspacesUserStore",
    "cluster_options",
    "connect",
    "create_schema",
    "provision_schema",
]


class KeyspacesBackend:
    """One cluster connection and the record stores built on it."""

    def __init__(self, cluster: Cluster, session: Session, keyspace: str) -> None:
        if not valid_identifier(keyspace):
            raise ValueError(f"invalid keyspace name: {keyspace!r}")
        self.cluster = cluster
        self.session = session
        self.keyspace = keyspace
        self.users = KeyspacesUserStore(session, keyspace)
        self.tweets = KeyspacesTweetStore(session, keyspace)
        self.engagement = KeyspacesEngagementStore(session, keyspace)
        self.notifications = KeyspacesNotificationStore(session, keyspace)
        self.media = KeyspacesMediaCatalog(session, keyspace)

    @classmethod
    def connect(
        cls, settings: Settings, *, username: str | None = None, password: str | None = None
    ) -> KeyspacesBackend:
        """``connect(settings, ...)``: see there."""
        return connect(settings, username=username, password=password)

    def close(self) -> None:
        self.cluster.shutdown()


def connect(settings: Settings, *, username: str | None = None, password: str | None = None) -> KeyspacesBackend:
    """Connect over TLS with SigV4 (``settings.cassandra_sigv4``: the function's IAM role) or with ``username`` and
    ``password`` (Keyspaces service-specific credentials; a data-only role on the Cassandra stand-in). The tables
    must exist: the CDK app creates them on AWS, ``provision_schema`` on the stand-in."""
    if not valid_identifier(settings.cassandra_keyspace):
        raise ValueError(f"invalid keyspace name: {settings.cassandra_keyspace!r}")
    cluster, session = open_session(settings, username=username, password=password)
    return KeyspacesBackend(cluster, session, settings.cassandra_keyspace)


def provision_schema(settings: Settings, *, username: str, password: str, grant_to: str | None = None) -> None:
    """What the CDK app does on AWS, for the Cassandra stand-in: as an administrator role (``username``/``password``),
    create the keyspace and tables (idempotent) and grant the application's role ``grant_to`` SELECT and MODIFY on
    that keyspace only — the data permissions an IAM policy gives a function on Keyspaces; no DDL, no roles, no
    other keyspace."""
    keyspace = settings.cassandra_keyspace
    if not valid_identifier(keyspace):
        raise ValueError(f"invalid keyspace name: {keyspace!r}")
    if grant_to is not None and not valid_identifier(grant_to):
        raise ValueError(f"invalid role name: {grant_to!r}")
    cluster, session = open_session(settings, username=username, password=password)
    try:
        create_schema(
            session,
            keyspace,
            settings.cassandra_replication_factor,
            keyspaces=on_keyspaces(settings),
            datacenter=local_dc(settings),
        )
        if grant_to is not None:
            with translate_errors():
                for permission in ("SELECT", "MODIFY"):
                    session.execute(f"GRANT {permission} ON KEYSPACE {keyspace} TO {grant_to}", timeout=DDL_TIMEOUT_S)
    finally:
        cluster.shutdown()


def create_schema(
    session: Session,
    keyspace: str,
    replication_factor: int,
    *,
    keyspaces: bool = False,
    datacenter: str | None = None,
) -> None:
    """Run ``chirp.schema.ddl`` (CREATE ... IF NOT EXISTS, so idempotent) and wait until every node agrees on the
    schema; on Amazon Keyspaces, where tables are created asynchronously, wait until every table is ACTIVE.
    ``datacenter``: the replicas go there (NetworkTopologyStrategy), the data center LOCAL_QUORUM counts in."""
    if not valid_identifier(keyspace):
        raise ValueError(f"invalid keyspace name: {keyspace!r}")
    with translate_errors():
        for statement in ddl(keyspace, replication_factor, keyspaces=keyspaces, datacenter=datacenter):
            session.execute(statement, timeout=DDL_TIMEOUT_S)
        if not keyspaces:  # on AWS the CDK app updates the tables' columns
            add_missing_columns(session, keyspace)
        if not session.cluster.control_connection.wait_for_schema_agreement(wait_time=DDL_TIMEOUT_S):
            raise StoreUnavailable("schema agreement not reached")
        if keyspaces:
            _wait_until_active(session, keyspace)


def add_missing_columns(session: Session, keyspace: str) -> None:
    """A keyspace made before a column joined a table (chirp.schema) gets it: CREATE TABLE IF NOT EXISTS leaves an
    existing table as it was (a persistent stand-in's data, e.g. the media table's processing columns)."""
    rows = session.execute(
        "SELECT table_name, column_name FROM system_schema.columns WHERE keyspace_name = %s",
        (keyspace,),
        timeout=DDL_TIMEOUT_S,
    )
    present: dict[str, set[str]] = {}
    for row in rows:
        present.setdefault(row.table_name, set()).add(row.column_name)
    for table in TABLES:
        for name, cql_type in table.columns:
            if table.name in present and name not in present[table.name]:
                session.execute(f"ALTER TABLE {keyspace}.{table.name} ADD {name} {cql_type}", timeout=DDL_TIMEOUT_S)


def _wait_until_active(session: Session, keyspace: str) -> None:
    names = {t.name for t in TABLES}
    deadline = time.monotonic() + KEYSPACES_ACTIVE_WAIT_S
    while True:
        rows = session.execute(
            "SELECT table_name, status FROM system_schema_mcs.tables WHERE keyspace_name = %s", (keyspace,)
        )
        active = {row.table_name for row in rows if row.status == "ACTIVE"}
        if names <= active:
            return
        if time.monotonic() > deadline:
            raise StoreUnavailable(f"Keyspaces tables not ACTIVE: {sorted(names - active)}")
        time.sleep(2.0)

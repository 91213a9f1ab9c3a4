"""The Cassandra stand-in demands what Amazon Keyspaces with service-specific credentials demands (TLS only on the
native port, a login, only the permissions granted), and the production adapter (``chirp.adapters.keyspaces``)
meets it: verified TLS plus the app's credentials work; no credentials, a wrong password, plain TCP, the default
``cassandra/cassandra`` superuser, an untrusted certificate or a wrong host name are refused; and the app's role can
read and write its own keyspace but do nothing else."""

from __future__ import annotations

import gc
import socket
import ssl
import time
import uuid
import weakref
from collections.abc import Iterator

import pytest
from cassandra import AuthenticationFailed, Unauthorized  # type: ignore[import-untyped]
from cassandra.auth import PlainTextAuthProvider  # type: ignore[import-untyped]
from cassandra.cluster import Cluster, NoHostAvailable  # type: ignore[import-untyped]
from cassandra.protocol import UnauthorizedErrorMessage  # type: ignore[import-untyped]

from chirp.adapters.keyspaces import KeyspacesBackend, connect
from chirp.adapters.keyspaces.connection import AMAZON_TRUST_STORE, cluster_options
from chirp.local.servers.harness import CASSANDRA_ADMIN_ROLE, CASSANDRA_APP_ROLE, Endpoint, ServerSet, cassandra_cluster
from chirp.ports import StoreUnavailable

from .fixtures import drop_keyspace, keyspaces_backend, keyspaces_settings

# The driver raises the server's error message itself (``UnauthorizedErrorMessage``), not ``cassandra.Unauthorized``.
REFUSED = (Unauthorized, UnauthorizedErrorMessage)


@pytest.fixture(scope="module")
def ep(servers: ServerSet) -> Endpoint:
    return servers["cassandra"]


@pytest.fixture(scope="module")
def app(ep: Endpoint) -> Iterator[KeyspacesBackend]:
    """Chirp's backend on a freshly provisioned keyspace, connected as the app's role."""
    backend = keyspaces_backend(ep, f"auth_{uuid.uuid4().hex[:12]}")
    yield backend
    backend.close()
    drop_keyspace(ep, backend.keyspace)


@pytest.fixture(scope="module")
def other_keyspace(ep: Endpoint) -> Iterator[str]:
    """A keyspace (with one row) the app's role was granted nothing on."""
    name = f"other_{uuid.uuid4().hex[:12]}"
    cluster = cassandra_cluster(ep, role="admin")
    try:
        session = cluster.connect()
        session.execute(
            f"CREATE KEYSPACE {name} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
        )
        session.execute(f"CREATE TABLE {name}.secrets (k text PRIMARY KEY, v text)")
        session.execute(f"INSERT INTO {name}.secrets (k, v) VALUES ('k', 'v')")
        yield name
        session.execute(f"DROP KEYSPACE IF EXISTS {name}")
    finally:
        cluster.shutdown()


def _login_errors(cluster: Cluster) -> list[BaseException]:
    """The per-host errors of a connect that must fail (and the cluster is shut down)."""
    try:
        with pytest.raises(NoHostAvailable) as info:
            cluster.connect()
    finally:
        cluster.shutdown()
    return list(info.value.errors.values())


def test_tls_with_the_app_credentials_reads_and_writes_its_keyspace(app: KeyspacesBackend) -> None:
    session = app.session
    assert session.execute("SELECT release_version FROM system.local").one().release_version
    user, key = 4242, f"auth-test-{uuid.uuid4().hex}"
    session.execute(
        f"INSERT INTO {app.keyspace}.notification_dedupe (user_id, dedupe_key, notification_id) VALUES (%s, %s, %s)",
        (user, key, 7),
    )
    row = session.execute(
        f"SELECT notification_id FROM {app.keyspace}.notification_dedupe WHERE user_id = %s AND dedupe_key = %s",
        (user, key),
    ).one()
    assert row.notification_id == 7
    # Every connection of the pool is TLS, verified against the stand-in CA and the host name.
    connections = [conn for pool in session.get_pools() for conn in pool.get_connections()]
    assert connections
    for conn in connections:
        assert isinstance(conn._socket, ssl.SSLSocket)
        assert conn._socket.context.check_hostname is True
        assert conn._socket.context.verify_mode == ssl.CERT_REQUIRED
        assert conn.authenticator is not None


def test_the_adapter_connections_send_without_nagle_delay(app: KeyspacesBackend) -> None:
    """Every pooled connection to the node has TCP_NODELAY set (the driver's default leaves Nagle on)."""
    app.session.execute("SELECT release_version FROM system.local")
    pools = app.session.get_pools()
    assert pools
    for pool in pools:
        sock = pool._connection._socket
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_a_finished_request_is_freed_without_the_cycle_collector(app: KeyspacesBackend) -> None:
    """A request's future (and the rows it holds) goes when its last reference does, not at the next full
    collection: its timeout timer no longer keeps a cycle with it once the request is done."""
    gc.disable()
    try:
        future = app.session.execute_async("SELECT release_version FROM system.local")
        assert future.result().one().release_version
        ref = weakref.ref(future)
        del future
        deadline = time.monotonic() + 5.0
        while ref() is not None and time.monotonic() < deadline:  # the driver's timer queue lets go of it shortly
            time.sleep(0.05)
        assert ref() is None
    finally:
        gc.enable()


def test_the_adapter_logs_in_as_the_app_role_not_a_superuser(ep: Endpoint, app: KeyspacesBackend) -> None:
    cluster = cassandra_cluster(ep, role="admin")
    try:
        row = (
            cluster.connect()
            .execute("SELECT is_superuser, can_login FROM system_auth.roles WHERE role = %s", (CASSANDRA_APP_ROLE,))
            .one()
        )
    finally:
        cluster.shutdown()
    assert (row.is_superuser, row.can_login) == (False, True)
    assert app.cluster.auth_provider.username == CASSANDRA_APP_ROLE


def test_no_credentials_are_refused(ep: Endpoint) -> None:
    errors = _login_errors(cassandra_cluster(ep, role=None))
    assert errors and all(isinstance(e, AuthenticationFailed) for e in errors), errors
    assert "requires authentication" in str(errors[0])


def test_a_wrong_password_is_refused(ep: Endpoint) -> None:
    wrong = PlainTextAuthProvider(CASSANDRA_APP_ROLE, str(ep.extra["password"]) + "x")
    errors = _login_errors(cassandra_cluster(ep, role=None, auth_provider=wrong))
    assert errors and all(isinstance(e, AuthenticationFailed) for e in errors), errors
    assert "incorrect" in str(errors[0])


def test_the_default_superuser_password_no_longer_works(ep: Endpoint) -> None:
    default = PlainTextAuthProvider(CASSANDRA_ADMIN_ROLE, "cassandra")
    errors = _login_errors(cassandra_cluster(ep, role=None, auth_provider=default))
    assert errors and all(isinstance(e, AuthenticationFailed) for e in errors), errors
    assert ep.extra["admin_password"] != "cassandra"


def test_plain_tcp_is_refused_even_with_the_right_credentials(ep: Endpoint) -> None:
    errors = _login_errors(cassandra_cluster(ep, role="app", tls=False))
    assert errors and not any(isinstance(e, AuthenticationFailed) for e in errors), errors


def test_the_adapter_needs_credentials(ep: Endpoint) -> None:
    with pytest.raises(ValueError, match="needs credentials"):
        connect(keyspaces_settings(ep, "chirp"))


def test_the_shipped_amazon_trust_store_refuses_the_stand_in_certificate(ep: Endpoint) -> None:
    """Without a CA bundle the adapter trusts only the Amazon roots it ships, so the stand-in's private CA fails."""
    settings = keyspaces_settings(ep, "chirp").model_copy(update={"tls_ca_bundle": ""})
    options = cluster_options(settings, username=ep.extra["username"], password=ep.extra["password"])
    assert options["ssl_context"].cert_store_stats()["x509_ca"] == 6  # the Amazon roots, nothing else
    with pytest.raises(StoreUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        connect(settings, username=ep.extra["username"], password=ep.extra["password"])
    assert AMAZON_TRUST_STORE.is_file()


def test_a_certificate_for_another_host_name_is_refused(ep: Endpoint) -> None:
    """The adapter's TLS context checks host names: the right CA but the Keyspaces endpoint's name fails."""
    options = cluster_options(
        keyspaces_settings(ep, "chirp"), username=ep.extra["username"], password=ep.extra["password"]
    )
    assert options["ssl_options"] == {"server_hostname": ep.host}
    options["ssl_options"] = {"server_hostname": "cassandra.us-east-1.amazonaws.com"}
    errors = _login_errors(Cluster(**options))
    assert any("Hostname mismatch" in str(e) for e in errors), errors


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE ROLE intruder WITH PASSWORD = 'x' AND LOGIN = true",
        f"ALTER ROLE {CASSANDRA_ADMIN_ROLE} WITH PASSWORD = 'x'",
        f"GRANT ALL ON ALL KEYSPACES TO {CASSANDRA_APP_ROLE}",
        "CREATE KEYSPACE intruder WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}",
        "DROP KEYSPACE {other}",
        "SELECT * FROM {other}.secrets",
        "INSERT INTO {other}.secrets (k, v) VALUES ('k', 'stolen')",
        "SELECT * FROM system_auth.roles",
        "DROP TABLE {own}.users",
        "CREATE TABLE {own}.extra (k text PRIMARY KEY)",
    ],
    ids=[
        "create-role",
        "alter-superuser",
        "grant-itself",
        "create-keyspace",
        "drop-other-keyspace",
        "read-other-keyspace",
        "write-other-keyspace",
        "read-role-hashes",
        "drop-own-table",
        "create-own-table",
    ],
)
def test_the_app_role_cannot_do_what_it_was_not_granted(
    app: KeyspacesBackend, other_keyspace: str, statement: str
) -> None:
    with pytest.raises(REFUSED):
        app.session.execute(statement.format(other=other_keyspace, own=app.keyspace))

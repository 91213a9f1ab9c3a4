"""Connecting to Amazon Keyspaces (TLS on 9142 + SigV4) or to Cassandra on loopback, and the helpers every
Keyspaces adapter shares: error mapping, paged scans that follow the driver's paging state, concurrent point reads
and logged batches of at most 100 statements."""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from cassandra import (  # type: ignore[import-untyped]
    ConsistencyLevel,
    CoordinationFailure,
    OperationTimedOut,
    ReadTimeout,
    Unavailable,
    WriteTimeout,
)
from cassandra.cluster import (  # type: ignore[import-untyped]
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    Session,
)
from cassandra.concurrent import execute_concurrent_with_args  # type: ignore[import-untyped]
from cassandra.connection import ConnectionException  # type: ignore[import-untyped]
from cassandra.policies import (  # type: ignore[import-untyped]
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    TokenAwarePolicy,
)
from cassandra.query import BatchStatement, BatchType, PreparedStatement  # type: ignore[import-untyped]

from chirp.config import Settings
from chirp.ports import StoreUnavailable
from chirp.schema import MAX_BATCH_STATEMENTS

KEYSPACES_PORT = 9142
PROTOCOL_VERSION = 4  # what Amazon Keyspaces speaks
REQUEST_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10.0
CONCURRENCY = 32  # in-flight requests per multi-key read
SCAN_PAGE_SIZE = 1000

UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    NoHostAvailable,
    OperationTimedOut,
    Unavailable,
    ReadTimeout,
    WriteTimeout,
    CoordinationFailure,  # ReadFailure / WriteFailure
    ConnectionException,
)


# ---- configuration ---------------------------------------------------------------------------------------------


def consistency_for(settings: Settings) -> int:
    """LOCAL_QUORUM on Keyspaces (the only strong level it offers for writes) and on replicated clusters;
    LOCAL_ONE on a single-replica Cassandra (where it is the same thing, cheaper)."""
    if settings.cassandra_sigv4 or settings.cassandra_replication_factor > 1:
        return int(ConsistencyLevel.LOCAL_QUORUM)
    return int(ConsistencyLevel.LOCAL_ONE)


def local_dc(settings: Settings) -> str:
    """The data center the load balancer prefers; on Keyspaces it is the region name."""
    if settings.cassandra_sigv4 and settings.cassandra_local_dc == "datacenter1":
        return settings.aws_region
    return settings.cassandra_local_dc


def contact_points(settings: Settings) -> list[str]:
    hosts = settings.cassandra_host_list
    if settings.cassandra_sigv4 and hosts in ([], ["127.0.0.1"], ["localhost"]):
        return [f"cassandra.{settings.aws_region}.amazonaws.com"]
    return hosts or ["127.0.0.1"]


def port_for(settings: Settings) -> int:
    port = settings.cassandra_effective_port
    if settings.cassandra_sigv4 and port == 9042:
        return KEYSPACES_PORT
    return port


def ca_bundle_path(settings: Settings) -> str | None:
    """The PEM bundle that verifies the Keyspaces endpoint (Amazon/Starfield roots): ``settings.cassandra_ca_bundle``
    when Settings has it, else ``$CHIRP_CASSANDRA_CA_BUNDLE``, else None (the system trust store)."""
    configured = settings.cassandra_ca_bundle
    return str(configured) or None


def ssl_context_for(settings: Settings) -> ssl.SSLContext:
    """TLS 1.2+, certificate required. Host names are not checked: the driver connects to the peers it discovers
    by IP address (as AWS's own Keyspaces driver samples do), the CA chain is."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    bundle = ca_bundle_path(settings)
    if bundle:
        context.load_verify_locations(cafile=bundle)
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    return context


def auth_provider_for(settings: Settings) -> Any:
    """SigV4 with the default boto3 credential chain (the Lambda role) in the configured region."""
    import boto3
    from cassandra_sigv4.auth import SigV4AuthProvider  # type: ignore[import-untyped]

    return SigV4AuthProvider(boto3.Session(region_name=settings.aws_region))


def execution_profile(settings: Settings) -> ExecutionProfile:
    return ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc(settings))),
        consistency_level=consistency_for(settings),
        serial_consistency_level=ConsistencyLevel.LOCAL_SERIAL,
        request_timeout=REQUEST_TIMEOUT_S,
    )


def cluster_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``cassandra.cluster.Cluster``. ``settings.cassandra_sigv4`` switches to Amazon
    Keyspaces: TLS (port 9142 unless another is configured) and the SigV4 auth provider."""
    options: dict[str, Any] = {
        "contact_points": contact_points(settings),
        "port": port_for(settings),
        "protocol_version": PROTOCOL_VERSION,
        "execution_profiles": {EXEC_PROFILE_DEFAULT: execution_profile(settings)},
        "connect_timeout": CONNECT_TIMEOUT_S,
        "control_connection_timeout": CONNECT_TIMEOUT_S,
        "reconnection_policy": ExponentialReconnectionPolicy(base_delay=0.5, max_delay=30.0),
    }
    if settings.cassandra_sigv4:
        options["ssl_context"] = ssl_context_for(settings)
        options["auth_provider"] = auth_provider_for(settings)
    return options


def open_session(settings: Settings) -> tuple[Cluster, Session]:
    """A connected cluster and session (no keyspace set: every statement names ``keyspace.table``)."""
    cluster = Cluster(**cluster_options(settings))
    try:
        with translate_errors():
            session = cluster.connect()
    except BaseException:
        cluster.shutdown()
        raise
    return cluster, session


# ---- execution helpers -----------------------------------------------------------------------------------------


@contextmanager
def translate_errors() -> Iterator[None]:
    """Driver errors meaning "the store is unreachable or overloaded" become ``StoreUnavailable`` (-> 503)."""
    try:
        yield
    except UNAVAILABLE_ERRORS as exc:
        raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc


class Statements:
    """Prepared statements of one adapter, prepared once (on first use) against ``{ks}``-templated CQL."""

    def __init__(self, session: Session, keyspace: str, cql: dict[str, str]) -> None:
        self._session = session
        self._keyspace = keyspace
        self._cql = cql
        self._prepared: dict[str, PreparedStatement] = {}

    def __getitem__(self, name: str) -> PreparedStatement:
        prepared = self._prepared.get(name)
        if prepared is None:
            with translate_errors():
                prepared = self._session.prepare(self._cql[name].format(ks=self._keyspace))
            self._prepared[name] = prepared
        return prepared

    def prepare_all(self) -> None:
        for name in self._cql:
            self[name]


def execute(session: Session, statement: Any, params: Sequence[Any] = ()) -> list[Any]:
    """Run one statement; all rows of its first page (callers use LIMIT or point reads)."""
    with translate_errors():
        return list(session.execute(statement, params).current_rows)


def applied(session: Session, statement: Any, params: Sequence[Any]) -> bool:
    """Run a lightweight transaction; True when it applied."""
    with translate_errors():
        return bool(session.execute(statement, params).was_applied)


def scan(session: Session, statement: PreparedStatement, params: Sequence[Any], *, page_size: int = 0) -> Iterator[Any]:
    """Every row of a query, one page at a time (``page_size`` rows, default ``SCAN_PAGE_SIZE``), following the
    driver's paging state (never OFFSET or ALLOW FILTERING)."""
    paging_state: bytes | None = None
    while True:
        bound = statement.bind(params)
        bound.fetch_size = page_size or SCAN_PAGE_SIZE
        with translate_errors():
            result = session.execute(bound, paging_state=paging_state)
        yield from result.current_rows
        paging_state = result.paging_state
        if not paging_state:
            return


def read_many(session: Session, statement: PreparedStatement, params: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Concurrent reads (one per parameter tuple, across partitions); all rows of each, in input order (a result
    with more pages is read to its end by following its paging state)."""
    if not params:
        return []
    with translate_errors():
        results = execute_concurrent_with_args(
            session, statement, list(params), concurrency=CONCURRENCY, raise_on_first_error=True
        )
        return [list(result) for _ok, result in results]


def write_many(session: Session, statement: PreparedStatement, params: Sequence[Sequence[Any]]) -> None:
    """Concurrent writes of independent rows (idempotent statements only)."""
    if not params:
        return
    with translate_errors():
        execute_concurrent_with_args(
            session, statement, list(params), concurrency=CONCURRENCY, raise_on_first_error=True
        )


def batch(session: Session, items: Sequence[tuple[PreparedStatement, Sequence[Any]]]) -> None:
    """Logged batches (atomic on Keyspaces and Cassandra) of at most ``MAX_BATCH_STATEMENTS`` statements each."""
    for start in range(0, len(items), MAX_BATCH_STATEMENTS):
        logged = BatchStatement(batch_type=BatchType.LOGGED)
        for statement, params in items[start : start + MAX_BATCH_STATEMENTS]:
            logged.add(statement, params)
        with translate_errors():
            session.execute(logged)

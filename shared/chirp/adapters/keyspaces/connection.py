"""Connecting to Amazon Keyspaces (TLS on 9142; SigV4 or service-specific credentials) or to its Cassandra stand-in
(TLS + a password role), and the helpers every Keyspaces adapter shares: error mapping, paged scans that follow the
driver's paging state, concurrent point reads and logged batches of at most 100 statements."""

from __future__ import annotations

import socket
import ssl
import weakref
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from cassandra import (  # type: ignore[import-untyped]
    ConsistencyLevel,
    CoordinationFailure,
    OperationTimedOut,
    ReadTimeout,
    Unavailable,
    WriteTimeout,
)
from cassandra.auth import PlainTextAuthProvider  # type: ignore[import-untyped]
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
from cassandra.query import (  # type: ignore[import-untyped]
    BatchStatement,
    BatchType,
    PreparedStatement,
    _clean_column_name,
)

from chirp.config import Settings
from chirp.ports import StoreUnavailable
from chirp.schema import MAX_BATCH_STATEMENTS

AMAZON_TRUST_STORE = Path(__file__).with_name("amazon-trust.pem")
KEYSPACES_PORT = 9142
PROTOCOL_VERSION = 4  # what Amazon Keyspaces speaks
REQUEST_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10.0
CONCURRENCY = 32  # in-flight requests per multi-key read
SCAN_PAGE_SIZE = 1000
MAX_IN_VALUES = 100  # Keyspaces' default quota of subqueries per SELECT ... IN

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


def on_keyspaces(settings: Settings) -> bool:
    """Amazon Keyspaces, not Cassandra: SigV4 is on, or a contact point is an AWS endpoint (service-specific
    credentials against ``cassandra.<region>.amazonaws.com`` or a VPC endpoint name)."""
    return settings.cassandra_sigv4 or any(h.endswith(".amazonaws.com") for h in settings.cassandra_host_list)


def consistency_for(settings: Settings) -> int:
    """LOCAL_QUORUM on Keyspaces (the only level it accepts for writes) and on replicated clusters; LOCAL_ONE on a
    single-replica Cassandra (where it is the same thing, cheaper)."""
    if on_keyspaces(settings) or settings.cassandra_replication_factor > 1:
        return int(ConsistencyLevel.LOCAL_QUORUM)
    return int(ConsistencyLevel.LOCAL_ONE)


def local_dc(settings: Settings) -> str:
    """The data center the load balancer prefers; on Keyspaces it is the region name."""
    if on_keyspaces(settings) and settings.cassandra_local_dc == "datacenter1":
        return settings.aws_region
    return settings.cassandra_local_dc


def contact_points(settings: Settings) -> list[str]:
    hosts = settings.cassandra_host_list
    if settings.cassandra_sigv4 and hosts in ([], ["127.0.0.1"], ["localhost"]):
        return [f"cassandra.{settings.aws_region}.amazonaws.com"]
    return hosts or ["127.0.0.1"]


def port_for(settings: Settings) -> int:
    port = settings.cassandra_effective_port
    if on_keyspaces(settings) and port == 9042:
        return KEYSPACES_PORT
    return port


def ca_bundle_path(settings: Settings) -> str:
    """The PEM bundle that verifies the server: ``settings.tls_ca_bundle`` when set, else the Amazon trust store
    shipped beside this module (the roots Keyspaces' certificates chain to), never the system store."""
    return settings.tls_ca_bundle or str(AMAZON_TRUST_STORE)


def ssl_context_for(settings: Settings) -> ssl.SSLContext:
    """TLS 1.2+, the chain verified against ``ca_bundle_path`` and the host name checked (against
    ``tls_server_name``: see there)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname by default
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cafile=ca_bundle_path(settings))
    return context


def tls_server_name(settings: Settings) -> str | None:
    """The name every connection's certificate must carry. With one contact point (Keyspaces' service endpoint) it
    is that name: the peers Keyspaces advertises are IP addresses behind it, all presenting its certificate. With
    several contact points (a Cassandra cluster with one certificate per node) None: the driver checks each node's
    certificate against the node's own address."""
    hosts = contact_points(settings)
    return hosts[0] if len(hosts) == 1 else None


def auth_provider_for(settings: Settings, username: str | None = None, password: str | None = None) -> Any:
    """SigV4 with the default boto3 credential chain (the Lambda role) when ``settings.cassandra_sigv4``; otherwise
    the username and password (Keyspaces service-specific credentials, or a Cassandra role) as CQL's plain-text
    SASL mechanism, which only ever travels inside TLS here."""
    if settings.cassandra_sigv4:
        if username is not None or password is not None:
            raise ValueError("cassandra_sigv4 signs with the IAM role: pass no username/password with it")
        import boto3
        from cassandra_sigv4.auth import SigV4AuthProvider  # type: ignore[import-untyped]

        return SigV4AuthProvider(boto3.Session(region_name=settings.aws_region))
    if not username or password is None:
        raise ValueError("Cassandra/Keyspaces needs credentials: set cassandra_sigv4 or pass a username and password")
    return PlainTextAuthProvider(username=username, password=password)


@lru_cache(maxsize=1024)
def _row_maker(column_names: tuple[str, ...]) -> Callable[[Iterable[Any]], tuple[Any, ...]]:
    row: Any = namedtuple("Row", [_clean_column_name(name) for name in column_names], rename=True)  # type: ignore[misc]
    return cast(Callable[[Iterable[Any]], tuple[Any, ...]], row._make)


def row_factory(column_names: list[str], rows: list[tuple[Any, ...]]) -> list[Any]:
    """Rows as named tuples, as the driver's default factory makes them, but of one class per column list: the
    driver's builds a new class (a reference cycle, and tens of microseconds) for every result."""
    make = _row_maker(tuple(column_names))
    return [make(row) for row in rows]


def was_applied(result: Any) -> bool:
    """Whether a lightweight transaction applied: its first column (``[applied]``). The driver's ``was_applied``
    works only with its own row factories."""
    return bool(result.current_rows[0][0])


def execution_profile(settings: Settings) -> ExecutionProfile:
    return ExecutionProfile(
        row_factory=row_factory,
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc(settings))),
        consistency_level=consistency_for(settings),
        serial_consistency_level=ConsistencyLevel.LOCAL_SERIAL,
        request_timeout=REQUEST_TIMEOUT_S,
    )


def cluster_options(settings: Settings, *, username: str | None = None, password: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``cassandra.cluster.Cluster``: always TLS (``ssl_context_for``) and authenticated
    (``auth_provider_for``: SigV4 when ``settings.cassandra_sigv4``, else ``username``/``password``). There is no
    plaintext or anonymous mode: Keyspaces has none, and the Cassandra stand-in demands the same."""
    options: dict[str, Any] = {
        "contact_points": contact_points(settings),
        "port": port_for(settings),
        "protocol_version": PROTOCOL_VERSION,
        "execution_profiles": {EXEC_PROFILE_DEFAULT: execution_profile(settings)},
        "connect_timeout": CONNECT_TIMEOUT_S,
        "control_connection_timeout": CONNECT_TIMEOUT_S,
        "reconnection_policy": ExponentialReconnectionPolicy(base_delay=0.5, max_delay=30.0),
        "auth_provider": auth_provider_for(settings, username, password),
        "ssl_context": ssl_context_for(settings),
        # The driver leaves Nagle on: a request written in two segments (TLS records, or concurrent reads written
        # back to back) can wait for the server's delayed ACK. Measured 2026-12-01 in two A/B rounds of 220 cold
        # home reads each: p50 22 -> 16 and 14.3 -> 13.1 ms (their p95 tails were the cycle collector's, below).
        "sockopts": [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    }
    server_name = tls_server_name(settings)
    if server_name is not None:
        options["ssl_options"] = {"server_hostname": server_name}
    return options


def open_session(
    settings: Settings, *, username: str | None = None, password: str | None = None
) -> tuple[Cluster, Session]:
    """A connected cluster and session (no keyspace set: every statement names ``keyspace.table``)."""
    cluster = Cluster(**cluster_options(settings, username=username, password=password))
    try:
        with translate_errors():
            session = cluster.connect()
    except BaseException:
        cluster.shutdown()
        raise
    session.add_request_init_listener(_free_when_done)
    return cluster, session


def _free_when_done(future: Any) -> None:
    """Each request's future and its timeout timer refer to each other (``timer.callback`` is the future's bound
    ``_on_timeout``), so a finished future and the rows it holds outlive every reference until the cycle collector's
    full pass. Measured on 2026-12-01 in the local runtime: ~3,000 rows per cold home read waited for it, and its
    passes took 140-190 ms every 0.6-1.5 s, the cold reads' p95. Dropping the cancelled timer when the request ends
    lets reference counting free them at once (through a weak reference: a callback holding the future would be a
    cycle again)."""
    ref = weakref.ref(future)
    future.add_callbacks(_drop_timer, _drop_timer, callback_args=(ref,), errback_args=(ref,))


def _drop_timer(_outcome: object, ref: weakref.ref[Any]) -> None:
    future = ref()
    if future is not None:
        future._timer = None  # cancelled by now (the driver cancels it before running callbacks); no retry follows


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
        return was_applied(session.execute(statement, params))


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


def read_in(
    session: Session, statement: PreparedStatement, keys: Sequence[Any], *, extra: Sequence[Any] = ()
) -> list[Any]:
    """Every row of ``statement`` (``... WHERE key IN ? [AND ...]``, the list bound first, then ``extra``) for the
    distinct ``keys``: one request per ``MAX_IN_VALUES`` keys (requests for more run concurrently), instead of one
    per key. Keyspaces splits an IN into per-partition subqueries server-side; the client pays one round trip."""
    distinct = list(dict.fromkeys(keys))
    chunks = [distinct[i : i + MAX_IN_VALUES] for i in range(0, len(distinct), MAX_IN_VALUES)]
    if len(chunks) == 1:
        return list(scan(session, statement, (chunks[0], *extra)))
    return [row for rows in read_many(session, statement, [(chunk, *extra) for chunk in chunks]) for row in rows]


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

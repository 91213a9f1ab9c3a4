"""The Keyspaces schema and the adapters' CQL stay inside what Amazon Keyspaces supports, and the connection
settings switch between Cassandra (TLS + a password) and Keyspaces (TLS + SigV4) — all checked without a server."""

from __future__ import annotations

import ast
import re
import ssl
from pathlib import Path
from types import ModuleType
from typing import Any

import certifi
import pytest
from cassandra import ConsistencyLevel, OperationTimedOut, ReadTimeout, Unavailable, WriteTimeout  # type: ignore[import-untyped]
from cassandra.auth import PlainTextAuthProvider  # type: ignore[import-untyped]
from cassandra.cluster import NoHostAvailable  # type: ignore[import-untyped]
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy  # type: ignore[import-untyped]
from cassandra.protocol import SyntaxException  # type: ignore[import-untyped]
from cassandra.query import BatchStatement, BatchType, SimpleStatement  # type: ignore[import-untyped]
from cassandra_sigv4.auth import SigV4AuthProvider  # type: ignore[import-untyped]

import chirp.adapters.keyspaces as keyspaces_pkg
from chirp import schema
from chirp.adapters.keyspaces import connection, engagement, media, notifications, tweets, users
from chirp.config import Settings
from chirp.ports import StoreUnavailable
from chirp.schema import (
    KEYSPACES_MAX_TTL_S,
    MAX_BATCH_STATEMENTS,
    NOTIFICATION_TTL_S,
    TABLES,
    TABLES_BY_NAME,
    Table,
    create_keyspace_cql,
    create_table_cql,
    ddl,
)

ADAPTER_MODULES: tuple[ModuleType, ...] = (users, tweets, engagement, notifications, media)
ADAPTER_DIR = Path(keyspaces_pkg.__file__).parent
ALL_CQL: list[tuple[str, str]] = [
    (f"{module.__name__.rsplit('.', 1)[-1]}.{name}", cql)
    for module in ADAPTER_MODULES
    for name, cql in module.CQL.items()
]

# CQL reserved words (Cassandra 4 + Keyspaces): never column or table names, so nothing needs quoting.
RESERVED = set(
    """add aggregate all allow alter and apply as asc ascii authorize batch begin bigint blob boolean by called
    clustering columnfamily compact contains count counter create custom date decimal default delete desc describe
    distinct double
    drop entries execute exists filtering finalfunc float from frozen full function functions grant if in index inet
    infinity initcond input insert int into is json key keys keyspace keyspaces language limit list login map
    materialized modify nan nologin norecursive nosuperuser not null of on options or order password permission
    permissions primary rename replace returns revoke role roles schema select set sfunc smallint static storage stype
    superuser table text time timestamp timeuuid tinyint to token trigger truncate ttl tuple type unlogged unset update
    use user users using uuid values varchar varint view where with writetime""".split()
)
ALLOWED_RESERVED_TABLE_NAMES = {"users"}  # non-reserved in practice: CQL accepts it unquoted (tested on Cassandra 4.1)

FORBIDDEN_CQL = {
    "secondary index": r"\bCREATE\s+(CUSTOM\s+)?INDEX\b",
    "materialized view": r"\bMATERIALIZED\s+VIEW\b",
    "TRUNCATE": r"\bTRUNCATE\b",
    "ALLOW FILTERING": r"\bALLOW\s+FILTERING\b",
    "user-defined type": r"\bCREATE\s+TYPE\b",
    "frozen type": r"\bfrozen\s*<",
    "tuple type": r"\btuple\s*<",
    "user-defined function": r"\bCREATE\s+(OR\s+REPLACE\s+)?(FUNCTION|AGGREGATE)\b",
    "trigger": r"\bCREATE\s+TRIGGER\b",
    "static column": r"\bSTATIC\b",
    "COMPACT STORAGE": r"\bCOMPACT\s+STORAGE\b",
    "unlogged batch": r"\bUNLOGGED\b",
    "counter batch": r"\bBEGIN\s+COUNTER\s+BATCH\b",
    "OFFSET paging": r"\bOFFSET\b",
    "SELECT *": r"\bSELECT\s+\*",
    "PER PARTITION LIMIT": r"\bPER\s+PARTITION\s+LIMIT\b",
    "GROUP BY": r"\bGROUP\s+BY\b",
    "JSON": r"\b(SELECT|INSERT\s+INTO\s+\S+)\s+JSON\b",
}

EXPECTED_TTL = {
    "notifications": NOTIFICATION_TTL_S,
    "notifications_unread": NOTIFICATION_TTL_S,
    "notification_dedupe": NOTIFICATION_TTL_S,
}
EXPECTED_CLUSTERING: dict[str, tuple[tuple[str, str], ...]] = {
    "tweets_by_author": (("tweet_id", "DESC"),),
    "author_buckets": (("bucket", "DESC"),),
    "tweet_replies": (("tweet_id", "ASC"),),
    "likes": (("user_id", "ASC"),),
    "likes_by_user": (("liked_at_ms", "DESC"), ("tweet_id", "DESC")),
    "media_by_owner": (("media_id", "ASC"),),
    "retweets": (("user_id", "ASC"),),
    "bookmarks": (("tweet_id", "DESC"),),
    "notifications": (("notification_id", "DESC"),),
    "notifications_unread": (("notification_id", "DESC"),),
}
EXPECTED_COUNTER_TABLES = {"author_tweet_counts", "tweet_counts"}


def _is_lwt(cql: str) -> bool:
    return bool(re.search(r"\bIF\s+(NOT\s+)?EXISTS\b", cql) or re.search(r"\bIF\s+\w+\s*=", cql))


def _table_of(cql: str) -> Table:
    match = re.search(r"(?:FROM|INTO|UPDATE)\s+\{ks\}\.(\w+)", cql)
    assert match, f"no {{ks}}.table in {cql!r}"
    assert match.group(1) in TABLES_BY_NAME, f"unknown table {match.group(1)} in {cql!r}"
    return TABLES_BY_NAME[match.group(1)]


def _string_literals(source: str) -> list[str]:
    """Every string constant of a module except docstrings (f-strings contribute their literal parts)."""
    tree = ast.parse(source)
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def _where(cql: str) -> str:
    match = re.search(r"\bWHERE\b(.*?)(?:\bLIMIT\b|\bIF\b|$)", cql)
    return match.group(1) if match else ""


# ---- the schema as data ----------------------------------------------------------------------------------------


def test_table_and_column_names_are_plain_unique_identifiers() -> None:
    names = [t.name for t in TABLES]
    assert len(names) == len(set(names))
    for t in TABLES:
        assert schema.valid_identifier(t.name), t.name
        assert t.name not in RESERVED or t.name in ALLOWED_RESERVED_TABLE_NAMES, t.name
        columns = [name for name, _ in t.columns]
        assert len(columns) == len(set(columns)), t.name
        for name in columns:
            assert schema.valid_identifier(name), (t.name, name)
            assert name not in RESERVED, f"{t.name}.{name} is a CQL keyword"
        assert t.description, f"{t.name} needs a description"


def test_column_types_are_ones_keyspaces_supports_without_udts() -> None:
    for t in TABLES:
        for name, cql_type in t.columns:
            assert cql_type in schema.SCALAR_TYPES | schema.COLLECTION_TYPES, (t.name, name, cql_type)


def test_keys_are_declared_columns_and_never_collections_or_counters() -> None:
    for t in TABLES:
        types = t.column_types
        assert t.partition_key, t.name
        assert len(set(t.key_columns)) == len(t.key_columns), t.name
        for key in t.key_columns:
            assert key in types, (t.name, key)
            assert types[key] in {"bigint", "int", "text", "uuid", "timestamp"}, (t.name, key, types[key])
        for column, direction in t.clustering:
            assert direction in ("ASC", "DESC"), (t.name, column)


def test_counter_tables_hold_only_keys_and_counters_and_no_ttl() -> None:
    counter_tables = {t.name for t in TABLES if t.is_counter_table}
    assert counter_tables == EXPECTED_COUNTER_TABLES
    for t in TABLES:
        types = t.column_types
        if t.is_counter_table:
            assert t.regular_columns, t.name
            assert all(types[c] == "counter" for c in t.regular_columns), f"{t.name} mixes counters and regular columns"
            assert t.default_ttl_s is None, f"{t.name}: Keyspaces has no TTL on counter tables"
        else:
            assert "counter" not in types.values(), t.name


def test_every_table_has_the_expected_ttl() -> None:
    for t in TABLES:
        assert t.default_ttl_s == EXPECTED_TTL.get(t.name), t.name
        if t.default_ttl_s is not None:
            assert 0 < t.default_ttl_s <= KEYSPACES_MAX_TTL_S, t.name


def test_every_table_has_the_expected_clustering_order() -> None:
    for t in TABLES:
        assert t.clustering == EXPECTED_CLUSTERING.get(t.name, ()), t.name


def test_per_author_tweets_are_bucketed_by_month() -> None:
    t = TABLES_BY_NAME["tweets_by_author"]
    assert t.partition_key == ("user_id", "bucket")
    assert schema.bucket_of(schema.bucket_start_id(202502)) == 202502
    assert schema.bucket_of(schema.bucket_start_id(202503) - 1) == 202502
    assert schema.next_bucket(202412) == 202501
    assert schema.next_bucket(202501) == 202502
    assert schema.bucket_of(0) == 202401  # the id epoch


# ---- the generated DDL -----------------------------------------------------------------------------------------


def test_ddl_is_idempotent_and_uses_no_unsupported_feature() -> None:
    statements = ddl("chirp", 3)
    assert statements[0] == (
        "CREATE KEYSPACE IF NOT EXISTS chirp WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}"
    )
    assert len(statements) == len(TABLES) + 1
    for statement in statements:
        assert " IF NOT EXISTS " in statement
        for feature, pattern in FORBIDDEN_CQL.items():
            assert not re.search(pattern, statement, re.IGNORECASE), f"{feature} in {statement}"
    assert "SingleRegionStrategy" in ddl("chirp", 3, keyspaces=True)[0]
    assert create_keyspace_cql("k", 1, keyspaces=True) == (
        "CREATE KEYSPACE IF NOT EXISTS k WITH replication = {'class': 'SingleRegionStrategy'}"
    )


def test_the_keyspace_replicates_in_the_named_data_center() -> None:
    # The data center LOCAL_QUORUM counts in holds every replica (Keyspaces' semantics: three copies, one region).
    assert ddl("chirp", 3, datacenter="datacenter1")[0] == (
        "CREATE KEYSPACE IF NOT EXISTS chirp WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 3}"
    )
    assert "SingleRegionStrategy" in create_keyspace_cql("k", 3, keyspaces=True, datacenter="us-east-1")
    with pytest.raises(ValueError, match="data center"):
        create_keyspace_cql("k", 3, datacenter="dc1', 'x': '1")


def test_create_table_cql_renders_keys_clustering_order_and_ttl() -> None:
    assert create_table_cql(TABLES_BY_NAME["tweets_by_author"], "ks") == (
        "CREATE TABLE IF NOT EXISTS ks.tweets_by_author (user_id bigint, bucket int, tweet_id bigint,"
        " PRIMARY KEY ((user_id, bucket), tweet_id)) WITH CLUSTERING ORDER BY (tweet_id DESC)"
    )
    assert create_table_cql(TABLES_BY_NAME["tweet_counts"], "ks") == (
        "CREATE TABLE IF NOT EXISTS ks.tweet_counts (tweet_id bigint, likes counter, retweets counter,"
        " replies counter, PRIMARY KEY (tweet_id))"
    )
    assert create_table_cql(TABLES_BY_NAME["notification_dedupe"], "ks").endswith(
        f"PRIMARY KEY ((user_id, dedupe_key))) WITH default_time_to_live = {NOTIFICATION_TTL_S}"
    )
    for t in TABLES:
        cql = create_table_cql(t, "ks")
        if t.clustering:
            order = ", ".join(f"{c} {d}" for c, d in t.clustering)
            assert f"CLUSTERING ORDER BY ({order})" in cql, t.name
        else:
            assert "CLUSTERING ORDER" not in cql, t.name
        assert ("default_time_to_live" in cql) == (t.default_ttl_s is not None), t.name


# ---- the adapters' CQL -----------------------------------------------------------------------------------------


def test_adapter_sources_use_no_unsupported_feature() -> None:
    sources = sorted(ADAPTER_DIR.glob("*.py"))
    assert {p.name for p in sources} >= {f"{m.__name__.rsplit('.', 1)[-1]}.py" for m in ADAPTER_MODULES}
    for path in sources:
        text = path.read_text()
        for literal in _string_literals(text):
            for feature, pattern in FORBIDDEN_CQL.items():
                assert not re.search(pattern, literal, re.IGNORECASE), f"{feature} in {path.name}: {literal!r}"
            assert "USING TIMESTAMP" not in literal.upper(), path.name
        assert "BatchType.UNLOGGED" not in text and "BatchType.COUNTER" not in text, path.name


@pytest.mark.parametrize(("name", "cql"), ALL_CQL, ids=[name for name, _ in ALL_CQL])
def test_statement_fits_keyspaces(name: str, cql: str) -> None:
    t = _table_of(cql)
    columns = t.column_types
    upper = cql.upper()
    for feature, pattern in FORBIDDEN_CQL.items():
        assert not re.search(pattern, cql, re.IGNORECASE), f"{feature} in {name}"
    # Multi-key reads: IN only on one partition key column, bound as one list (``IN ?``, at most 100 values:
    # ``connection.MAX_IN_VALUES``), every other partition key column bound by equality — Keyspaces splits it into
    # at most 100 per-partition subqueries (its default IN quota).
    in_columns = re.findall(r"(\w+)\s+IN\s+\?", cql, re.IGNORECASE)
    assert upper.count(" IN ") == len(in_columns), f"{name}: IN must bind one list (IN ?)"
    assert len(in_columns) <= 1, f"{name}: IN on more than one column multiplies the subqueries"
    for column in in_columns:
        assert column in t.partition_key, f"{name}: IN on something else than the partition key"
        for other in set(t.partition_key) - {column}:
            assert re.search(rf"\b{other}\s*=\s*\?", cql), f"{name}: partition key column {other} not bound"
    assert "USING TIMESTAMP" not in upper, name
    # every column named exists in the table
    if upper.startswith("SELECT"):
        selected = cql[len("SELECT") : upper.index(" FROM ")]
        for column in (c.strip() for c in selected.split(",")):
            assert column in columns, (name, column)
    if upper.startswith("INSERT"):
        listed = re.search(r"\(([^)]*)\)\s+VALUES", cql)
        assert listed, name
        inserted = [c.strip() for c in listed.group(1).split(",")]
        assert set(t.key_columns) <= set(inserted), name
        assert all(c in columns for c in inserted), name
    # reads, updates and deletes address one partition (or a list of them: IN); ranges only on clustering columns
    if upper.startswith("INSERT"):
        return _check_ttl_counters_lwt(name, cql, t)
    where = _where(cql)
    restricted = dict(re.findall(r"(\w+)\s*(<=|>=|=|<|>|\bIN\b)\s*\?", where, re.IGNORECASE))
    assert set(t.partition_key) <= set(restricted), f"{name}: partition key not fully restricted"
    assert all(restricted[k] in ("=", "IN") for k in t.partition_key), name
    clustering = [c for c, _ in t.clustering]
    for column, op in restricted.items():
        assert column in columns, (name, column)
        if op not in ("=", "IN"):
            assert column in clustering, f"{name}: range on non-clustering column {column}"
    _check_ttl_counters_lwt(name, cql, t)


def _check_ttl_counters_lwt(name: str, cql: str, t: Table) -> None:
    upper = cql.upper()
    # TTL only where the table has TTL enabled; counters only by UPDATE, never with TTL or LWT
    if "USING TTL" in upper:
        assert t.default_ttl_s is not None, f"{name}: USING TTL on {t.name} (TTL not enabled)"
    if t.is_counter_table:
        assert not upper.startswith("INSERT"), name
        assert "USING TTL" not in upper and not _is_lwt(cql), name
        if upper.startswith("UPDATE"):
            assert re.search(r"SET (\w+) = \1 [+-] ", cql), name
    if _is_lwt(cql):
        assert upper.startswith(("INSERT", "DELETE", "UPDATE")), name


def test_unique_claims_and_engagement_rows_use_lightweight_transactions() -> None:
    assert _is_lwt(users.CQL["claim_username"]) and _is_lwt(users.CQL["claim_email"])
    assert _is_lwt(users.CQL["release_username"]) and _is_lwt(users.CQL["release_email"])
    assert _is_lwt(tweets.CQL["insert"]) and _is_lwt(tweets.CQL["delete"])
    for kind in ("like", "retweet"):
        assert "IF NOT EXISTS" in engagement.CQL[f"add_{kind}"]
        assert "IF EXISTS" in engagement.CQL[f"remove_{kind}"]
    assert "IF NOT EXISTS" in notifications.CQL["claim"]


def test_every_table_is_used_by_some_statement() -> None:
    used = {_table_of(cql).name for _, cql in ALL_CQL}
    assert used == set(TABLES_BY_NAME)


class _RecordingSession:
    def __init__(self) -> None:
        self.executed: list[Any] = []

    def execute(self, statement: Any, *args: Any, **kwargs: Any) -> None:
        self.executed.append(statement)


def test_batches_are_logged_and_at_most_100_statements() -> None:
    assert MAX_BATCH_STATEMENTS == 100
    session = _RecordingSession()
    statement = SimpleStatement("INSERT INTO k.t (a) VALUES (%s)")
    connection.batch(session, [(statement, (i,)) for i in range(250)])
    assert [len(b._statements_and_parameters) for b in session.executed] == [100, 100, 50]
    assert all(isinstance(b, BatchStatement) and b.batch_type == BatchType.LOGGED for b in session.executed)
    assert MAX_BATCH_STATEMENTS % notifications._STATEMENTS_PER_MARK == 0  # mark-read pairs never split


# ---- connection settings ---------------------------------------------------------------------------------------


def _profile(options: dict[str, Any]) -> Any:
    from cassandra.cluster import EXEC_PROFILE_DEFAULT

    return options["execution_profiles"][EXEC_PROFILE_DEFAULT]


CREDENTIALS = {"username": "chirp_app", "password": "s3cret"}


def test_local_cassandra_options() -> None:
    options = connection.cluster_options(
        Settings(cassandra_hosts="10.0.0.1, 10.0.0.2", cassandra_port=19042), **CREDENTIALS
    )
    assert options["contact_points"] == ["10.0.0.1", "10.0.0.2"]
    assert options["port"] == 19042
    assert options["protocol_version"] == 4
    assert isinstance(options["auth_provider"], PlainTextAuthProvider)  # no anonymous, no plaintext mode
    assert options["ssl_context"].check_hostname is True
    profile = _profile(options)
    assert profile.consistency_level == ConsistencyLevel.LOCAL_ONE
    assert profile.serial_consistency_level == ConsistencyLevel.LOCAL_SERIAL
    policy = profile.load_balancing_policy
    assert isinstance(policy, TokenAwarePolicy)
    assert isinstance(policy._child_policy, DCAwareRoundRobinPolicy)
    assert policy._child_policy.local_dc == "datacenter1"


def test_replicated_cassandra_uses_local_quorum() -> None:
    options = connection.cluster_options(
        Settings(cassandra_replication_factor=3, cassandra_local_dc="dc2"), **CREDENTIALS
    )
    assert _profile(options).consistency_level == ConsistencyLevel.LOCAL_QUORUM
    assert _profile(options).load_balancing_policy._child_policy.local_dc == "dc2"


def test_keyspaces_options_use_tls_sigv4_and_local_quorum() -> None:
    options = connection.cluster_options(
        Settings(cassandra_sigv4=True, aws_region="eu-west-1", tls_ca_bundle=certifi.where())
    )
    assert options["contact_points"] == ["cassandra.eu-west-1.amazonaws.com"]
    assert options["port"] == 9142
    assert options["protocol_version"] == 4
    auth = options["auth_provider"]
    assert isinstance(auth, SigV4AuthProvider)
    assert auth.session.region_name == "eu-west-1"
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert context.cert_store_stats()["x509_ca"] > 0  # the configured bundle was loaded
    profile = _profile(options)
    assert profile.consistency_level == ConsistencyLevel.LOCAL_QUORUM
    assert profile.serial_consistency_level == ConsistencyLevel.LOCAL_SERIAL
    assert profile.load_balancing_policy._child_policy.local_dc == "eu-west-1"


def test_keyspaces_options_keep_explicit_endpoint_port_and_dc() -> None:
    settings = Settings(
        cassandra_sigv4=True,
        cassandra_hosts="vpce.cassandra.us-east-1.vpce.amazonaws.com",
        cassandra_port=9143,
        cassandra_local_dc="us-east-1",
    )
    options = connection.cluster_options(settings)
    assert options["contact_points"] == ["vpce.cassandra.us-east-1.vpce.amazonaws.com"]
    assert options["port"] == 9143
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert _profile(options).load_balancing_policy._child_policy.local_dc == "us-east-1"


# A missing CA bundle, the shipped trust store, TLS options: tests/unit/test_keyspaces_connection.py.


@pytest.mark.parametrize(
    "error",
    [
        NoHostAvailable("down", {}),
        OperationTimedOut("slow"),
        Unavailable("replicas", consistency=6, required_replicas=2, alive_replicas=1),
        ReadTimeout("read", consistency=6, required_responses=2, received_responses=1, data_retrieved=False),
        WriteTimeout("write", consistency=6, required_responses=2, received_responses=1, write_type=0),
    ],
    ids=lambda e: type(e).__name__,
)
def test_driver_outages_become_store_unavailable(error: Exception) -> None:
    with pytest.raises(StoreUnavailable), connection.translate_errors():
        raise error


def test_query_errors_are_not_hidden_as_outages() -> None:
    with pytest.raises(SyntaxException), connection.translate_errors():
        raise SyntaxException(0x2000, "bad cql", None)


def test_connecting_to_nothing_is_store_unavailable() -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(StoreUnavailable):
        keyspaces_pkg.connect(Settings(cassandra_hosts="127.0.0.1", cassandra_port=port), **CREDENTIALS)


def test_hosts_may_carry_their_port() -> None:
    from chirp.adapters.keyspaces.connection import contact_points, port_for
    from chirp.config import Settings

    settings = Settings(cassandra_hosts="cassandra.eu-west-1.amazonaws.com:9142", cassandra_sigv4=True)
    assert contact_points(settings) == ["cassandra.eu-west-1.amazonaws.com"]
    assert port_for(settings) == 9142
    assert port_for(Settings(cassandra_hosts="10.0.0.1,10.0.0.2", cassandra_port=9043)) == 9043


def test_a_keyspace_from_before_a_column_was_added_gets_it() -> None:
    """CREATE TABLE IF NOT EXISTS leaves an existing table alone: the columns chirp.schema added since (the media
    table's processing columns, issue 17) are added by ALTER TABLE, and only those."""

    class Row:
        def __init__(self, table_name: str, column_name: str) -> None:
            self.table_name, self.column_name = table_name, column_name

    old_media = ("media_id", "owner_id", "content_type", "size", "object_key", "created_at_ms")
    executed: list[str] = []

    class Session:
        def execute(self, statement: str, params: Any = None, timeout: float = 0) -> list[Row]:
            if statement.startswith("SELECT"):
                rows = [Row("media", c) for c in old_media]
                return rows + [Row(t.name, c) for t in schema.TABLES if t.name != "media" for c, _ in t.columns]
            executed.append(statement)
            return []

    keyspaces_pkg.add_missing_columns(Session(), "chirp")
    media_table = schema.table("media")
    assert executed == [
        f"ALTER TABLE chirp.media ADD {name} {kind}" for name, kind in media_table.columns if name not in old_media
    ]
    assert "ALTER TABLE chirp.media ADD status text" in executed

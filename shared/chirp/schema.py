"""The Keyspaces (CQL) schema of the durable records, defined once, as data.

Every table the Keyspaces adapters (``chirp.adapters.keyspaces``) read or write is one ``Table`` in ``TABLES``. The
same data renders the CQL DDL (``ddl()``, run by ``create_schema`` against Cassandra on loopback) and drives the CDK
app, which turns each ``Table`` into an ``AWS::Cassandra::Table``:

============================  =============================================================================
``Table`` field               ``AWS::Cassandra::Table`` property
============================  =============================================================================
``name``                      ``TableName``
``columns``                   ``PartitionKeyColumns`` / ``ClusteringKeyColumns`` / ``RegularColumns``
                              (``ColumnName`` + ``ColumnType``; ``cql_type`` is a plain CQL type name)
``partition_key``             ``PartitionKeyColumns`` (in order)
``clustering``                ``ClusteringKeyColumns`` (in order; ``OrderBy`` is ``"ASC"`` or ``"DESC"``)
``default_ttl_s``             ``DefaultTimeToLive`` (None: no default TTL, TTL not enabled on the table)
============================  =============================================================================

The schema only uses what Amazon Keyspaces supports: no secondary indexes, no materialized views, no user-defined
types (so no ``frozen<...>``), no static columns; counter columns live in tables that hold only key columns and
counters (and never a TTL); a table that any statement writes ``USING TTL`` to has a default TTL (which is what
enables TTL on a Keyspaces table). Partitions are bounded: per-author tweets are bucketed by calendar month (UTC)
of the id's timestamp; the small ``author_buckets`` table lists the months an author has tweeted in, newest first.
``tests/unit/test_keyspaces_schema.py`` enforces all of this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from chirp.ids import id_time_ms, min_id_for_time_ms

Order = Literal["ASC", "DESC"]

NOTIFICATION_TTL_S = 90 * 24 * 3600
"""Notifications, their unread markers and their dedupe claims expire together, 90 days after they were added;
this bounds the per-user notification partitions."""

KEYSPACES_MAX_TTL_S = 630_720_000  # 20 years: the largest TTL Keyspaces accepts
MAX_BATCH_STATEMENTS = 100  # Keyspaces: a logged batch holds at most 100 statements

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
SCALAR_TYPES = frozenset({"bigint", "int", "text", "boolean", "counter", "timestamp", "uuid", "double", "blob"})
COLLECTION_TYPES = frozenset({"list<text>", "set<text>", "set<bigint>"})


@dataclass(frozen=True, slots=True)
class Table:
    """One CQL table.

    ``columns`` lists every column, key columns included, as ``(name, cql_type)``; ``partition_key`` and the
    column names in ``clustering`` refer to it. ``default_ttl_s`` is the table's ``default_time_to_live`` in seconds
    (None when rows never expire). ``description`` says what the table is for and how it is read.
    """

    name: str
    columns: tuple[tuple[str, str], ...]
    partition_key: tuple[str, ...]
    clustering: tuple[tuple[str, Order], ...] = ()
    default_ttl_s: int | None = None
    description: str = ""

    @property
    def column_types(self) -> dict[str, str]:
        return dict(self.columns)

    @property
    def key_columns(self) -> tuple[str, ...]:
        return self.partition_key + tuple(name for name, _ in self.clustering)

    @property
    def regular_columns(self) -> tuple[str, ...]:
        keys = set(self.key_columns)
        return tuple(name for name, _ in self.columns if name not in keys)

    @property
    def is_counter_table(self) -> bool:
        """True when the table has counter columns (then every non-key column is a counter)."""
        return any(cql_type == "counter" for _, cql_type in self.columns)

    @property
    def primary_key_cql(self) -> str:
        partition = ", ".join(self.partition_key)
        if len(self.partition_key) > 1:
            partition = f"({partition})"
        return ", ".join([partition, *(name for name, _ in self.clustering)])


def _ids(*names: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, "bigint") for name in names)


TABLES: tuple[Table, ...] = (
    # ---- users ------------------------------------------------------------------------------------------------
    Table(
        name="users",
        columns=(
            ("user_id", "bigint"),
            ("username", "text"),
            ("email", "text"),
            ("display_name", "text"),
            ("password_hash", "text"),
            ("bio", "text"),
            ("created_at_ms", "bigint"),
            ("avatar_media_id", "text"),
            ("place", "text"),
            ("token_version", "int"),
        ),
        partition_key=("user_id",),
        description="A user by id (written with INSERT ... IF NOT EXISTS after both unique claims succeed; profile "
        "edits and password changes UPDATE ... IF EXISTS; account deletion deletes the row and both claims).",
    ),
    Table(
        name="users_by_username",
        columns=(("username_key", "text"), ("user_id", "bigint")),
        partition_key=("username_key",),
        description="Unique claim of a lower-cased username (LWT INSERT ... IF NOT EXISTS); username -> user id.",
    ),
    Table(
        name="users_by_email",
        columns=(("email_key", "text"), ("user_id", "bigint")),
        partition_key=("email_key",),
        description="Unique claim of a lower-cased email (LWT INSERT ... IF NOT EXISTS); rolled back with the "
        "username claim when a later step of the signup fails.",
    ),
    # ---- tweets -----------------------------------------------------------------------------------------------
    Table(
        name="tweets",
        columns=(
            ("tweet_id", "bigint"),
            ("user_id", "bigint"),
            ("username", "text"),
            ("content", "text"),
            ("created_at_ms", "bigint"),
            ("hashtags", "list<text>"),
            ("mentions", "list<text>"),
            ("urls", "list<text>"),
            ("media_urls", "list<text>"),
            ("media", "list<text>"),  # one JSON object per medium (no UDTs on Keyspaces)
            ("reply_to", "bigint"),
            ("reply_to_user_id", "bigint"),
            ("quote_tweet", "bigint"),
            ("quote_user_id", "bigint"),
        ),
        partition_key=("tweet_id",),
        description="A tweet by id (INSERT ... IF NOT EXISTS: a duplicate id is refused; DELETE ... IF EXISTS).",
    ),
    Table(
        name="tweets_by_author",
        columns=(("user_id", "bigint"), ("bucket", "int"), ("tweet_id", "bigint")),
        partition_key=("user_id", "bucket"),
        clustering=(("tweet_id", "DESC"),),
        description="An author's tweet ids per calendar month (bucket = YYYYMM of the id's UTC time), newest first.",
    ),
    Table(
        name="author_buckets",
        columns=(("user_id", "bigint"), ("bucket", "int")),
        partition_key=("user_id",),
        clustering=(("bucket", "DESC"),),
        description="The months an author has tweeted in, newest first: the buckets a timeline read walks.",
    ),
    Table(
        name="tweet_replies",
        columns=(("parent_id", "bigint"), ("tweet_id", "bigint")),
        partition_key=("parent_id",),
        clustering=(("tweet_id", "ASC"),),
        description="Replies to a tweet, oldest first (ids only).",
    ),
    Table(
        name="author_tweet_counts",
        columns=(("user_id", "bigint"), ("tweets", "counter")),
        partition_key=("user_id",),
        description="Counter: tweets per author (+1 per created tweet, -1 per deleted one).",
    ),
    # ---- engagement -------------------------------------------------------------------------------------------
    Table(
        name="tweet_counts",
        columns=(("tweet_id", "bigint"), ("likes", "counter"), ("retweets", "counter"), ("replies", "counter")),
        partition_key=("tweet_id",),
        description="Counters: likes, retweets and replies per tweet. Likes and retweets move only after the "
        "matching LWT on likes/retweets applied, so by exactly one per distinct like.",
    ),
    Table(
        name="likes",
        columns=(("tweet_id", "bigint"), ("user_id", "bigint"), ("created_at_ms", "bigint")),
        partition_key=("tweet_id",),
        clustering=(("user_id", "ASC"),),
        description="Who liked a tweet (INSERT ... IF NOT EXISTS / DELETE ... IF EXISTS); 'liked by me' is a point "
        "read per tweet; deleting a tweet drops its partition.",
    ),
    Table(
        name="likes_by_user",
        columns=(("user_id", "bigint"), ("liked_at_ms", "bigint"), ("tweet_id", "bigint")),
        partition_key=("user_id",),
        clustering=(("liked_at_ms", "DESC"), ("tweet_id", "DESC")),
        description="A user's likes, newest like first (the likes tab; account deletion walks it to take them back). "
        "Written after the like's LWT applied, deleted after the unlike's.",
    ),
    Table(
        name="retweets",
        columns=(("tweet_id", "bigint"), ("user_id", "bigint"), ("created_at_ms", "bigint")),
        partition_key=("tweet_id",),
        clustering=(("user_id", "ASC"),),
        description="Who retweeted a tweet; same access pattern as likes.",
    ),
    Table(
        name="bookmarks",
        columns=(("user_id", "bigint"), ("tweet_id", "bigint"), ("created_at_ms", "bigint")),
        partition_key=("user_id",),
        clustering=(("tweet_id", "DESC"),),
        description="A user's private bookmarks, newest tweets first (one partition per user: the page is a slice, "
        "'bookmarked by me' a point read); a deleted tweet's row is skipped when the page is hydrated.",
    ),
    # ---- notifications ----------------------------------------------------------------------------------------
    Table(
        name="notifications",
        columns=(
            ("user_id", "bigint"),
            ("notification_id", "bigint"),
            ("ntype", "text"),
            ("actor_id", "bigint"),
            ("actor_username", "text"),
            ("tweet_id", "bigint"),
            ("created_at_ms", "bigint"),
            ("dedupe_key", "text"),
            ("is_read", "boolean"),
            ("expires_at_ms", "bigint"),
        ),
        partition_key=("user_id",),
        clustering=(("notification_id", "DESC"),),
        default_ttl_s=NOTIFICATION_TTL_S,
        description="A user's notifications, newest first. Written USING TTL so that the row, its unread marker "
        "and its dedupe claim expire at the same instant (expires_at_ms); marking read re-applies that TTL.",
    ),
    Table(
        name="notifications_unread",
        columns=(("user_id", "bigint"), ("notification_id", "bigint"), ("expires_at_ms", "bigint")),
        partition_key=("user_id",),
        clustering=(("notification_id", "DESC"),),
        default_ttl_s=NOTIFICATION_TTL_S,
        description="Unread markers: one row per unread notification. The unread count is the size of this "
        "partition (paged scan); mark-read walks it up to an id and deletes the rows it marked.",
    ),
    Table(
        name="notification_dedupe",
        columns=(("user_id", "bigint"), ("dedupe_key", "text"), ("notification_id", "bigint")),
        partition_key=("user_id", "dedupe_key"),
        default_ttl_s=NOTIFICATION_TTL_S,
        description="Dedupe claims (LWT INSERT ... IF NOT EXISTS): one notification per (user, dedupe key).",
    ),
    # ---- media ------------------------------------------------------------------------------------------------
    Table(
        name="media",
        columns=(
            ("media_id", "text"),
            ("owner_id", "bigint"),
            ("content_type", "text"),
            ("size", "bigint"),
            ("object_key", "text"),
            ("created_at_ms", "bigint"),
            ("status", "text"),
            ("reason", "text"),
            ("width", "int"),
            ("height", "int"),
            ("duration_ms", "bigint"),
            ("dominant_color", "text"),
            ("alt_text", "text"),
            ("rendition_key", "text"),
            ("thumbnail_key", "text"),
            ("tweet_id", "bigint"),
        ),
        partition_key=("media_id",),
        description="Metadata of an uploaded media object (the bytes live in S3) and its processing: status,"
        " dimensions, placeholder colour, alt text and the rendition keys (UPDATEs of single columns).",
    ),
    Table(
        name="media_by_owner",
        columns=(("owner_id", "bigint"), ("media_id", "text")),
        partition_key=("owner_id",),
        clustering=(("media_id", "ASC"),),
        description="Each uploader's media ids: account deletion finds the media to delete. Written with the media "
        "row, removed with it.",
    ),
)

TABLES_BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}


def table(name: str) -> Table:
    return TABLES_BY_NAME[name]


def create_table_cql(table: Table, keyspace: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for one table, valid on Cassandra 4 and on Amazon Keyspaces."""
    columns = ", ".join(f"{name} {cql_type}" for name, cql_type in table.columns)
    cql = f"CREATE TABLE IF NOT EXISTS {keyspace}.{table.name} ({columns}, PRIMARY KEY ({table.primary_key_cql}))"
    options: list[str] = []
    if table.clustering:
        order = ", ".join(f"{name} {direction}" for name, direction in table.clustering)
        options.append(f"CLUSTERING ORDER BY ({order})")
    if table.default_ttl_s is not None:
        options.append(f"default_time_to_live = {table.default_ttl_s}")
    if options:
        cql += " WITH " + " AND ".join(options)
    return cql


def create_keyspace_cql(
    keyspace: str, replication_factor: int, *, keyspaces: bool = False, datacenter: str | None = None
) -> str:
    """``CREATE KEYSPACE IF NOT EXISTS``: on Cassandra NetworkTopologyStrategy with ``replication_factor`` copies in
    ``datacenter`` (the one LOCAL_QUORUM counts in), or SimpleStrategy without one; SingleRegionStrategy on Amazon
    Keyspaces (which replicates three ways across AZs whatever the factor says)."""
    if keyspaces:
        replication = "{'class': 'SingleRegionStrategy'}"
    elif datacenter is not None:
        if not _DATACENTER.match(datacenter):
            raise ValueError(f"invalid data center name: {datacenter!r}")
        replication = f"{{'class': 'NetworkTopologyStrategy', '{datacenter}': {replication_factor}}}"
    else:
        replication = f"{{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}"
    return f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {replication}"


_DATACENTER = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # goes into the CQL text as a quoted map key


def ddl(keyspace: str, replication_factor: int, *, keyspaces: bool = False, datacenter: str | None = None) -> list[str]:
    """The keyspace and every table, in order, each statement idempotent (IF NOT EXISTS)."""
    return [
        create_keyspace_cql(keyspace, replication_factor, keyspaces=keyspaces, datacenter=datacenter),
        *(create_table_cql(t, keyspace) for t in TABLES),
    ]


def valid_identifier(name: str) -> bool:
    """Lower-case, unquoted CQL identifier (Keyspaces table and keyspace names: at most 48 characters)."""
    return bool(_IDENTIFIER.match(name))


# ---- month buckets of per-author tweets ----------------------------------------------------------------------


def bucket_of(snowflake: int) -> int:
    """The month bucket (YYYYMM, UTC) of an id's timestamp."""
    when = datetime.fromtimestamp(id_time_ms(snowflake) / 1000, tz=UTC)
    return when.year * 100 + when.month


def bucket_start_id(bucket: int) -> int:
    """The smallest id minted in the bucket's month."""
    year, month = divmod(bucket, 100)
    return min_id_for_time_ms(int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000))


def next_bucket(bucket: int) -> int:
    year, month = divmod(bucket, 100)
    return (year + 1) * 100 + 1 if month == 12 else year * 100 + month + 1

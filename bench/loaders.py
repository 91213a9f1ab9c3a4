"""Bulk loading of a Dataset into a container's stores, in-process (HTTP would take hours for 200,000 tweets).

Embedded: users, tweets, reply counts, likes and the search index go through the stores' public methods (the code
the API runs). Servers: the search index does (``index_tweets``/``index_users`` take batches); users, tweets and
likes are written with the Keyspaces adapter's own prepared statements minus their lightweight-transaction guards,
concurrently (the adapter's create is 3-4 round trips with Paxos per row: ~60 rows/s on this box under load), as
DSBulk or ``cqlsh COPY`` would load them. Follow edges never go through the port. The GraphStore port has
only a one-edge ``follow`` (one transaction per edge on SQLite, one traversal per edge on Neptune), ~5,000 edges/s
embedded and far slower on Gremlin, so the loader writes the same rows/vertices/edges the adapters write, in bulk
(embedded: one SQLite transaction; servers: batched ``mergeV``/``mergeE`` traversals, the shape of a Neptune bulk
load). Timelines are not preloaded: every timeline starts absent (cold) and is rebuilt on its first read, exactly
what happens after a cache loss.

Embedded: the runtime keeps timelines, trends and connections in its own process but reads SQLite from disk, so the
loader runs BEFORE the runtime subprocess starts, on the same data directory (the runtime then opens the loaded
files). Servers: all state lives in the servers, so load order does not matter; we still load first."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from data import Dataset

from chirp.container import Container

T = TypeVar("T")
Log = Callable[[str], None]


def _batches(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _parallel(fn: Callable[[T], object], items: Sequence[T], workers: int) -> None:
    if workers <= 1:
        for item in items:
            fn(item)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(fn, items, chunksize=64):
            pass


def load(container: Container, data: Dataset, backend: str, log: Log) -> dict[str, float]:
    """Loads everything; returns seconds per step."""
    s = container.stores
    workers = 1 if backend == "embedded" else 24
    took: dict[str, float] = {}

    def step(name: str, fn: Callable[[], object]) -> None:
        start = time.perf_counter()
        fn()
        took[name] = round(time.perf_counter() - start, 1)
        log(f"loaded {name} in {took[name]}s")

    if backend == "embedded":
        step("users", lambda: _parallel(s.users.create, data.users, workers))
    else:
        step("users", lambda: _users_cql(container, data))
    step("follows", lambda: bulk_follows(container, backend, data.follows, data.generated_at_ms - 86_400_000))
    if backend == "embedded":
        step("tweets", lambda: _parallel(s.tweets.create, data.tweets, workers))
        replies = list(Counter(t.reply_to for t in data.tweets if t.reply_to is not None).items())
        step("reply_counts", lambda: _parallel(lambda kv: s.engagement.adjust_replies(kv[0], kv[1]), replies, workers))
        at = data.generated_at_ms
        step("likes", lambda: _parallel(lambda like: s.engagement.add_like(like[0], like[1], at), data.likes, workers))
    else:
        step("tweets_replies_likes", lambda: _tweets_cql(container, data))
    batch = 500 if backend == "embedded" else 1000
    step("search_users", lambda: [s.search.index_users(b) for b in _batches(data.users, batch)])
    step(
        "search_tweets",
        lambda: _parallel(s.search.index_tweets, list(_batches(data.tweets, batch)), 1 if backend == "embedded" else 2),
    )
    refresh = getattr(s.search, "refresh", None)
    if callable(refresh):
        refresh()
    return took


def _cql(store: Any, cql: dict[str, str], name: str) -> Any:
    """The adapter's statement ``name`` prepared without its lightweight-transaction guard (a bulk load writes
    fresh, unique rows: what DSBulk or cqlsh COPY would do)."""
    session = store._session
    keyspace = store._q._keyspace
    return session.prepare(cql[name].replace(" IF NOT EXISTS", "").format(ks=keyspace))


def _users_cql(container: Container, data: Dataset) -> None:
    from chirp.adapters.keyspaces.connection import write_many
    from chirp.adapters.keyspaces.users import CQL

    store: Any = container.stores.users
    users = data.users
    write_many(store._session, _cql(store, CQL, "claim_username"), [(u.username_key, u.user_id) for u in users])
    write_many(store._session, _cql(store, CQL, "claim_email"), [(u.email.lower(), u.user_id) for u in users])
    rows = [(u.user_id, u.username, u.email, u.display_name, u.password_hash, u.bio, u.created_at_ms) for u in users]
    write_many(store._session, _cql(store, CQL, "insert"), rows)


def _tweets_cql(container: Container, data: Dataset) -> None:
    from chirp.adapters.keyspaces.connection import write_many
    from chirp.adapters.keyspaces.engagement import CQL as ENGAGEMENT
    from chirp.adapters.keyspaces.tweets import CQL as TWEETS
    from chirp.schema import bucket_of

    store: Any = container.stores.tweets
    session = store._session
    tweets = data.tweets
    rows = [
        (
            t.tweet_id,
            t.user_id,
            t.username,
            t.content,
            t.created_at_ms,
            list(t.hashtags),
            list(t.mentions),
            list(t.urls),
            list(t.media_urls),
            t.reply_to,
            t.reply_to_user_id,
            t.quote_tweet,
            t.quote_user_id,
        )
        for t in tweets
    ]
    write_many(session, _cql(store, TWEETS, "insert"), rows)
    write_many(
        session, _cql(store, TWEETS, "index_author"), [(t.user_id, bucket_of(t.tweet_id), t.tweet_id) for t in tweets]
    )
    buckets = {(t.user_id, bucket_of(t.tweet_id)) for t in tweets}
    write_many(session, _cql(store, TWEETS, "add_bucket"), sorted(buckets))
    replies = [(t.reply_to, t.tweet_id) for t in tweets if t.reply_to is not None]
    write_many(session, _cql(store, TWEETS, "index_reply"), replies)
    per_author = Counter(t.user_id for t in tweets)
    bump_author = session.prepare(TWEETS["count_up"].replace("tweets + 1", "tweets + ?").format(ks=store._q._keyspace))
    write_many(session, bump_author, [(n, author) for author, n in per_author.items()])
    engagement: Any = container.stores.engagement
    reply_counts = Counter(parent for parent, _ in replies)
    write_many(session, _cql(engagement, ENGAGEMENT, "bump_replies"), [(n, p) for p, n in reply_counts.items()])
    at = data.generated_at_ms
    write_many(session, _cql(engagement, ENGAGEMENT, "add_like"), [(t, u, at) for t, u in data.likes])
    like_counts = Counter(t for t, _ in data.likes)
    write_many(session, _cql(engagement, ENGAGEMENT, "bump_likes"), [(n, t) for t, n in like_counts.items()])


def bulk_follows(container: Container, backend: str, edges: Sequence[tuple[int, int]], at_ms: int) -> None:
    """Writes follow edges (follower, followee) with the adapters' own layout; the i-th edge is followed at
    ``at_ms + i`` (so the last edge is the newest follow). Counts are added to existing ones."""
    (_follows_sqlite if backend == "embedded" else _follows_gremlin)(container, edges, at_ms)


def _follows_sqlite(container: Container, edges: Sequence[tuple[int, int]], at: int) -> None:
    graph: Any = container.stores.graph
    db = graph._db  # the adapter's own database and schema (see the module docstring)
    followers = Counter(followee for _, followee in edges)
    following = Counter(follower for follower, _ in edges)
    with db.transaction() as conn:
        conn.executemany(
            "INSERT OR IGNORE INTO follows (follower_id, followee_id, created_at_ms) VALUES (?,?,?)",
            [(a, b, at + i) for i, (a, b) in enumerate(edges)],
        )
        users = set(followers) | set(following)
        conn.executemany(
            "INSERT INTO follow_counts (user_id, followers, following) VALUES (?,?,?) ON CONFLICT(user_id) DO UPDATE"
            " SET followers = followers + excluded.followers, following = following + excluded.following",
            [(u, followers.get(u, 0), following.get(u, 0)) for u in users],
        )


def _follows_gremlin(container: Container, edges: Sequence[tuple[int, int]], at: int) -> None:
    from gremlin_python.process.traversal import Direction, T
    from gremlin_python.statics import long

    from chirp.adapters.neptune import FOLLOWS, USER, edge_id, vertex_id

    graph: Any = container.stores.graph
    followers = Counter(followee for _, followee in edges)
    following = Counter(follower for follower, _ in edges)
    vertices = [
        {
            T.id: vertex_id(u),
            T.label: USER,
            "user_id": long(u),
            "followers": long(followers.get(u, 0)),
            "following": long(following.get(u, 0)),
        }
        for u in sorted(set(followers) | set(following))
    ]
    edge_maps = [
        {
            T.id: edge_id(a, b),
            T.label: FOLLOWS,
            Direction.OUT: vertex_id(a),
            Direction.IN: vertex_id(b),
            "created_at_ms": long(at + i),
            "follower_id": long(a),
            "followee_id": long(b),
        }
        for i, (a, b) in enumerate(edges)
    ]

    def put_vertices(part: Sequence[dict[Any, Any]]) -> None:
        graph._run(lambda g: g.inject(list(part)).unfold().merge_v().iterate())

    def put_edges(part: Sequence[dict[Any, Any]]) -> None:
        graph._run(lambda g: g.inject(list(part)).unfold().merge_e().iterate())

    # One writer: TinkerGraph's per-vertex edge lists are not thread-safe (two concurrent mergeE into the same vertex
    # left a null edge behind: NullPointerException on later reads). Neptune would take parallel bulk writes.
    _parallel(put_vertices, list(_batches(vertices, 1000)), 1)
    _parallel(put_edges, list(_batches(edge_maps, 1000)), 1)

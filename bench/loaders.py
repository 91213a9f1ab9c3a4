"""Bulk loading of a Dataset into a container's stores, in-process (HTTP would take hours for 200,000 tweets).

Everything goes through the ports' bulk paths (``bulk_load_users``/``tweets``/``likes``/``follows``), which write
the rows each adapter's own methods write, in bulk: one SQLite transaction embedded; on the servers, concurrent
Keyspaces writes without the per-row lightweight transactions (as DSBulk or ``cqlsh COPY`` load; the adapter's
create is 3-4 round trips with Paxos per row, ~60 rows/s on this box under load) and batched ``mergeV``/``mergeE``
traversals (the shape of a Neptune bulk load). Reply counts go through ``adjust_replies``, the search index through
``index_tweets``/``index_users`` (batches). Timelines are not preloaded: every timeline starts absent (cold) and is
rebuilt on its first read, exactly what happens after a cache loss.

Embedded: the runtime keeps timelines, trends and connections in its own process but reads SQLite from disk, so the
loader runs BEFORE the runtime subprocess starts, on the same data directory (the runtime then opens the loaded
files). Servers: all state lives in the servers, so load order does not matter; we still load first."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

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


TWEET_CACHE_DAYS = 3  # the tweet cache's TTL for tweet objects (RedisTweetCache tweet_ttl_s)


def load(container: Container, data: Dataset, backend: str, log: Log) -> dict[str, float]:
    """Loads everything; returns seconds per step."""
    s = container.stores
    batch = 500 if backend == "embedded" else 1000
    took: dict[str, float] = {}

    def step(name: str, fn: Callable[[], object]) -> None:
        start = time.perf_counter()
        fn()
        took[name] = round(time.perf_counter() - start, 1)
        log(f"loaded {name} in {took[name]}s")

    step("users", lambda: s.users.bulk_load_users(data.users))
    step("follows", lambda: bulk_follows(container, data.follows, data.generated_at_ms - 86_400_000))
    step("tweets", lambda: s.tweets.bulk_load_tweets(data.tweets))
    replies = list(Counter(t.reply_to for t in data.tweets if t.reply_to is not None).items())
    workers = 1 if backend == "embedded" else 24
    step("reply_counts", lambda: _parallel(lambda kv: s.engagement.adjust_replies(kv[0], kv[1]), replies, workers))
    at = data.generated_at_ms
    step("likes", lambda: s.engagement.bulk_load_likes([(tweet_id, user_id, at) for tweet_id, user_id in data.likes]))
    # The post path caches every tweet it stores (TweetHydrator.fresh) for the cache's tweet TTL; bulk loading skips
    # it, so the tweets of the last TWEET_CACHE_DAYS are cached here as posting would have left them (objects only:
    # counts changed by later likes are read from the store, as after any like). Embedded: this process's cache only.
    recent = [t for t in data.tweets if t.created_at_ms >= at - TWEET_CACHE_DAYS * 86_400_000]
    step("tweet_cache", lambda: [s.tweet_cache.fill(tweets=b) for b in _batches(recent, batch)])
    step("search_users", lambda: [s.search.index_users(b) for b in _batches(data.users, batch)])
    step(
        "search_tweets",
        lambda: _parallel(s.search.index_tweets, list(_batches(data.tweets, batch)), 1 if backend == "embedded" else 2),
    )
    s.search.refresh()
    return took


def bulk_follows(container: Container, edges: Sequence[tuple[int, int]], at_ms: int) -> None:
    """Writes follow edges (follower, followee); the i-th edge is followed at ``at_ms + i`` (so the last edge is the
    newest follow). Counts are added to existing ones."""
    container.stores.graph.bulk_load_follows([(a, b, at_ms + i) for i, (a, b) in enumerate(edges)])

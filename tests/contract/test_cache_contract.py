"""Contract of the cache-side ports (production: ElastiCache Redis) — timelines, WebSocket connections, trends,
rate limits and idempotency records — run against the in-process adapters and the Redis adapters on a real
redis-server."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from chirp.adapters.embedded.memory import (
    MemoryConnectionRegistry,
    MemoryRateLimiter,
    MemoryTimelineStore,
    MemoryTrendStore,
)
from chirp.adapters.embedded.records import RecordsDatabase, SqliteIdempotencyStore
from chirp.adapters.redis_cache.client import connect
from chirp.adapters.redis_cache.connections import RedisConnectionRegistry
from chirp.adapters.redis_cache.limits import RedisIdempotencyStore, RedisRateLimiter
from chirp.adapters.redis_cache.timelines import RedisTimelineStore
from chirp.adapters.redis_cache.trends import RedisTrendStore
from chirp.ids import CHIRP_EPOCH_MS, TIME_SHIFT
from chirp.model import now_ms

CAP = 5
TTL = 3600


@pytest.fixture
def redis_client(server_set: Any) -> Iterator[Any]:
    if server_set is None:
        yield None
        return
    client = connect(server_set.endpoint("redis").url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def timelines(backend: str, redis_client: Any) -> Any:
    return (
        MemoryTimelineStore(cap=CAP, ttl_s=TTL)
        if backend == "embedded"
        else RedisTimelineStore(redis_client, cap=CAP, ttl_s=TTL, fan_out_chunk=3)
    )


def big_id(ms_offset: int, low: int = 0) -> int:
    """A realistic 64-bit snowflake (too large for a double)."""
    return ((now_ms() - CHIRP_EPOCH_MS + ms_offset) << TIME_SHIFT) | low


def user() -> int:
    return random.randrange(10**17, 10**18)


# -- timelines -------------------------------------------------------------------------------------------------


def test_a_timeline_that_was_never_built_does_not_exist(timelines: Any) -> None:
    u = user()
    assert timelines.exists(u) is False
    assert timelines.page(u, before=None, after=None, limit=10) is None
    assert timelines.add_if_exists([u], big_id(0)) == 0
    assert timelines.page(u, before=None, after=None, limit=10) is None


def test_an_empty_built_timeline_exists(timelines: Any) -> None:
    u = user()
    timelines.build(u, [])
    assert timelines.exists(u) is True
    assert timelines.page(u, before=None, after=None, limit=10) == []
    assert timelines.oldest(u) is None


def test_fan_out_writes_only_existing_timelines_and_caps_them(timelines: Any) -> None:
    active, inactive = [user() for _ in range(7)], [user() for _ in range(4)]
    for u in active:
        timelines.build(u, [])
    ids = [big_id(i) for i in range(8)]
    for tweet_id in ids:
        assert timelines.add_if_exists(active + inactive, tweet_id) == len(active)
    for u in active:
        assert timelines.page(u, before=None, after=None, limit=100) == sorted(ids, reverse=True)[:CAP]
    assert all(not timelines.exists(u) for u in inactive)


def test_ids_that_share_a_millisecond_keep_exact_order_and_cursors(timelines: Any) -> None:
    u = user()
    same_ms = [big_id(0, low) for low in (7, 1, 3, 2)]  # differ only in the low bits
    timelines.build(u, same_ms)
    ordered = sorted(same_ms, reverse=True)
    assert timelines.page(u, before=None, after=None, limit=10) == ordered[:CAP]
    assert timelines.page(u, before=ordered[1], after=None, limit=10) == ordered[2:]
    assert timelines.page(u, before=None, after=ordered[2], limit=10) == ordered[:2]


def test_merge_and_remove_are_idempotent(timelines: Any) -> None:
    u, first = user(), big_id(1)
    timelines.build(u, [first])
    extra = [big_id(2), big_id(3)]
    timelines.merge(u, extra)
    timelines.merge(u, extra)
    assert timelines.page(u, before=None, after=None, limit=10) == [extra[1], extra[0], first]
    timelines.remove([u], [extra[0]])
    timelines.remove([u], [extra[0]])
    assert timelines.page(u, before=None, after=None, limit=10) == [extra[1], first]
    assert timelines.oldest(u) == first
    missing = user()
    timelines.merge(missing, extra)
    assert timelines.exists(missing) is False


# -- connections -----------------------------------------------------------------------------------------------


@pytest.fixture
def connections(backend: str, redis_client: Any) -> Any:
    return MemoryConnectionRegistry() if backend == "embedded" else RedisConnectionRegistry(redis_client)


def test_connections_are_found_by_user_and_removed(connections: Any) -> None:
    a, b = user(), user()
    connections.register("c1", a)
    connections.register("c2", a)
    connections.register("c3", b)
    assert connections.connections_of([a, b, user()]) == {a: ["c1", "c2"], b: ["c3"]}
    assert connections.unregister("c1") == a
    assert connections.unregister("c1") is None
    assert connections.connections_of([a]) == {a: ["c2"]}


def test_celebrity_subscriptions_follow_their_connection(connections: Any) -> None:
    fan, celeb = user(), user()
    connections.subscribe("ghost", [celeb])  # an unknown connection cannot subscribe
    assert connections.subscribers(celeb) == []
    connections.register("c1", fan)
    connections.subscribe("c1", [celeb])
    connections.subscribe("c1", [celeb])
    assert connections.subscribers(celeb) == ["c1"]
    connections.unsubscribe("c1", [celeb])
    assert connections.subscribers(celeb) == []
    connections.subscribe("c1", [celeb])
    connections.unregister("c1")
    assert connections.subscribers(celeb) == []


# -- trends ----------------------------------------------------------------------------------------------------


@pytest.fixture
def trends(backend: str, redis_client: Any) -> Any:
    return MemoryTrendStore() if backend == "embedded" else RedisTrendStore(redis_client)


def test_trends_rank_by_decayed_weight_and_count_tweets(trends: Any) -> None:
    now = now_ms()
    for i in range(3):
        trends.add("fresh", 100 + i, 1.0, now - 1000)
    trends.add("stale", 200, 1.0, now - 45 * 60_000)
    trends.add("stale", 201, 1.0, now - 45 * 60_000)
    trends.add("stale", 201, 1.0, now - 45 * 60_000)  # re-delivery counts once
    trends.add("ancient", 300, 5.0, now - 3 * 3600_000)  # outside the window
    top = trends.top(now_ms=now, limit=10, window_s=3600, half_life_s=900)
    assert [(t.hashtag, t.tweet_count) for t in top] == [("fresh", 3), ("stale", 2)]
    assert top[0].score == pytest.approx(3.0, rel=0.05)
    assert top[1].score == pytest.approx(2 * 0.5**3, rel=0.1)


def test_a_removed_tweet_takes_its_contribution_back(trends: Any) -> None:
    now = now_ms()
    trends.add("topic", 1, 1.0, now)
    trends.add("topic", 2, 1.0, now)
    trends.add("other", 2, 1.0, now)
    trends.remove_tweet(2)
    trends.remove_tweet(2)
    top = trends.top(now_ms=now, limit=10, window_s=3600, half_life_s=900)
    assert [(t.hashtag, t.tweet_count) for t in top] == [("topic", 1)]


def test_claims_are_first_come_only(trends: Any) -> None:
    key = f"k{user()}"
    assert trends.claim(key, 60) is True
    assert trends.claim(key, 60) is False


# -- rate limits and idempotency -------------------------------------------------------------------------------


@pytest.fixture
def limiter(backend: str, redis_client: Any) -> Any:
    return MemoryRateLimiter() if backend == "embedded" else RedisRateLimiter(redis_client)


def test_the_sliding_window_allows_exactly_the_limit(limiter: Any) -> None:
    key, now = f"k{user()}", now_ms()
    decisions = [limiter.hit(key, limit=3, window_s=10, now_ms=now + i) for i in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[3].retry_after == 10
    assert limiter.hit(key, limit=3, window_s=10, now_ms=now + 10_001).allowed is True


@pytest.fixture
def idempotency(backend: str, redis_client: Any, tmp_path: Any) -> Any:
    if backend == "embedded":
        return SqliteIdempotencyStore(RecordsDatabase(tmp_path / "r.db"))
    return RedisIdempotencyStore(redis_client)


def test_idempotency_records(idempotency: Any) -> None:
    key = f"k{user()}"
    assert idempotency.get(key) is None
    assert idempotency.put_if_absent(key, "pending", 60) is True
    assert idempotency.put_if_absent(key, "other", 60) is False
    idempotency.put(key, "42", 60)
    assert idempotency.get(key) == "42"
    idempotency.delete(key)
    assert idempotency.get(key) is None

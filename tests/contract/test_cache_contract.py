"""Contract of the cache-side ports (production: ElastiCache Redis) — timelines, WebSocket connections, trends,
rate limits and idempotency records — run against the in-process adapters and the Redis adapters on a real
redis-server."""

from __future__ import annotations

import random
import time
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
from chirp.model import SafetySets, now_ms
from chirp.ports import (
    ConnectionRegistry,
    IdempotencyRecord,
    IdempotencyStore,
    RateLimiter,
    TimelineStore,
    TrendStore,
)

CAP = 5
TTL = 3600


@pytest.fixture
def redis_client(server_set: Any) -> Iterator[Any]:
    if server_set is None:
        yield None
        return
    ep = server_set.endpoint("redis")
    client = connect(ep.url, password=ep.extra["password"], ca_file=ep.extra["ca_file"])  # TLS + AUTH, as on AWS
    client.flushdb()
    yield client
    client.close()


TRIM_EVERY = 4  # the Redis adapter trims lazily: on one fan-out write in TRIM_EVERY (the embedded one on every write)
CELEBRITIES_TTL = 1


@pytest.fixture
def timelines(backend: str, redis_client: Any) -> TimelineStore:
    return (
        MemoryTimelineStore(cap=CAP, ttl_s=TTL, celebrities_ttl_s=CELEBRITIES_TTL)
        if backend == "embedded"
        else RedisTimelineStore(
            redis_client,
            cluster=backend == "redis-cluster",  # tests/cluster runs this suite on a Redis Cluster
            cap=CAP,
            ttl_s=TTL,
            fan_out_chunk=3,
            trim_every=TRIM_EVERY,
            celebrities_ttl_s=CELEBRITIES_TTL,
        )
    )


def big_id(ms_offset: int, low: int = 0) -> int:
    """A realistic 64-bit snowflake (too large for a double)."""
    return ((now_ms() - CHIRP_EPOCH_MS + ms_offset) << TIME_SHIFT) | low


def user() -> int:
    return random.randrange(10**17, 10**18)


# -- timelines -------------------------------------------------------------------------------------------------


def test_a_timeline_that_was_never_built_does_not_exist(timelines: TimelineStore) -> None:
    u = user()
    assert timelines.exists(u) is False
    assert timelines.page(u, before=None, after=None, limit=10) is None
    assert timelines.add_if_exists([u], big_id(0)) == 0
    assert timelines.page(u, before=None, after=None, limit=10) is None


def test_an_empty_built_timeline_exists(timelines: TimelineStore) -> None:
    u = user()
    timelines.build(u, [])
    assert timelines.exists(u) is True
    assert timelines.page(u, before=None, after=None, limit=10) == []
    assert timelines.oldest(u) is None


def test_bulk_building_builds_each_timeline_as_build_does(timelines: TimelineStore) -> None:
    # more timelines than the Redis adapter's chunk (3 here), so several pipelines run
    short, long, empty, absent = [user() for _ in range(4)], [user() for _ in range(3)], user(), user()
    few = [big_id(i) for i in range(CAP - 1)]
    many = [big_id(100 + i) for i in range(CAP + 3)]
    timelines.build_many({**dict.fromkeys(short, few), **dict.fromkeys(long, many), empty: []})
    for u in short:
        assert timelines.page(u, before=None, after=None, limit=100) == sorted(few, reverse=True)
        assert timelines.truncated(u) is False
    for u in long:  # the newest cap ids, marked as having older ones left out
        assert timelines.page(u, before=None, after=None, limit=100) == sorted(many, reverse=True)[:CAP]
        assert timelines.truncated(u) is True
    assert timelines.exists(empty) and timelines.page(empty, before=None, after=None, limit=10) == []
    assert not timelines.exists(absent)
    assert timelines.add_if_exists([*short, empty, absent], big_id(500)) == len(short) + 1  # fan-out sees them
    timelines.build_many({})


def test_dropped_timelines_no_longer_exist(timelines: TimelineStore) -> None:
    gone, kept, tweet_id = [user() for _ in range(4)], user(), big_id(1)
    timelines.build_many({u: [tweet_id] for u in [*gone, kept]})
    timelines.set_celebrities(gone[0], [7])
    timelines.drop(gone)
    assert not any(timelines.exists(u) for u in gone)
    assert timelines.celebrities(gone[0]) is None
    assert timelines.add_if_exists(gone, big_id(2)) == 0
    assert timelines.page(kept, before=None, after=None, limit=10) == [tweet_id]
    timelines.drop([])


def test_fan_out_writes_only_existing_timelines_and_caps_them(timelines: TimelineStore) -> None:
    active, inactive = [user() for _ in range(7)], [user() for _ in range(4)]
    for u in active:
        timelines.build(u, [])
    ids = [big_id(i) for i in range(8)]
    for tweet_id in ids:
        assert timelines.add_if_exists(active + inactive, tweet_id) == len(active)
    for u in active:
        assert timelines.page(u, before=None, after=None, limit=100) == sorted(ids, reverse=True)[:CAP]
    assert all(not timelines.exists(u) for u in inactive)


def test_fan_out_keeps_the_newest_cap_ids_and_trims_the_rest_within_a_few_writes(timelines: TimelineStore) -> None:
    u = user()
    timelines.build(u, [])
    written: list[int] = []
    for i in range(3 * TRIM_EVERY + 1):
        written.append(big_id(i))
        timelines.add_if_exists([u], written[-1])
        held = timelines.page(u, before=None, after=None, limit=100)
        assert held is not None
        newest = sorted(written, reverse=True)
        assert held[: min(CAP, len(newest))] == newest[:CAP]  # never trimmed into the newest cap
        assert len(held) < CAP + TRIM_EVERY  # never more than a few writes behind on trimming
        assert held == newest[: len(held)]  # whatever is held beyond the cap is the next newest, no gap
    assert timelines.truncated(u) is True
    assert timelines.oldest(u) == min(timelines.page(u, before=None, after=None, limit=100) or [])


def test_a_timeline_is_truncated_once_ids_older_than_it_holds_exist(timelines: TimelineStore) -> None:
    complete, built_partial, merged_partial, capped, missing = (user() for _ in range(5))
    ids = [big_id(i) for i in range(CAP + 2)]
    timelines.build(complete, ids[1:3])
    timelines.merge(complete, [ids[3]])
    assert timelines.truncated(complete) is False  # a short page of it is the whole story
    timelines.build(built_partial, [ids[1]], truncated=True)
    timelines.build(merged_partial, [ids[1]])
    timelines.merge(merged_partial, [ids[2]], truncated=True)
    timelines.build(capped, ids)
    assert timelines.page(capped, before=None, after=None, limit=100) == ids[::-1][:CAP]
    for u in (built_partial, merged_partial, capped):
        assert timelines.truncated(u) is True
    timelines.build(complete, [ids[4]])  # extended by a complete read: still not truncated
    assert timelines.truncated(complete) is False
    assert timelines.truncated(missing) is False
    # The marks are not ids: pages, cursors and oldest() see tweet ids only.
    assert timelines.page(built_partial, before=None, after=None, limit=10) == [ids[1]]
    assert timelines.page(built_partial, before=ids[1], after=None, limit=10) == []
    assert timelines.oldest(built_partial) == ids[1]
    timelines.build(missing, [], truncated=True)
    assert timelines.page(missing, before=None, after=None, limit=10) == []
    assert timelines.oldest(missing) is None


def test_building_sets_the_truncated_mark_as_told(timelines: TimelineStore) -> None:
    """A timeline created empty and truncated (reads fall back to the store until it is filled), filled by a build
    from a complete read: no longer truncated, and it keeps what fan-out added meanwhile. Trimming still marks it."""
    placeholder, overfull = user(), user()
    ids = [big_id(i) for i in range(CAP + 2)]
    timelines.build(placeholder, [], truncated=True)
    assert timelines.truncated(placeholder) is True
    assert timelines.add_if_exists([placeholder], ids[5]) == 1  # fanned out while the store was read
    timelines.build(placeholder, ids[1:3], truncated=False)
    assert timelines.truncated(placeholder) is False
    assert timelines.page(placeholder, before=None, after=None, limit=10) == [ids[5], ids[2], ids[1]]
    timelines.build(placeholder, [ids[3]], truncated=True)
    assert timelines.truncated(placeholder) is True
    timelines.build(overfull, [], truncated=True)
    timelines.build(overfull, ids, truncated=False)
    assert timelines.truncated(overfull) is True  # more than the cap: trimmed, so marked
    assert timelines.page(overfull, before=None, after=None, limit=100) == ids[::-1][:CAP]


def test_page_many_reads_several_timelines_at_once(timelines: TimelineStore) -> None:
    a, b, missing = user(), user(), user()
    one, two, three = big_id(1), big_id(2), big_id(3)
    timelines.build(a, [one, three])
    timelines.build(b, [two])
    assert timelines.page_many([a, b, missing, a], before=None, after=None, limit=10) == {
        a: [three, one],
        b: [two],
        missing: None,
    }
    assert timelines.page_many([a, b], before=three, after=one, limit=10) == {a: [], b: [two]}
    assert timelines.page_many([a], before=None, after=None, limit=1) == {a: [three]}
    assert timelines.page_many([], before=None, after=None, limit=1) == {}


def test_cached_celebrity_followees_are_kept_forgotten_and_expire(timelines: TimelineStore) -> None:
    reader, other, nobody = user(), user(), user()
    stars = [big_id(1), 7, big_id(2)]
    assert timelines.celebrities(reader) is None
    timelines.set_celebrities(reader, stars)
    timelines.set_celebrities(other, [])
    assert timelines.celebrities(reader) == stars  # in the order given
    assert timelines.celebrities(other) == []  # "follows no celebrity" is an answer too, not a miss
    timelines.forget_celebrities([reader, nobody])
    assert timelines.celebrities(reader) is None
    assert timelines.celebrities(other) == []
    timelines.forget_celebrities([])
    time.sleep(CELEBRITIES_TTL + 1.1)
    assert timelines.celebrities(other) is None


def test_cached_safety_sets_are_kept_forgotten_and_expire(timelines: TimelineStore) -> None:
    reader, other, nobody = user(), user(), user()
    sets = SafetySets(
        blocking=frozenset({big_id(1), 7}),
        blocked_by=frozenset({big_id(2)}),
        muting=frozenset({9}),
        muted_by=frozenset({big_id(3)}),
    )
    assert timelines.safety(reader) is None
    timelines.set_safety(reader, sets)
    timelines.set_safety(other, SafetySets())
    assert timelines.safety(reader) == sets
    assert timelines.safety(other) == SafetySets()  # "blocks no one" is an answer too, not a miss
    timelines.forget_safety([reader, nobody])
    assert timelines.safety(reader) is None
    assert timelines.safety(other) == SafetySets()
    timelines.forget_safety([])
    time.sleep(CELEBRITIES_TTL + 1.1)
    assert timelines.safety(other) is None


def test_ids_that_share_a_millisecond_keep_exact_order_and_cursors(timelines: TimelineStore) -> None:
    u = user()
    same_ms = [big_id(0, low) for low in (7, 1, 3, 2)]  # differ only in the low bits
    timelines.build(u, same_ms)
    ordered = sorted(same_ms, reverse=True)
    assert timelines.page(u, before=None, after=None, limit=10) == ordered[:CAP]
    assert timelines.page(u, before=ordered[1], after=None, limit=10) == ordered[2:]
    assert timelines.page(u, before=None, after=ordered[2], limit=10) == ordered[:2]


def test_merge_and_remove_are_idempotent(timelines: TimelineStore) -> None:
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
def connections(backend: str, redis_client: Any) -> ConnectionRegistry:
    return MemoryConnectionRegistry() if backend == "embedded" else RedisConnectionRegistry(redis_client)


def test_connections_are_found_by_user_and_removed(connections: ConnectionRegistry) -> None:
    a, b = user(), user()
    connections.register("c1", a)
    connections.register("c2", a)
    connections.register("c3", b)
    assert connections.connections_of([a, b, user()]) == {a: ["c1", "c2"], b: ["c3"]}
    assert connections.unregister("c1") == a
    assert connections.unregister("c1") is None
    assert connections.connections_of([a]) == {a: ["c2"]}


def test_celebrity_subscriptions_follow_their_connection(connections: ConnectionRegistry) -> None:
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
def trends(backend: str, redis_client: Any) -> TrendStore:
    return MemoryTrendStore() if backend == "embedded" else RedisTrendStore(redis_client)


def test_trends_rank_by_decayed_weight_and_count_tweets(trends: TrendStore) -> None:
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


def test_a_removed_tweet_takes_its_contribution_back(trends: TrendStore) -> None:
    now = now_ms()
    trends.add("topic", 1, 1.0, now)
    trends.add("topic", 2, 1.0, now)
    trends.add("other", 2, 1.0, now)
    trends.remove_tweet(2)
    trends.remove_tweet(2)
    top = trends.top(now_ms=now, limit=10, window_s=3600, half_life_s=900)
    assert [(t.hashtag, t.tweet_count) for t in top] == [("topic", 1)]


def test_trends_count_in_their_place_and_worldwide(trends: TrendStore) -> None:
    now = now_ms()
    trends.add("local", 10, 1.0, now, "FR")
    trends.add("local", 11, 1.0, now, "FR")
    trends.add("local", 11, 1.0, now, "FR")  # re-delivery counts once
    trends.add("elsewhere", 12, 3.0, now, "DE")
    trends.add("nowhere", 13, 2.0, now)  # no place: worldwide only

    def tags(place: str | None) -> list[tuple[str, int]]:
        top = trends.top(now_ms=now, limit=10, window_s=3600, half_life_s=900, place=place)
        return [(t.hashtag, t.tweet_count) for t in top]

    assert tags(None) == [("elsewhere", 1), ("local", 2), ("nowhere", 1)]
    assert tags("FR") == [("local", 2)]
    assert tags("DE") == [("elsewhere", 1)]
    assert tags("JP") == []
    trends.remove_tweet(11)  # a deleted tweet leaves its place's trends and the world's
    assert tags("FR") == [("local", 1)]
    assert ("local", 1) in tags(None)


def test_claims_are_first_come_only(trends: TrendStore) -> None:
    key = f"k{user()}"
    assert trends.claim(key, 60) is True
    assert trends.claim(key, 60) is False


# -- rate limits and idempotency -------------------------------------------------------------------------------


@pytest.fixture
def limiter(backend: str, redis_client: Any) -> RateLimiter:
    return MemoryRateLimiter() if backend == "embedded" else RedisRateLimiter(redis_client)


def test_the_sliding_window_allows_exactly_the_limit(limiter: RateLimiter) -> None:
    key, now = f"k{user()}", now_ms()
    decisions = [limiter.hit(key, limit=3, window_s=10, now_ms=now + i) for i in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[3].retry_after == 10
    assert limiter.hit(key, limit=3, window_s=10, now_ms=now + 10_001).allowed is True


@pytest.fixture
def idempotency(backend: str, redis_client: Any, tmp_path: Any) -> IdempotencyStore:
    if backend == "embedded":
        return SqliteIdempotencyStore(RecordsDatabase(tmp_path / "r.db"))
    return RedisIdempotencyStore(redis_client)


def test_an_idempotency_claim_holds_the_key_with_its_fingerprint(idempotency: IdempotencyStore) -> None:
    key = f"k{user()}"
    assert idempotency.claim(key, "fp-a", 60) is None
    # Held in flight: a second claim changes nothing and sees who holds it, whatever its own fingerprint.
    assert idempotency.claim(key, "fp-a", 60) == IdempotencyRecord(fingerprint="fp-a", result=None)
    assert idempotency.claim(key, "fp-b", 60) == IdempotencyRecord(fingerprint="fp-a", result=None)
    assert idempotency.complete(key, "fp-b", "7", 60) is False  # only the holder completes
    assert idempotency.complete(key, "fp-a", "42", 60) is True
    assert idempotency.complete(key, "fp-a", "43", 60) is False  # a result is final
    assert idempotency.claim(key, "fp-b", 60) == IdempotencyRecord(fingerprint="fp-a", result="42")
    idempotency.release(key, "fp-a")  # a completed record is not released
    assert idempotency.claim(key, "fp-a", 60) == IdempotencyRecord(fingerprint="fp-a", result="42")


def test_a_released_idempotency_claim_frees_the_key_but_only_for_its_holder(idempotency: IdempotencyStore) -> None:
    key = f"k{user()}"
    assert idempotency.claim(key, "fp-a", 60) is None
    idempotency.release(key, "fp-b")
    assert idempotency.claim(key, "fp-b", 60) == IdempotencyRecord(fingerprint="fp-a", result=None)
    idempotency.release(key, "fp-a")
    assert idempotency.claim(key, "fp-b", 60) is None
    assert idempotency.complete(key, "fp-a", "1", 60) is False
    assert idempotency.complete(key, "fp-b", "2", 60) is True
    assert idempotency.claim(key, "fp-c", 60) == IdempotencyRecord(fingerprint="fp-b", result="2")


def test_idempotency_keys_are_independent(idempotency: IdempotencyStore) -> None:
    one, two = f"k{user()}", f"k{user()}"
    assert idempotency.claim(one, "fp", 60) is None
    assert idempotency.claim(two, "fp", 60) is None
    assert idempotency.complete(two, "fp", "2", 60) is True
    assert idempotency.claim(one, "fp", 60) == IdempotencyRecord(fingerprint="fp", result=None)


def test_an_in_flight_idempotency_claim_expires_and_completing_sets_the_longer_ttl(
    idempotency: IdempotencyStore,
) -> None:
    dead, done = f"k{user()}", f"k{user()}"
    assert idempotency.claim(dead, "fp-a", 1) is None  # its request dies without completing or releasing
    assert idempotency.claim(done, "fp-a", 1) is None
    assert idempotency.complete(done, "fp-a", "42", 60) is True
    deadline = time.monotonic() + 10
    time.sleep(1.0)
    while idempotency.claim(dead, "fp-b", 60) is not None:  # polls only for clock granularity
        assert time.monotonic() < deadline, "an expired in-flight claim still holds its key"
        time.sleep(0.2)
    assert idempotency.complete(dead, "fp-a", "7", 60) is False  # the dead request lost the key
    assert idempotency.claim(dead, "fp-a", 60) == IdempotencyRecord(fingerprint="fp-b", result=None)
    assert idempotency.claim(done, "fp-b", 60) == IdempotencyRecord(fingerprint="fp-a", result="42")


def test_the_home_view_is_the_readers_cached_state_read_at_once(timelines: TimelineStore) -> None:
    reader, stranger = user(), user()
    ids = [big_id(i) for i in range(1, 8)]
    nothing = timelines.home_view(stranger, before=None, after=None, limit=3)
    assert (nothing.ids, nothing.truncated, nothing.celebrities, nothing.safety) == (None, False, None, None)
    timelines.build(reader, ids)  # 7 ids over a cap of 5: trimmed, so truncated
    view = timelines.home_view(reader, before=None, after=None, limit=3)
    assert view.ids == timelines.page(reader, before=None, after=None, limit=3) == ids[:-4:-1]
    assert view.truncated is True and view.celebrities is None and view.safety is None
    sets = SafetySets(blocking=frozenset({big_id(9)}), muting=frozenset({4}))
    star = big_id(8)
    timelines.set_celebrities(reader, [star])
    timelines.set_safety(reader, sets)
    older = timelines.home_view(reader, before=ids[-2], after=ids[-5], limit=10)
    assert older.ids == [ids[-3], ids[-4]] and older.celebrities == [star] and older.safety == sets
    timelines.forget_safety([reader])
    assert timelines.home_view(reader, before=None, after=None, limit=1).safety is None
    fresh = user()
    timelines.build(fresh, ids[:2], truncated=False)
    assert timelines.home_view(fresh, before=None, after=None, limit=5).truncated is False

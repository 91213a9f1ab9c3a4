"""Contract of the tweet cache port (production: ElastiCache Redis) — tweet objects and tombstones, exact counters,
the viewer's like/retweet flags, hit/miss counters — run against the in-process adapter, the Redis adapter on the
redis-server stand-in (TLS + AUTH, as ElastiCache) and the Redis adapter in cluster mode on a one-node Redis Cluster
(TLS + AUTH), which refuses any command whose keys span hash slots."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chirp.adapters.embedded.tweet_cache import MemoryTweetCache
from chirp.adapters.redis_cache.client import connect
from chirp.adapters.redis_cache.tweet_cache import RedisTweetCache, tweet_key
from chirp.ids import new_id
from chirp.local.servers.redis_cluster import RedisClusterNode, redis_cluster
from chirp.model import AuthorCard, TweetCounts, TweetRecord, now_ms
from chirp.ports import CacheStats, StoreUnavailable, TweetCache

UNICODE_TEXT = "héllo 👩🏽‍💻🐦 مرحبا שלום e\u0301 漢字 \u200f!"
FLAGS_PER_USER = 8
KINDS = ["embedded", "redis", "redis-cluster"]


@pytest.fixture(scope="module")
def cluster_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNode]:
    with redis_cluster(Path(tmp_path_factory.mktemp("redis-cluster"))) as node:
        yield node


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _client(kind: str, request: pytest.FixtureRequest) -> Any:
    if kind == "redis":
        ep = request.getfixturevalue("servers").endpoint("redis")
        return connect(ep.url, password=ep.extra["password"], ca_file=ep.extra["ca_file"])  # TLS + AUTH
    node: RedisClusterNode = request.getfixturevalue("cluster_node")
    return connect(node.url, cluster=True, password=node.password, ca_file=node.ca_file)


@pytest.fixture
def redis_client(kind: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    if kind == "embedded":
        yield None
        return
    client = _client(kind, request)
    yield client
    client.close()


def make_cache(kind: str, client: Any) -> TweetCache:
    if kind == "embedded":
        return MemoryTweetCache(flags_per_user=FLAGS_PER_USER)
    return RedisTweetCache(client, cluster=kind == "redis-cluster", flags_per_user=FLAGS_PER_USER)


@pytest.fixture
def cache(kind: str, redis_client: Any) -> TweetCache:
    return make_cache(kind, redis_client)


def big_id() -> int:
    """A fresh, realistic 64-bit snowflake from the product's generator: unique within this run, where random low
    bits collided (150 ids drawn in one millisecond share 22 random bits: a 0.3% birthday chance per page)."""
    return new_id()


def a_tweet(**overrides: Any) -> TweetRecord:
    fields: dict[str, Any] = {
        "tweet_id": big_id(),
        "user_id": big_id(),
        "username": "Ada_Lovelace",
        "content": UNICODE_TEXT,
        "created_at_ms": now_ms(),
        "hashtags": ["chirp", "漢字"],
        "mentions": ["bob"],
        "urls": ["https://example.com/a?b=c"],
        "media_urls": ["https://media.example.com/m/1.png"],
        "media": [{"media_id": "0" * 32, "type": "video", "url": "https://media.example.com/m/1", "duration_ms": 7000}],
        "reply_to": big_id(),
        "reply_to_user_id": big_id(),
        "quote_tweet": None,
        "quote_user_id": None,
    }
    fields.update(overrides)
    return TweetRecord(**fields)


# -- tweet objects and tombstones ------------------------------------------------------------------------------


def test_an_empty_cache_misses_everything_and_says_so(cache: TweetCache) -> None:
    ids, viewer = [big_id() for _ in range(3)], big_id()
    found = cache.lookup(ids, viewer_id=viewer)
    assert (found.tweets, found.deleted, found.counts, found.liked, found.retweeted) == ({}, set(), {}, {}, {})
    assert found.count_versions == {t: "" for t in ids}  # counters that never changed
    assert cache.deleted(ids) == set()


def test_filled_tweets_round_trip_exactly(cache: TweetCache) -> None:
    tweets = [a_tweet(), a_tweet(reply_to=None, reply_to_user_id=None, quote_tweet=big_id(), quote_user_id=big_id())]
    cache.fill(tweets=tweets)
    found = cache.lookup([t.tweet_id for t in tweets], viewer_id=None)
    assert found.tweets == {t.tweet_id: t for t in tweets}
    assert found.deleted == set()


def test_a_fill_never_overwrites_a_cached_tweet(cache: TweetCache) -> None:
    first = a_tweet(content="first")
    cache.fill(tweets=[first])
    cache.fill(tweets=[a_tweet(tweet_id=first.tweet_id, content="second")])
    assert cache.lookup([first.tweet_id], viewer_id=None).tweets[first.tweet_id].content == "first"


def test_the_cache_keeps_its_own_copy_of_a_filled_tweet(cache: TweetCache) -> None:
    t = a_tweet()
    cache.fill(tweets=[t])
    t.hashtags.append("changed-after-fill")
    t.content = "changed"
    cached = cache.lookup([t.tweet_id], viewer_id=None).tweets[t.tweet_id]
    assert (cached.content, cached.hashtags) == (UNICODE_TEXT, ["chirp", "漢字"])


def test_a_deleted_tweet_leaves_a_tombstone_that_no_fill_replaces(cache: TweetCache) -> None:
    live, gone, never = a_tweet(), a_tweet(), big_id()
    cache.fill(tweets=[live, gone], counts={gone.tweet_id: (TweetCounts(likes=3), "")})
    cache.tweet_deleted([gone.tweet_id])
    cache.fill(tweets=[gone], counts={gone.tweet_id: (TweetCounts(likes=3), "")})  # a late fill (read before delete)
    found = cache.lookup([live.tweet_id, gone.tweet_id, never], viewer_id=None)
    assert set(found.tweets) == {live.tweet_id}
    assert found.deleted == {gone.tweet_id}
    assert gone.tweet_id not in found.counts
    assert cache.deleted([live.tweet_id, gone.tweet_id, never]) == {gone.tweet_id}


def test_a_tweet_deleted_without_ever_being_cached_is_tombstoned(cache: TweetCache) -> None:
    tweet_id = big_id()
    cache.tweet_deleted([tweet_id])
    assert cache.lookup([tweet_id], viewer_id=None).deleted == {tweet_id}


# -- counters ----------------------------------------------------------------------------------------------------


def test_counts_fill_and_hit(cache: TweetCache) -> None:
    a, b = big_id(), big_id()
    versions = cache.lookup([a, b], viewer_id=None).count_versions
    cache.fill(counts={a: (TweetCounts(1, 2, 3), versions[a]), b: (TweetCounts(), versions[b])})
    found = cache.lookup([a, b], viewer_id=None)
    assert found.counts == {a: TweetCounts(1, 2, 3), b: TweetCounts()}
    assert found.count_versions == {}


def test_a_count_change_drops_the_counts_and_refuses_a_fill_read_before_it(cache: TweetCache) -> None:
    """The race the versions exist for: a reader misses, reads the store (5 likes), a like lands (6) and changes the
    counters, then the reader fills 5 — which must not stick, or the count stays wrong until it expires."""
    tweet_id = big_id()
    seen = cache.lookup([tweet_id], viewer_id=None).count_versions[tweet_id]
    cache.counts_changed([tweet_id])
    cache.fill(counts={tweet_id: (TweetCounts(likes=5), seen)})  # refused: read before the change
    after = cache.lookup([tweet_id], viewer_id=None)
    assert tweet_id not in after.counts
    assert after.count_versions[tweet_id] != seen
    cache.fill(counts={tweet_id: (TweetCounts(likes=6), after.count_versions[tweet_id])})
    assert cache.lookup([tweet_id], viewer_id=None).counts == {tweet_id: TweetCounts(likes=6)}


def test_every_change_invalidates_cached_counts(cache: TweetCache) -> None:
    tweet_id = big_id()
    for likes in range(3):
        version = cache.lookup([tweet_id], viewer_id=None).count_versions[tweet_id]
        cache.fill(counts={tweet_id: (TweetCounts(likes=likes), version)})
        assert cache.lookup([tweet_id], viewer_id=None).counts[tweet_id].likes == likes
        cache.counts_changed([tweet_id])
        assert tweet_id not in cache.lookup([tweet_id], viewer_id=None).counts


def test_a_fill_never_overwrites_cached_counts(cache: TweetCache) -> None:
    tweet_id = big_id()
    cache.fill(counts={tweet_id: (TweetCounts(likes=1), "")})
    cache.fill(counts={tweet_id: (TweetCounts(likes=9), "")})
    assert cache.lookup([tweet_id], viewer_id=None).counts[tweet_id] == TweetCounts(likes=1)


def test_a_new_tweet_is_cached_with_zero_counts_unless_a_change_came_first(cache: TweetCache) -> None:
    fresh, liked_at_once = a_tweet(), a_tweet()
    cache.counts_changed([liked_at_once.tweet_id])  # e.g. a like that landed before the author's fill
    for t in (fresh, liked_at_once):
        cache.fill(tweets=[t], counts={t.tweet_id: (TweetCounts(), "")})
    found = cache.lookup([fresh.tweet_id, liked_at_once.tweet_id], viewer_id=None)
    assert found.counts == {fresh.tweet_id: TweetCounts()}


def test_a_new_tweet_claims_its_id_with_zero_counts_and_its_authors_flags_unset(cache: TweetCache) -> None:
    fresh = a_tweet()
    assert cache.fill_new(fresh) is True
    found = cache.lookup([fresh.tweet_id], viewer_id=fresh.user_id)
    assert found.tweets == {fresh.tweet_id: fresh}
    assert found.counts == {fresh.tweet_id: TweetCounts()}
    assert (found.liked, found.retweeted) == ({fresh.tweet_id: False}, {fresh.tweet_id: False})


def test_an_id_minted_twice_is_refused_and_the_first_tweet_stays(cache: TweetCache) -> None:
    first = a_tweet(content="first")
    second = a_tweet(tweet_id=first.tweet_id, user_id=big_id(), content="second, same id")
    assert cache.fill_new(first) is True
    assert cache.fill_new(second) is False
    assert cache.lookup([first.tweet_id], viewer_id=None).tweets[first.tweet_id].content == "first"
    cached_then_deleted, filled = a_tweet(), a_tweet()
    cache.tweet_deleted([cached_then_deleted.tweet_id])
    cache.fill(tweets=[filled])  # a read filled it: the id is taken just the same
    assert cache.fill_new(cached_then_deleted) is False
    assert cache.fill_new(filled) is False
    assert cache.deleted([cached_then_deleted.tweet_id]) == {cached_then_deleted.tweet_id}


# -- the viewer's flags -----------------------------------------------------------------------------------------


def test_flags_are_per_viewer_and_cover_likes_and_retweets_separately(cache: TweetCache) -> None:
    a, b = big_id(), big_id()
    viewer, other = big_id(), big_id()
    cache.fill(viewer_id=viewer, liked={a: True, b: False}, retweeted={a: False})
    found = cache.lookup([a, b], viewer_id=viewer, objects=False, counts=False)
    assert (found.liked, found.retweeted) == ({a: True, b: False}, {a: False})
    assert cache.lookup([a, b], viewer_id=other).liked == {}


def test_the_users_own_change_wins_over_fills_in_either_order(cache: TweetCache) -> None:
    tweet_id, viewer = big_id(), big_id()
    cache.set_flag(viewer, tweet_id, kind="like", on=True)
    cache.fill(viewer_id=viewer, liked={tweet_id: False})  # read from the store before the like
    assert cache.lookup([tweet_id], viewer_id=viewer).liked == {tweet_id: True}
    cache.set_flag(viewer, tweet_id, kind="like", on=False)  # then an unlike overwrites
    cache.set_flag(viewer, tweet_id, kind="retweet", on=True)
    found = cache.lookup([tweet_id], viewer_id=viewer)
    assert (found.liked, found.retweeted) == ({tweet_id: False}, {tweet_id: True})


def test_a_users_flags_are_bounded(cache: TweetCache) -> None:
    viewer = big_id()
    first = [big_id() for _ in range(FLAGS_PER_USER // 2)]
    cache.fill(viewer_id=viewer, liked={t: True for t in first}, retweeted={t: False for t in first})
    assert len(cache.lookup(first, viewer_id=viewer).liked) == len(first)  # full: FLAGS_PER_USER fields
    later = big_id()
    cache.fill(viewer_id=viewer, liked={later: True}, retweeted={later: True})
    found = cache.lookup([*first, later], viewer_id=viewer)
    assert found.liked == {later: True} and found.retweeted == {later: True}  # started over, never grew past


def test_zero_counters_answer_the_viewers_flags(cache: TweetCache) -> None:
    """Counters are exact: nobody liked a tweet with no likes, the viewer included — no flag entry needed."""
    quiet, retweeted_only, viewer = big_id(), big_id(), big_id()
    cache.fill(counts={quiet: (TweetCounts(), ""), retweeted_only: (TweetCounts(retweets=2), "")})
    cache.fill(viewer_id=viewer, liked={quiet: True})  # a stale entry: the exact zero count wins
    found = cache.lookup([quiet, retweeted_only], viewer_id=viewer)
    assert found.liked == {quiet: False, retweeted_only: False}
    assert found.retweeted == {quiet: False}  # retweeted_only has retweets: only an entry or the store can say
    assert cache.lookup([quiet], viewer_id=viewer, counts=False).liked == {quiet: True}  # no counts, no inference


# -- lookups and stats ------------------------------------------------------------------------------------------


def test_a_lookup_returns_only_what_it_was_asked_for(cache: TweetCache) -> None:
    t, viewer = a_tweet(), big_id()
    cache.fill(tweets=[t], counts={t.tweet_id: (TweetCounts(1, 0, 0), "")}, viewer_id=viewer, liked={t.tweet_id: True})
    only_counts = cache.lookup([t.tweet_id], viewer_id=None, objects=False)
    assert (only_counts.tweets, only_counts.counts, only_counts.liked) == ({}, {t.tweet_id: TweetCounts(1, 0, 0)}, {})
    only_objects = cache.lookup([t.tweet_id], viewer_id=None, counts=False)
    assert (set(only_objects.tweets), only_objects.counts, only_objects.count_versions) == ({t.tweet_id}, {}, {})


def test_a_page_spanning_many_hash_slots_is_one_lookup(cache: TweetCache) -> None:
    """150 tweets (150 hash slots in cluster mode): objects, counts and flags in one call, and duplicates once."""
    tweets = [a_tweet() for _ in range(150)]
    viewer = big_id()
    ids = [t.tweet_id for t in tweets]
    cache.fill(
        tweets=tweets,
        counts={t: (TweetCounts(likes=i + 1, retweets=1), "") for i, t in enumerate(ids)},
        viewer_id=viewer,
        liked={t: i % 2 == 0 for i, t in enumerate(ids)},
        retweeted={t: False for t in ids},
    )
    found = cache.lookup([*ids, ids[0]], viewer_id=viewer)
    assert found.tweets == {t.tweet_id: t for t in tweets}
    assert found.counts == {t: TweetCounts(likes=i + 1, retweets=1) for i, t in enumerate(ids)}
    assert found.liked == {t: i % 2 == 0 for i, t in enumerate(ids)}
    cache.tweet_deleted(ids[:75])
    cache.counts_changed(ids[75:])
    assert cache.deleted(ids) == set(ids[:75])
    assert cache.lookup(ids, viewer_id=None).counts == {}


def test_hits_and_misses_are_counted_per_kind(cache: TweetCache) -> None:
    t, missing, viewer = a_tweet(), big_id(), big_id()
    cache.fill(tweets=[t], counts={t.tweet_id: (TweetCounts(), "")}, viewer_id=viewer, liked={t.tweet_id: True})
    before = cache.stats()
    cache.lookup([t.tweet_id, missing], viewer_id=viewer)
    delta = cache.stats().minus(before)
    # t's flags: liked from its entry, not retweeted from its zero retweets; the missing tweet's: a miss
    assert delta == CacheStats(tweet_hits=1, tweet_misses=1, count_hits=1, count_misses=1, flag_hits=1, flag_misses=1)
    assert (delta.hits, delta.misses, delta.hit_rate) == (3, 3, 0.5)


# -- Redis specifics ----------------------------------------------------------------------------------------------


@pytest.fixture(params=["redis", "redis-cluster"])
def redis_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def only_redis(redis_kind: str, request: pytest.FixtureRequest) -> Iterator[tuple[RedisTweetCache, Any]]:
    """The Redis adapter and its client, for what only a server has (TTLs, script caches, outages)."""
    client = _client(redis_kind, request)
    yield RedisTweetCache(client, cluster=redis_kind == "redis-cluster"), client
    client.close()


def test_tombstones_outlive_the_streams_retention_and_tweets_expire(only_redis: tuple[RedisTweetCache, Any]) -> None:
    redis_cache, redis_client = only_redis
    live, gone = a_tweet(), a_tweet()
    redis_cache.fill(tweets=[live])
    redis_cache.tweet_deleted([gone.tweet_id])
    assert redis_client.ttl(tweet_key(gone.tweet_id)) > 24 * 3600  # Kinesis keeps events 24 h
    assert 0 < redis_client.ttl(tweet_key(live.tweet_id)) <= 3 * 86400


def test_scripts_lost_by_the_server_are_loaded_again(only_redis: tuple[RedisTweetCache, Any]) -> None:
    """A restarted or failed-over node has no scripts: NOSCRIPT, then one reload and retry (standalone; in cluster
    mode every script travels whole)."""
    redis_cache, redis_client = only_redis
    tweet_id = big_id()
    redis_cache.fill(counts={tweet_id: (TweetCounts(likes=1), "")})
    redis_client.script_flush()
    redis_cache.counts_changed([tweet_id])
    assert tweet_id not in redis_cache.lookup([tweet_id], viewer_id=None).counts


def test_an_unreachable_redis_is_unavailable_not_a_crash() -> None:
    dead = connect("redis://127.0.0.1:9/0")  # nothing listens on the discard port
    with pytest.raises(StoreUnavailable):
        RedisTweetCache(dead).lookup([big_id()], viewer_id=big_id())
    with pytest.raises(StoreUnavailable):
        RedisTweetCache(dead).counts_changed([big_id()])


# -- author cards (display name and avatar a tweet shows) --------------------------------------------------------


def test_author_cards_miss_until_filled_then_hit(cache: TweetCache) -> None:
    ada, bob, nobody = big_id(), big_id(), big_id()
    assert cache.authors([ada, bob]) == {}
    cards = [AuthorCard(ada, "Ada 👩🏽‍💻 مرحبا", "0123456789abcdef0123456789abcdef"), AuthorCard(bob, "Bob")]
    cache.fill_authors(cards)
    assert cache.authors([ada, nobody, bob, ada]) == {ada: cards[0], bob: cards[1]}
    assert cache.authors([]) == {}


def test_a_changed_author_misses_again_and_others_stay(cache: TweetCache) -> None:
    ada, bob = big_id(), big_id()
    cache.fill_authors([AuthorCard(ada, "Ada"), AuthorCard(bob, "Bob")])
    cache.author_changed([ada])
    cache.author_changed([ada])  # idempotent
    assert cache.authors([ada, bob]) == {bob: AuthorCard(bob, "Bob")}
    cache.fill_authors([AuthorCard(ada, "Ada Lovelace", "m1")])
    assert cache.authors([ada]) == {ada: AuthorCard(ada, "Ada Lovelace", "m1")}

"""Hydration through the tweet cache: a page costs one cache lookup and, for what the cache missed, one batched read
per table — never one per tweet; counts and the viewer's flags stay exact through likes, retweets, replies and
deletes (including a change racing a cache fill); a deleted tweet is known without a store read; and reads keep
working when the cache is down. Store calls are counted with a wrapper around the real stores."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from chirp.container import Container
from chirp.errors import NotFound
from chirp.model import Event, EventType
from chirp.ports import StoreUnavailable
from chirp.services.tweets import NewTweet
from chirp.tokens import Principal
from support.stack import make_container, signup

PAGE = 20


class Counting:
    """Forwards every call to ``target`` and counts the calls per method."""

    def __init__(self, target: Any) -> None:
        self._target = target
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attr(*args, **kwargs)

        return call

    def reset(self) -> None:
        self.calls.clear()


class Spies:
    def __init__(self, c: Container, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tweets = Counting(c.stores.tweets)
        self.engagement = Counting(c.stores.engagement)
        self.cache = Counting(c.stores.tweet_cache)
        monkeypatch.setattr(c.stores, "tweets", self.tweets)
        monkeypatch.setattr(c.stores, "engagement", self.engagement)
        monkeypatch.setattr(c.stores, "tweet_cache", self.cache)

    def store_calls(self) -> Counter[str]:
        reads = ("get", "get_many", "counts", "liked_by", "retweeted_by")
        out: Counter[str] = Counter()
        for spy in (self.tweets, self.engagement):
            out.update({name: n for name, n in spy.calls.items() if name in reads})
        return out

    def reset(self) -> None:
        for spy in (self.tweets, self.engagement, self.cache):
            spy.reset()


def page_of_20(c: Container) -> tuple[Principal, list[int], dict[int, dict[str, Any]]]:
    """20 tweets by 20 authors, some liked/retweeted by the viewer and others; returns the expected API fields."""
    viewer = signup(c, "viewer")
    fans = [signup(c, f"fan{i}") for i in range(3)]
    ids: list[int] = []
    expected: dict[int, dict[str, Any]] = {}
    for i in range(PAGE):
        author = signup(c, f"author{i}")
        tweet_id = int(c.tweets.create(author, NewTweet(content=f"tweet {i} #t{i % 3}"))["tweet_id"])
        ids.append(tweet_id)
        likers = [viewer, *fans][: i % 4] if i % 2 else fans[: i % 3]
        for fan in likers:
            c.tweets.set_like(fan, tweet_id, on=True)
        retweeted = i % 5 == 0
        if retweeted:
            c.tweets.set_retweet(viewer, tweet_id, on=True)
        expected[tweet_id] = {
            "content": f"tweet {i} #t{i % 3}",
            "likes_count": len(likers),
            "retweets_count": int(retweeted),
            "liked_by_user": viewer in likers,
            "retweeted_by_user": retweeted,
        }
    return viewer, ids[::-1], expected


def fields(tweets: Sequence[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    keys = ("content", "likes_count", "retweets_count", "liked_by_user", "retweeted_by_user")
    return {int(t["tweet_id"]): {k: t[k] for k in keys} for t in tweets}


def test_a_page_of_20_costs_one_read_per_table_cold_and_no_store_read_warm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = make_container(tmp_path / "data")
    viewer, ids, expected = page_of_20(writer)
    reader = make_container(tmp_path / "data")  # another process on the same records: its cache is empty (cold)
    spies = Spies(reader, monkeypatch)

    cold = reader.tweets.hydrator.by_ids(viewer.user_id, ids)
    assert [int(t["tweet_id"]) for t in cold] == ids
    assert fields(cold) == expected
    # one batched read per table (tweets, counters, likes, retweets) instead of 4 x 20 point reads
    assert spies.store_calls() == Counter(get_many=1, counts=1, liked_by=1, retweeted_by=1)
    assert (spies.cache.calls["lookup"], spies.cache.calls["fill"]) == (1, 1)

    spies.reset()
    warm = reader.tweets.hydrator.by_ids(viewer.user_id, ids)
    assert warm == cold
    assert spies.store_calls() == Counter()  # everything from the cache
    assert (spies.cache.calls["lookup"], spies.cache.calls["fill"]) == (1, 0)
    stats = reader.stores.tweet_cache.stats()
    assert (stats.hits, stats.misses) == (3 * PAGE, 3 * PAGE)  # objects, counts, flags: cold all missed, warm all hit


def test_another_viewer_reuses_the_tweets_and_counts_and_reads_only_their_own_flags(
    stack: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    viewer, ids, _ = page_of_20(stack)
    stack.tweets.hydrator.by_ids(viewer.user_id, ids)
    other = signup(stack, "other")
    spies = Spies(stack, monkeypatch)
    stack.tweets.hydrator.by_ids(other.user_id, ids)
    assert spies.store_calls() == Counter(liked_by=1, retweeted_by=1)


def test_posting_answers_and_caches_the_new_tweet_without_reading_it_back(
    stack: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    spies = Spies(stack, monkeypatch)
    posted = stack.tweets.create(alice, NewTweet(content="fresh"))
    assert (posted["likes_count"], posted["liked_by_user"]) == (0, False)
    assert spies.store_calls() == Counter()
    spies.reset()
    assert stack.tweets.hydrator.by_ids(bob.user_id, [int(posted["tweet_id"])])[0]["content"] == "fresh"
    assert spies.store_calls() == Counter()  # tweet and zero counts cached; zero counts answer bob's flags too


def test_counts_stay_exact_through_likes_retweets_replies_and_deletes(stack: Container) -> None:
    author, reader = signup(stack, "author"), signup(stack, "reader")
    fans = [signup(stack, f"fan{i}") for i in range(3)]
    tweet_id = int(stack.tweets.create(author, NewTweet(content="count me"))["tweet_id"])

    def seen() -> tuple[int, int, int]:
        t = stack.tweets.hydrator.by_ids(reader.user_id, [tweet_id])[0]  # a warm cache between changes
        return t["likes_count"], t["retweets_count"], t["replies_count"]

    assert seen() == (0, 0, 0)
    for fan in fans:
        stack.tweets.set_like(fan, tweet_id, on=True)
        stack.tweets.set_like(fan, tweet_id, on=True)  # a repeated like changes nothing
    assert seen() == (3, 0, 0)
    stack.tweets.set_like(fans[0], tweet_id, on=False)
    stack.tweets.set_retweet(fans[1], tweet_id, on=True)
    assert seen() == (2, 1, 0)
    stack.tweets.set_retweet(fans[1], tweet_id, on=False)
    reply = int(stack.tweets.create(fans[2], NewTweet(content="re", reply_to=tweet_id))["tweet_id"])
    assert seen() == (2, 0, 1)
    stack.tweets.delete(fans[2], reply)
    assert seen() == (2, 0, 0)
    assert seen() == stack_counts(stack, tweet_id)


def stack_counts(c: Container, tweet_id: int) -> tuple[int, int, int]:
    counts = c.stores.engagement.counts([tweet_id])[tweet_id]
    return counts.likes, counts.retweets, counts.replies


def test_the_viewers_own_like_and_retweet_show_at_once(stack: Container) -> None:
    author, viewer = signup(stack, "author"), signup(stack, "viewer")
    tweet_id = int(stack.tweets.create(author, NewTweet(content="like me"))["tweet_id"])
    assert stack.tweets.hydrator.by_ids(viewer.user_id, [tweet_id])[0]["liked_by_user"] is False  # cached "no"
    assert stack.tweets.set_like(viewer, tweet_id, on=True)["liked_by_user"] is True
    assert stack.tweets.set_retweet(viewer, tweet_id, on=True)["retweeted_by_user"] is True
    page = stack.tweets.hydrator.by_ids(viewer.user_id, [tweet_id])[0]
    assert (page["liked_by_user"], page["retweeted_by_user"], page["likes_count"]) == (True, True, 1)
    stack.tweets.set_like(viewer, tweet_id, on=False)
    page = stack.tweets.hydrator.by_ids(viewer.user_id, [tweet_id])[0]
    assert (page["liked_by_user"], page["likes_count"]) == (False, 0)


def test_a_like_racing_a_cache_fill_is_not_lost(stack: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader misses the counters and reads 0 likes from the store; before it fills the cache, a like lands. The
    reader's fill must be refused, or the cache would say 0 until the entry expires."""
    author, reader, fan = signup(stack, "author"), signup(stack, "reader"), signup(stack, "fan")
    tweet_id = int(stack.tweets.create(author, NewTweet(content="race"))["tweet_id"])
    stack.stores.tweet_cache.counts_changed([tweet_id])  # no cached counters: the next read goes to the store
    engagement = stack.stores.engagement
    real_counts: Callable[..., Any] = engagement.counts

    class LikeDuringRead:
        def counts(self, tweet_ids: Sequence[int]) -> Any:
            before = real_counts(tweet_ids)  # the reader's store read...
            monkeypatch.setattr(stack.stores, "engagement", engagement)  # (once)
            # ...then another request's like: its writes (the durable like, the cache told), before the reader fills
            assert engagement.add_like(tweet_id, fan.user_id, 1)
            stack.stores.tweet_cache.counts_changed([tweet_id])
            return before

        def __getattr__(self, name: str) -> Any:
            return getattr(engagement, name)

    monkeypatch.setattr(stack.stores, "engagement", LikeDuringRead())
    assert stack.tweets.hydrator.by_ids(reader.user_id, [tweet_id])[0]["likes_count"] == 0  # as read: fine
    assert stack.tweets.hydrator.by_ids(reader.user_id, [tweet_id])[0]["likes_count"] == 1  # not the stale fill


def test_a_deleted_tweet_drops_out_of_pages_without_a_store_read(
    stack: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    author, reader = signup(stack, "author"), signup(stack, "reader")
    ids = [int(stack.tweets.create(author, NewTweet(content=f"t{i}"))["tweet_id"]) for i in range(3)]
    stack.tweets.hydrator.by_ids(reader.user_id, ids)
    stack.tweets.delete(author, ids[1])
    spies = Spies(stack, monkeypatch)
    assert [int(t["tweet_id"]) for t in stack.tweets.hydrator.by_ids(reader.user_id, ids)] == [ids[0], ids[2]]
    with pytest.raises(NotFound):
        stack.tweets.get(reader, ids[1])
    with pytest.raises(NotFound):
        stack.tweets.set_like(reader, ids[1], on=True)
    assert spies.store_calls() == Counter()  # the tombstone answered, three times
    # what a redelivered tweet_created event asks before delivering or indexing
    assert stack.stores.tweet_cache.deleted(ids) == {ids[1]}


def test_a_delete_that_stopped_short_of_the_cache_is_finished_by_its_retry(
    stack: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    author, reader = signup(stack, "author"), signup(stack, "reader")
    tweet_id = int(stack.tweets.create(author, NewTweet(content="going"))["tweet_id"])
    cache = stack.stores.tweet_cache

    class DownForDeletes:
        def tweet_deleted(self, tweet_ids: Sequence[int]) -> None:
            raise StoreUnavailable("redis: connection refused")

        def __getattr__(self, name: str) -> Any:
            return getattr(cache, name)

    stream = stack.stores.stream
    published: list[Event] = []

    class Recording:
        def publish(self, events: Sequence[Event]) -> None:
            published.extend(events)
            stream.publish(events)

        def __getattr__(self, name: str) -> Any:
            return getattr(stream, name)

    monkeypatch.setattr(stack.stores, "tweet_cache", DownForDeletes())
    monkeypatch.setattr(stack.stores, "stream", Recording())
    with pytest.raises(StoreUnavailable):  # a 503: the client retries
        stack.tweets.delete(author, tweet_id)
    # ...but the delete was not stopped half-way: the store, and the event every consumer acts on
    assert stack.stores.tweets.get(tweet_id) is None
    assert [e.type for e in published] == [EventType.TWEET_DELETED]
    monkeypatch.setattr(stack.stores, "tweet_cache", cache)
    assert stack.tweets.get(reader, tweet_id)["content"] == "going"  # the cache still holds the live tweet
    with pytest.raises(NotFound):
        stack.tweets.delete(author, tweet_id)  # the retry: gone from the store, now tombstoned in the cache
    with pytest.raises(NotFound):
        stack.tweets.get(reader, tweet_id)


class DownCache:
    """A cache whose server is unreachable."""

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise StoreUnavailable("redis: connection refused")

        return fail


def test_reads_and_posts_work_while_the_cache_is_down(stack: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    author, reader = signup(stack, "author"), signup(stack, "reader")
    liked = int(stack.tweets.create(author, NewTweet(content="liked"))["tweet_id"])
    stack.tweets.set_like(reader, liked, on=True)
    monkeypatch.setattr(stack.stores, "tweet_cache", DownCache())
    posted = int(stack.tweets.create(author, NewTweet(content="posted while down", reply_to=liked))["tweet_id"])
    page = stack.tweets.hydrator.by_ids(reader.user_id, [posted, liked])
    assert [(t["content"], t["likes_count"], t["liked_by_user"], t["replies_count"]) for t in page] == [
        ("posted while down", 0, False, 0),
        ("liked", 1, True, 1),
    ]
    assert stack.tweets.get(reader, liked)["likes_count"] == 1
    with pytest.raises(StoreUnavailable):  # a change the cache cannot record is a 503 (the retry records it)
        stack.tweets.set_like(reader, posted, on=True)

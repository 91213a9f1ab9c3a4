"""The fan-out path at scale, in miniature: large audiences split into FOLLOWER_CHUNK events (every follower once,
redelivery harmless), no resurrection of deleted tweets whatever the order of events, the per-reader celebrity cache
(invalidated on follow, unfollow and threshold crossings) and a home read that touches no graph, and consumers that
read the tweet store not at all for the tweets their events carry. Store calls are counted with wrappers around the
real stores; events run through the real consumer handlers (tests/support/stack.py's drain)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from chirp.container import Container, set_container
from chirp.local import events
from chirp.local.functions import invoke
from chirp.model import Event, EventType
from chirp.services.tweets import NewTweet
from chirp.tokens import Principal
from support.stack import drain, make_container, pusher, signup

CHUNK = 3  # followers per FOLLOWER_CHUNK event
BATCH = 2  # followers per streamed batch


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


class Recorder:
    """Keeps a copy of every event published through the container's (real) stream."""

    def __init__(self, c: Container) -> None:
        self.published: list[Event] = []
        stream = c.stores.stream
        real = stream.publish

        def publish(batch: Sequence[Event]) -> None:
            self.published.extend(batch)
            real(batch)

        stream.publish = publish  # type: ignore[method-assign]

    def of_type(self, kind: EventType) -> list[Event]:
        return [e for e in self.published if e.type == kind]


def drain_all(c: Container) -> int:
    """Drain until the consumers publish nothing more (chunk events land on shards already drained)."""
    total = 0
    while delivered := drain(c):
        total += delivered
    return total


def redeliver(c: Container, function: str, batch: list[Event]) -> None:
    """Hand events to a consumer again, as Kinesis does after a failure: the same records, a new invocation."""
    records = [
        events.KinesisInput(events.sequence_number(i + 1), e.partition_key, e.model_dump_json().encode(), 0.0)
        for i, e in enumerate(batch)
    ]
    result = invoke(function, events.kinesis_event(records))
    assert result == {"batchItemFailures": []}, result


def post(c: Container, author: Principal, text: str) -> int:
    return int(c.tweets.create(author, NewTweet(content=text))["tweet_id"])


def timeline(c: Container, user: Principal) -> list[int] | None:
    return c.stores.timelines.page(user.user_id, before=None, after=None, limit=100)


Chunked = tuple[Container, "Recorder"]


@pytest.fixture
def chunked(tmp_path: Path) -> Iterator[Chunked]:
    container = make_container(tmp_path / "chunked", fanout_chunk_followers=CHUNK, fanout_page_size=BATCH)
    yield container, Recorder(container)
    set_container(None)


def audience(c: Container, author: Principal, size: int) -> list[Principal]:
    """``size`` followers of ``author``, each with a materialized timeline and an open connection."""
    fans = [signup(c, f"fan{i}") for i in range(size)]
    for i, fan in enumerate(fans):
        c.social.follow(fan, author.username)
        c.feed.home(fan.user_id, before=None, after=None, count=5)
        c.realtime.connect(f"conn-{i}", fan.user_id)
    return fans


# -- chunks ----------------------------------------------------------------------------------------------------


def test_a_large_audience_is_split_into_chunks_that_cover_every_follower_once(chunked: Chunked) -> None:
    c, stream = chunked
    author = signup(c, "author")
    fans = audience(c, author, 11)
    tweet_id = post(c, author, "to everyone")
    drain_all(c)
    chunks = stream.of_type(EventType.FOLLOWER_CHUNK)
    shares = [[int(f) for f in e.data["followers"]] for e in chunks]
    assert all(e.data["op"] == "add" and len(share) <= CHUNK for e, share in zip(chunks, shares, strict=True))
    handed_on = [f for share in shares for f in share]
    assert len(handed_on) == len(set(handed_on)) == len(fans) - CHUNK  # the first chunk is delivered inline
    assert len({e.partition_key for e in chunks}) == len(chunks)  # spread over the shards
    for i, fan in enumerate(fans):
        assert timeline(c, fan) == [tweet_id]
        assert len(pusher(c).of_type(f"conn-{i}", "new_tweet")) == 1  # pushed once, inline or by its chunk
    # Redelivered (the coordinator's event and every chunk): the same timelines, each holding the tweet once.
    redeliver(c, "fanout", [*stream.of_type(EventType.TWEET_CREATED), *chunks])
    drain_all(c)
    assert all(timeline(c, fan) == [tweet_id] for fan in fans)


def test_deleting_a_tweet_with_a_large_audience_removes_it_from_every_timeline(chunked: Chunked) -> None:
    c, stream = chunked
    author = signup(c, "author")
    fans = audience(c, author, 8)
    c.feed.home(author.user_id, before=None, after=None, count=5)
    keep, doomed = post(c, author, "keep"), post(c, author, "doomed")
    drain_all(c)
    c.tweets.delete(author, doomed)
    assert timeline(c, author) == [keep]  # the author's own at once
    drain_all(c)
    assert [e.data["op"] for e in stream.of_type(EventType.FOLLOWER_CHUNK)].count("remove") == 2  # 8 = 3 + 3 + 2
    assert all(timeline(c, fan) == [keep] for fan in [author, *fans])


# -- no resurrection -------------------------------------------------------------------------------------------


def test_a_tweet_deleted_before_delivery_is_neither_written_nor_pushed(chunked: Chunked) -> None:
    c, _ = chunked
    author = signup(c, "author")
    fans = audience(c, author, 7)
    doomed = post(c, author, "regret")
    c.tweets.delete(author, doomed)
    drain_all(c)
    assert all(timeline(c, fan) == [] for fan in fans)
    assert all(pusher(c).of_type(f"conn-{i}", "new_tweet") == [] for i in range(len(fans)))


def test_a_redelivered_event_does_not_resurrect_a_deleted_tweet(chunked: Chunked) -> None:
    c, stream = chunked
    author = signup(c, "author")
    fans = audience(c, author, 7)
    doomed = post(c, author, "short-lived #gone")
    drain_all(c)
    assert all(timeline(c, fan) == [doomed] for fan in fans)
    c.tweets.delete(author, doomed)
    drain_all(c)
    created = [e for e in stream.of_type(EventType.TWEET_CREATED) if e.data["tweet"]["tweet_id"] == doomed]
    adds = [e for e in stream.of_type(EventType.FOLLOWER_CHUNK) if e.data["op"] == "add"]
    for function in ("fanout", "trender", "indexer"):
        redeliver(c, function, [*created, *adds])
    drain_all(c)
    assert all(timeline(c, fan) == [] for fan in fans)
    assert c.trends.top()["trends"] == []
    assert c.stores.search.tweet_count() == 0


def test_a_chunk_overtaken_by_the_deletion_takes_its_writes_back(
    chunked: Chunked, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk passed the liveness check, then the tweet was deleted and the deletion's chunks ran, then the
    chunk wrote: it must notice and undo."""
    c, _ = chunked
    author = signup(c, "author")
    fans = audience(c, author, 7)
    doomed = post(c, author, "race")
    timelines = c.stores.timelines
    real_add = timelines.add_if_exists

    once = threading.Lock()

    def add_after_a_delete(user_ids: list[int], tweet_id: int) -> int:
        in_a_chunk = threading.current_thread().name.startswith("fanout-chunk")  # not the inline first chunk
        if tweet_id == doomed and in_a_chunk and once.acquire(blocking=False):  # the first chunk to write
            c.tweets.delete(author, doomed)
            drain_all(c)  # the deletion's removals run to the end before this write lands
        return real_add(user_ids, tweet_id)

    monkeypatch.setattr(timelines, "add_if_exists", add_after_a_delete)
    drain_all(c)
    assert all(timeline(c, fan) == [] for fan in fans)


# -- consumers read each tweet once ----------------------------------------------------------------------------


def test_consumers_read_no_store_for_the_tweets_their_events_carry(stack: Container) -> None:
    c = stack
    author, reader = signup(c, "author"), signup(c, "reader")
    c.social.follow(reader, "author")
    c.feed.home(reader.user_id, before=None, after=None, count=5)
    drain_all(c)
    posted = [post(c, author, f"tweet {i} #tag{i}") for i in range(5)]
    tweets, cache = Counting(c.stores.tweets), Counting(c.stores.tweet_cache)
    c.stores.tweets, c.stores.tweet_cache = tweets, cache  # type: ignore[assignment]
    drain_all(c)
    assert timeline(c, reader) == sorted(posted, reverse=True)
    assert c.stores.search.tweet_count() == 5
    assert tweets.calls["get"] == tweets.calls["get_many"] == 0  # the events carry the tweets; the cache knew them
    assert cache.calls["lookup"] <= 3  # one liveness lookup per consumer batch (fanout, trender, indexer)


# -- the celebrity cache and the read path ---------------------------------------------------------------------


def test_a_home_read_with_a_timeline_reads_only_the_cache_even_with_celebrities(celebrity_stack: Container) -> None:
    c = celebrity_stack  # threshold: 2 followers
    star, plain, reader, other = (signup(c, n) for n in ("star", "plain", "reader", "other"))
    for user in (reader, other):
        c.social.follow(user, "star")
    c.social.follow(reader, "plain")
    drain_all(c)  # star's crossing (its second follower) drops the lists of its followers
    c.feed.home(reader.user_id, before=None, after=None, count=20)  # materialized; celebrity list cached
    ids = [post(c, star, "from the star"), post(c, plain, "from plain")]
    drain_all(c)
    graph, tweets = Counting(c.stores.graph), Counting(c.stores.tweets)
    c.stores.graph, c.stores.tweets = graph, tweets  # type: ignore[assignment]
    assert c.feed.home(reader.user_id, before=None, after=None, count=20).tweet_ids == sorted(ids, reverse=True)
    assert sum(graph.calls.values()) == sum(tweets.calls.values()) == 0  # the cache alone
    newer = post(c, star, "newer")  # delivery appends to the star's recent-tweet list; a delete takes it out
    drain_all(c)
    assert c.feed.home(reader.user_id, before=None, after=None, count=20).tweet_ids == [
        newer,
        *sorted(ids, reverse=True),
    ]
    c.tweets.delete(star, ids[0])
    graph.calls.clear()
    tweets.calls.clear()
    assert c.feed.home(reader.user_id, before=None, after=None, count=20).tweet_ids == [newer, ids[1]]
    assert sum(graph.calls.values()) == sum(tweets.calls.values()) == 0


def test_following_and_unfollowing_a_celebrity_refreshes_the_cached_list(celebrity_stack: Container) -> None:
    c = celebrity_stack
    a, b, reader, fan1, fan2 = (signup(c, n) for n in ("a", "b", "reader", "fan1", "fan2"))
    for star in ("a", "b"):
        c.social.follow(fan1, star)
        c.social.follow(fan2, star)  # a and b: celebrities
    from_a, from_b = post(c, a, "a says"), post(c, b, "b says")
    drain_all(c)
    c.social.follow(reader, "a")
    assert c.feed.home(reader.user_id, before=None, after=None, count=20).tweet_ids == [from_a]
    assert c.stores.timelines.celebrities(reader.user_id) == [a.user_id]
    c.social.follow(reader, "b")
    assert c.feed.home(reader.user_id, before=None, after=None, count=20).tweet_ids == [from_b, from_a]
    c.social.unfollow(reader, "a")
    assert c.feed.home(reader.user_id, before=None, after=None, count=20).tweet_ids == [from_b]
    assert c.stores.timelines.celebrities(reader.user_id) == [b.user_id]


def test_crossing_the_threshold_refreshes_every_followers_list_both_ways(celebrity_stack: Container) -> None:
    c = celebrity_stack  # threshold: 2 followers
    stream = Recorder(c)
    rising, reader, newcomer = signup(c, "rising"), signup(c, "reader"), signup(c, "newcomer")
    c.social.follow(reader, "rising")
    c.feed.home(reader.user_id, before=None, after=None, count=20)  # cached: follows no celebrity
    c.realtime.connect("reader-conn", reader.user_id)
    before = post(c, rising, "still ordinary")
    drain_all(c)
    assert timeline(c, reader) == [before]
    c.social.follow(newcomer, "rising")  # 2 followers: a celebrity now
    assert [e.data for e in stream.of_type(EventType.CELEBRITY_CHANGED)] == [
        {"user_id": rising.user_id, "celebrity": True}
    ]
    famous = post(c, rising, "famous now")
    drain_all(c)
    assert timeline(c, reader) == [before]  # not fanned out any more...
    assert c.feed.home(reader.user_id, before=None, after=None, count=20).tweet_ids == [famous, before]  # ...merged
    pushed = pusher(c).of_type("reader-conn", "new_tweet")  # subscribed at the crossing, without reconnecting
    assert [m["tweet"]["content"] for m in pushed] == ["still ordinary", "famous now"]  # type: ignore[index]
    c.social.unfollow(newcomer, "rising")  # back to 1 follower
    drain_all(c)
    assert stream.of_type(EventType.CELEBRITY_CHANGED)[-1].data == {"user_id": rising.user_id, "celebrity": False}
    assert timeline(c, reader) == [famous, before]  # what merge-on-read showed is now in the timeline itself
    assert c.feed.home(reader.user_id, before=None, after=None, count=20).tweet_ids == [famous, before]
    assert c.stores.timelines.celebrities(reader.user_id) == []


def test_a_short_timeline_that_is_complete_needs_no_store_read(stack: Container) -> None:
    c = stack
    author, reader = signup(c, "author"), signup(c, "reader")
    c.social.follow(reader, "author")
    ids = [post(c, author, f"t{i}") for i in range(3)]
    drain_all(c)
    assert c.feed.home(reader.user_id, before=None, after=None, count=20).tweet_ids == sorted(ids, reverse=True)
    tweets, graph = Counting(c.stores.tweets), Counting(c.stores.graph)
    c.stores.tweets, c.stores.graph = tweets, graph  # type: ignore[assignment]
    assert c.feed.home(reader.user_id, before=None, after=None, count=20).tweet_ids == sorted(ids, reverse=True)
    assert sum(tweets.calls.values()) == sum(graph.calls.values()) == 0


def test_chunk_events_are_for_the_fanout_consumer_only(chunked: Chunked) -> None:
    c, stream = chunked
    author = signup(c, "author")
    audience(c, author, 5)
    post(c, author, "#hello everyone")
    drain_all(c)
    chunk = stream.of_type(EventType.FOLLOWER_CHUNK)[0]
    assert json.loads(chunk.model_dump_json())["type"] == "follower_chunk"
    for function in ("trender", "indexer", "notifier"):
        redeliver(c, function, [chunk])  # ignored: no failure, nothing counted twice
    assert c.stores.search.tweet_count() == 1

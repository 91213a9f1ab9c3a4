"""A post's two writes at once — the tweet store and its TWEET_CREATED event — after claiming the id in the tweet
cache, and what each failure takes back: nothing a client was told failed ever reaches a reader or a consumer, and
an id minted twice never touches the tweet that had it first."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator, Sequence

import pytest

from chirp.container import Container
from chirp.errors import NotFound, ServiceUnavailable
from chirp.ids import TIME_SHIFT, min_id_for_time_ms
from chirp.model import Event, EventType, TweetChanged, TweetData, TweetRecord, now_ms
from chirp.ports import DuplicateKey, StoreUnavailable
from chirp.services import tweets as tweets_module
from chirp.services.liveness import UNSTORED_GRACE_MS
from chirp.services.tweets import NewTweet
from chirp.tokens import Principal
from support.stack import drain, signup


class RecordingStream:
    """Wraps the container's stream's ``publish`` (the stream object stays, so the test's drain reads it), keeping
    what was published (``fail``: refuse instead); ``published`` is set once a TWEET_CREATED event is out."""

    def __init__(self, stack: Container, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fail = False
        self.events: list[Event] = []
        self.published = threading.Event()
        self._publish = stack.stores.stream.publish
        monkeypatch.setattr(stack.stores.stream, "publish", self.publish)

    def publish(self, events: Sequence[Event]) -> None:
        if self.fail:
            raise StoreUnavailable("kinesis: throughput exceeded")
        self._publish(events)
        self.events.extend(events)
        if any(e.type == EventType.TWEET_CREATED for e in events):
            self.published.set()


@pytest.fixture
def recorded(stack: Container, monkeypatch: pytest.MonkeyPatch) -> RecordingStream:
    return RecordingStream(stack, monkeypatch)


def follower_with_timeline(stack: Container) -> tuple[Principal, Principal]:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    stack.social.follow(bob, "alice")
    stack.feed.home(bob.user_id, before=None, after=None, count=10)  # materialized: fan-out writes it
    return alice, bob


def home(stack: Container, user: Principal) -> list[int]:
    return stack.feed.home(user.user_id, before=None, after=None, count=50).tweet_ids


def created(stream: RecordingStream, kind: EventType = EventType.TWEET_CREATED) -> list[int]:
    return [int(e.data["tweet"]["tweet_id"]) for e in stream.events if e.type == kind]


def test_the_store_write_and_the_event_go_out_at_once(
    stack: Container, recorded: RecordingStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = follower_with_timeline(stack)
    store_create = stack.stores.tweets.create

    def create_once_published(record: TweetRecord) -> None:
        assert recorded.published.wait(10), "the event waited for the store write"
        store_create(record)

    monkeypatch.setattr(stack.stores.tweets, "create", create_once_published)
    posted = stack.tweets.create(alice, NewTweet(content="both at once"))
    tweet_id = int(posted["tweet_id"])
    assert created(recorded) == [tweet_id]
    drain(stack)
    assert home(stack, bob) == [tweet_id]
    assert stack.tweets.get(bob, tweet_id)["content"] == "both at once"


@pytest.mark.parametrize("landed", [False, True], ids=["refused", "timed-out-but-landed"])
def test_a_tweet_the_store_refuses_after_its_event_is_out_reaches_no_one(
    stack: Container, recorded: RecordingStream, monkeypatch: pytest.MonkeyPatch, landed: bool
) -> None:
    alice, bob = follower_with_timeline(stack)
    store_create = stack.stores.tweets.create
    tried: list[int] = []

    def failing_create(record: TweetRecord) -> None:
        tried.append(record.tweet_id)
        assert recorded.published.wait(10)  # the event is out first: the worst order
        if landed:
            store_create(record)
        raise StoreUnavailable("keyspaces: write timed out")

    monkeypatch.setattr(stack.stores.tweets, "create", failing_create)
    with pytest.raises(StoreUnavailable):
        stack.tweets.create(alice, NewTweet(content="never posted #ghost"))
    monkeypatch.setattr(stack.stores.tweets, "create", store_create)
    [ghost] = tried
    assert created(recorded) == [ghost]
    assert created(recorded, EventType.TWEET_DELETED) == [ghost]  # the retraction follows it
    drain(stack)
    assert home(stack, bob) == [] and home(stack, alice) == []
    assert stack.stores.search.tweet_count() == 0
    assert stack.stores.tweets.get_many([ghost]) == {}
    with pytest.raises(NotFound):
        stack.tweets.get(bob, ghost)
    # The client posts again: this one is there for everyone.
    again = int(stack.tweets.create(alice, NewTweet(content="never posted #ghost"))["tweet_id"])
    drain(stack)
    assert home(stack, bob) == [again]


def test_a_tweet_whose_event_fails_is_not_posted_and_not_readable(
    stack: Container, recorded: RecordingStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = follower_with_timeline(stack)
    recorded.fail = True
    cache = stack.stores.tweet_cache
    claim = cache.fill_new
    claimed: list[int] = []
    monkeypatch.setattr(cache, "fill_new", lambda t: claimed.append(t.tweet_id) or claim(t))
    with pytest.raises(ServiceUnavailable):
        stack.tweets.create(alice, NewTweet(content="the stream is down"))
    [tweet_id] = claimed
    assert stack.stores.tweets.count_by_author(alice.user_id) == 0
    with pytest.raises(NotFound):  # its cached claim is a tombstone now, not a readable tweet
        stack.tweets.get(bob, tweet_id)
    drain(stack)
    assert home(stack, alice) == [] and home(stack, bob) == []


def _minting(ids: list[int]) -> Iterator[int]:
    """These ids first, then fresh ones (from the generator as it is now, before a test replaces it)."""
    fresh = tweets_module.new_id

    def ids_then_fresh() -> Iterator[int]:
        yield from ids
        while True:
            yield fresh()

    return ids_then_fresh()


def test_an_id_already_cached_is_not_reused(
    stack: Container, recorded: RecordingStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = follower_with_timeline(stack)
    first = int(stack.tweets.create(bob, NewTweet(content="bob had it first"))["tweet_id"])
    minted = _minting([first])
    monkeypatch.setattr(tweets_module, "new_id", lambda: next(minted))
    second = int(stack.tweets.create(alice, NewTweet(content="alice's"))["tweet_id"])
    assert second != first
    assert created(recorded) == [first, second]  # nothing went out under bob's id for alice
    assert stack.tweets.get(alice, first)["content"] == "bob had it first"


def test_an_id_minted_twice_past_a_lost_cache_claim_takes_nothing_back_from_its_owner(
    stack: Container, recorded: RecordingStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = follower_with_timeline(stack)
    first = int(stack.tweets.create(bob, NewTweet(content="bob had it first"))["tweet_id"])
    cache = stack.stores.tweet_cache
    claim = cache.fill_new
    monkeypatch.setattr(cache, "fill_new", lambda t: True if t.tweet_id == first else claim(t))  # a failover lost it
    minted = _minting([first])
    monkeypatch.setattr(tweets_module, "new_id", lambda: next(minted))
    store_create = stack.stores.tweets.create
    refused: list[int] = []

    def create(record: TweetRecord) -> None:
        try:
            store_create(record)
        except DuplicateKey:
            refused.append(record.tweet_id)
            raise

    monkeypatch.setattr(stack.stores.tweets, "create", create)
    second = int(stack.tweets.create(alice, NewTweet(content="alice's"))["tweet_id"])
    assert refused == [first] and second != first
    assert created(recorded, EventType.TWEET_DELETED) == []  # no retraction under bob's id
    assert cache.deleted([first]) == set()
    assert stack.stores.tweets.get_many([first])[first].content == "bob had it first"


def test_without_the_cache_a_post_is_stored_then_published(
    stack: Container, recorded: RecordingStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = follower_with_timeline(stack)

    def down(tweet: TweetRecord) -> bool:
        raise StoreUnavailable("redis: connection refused")

    monkeypatch.setattr(stack.stores.tweet_cache, "fill_new", down)
    store_create = stack.stores.tweets.create
    order: list[str] = []

    def create(record: TweetRecord) -> None:
        order.append("stored" if not recorded.published.is_set() else "published first")
        store_create(record)

    monkeypatch.setattr(stack.stores.tweets, "create", create)
    tweet_id = int(stack.tweets.create(alice, NewTweet(content="no cache"))["tweet_id"])
    assert order == ["stored"] and created(recorded) == [tweet_id]
    drain(stack)
    assert home(stack, bob) == [tweet_id]


def _in_flight(author: Principal, content: str, *, minted_ms_ago: int = 0) -> TweetRecord:
    """A post whose event is out and whose store write has not landed, its cached claim lost (or in another
    process's cache)."""
    minted = min_id_for_time_ms(now_ms() - minted_ms_ago) | secrets.randbits(TIME_SHIFT)
    return TweetRecord(
        tweet_id=minted, user_id=author.user_id, username=author.username, content=content, created_at_ms=now_ms()
    )


def _publish_created(stack: Container, tweet: TweetRecord) -> None:
    event = TweetChanged(tweet=TweetData.of(tweet)).event(EventType.TWEET_CREATED, tweet.user_id)
    stack.stores.stream.publish([event])


def test_an_event_read_before_its_tweet_is_stored_is_retried_not_dropped(stack: Container) -> None:
    alice, bob = follower_with_timeline(stack)
    tweet = _in_flight(alice, "written a moment later")
    _publish_created(stack, tweet)
    for consumer in ("fanout", "indexer", "trender"):
        with pytest.raises(StoreUnavailable):  # the whole batch fails: the mapping retries it
            drain(stack, [consumer])
    stack.stores.tweets.create(tweet)  # the write lands
    drain(stack)
    assert home(stack, bob) == [tweet.tweet_id]
    assert stack.stores.search.tweet_count() == 1


def test_an_event_whose_tweet_never_arrived_is_dropped_after_the_grace(stack: Container) -> None:
    alice, bob = follower_with_timeline(stack)
    _publish_created(stack, _in_flight(alice, "its post died", minted_ms_ago=UNSTORED_GRACE_MS + 1000))
    drain(stack)
    assert home(stack, bob) == [] and stack.stores.search.tweet_count() == 0


def test_a_post_that_notifies_someone_is_stored_before_its_event_goes_out(
    stack: Container, recorded: RecordingStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deletion does not take notifications back, so a refused write must never reach the notifier."""
    alice, bob = follower_with_timeline(stack)
    store_create = stack.stores.tweets.create
    published_before_stored: list[bool] = []

    def refuse(record: TweetRecord) -> None:
        published_before_stored.append(recorded.published.wait(0.5))
        raise StoreUnavailable("keyspaces: write timed out")

    monkeypatch.setattr(stack.stores.tweets, "create", refuse)
    with pytest.raises(StoreUnavailable):
        stack.tweets.create(alice, NewTweet(content="hello @bob"))
    assert published_before_stored == [False] and created(recorded) == []
    monkeypatch.setattr(stack.stores.tweets, "create", store_create)
    drain(stack)
    assert stack.notifications.list(bob, before=None, count=10)["notifications"] == []
    mention = int(stack.tweets.create(alice, NewTweet(content="hello again @bob"))["tweet_id"])
    drain(stack)
    assert [n["tweet_id"] for n in stack.notifications.list(bob, before=None, count=10)["notifications"]] == [
        str(mention)
    ]

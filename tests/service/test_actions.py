"""The actions consumer (chirp.services.actions) on the embedded stack: intents built exactly as the gateway builds
them (chirp.direct_writes) are applied through the Lambda path's own service methods — once each however often they
are delivered, in order within a batch, never for a deleted tweet or a missing user — and what they publish reaches
the notifier as the Lambda path's facts do."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from chirp.container import Container
from chirp.direct_writes import DIRECT_WRITES, intent_event
from chirp.ids import new_id
from chirp.model import Event, EventType, now_ms
from chirp.observability import metrics
from chirp.ports import EngagementChange, EngagementKind
from chirp.services.tweets import NewTweet
from chirp.tokens import Principal
from support.stack import drain, signup


def _intent(operation: str, actor: Principal, subject: str | None, at_ms: int | None = None) -> Event:
    return intent_event(
        DIRECT_WRITES[operation],
        subject=subject,
        actor_id=str(actor.user_id),
        actor_username=actor.username,
        request_id=str(uuid.uuid4()),
        at_ms=now_ms() if at_ms is None else at_ms,
    )


def _post(stack: Container, author: Principal, text: str) -> int:
    tweet_id = int(stack.tweets.create(author, NewTweet(content=text))["tweet_id"])
    drain(stack)
    return tweet_id


def test_duplicates_and_redeliveries_count_once(stack: Container) -> None:
    author, fan = signup(stack, "author"), signup(stack, "fan")
    tweet_id = _post(stack, author, "like me")
    like = _intent("like", fan, str(tweet_id))
    retry = _intent("like", fan, str(tweet_id))  # the client sent it again: a new request, a new event
    assert stack.actions.on_events([like, retry, like]) == [None, None, None]  # and the record redelivered
    assert stack.actions.on_events([like]) == [None]  # a whole batch redelivered
    assert stack.stores.engagement.counts([tweet_id])[tweet_id].likes == 1
    drain(stack)
    notes = stack.stores.notifications.page(author.user_id, before=None, limit=10)
    assert [(n.type, n.actor_id) for n in notes] == [("like", fan.user_id)]


def test_intents_apply_in_order_within_a_batch(stack: Container) -> None:
    author, fan = signup(stack, "author"), signup(stack, "fan")
    tweet_id = _post(stack, author, "on and off")
    batch = [
        _intent("like", fan, str(tweet_id)),
        _intent("retweet", fan, str(tweet_id)),
        _intent("unlike", fan, str(tweet_id)),
    ]
    assert stack.actions.on_events(batch) == [None, None, None]
    counts = stack.stores.engagement.counts([tweet_id])[tweet_id]
    assert (counts.likes, counts.retweets) == (0, 1)
    assert stack.stores.engagement.liked_by(fan.user_id, [tweet_id]) == set()
    assert stack.stores.engagement.retweeted_by(fan.user_id, [tweet_id]) == {tweet_id}


def test_a_like_of_a_deleted_tweet_writes_nothing(stack: Container) -> None:
    author, fan = signup(stack, "author"), signup(stack, "fan")
    tweet_id = _post(stack, author, "soon gone")
    stack.tweets.delete(author, tweet_id)
    drain(stack)
    never = new_id()
    assert stack.actions.on_events([_intent("like", fan, str(tweet_id)), _intent("retweet", fan, str(never))]) == [
        None,
        None,
    ]
    assert stack.stores.engagement.liked_by(fan.user_id, [tweet_id]) == set()
    assert stack.stores.engagement.retweeted_by(fan.user_id, [never]) == set()
    counts = stack.stores.engagement.counts([tweet_id, never])
    assert all(c.likes == c.retweets == 0 for c in counts.values())
    assert drain(stack) == 0  # no fact published, so no notification either
    assert stack.stores.notifications.page(author.user_id, before=None, limit=10) == []


def test_follow_and_unfollow_move_the_graph_and_timeline(stack: Container) -> None:
    star, reader = signup(stack, "star"), signup(stack, "reader")
    tweet_id = _post(stack, star, "hello followers")
    follow = _intent("follow", reader, "STAR")  # usernames are case-insensitive
    assert stack.actions.on_events([follow, follow]) == [None, None]
    assert stack.stores.graph.counts(star.user_id)[0] == 1
    assert tweet_id in stack.feed.home(reader.user_id, before=None, after=None, count=20).tweet_ids
    drain(stack)
    assert [n.type for n in stack.stores.notifications.page(star.user_id, before=None, limit=10)] == ["follow"]
    assert stack.actions.on_events([_intent("unfollow", reader, "star")]) == [None]
    assert stack.stores.graph.counts(star.user_id)[0] == 0
    assert tweet_id not in stack.feed.home(reader.user_id, before=None, after=None, count=20).tweet_ids


def test_follows_of_no_one_change_nothing(stack: Container) -> None:
    reader = signup(stack, "reader")
    nobody = _intent("follow", reader, "nobody_here")
    # Not from the gateway (it refuses following oneself), but a consumer must not trust its producers.
    self_follow = Event.model_validate(nobody.model_dump() | {"data": nobody.data | {"followee_username": "reader"}})
    assert stack.actions.on_events([nobody, self_follow]) == [None, None]
    assert stack.stores.graph.counts(reader.user_id) == (0, 0)


def test_mark_read_covers_what_existed_at_the_request(stack: Container) -> None:
    owner, fan, late = signup(stack, "owner"), signup(stack, "fan"), signup(stack, "late")
    first = _post(stack, owner, "one")
    stack.tweets.set_like(fan, first, on=True)
    drain(stack)
    requested_at = now_ms()
    second = _post(stack, owner, "two")
    while now_ms() <= requested_at:  # the next notification's id is after the request, to the millisecond
        pass
    stack.tweets.set_like(late, second, on=True)
    drain(stack)
    assert stack.stores.notifications.unread_count(owner.user_id) == 2
    assert stack.actions.on_events([_intent("mark_read", owner, None, at_ms=requested_at)]) == [None]
    assert stack.stores.notifications.unread_count(owner.user_id) == 1  # the later one is still unread


def test_malformed_intents_fail_for_the_edge_to_quarantine(stack: Container) -> None:
    bad = Event.new(EventType.LIKE_REQUESTED, "1", {"actor_id": "1", "on": True})
    other = Event.new(EventType.TWEET_CREATED, "1", {"tweet": {}})  # not ours: ignored
    outcomes = stack.actions.on_events([bad, other])
    assert isinstance(outcomes[0], ValueError) and outcomes[1] is None


# -- counter coalescing: one counter write per tweet and kind per batch ------------------------------------------------
def _likes_spy(stack: Container, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, int]]:
    """Every set_engagements call the consumer makes: (kind, tweet, changes in the call)."""
    calls: list[tuple[str, int, int]] = []
    store = stack.stores.engagement
    real = store.set_engagements

    def spy(kind: EngagementKind, tweet_id: int, changes: Sequence[EngagementChange]) -> list[bool]:
        calls.append((kind, tweet_id, len(changes)))
        return real(kind, tweet_id, changes)

    monkeypatch.setattr(store, "set_engagements", spy)
    return calls


def test_a_batch_moves_each_tweet_count_once_by_the_sum(stack: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    author = signup(stack, "author")
    fans = [signup(stack, f"fan{i}") for i in range(5)]
    hot, cold = _post(stack, author, "hot"), _post(stack, author, "cold")
    calls = _likes_spy(stack, monkeypatch)
    counted: list[tuple[str, int]] = []
    monkeypatch.setattr(metrics, "count", lambda name, n=1, **_: counted.append((name, n)))
    batch = [_intent("like", fan, str(hot)) for fan in fans]
    batch += [_intent("like", fans[0], str(cold)), _intent("retweet", fans[1], str(hot))]
    batch += [_intent("unlike", fans[4], str(hot)), _intent("like", fans[0], str(hot))]  # one taken back, one again
    assert stack.actions.on_events(batch) == [None] * len(batch)
    assert sorted(calls) == sorted([("like", cold, 1), ("like", hot, 7), ("retweet", hot, 1)])
    # Eight rows changed (the like sent again did not), three counter writes: the ratio operators watch
    assert [c for c in counted if c[0].startswith("Engagement")] == [
        ("EngagementRowsChanged", 8),
        ("EngagementCounterWrites", 3),
    ]
    counts = stack.stores.engagement.counts([hot, cold])
    assert (counts[hot].likes, counts[hot].retweets, counts[cold].likes) == (4, 1, 1)
    assert stack.stores.engagement.liked_by(fans[4].user_id, [hot]) == set()
    drain(stack)
    notes = stack.stores.notifications.page(author.user_id, before=None, limit=20)
    # One fact per change: five likes of hot, one taken back (no notification for an unlike), one of cold, a retweet.
    assert sorted(n.type for n in notes) == ["like"] * 6 + ["retweet"]


def test_a_redelivered_batch_counts_nothing_twice(stack: Container) -> None:
    author = signup(stack, "author")
    fans = [signup(stack, f"fan{i}") for i in range(3)]
    tweet_id = _post(stack, author, "again and again")
    batch = [_intent("like", fan, str(tweet_id)) for fan in fans] + [_intent("retweet", fans[0], str(tweet_id))]
    for _ in range(3):  # delivered, then the whole batch twice more (a retried shard)
        assert stack.actions.on_events(batch) == [None] * 4
    counts = stack.stores.engagement.counts([tweet_id])[tweet_id]
    assert (counts.likes, counts.retweets) == (3, 1)
    drain(stack)
    notes = stack.stores.notifications.page(author.user_id, before=None, limit=20)
    assert sorted(n.type for n in notes) == ["like", "like", "like", "retweet"]


def test_a_failed_counter_write_fails_its_tweet_and_the_retry_counts_exactly(
    stack: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    author = signup(stack, "author")
    fans = [signup(stack, f"fan{i}") for i in range(3)]
    broken, fine = _post(stack, author, "counter down"), _post(stack, author, "counter up")
    store = stack.stores.engagement
    real_bump = store._bump  # type: ignore[attr-defined]

    def bump(conn: Any, tweet_id: int, column: str, delta: int) -> None:
        if tweet_id == broken:
            raise RuntimeError("counter write failed")
        real_bump(conn, tweet_id, column, delta)

    monkeypatch.setattr(store, "_bump", bump)
    batch = [_intent("like", fan, str(broken)) for fan in fans] + [_intent("like", fans[0], str(fine))]
    outcomes = stack.actions.on_events(batch)
    assert [isinstance(o, RuntimeError) for o in outcomes] == [True, True, True, False]
    # The failed tweet's rows were set back with its count: nothing is half-applied, nothing was announced.
    assert store.liked_by(fans[0].user_id, [broken, fine]) == {fine}
    assert all(c.likes == 0 for c in store.counts([broken]).values())
    drain(stack)
    assert len(stack.stores.notifications.page(author.user_id, before=None, limit=20)) == 1
    monkeypatch.setattr(store, "_bump", real_bump)
    # The edge retries from the first failed record: the failed ones and the succeeded one after them.
    assert stack.actions.on_events(batch) == [None] * 4
    counts = store.counts([broken, fine])
    assert (counts[broken].likes, counts[fine].likes) == (3, 1)
    drain(stack)
    notes = stack.stores.notifications.page(author.user_id, before=None, limit=20)
    assert Counter(n.tweet_id for n in notes) == {broken: 3, fine: 1}

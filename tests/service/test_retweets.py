"""Retweets travel through timelines: a retweet is its own entry (its id, the retweeter, ``retweet_of`` the hydrated
original), fanned out like a tweet (celebrity retweeters merged on read), shown once per timeline (Mastodon's rule:
not when the original or an older retweet of it is already there), removed by an un-retweet or with its original,
pushed to online followers; the Lambda path and the actions consumer give the same result, and redelivered events
add nothing twice nor resurrect an undone retweet."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

from chirp import api_models as api
from chirp.container import Container
from chirp.direct_writes import DIRECT_WRITES, intent_event
from chirp.local import events
from chirp.local.functions import invoke
from chirp.model import Event, EventType, now_ms
from chirp.services.tweets import NewTweet
from chirp.tokens import Principal
from support.stack import drain, make_container, pusher, signup


def post(c: Container, author: Principal, text: str) -> int:
    tweet_id = int(c.tweets.create(author, NewTweet(content=text))["tweet_id"])
    drain(c)
    return tweet_id


def retweet(c: Container, actor: Principal, tweet_id: int, *, on: bool = True) -> None:
    c.tweets.set_retweet(actor, tweet_id, on=on)
    drain(c)


def home(c: Container, user: Principal, *, before: int | None = None, count: int = 50) -> list[api.Tweet]:
    """A page of the home timeline as the timeline function answers it (hydrated, then FeedManager.visible)."""
    page = c.feed.home(user.user_id, before=before, after=None, count=count)
    return c.feed.visible(user.user_id, c.tweets.hydrator.by_ids(user.user_id, page.tweet_ids))


def shown(c: Container, user: Principal) -> list[tuple[str, str | None]]:
    """(author, retweeted original's id or None) of each home item, newest first."""
    return [(t["username"], t["retweet_of"]["tweet_id"] if t["retweet_of"] else None) for t in home(c, user)]


def shown_texts(c: Container, user: Principal) -> list[tuple[str, str]]:
    """(author, the text shown) of each home item, newest first: a retweet shows its original's."""
    return [(t["username"], (t["retweet_of"] or t)["content"]) for t in home(c, user)]


def stored(c: Container, user: Principal) -> list[int] | None:
    return c.stores.timelines.page(user.user_id, before=None, after=None, limit=100)


def people(c: Container, *names: str) -> list[Principal]:
    return [signup(c, n) for n in names]


def test_a_retweet_reaches_the_retweeters_followers_as_its_own_entry(stack: Container) -> None:
    c = stack
    alice, carol, bob = people(c, "alice", "carol", "bob")
    c.social.follow(bob, "carol")
    assert home(c, bob) == []  # materialized: fan-out writes it
    original = post(c, alice, "worth sharing")
    retweet(c, carol, original)
    [entry] = home(c, bob)
    assert entry["username"] == "carol" and entry["content"] == "" and entry["quote_tweet"] is None
    assert entry["tweet_id"] != str(original)
    assert entry["retweet_of"] is not None and entry["retweet_of"]["tweet_id"] == str(original)
    assert entry["retweet_of"]["username"] == "alice" and entry["retweet_of"]["content"] == "worth sharing"
    assert entry["retweets_count"] == entry["retweet_of"]["retweets_count"] == 1  # the original's counts
    assert stored(c, bob) == [int(entry["tweet_id"])]  # written on fan-out, not merged on read
    assert int(entry["tweet_id"]) > original  # a snowflake at the retweet's time: timeline order, stable cursors
    # The original's author is told once, as a retweet (not as a quote), and search has no empty entry.
    notes = c.stores.notifications.page(alice.user_id, before=None, limit=10)
    assert [(n.type, n.actor_id) for n in notes] == [("retweet", carol.user_id)]
    assert c.stores.search.tweet_count() == 1


def test_a_tweet_retweeted_by_two_followees_shows_once_then_the_next_after_an_undo(stack: Container) -> None:
    c = stack
    alice, carol, dave, bob = people(c, "alice", "carol", "dave", "bob")
    c.social.follow(bob, "carol")
    c.social.follow(bob, "dave")
    home(c, bob)
    original = post(c, alice, "viral")
    retweet(c, carol, original)
    retweet(c, dave, original)
    post(c, dave, "something else")
    assert len(stored(c, bob) or []) == 3  # both entries are stored; the rule applies on read
    assert shown(c, bob) == [("dave", None), ("carol", str(original))]  # the first retweet, where it arrived
    retweet(c, carol, original, on=False)
    assert shown(c, bob) == [("dave", None), ("dave", str(original))]


def test_a_retweet_of_a_tweet_already_in_the_timeline_is_not_shown(stack: Container) -> None:
    c = stack
    alice, carol, bob = people(c, "alice", "carol", "bob")
    c.social.follow(bob, "alice")
    c.social.follow(bob, "carol")
    home(c, bob)
    original = post(c, alice, "already here")
    retweet(c, carol, original)
    assert shown(c, bob) == [("alice", None)]
    # Also across pages: the retweet on the first page, the original on a later one.
    newer = [post(c, alice, f"newer {i}") for i in range(3)]
    retweet(c, carol, newer[0])
    first = c.feed.home(bob.user_id, before=None, after=None, count=2)
    assert len(first.tweet_ids) == 2 and first.next_cursor is not None  # the retweet and "newer 2"
    items = home(c, bob, count=2) + home(c, bob, before=first.next_cursor, count=10)
    assert [(t["username"], t["retweet_of"]) for t in items] == [("alice", None)] * 4  # each once, no retweet


def test_the_retweeters_own_timeline_shows_you_retweeted_unless_the_original_is_there(stack: Container) -> None:
    c = stack
    alice, carol = people(c, "alice", "carol")
    home(c, carol)
    original = post(c, alice, "from a stranger")
    retweet(c, carol, original)
    assert shown(c, carol) == [("carol", str(original))]
    assert shown(c, alice) == [("alice", None)]  # the author's own timeline holds the original


def test_an_unretweet_removes_the_entry_from_every_timeline(stack: Container) -> None:
    c = stack
    alice, carol, bob = people(c, "alice", "carol", "bob")
    c.social.follow(bob, "carol")
    home(c, bob)
    original = post(c, alice, "briefly shared")
    retweet(c, carol, original)
    assert len(stored(c, bob) or []) == 1
    retweet(c, carol, original, on=False)
    assert stored(c, bob) == [] and home(c, bob) == []
    assert c.stores.engagement.counts([original])[original].retweets == 0
    assert c.tweets.by_author(None, carol.user_id, before=None, count=10)[0] == []
    retweet(c, carol, original)  # again: a new entry
    assert shown(c, bob) == [("carol", str(original))]


def test_deleting_ones_retweet_entry_is_an_unretweet(stack: Container) -> None:
    c = stack
    alice, carol, bob = people(c, "alice", "carol", "bob")
    c.social.follow(bob, "carol")
    home(c, bob)
    original = post(c, alice, "shared")
    retweet(c, carol, original)
    [entry] = home(c, bob)
    c.tweets.delete(carol, int(entry["tweet_id"]))
    drain(c)
    assert home(c, bob) == [] and c.stores.engagement.retweeted_by(carol.user_id, [original]) == set()


def test_liking_a_retweet_entry_likes_the_original(stack: Container) -> None:
    c = stack
    alice, carol, bob = people(c, "alice", "carol", "bob")
    original = post(c, alice, "like the source")
    retweet(c, carol, original)
    entry_id = int(c.tweets.by_author(None, carol.user_id, before=None, count=1)[0][0]["tweet_id"])
    liked = c.tweets.set_like(bob, entry_id, on=True)
    assert liked["tweet_id"] == str(original) and liked["likes_count"] == 1


def test_a_deleted_original_takes_its_retweet_entries_with_it(stack: Container) -> None:
    c = stack
    alice, carol, bob = people(c, "alice", "carol", "bob")
    c.social.follow(bob, "carol")
    home(c, bob)
    original = post(c, alice, "soon gone")
    retweet(c, carol, original)
    c.tweets.delete(alice, original)
    drain(c)
    assert home(c, bob) == []
    assert c.tweets.by_author(None, carol.user_id, before=None, count=10)[0] == []


def test_a_celebrity_retweet_is_merged_on_read(celebrity_stack: Container) -> None:
    c = celebrity_stack  # threshold: 2 followers
    alice, star, bob, other = people(c, "alice", "star", "bob", "other")
    c.social.follow(bob, "star")
    c.social.follow(other, "star")
    drain(c)
    home(c, bob)
    original = post(c, alice, "noticed by a star")
    retweet(c, star, original)
    assert stored(c, bob) == []  # no follower write
    assert shown(c, bob) == [("star", str(original))]
    retweet(c, star, original, on=False)
    assert home(c, bob) == []


def test_a_rebuilt_timeline_keeps_the_rule(stack: Container) -> None:
    c = stack
    alice, carol, dave, bob = people(c, "alice", "carol", "dave", "bob")
    c.social.follow(bob, "carol")
    c.social.follow(bob, "dave")
    original = post(c, alice, "before bob ever read")
    retweet(c, carol, original)
    retweet(c, dave, original)
    assert stored(c, bob) is None  # never read: rebuilt from the followees' records, entries included
    assert shown(c, bob) == [("carol", str(original))]


def test_online_followers_receive_the_retweet_with_its_original(stack: Container) -> None:
    c = stack
    alice, carol, bob = people(c, "alice", "carol", "bob")
    c.social.follow(bob, "carol")
    home(c, bob)
    c.realtime.connect("bob-conn", bob.user_id)
    original = post(c, alice, "live")
    retweet(c, carol, original)
    [message] = pusher(c).of_type("bob-conn", "new_tweet")
    assert message["tweet"]["username"] == "carol"
    assert message["tweet"]["retweet_of"]["tweet_id"] == str(original)


# -- the async path and redelivery -----------------------------------------------------------------------------


def _intent(operation: str, actor: Principal, tweet_id: int) -> Event:
    return intent_event(
        DIRECT_WRITES[operation],
        subject=str(tweet_id),
        actor_id=str(actor.user_id),
        actor_username=actor.username,
        request_id=str(uuid.uuid4()),
        at_ms=now_ms(),
    )


def _redeliver(function: str, batch: list[Event]) -> None:
    records = [
        events.KinesisInput(events.sequence_number(i + 1), e.partition_key, e.model_dump_json().encode(), 0.0)
        for i, e in enumerate(batch)
    ]
    assert invoke(function, events.kinesis_event(records)) == {"batchItemFailures": []}


def _scripted(c: Container, apply: str) -> list[tuple[str, str]]:
    alice, carol, dave, bob = people(c, "alice", "carol", "dave", "bob")
    c.social.follow(bob, "carol")
    c.social.follow(bob, "dave")
    home(c, bob)
    first, second = post(c, alice, "one"), post(c, alice, "two")
    steps = [(carol, "retweet", first), (dave, "retweet", first), (carol, "retweet", second)]
    steps += [(carol, "unretweet", first), (dave, "retweet", second)]
    for actor, op, tweet_id in steps:
        if apply == "lambda":
            retweet(c, actor, tweet_id, on=op == "retweet")
        else:
            intent = _intent(op, actor, tweet_id)
            assert c.actions.on_events([intent, intent]) == [None, None]  # delivered twice
            drain(c)
    return shown_texts(c, bob)


def test_the_lambda_path_and_the_actions_consumer_give_the_same_timeline(tmp_path: Path) -> None:
    by_lambda = _scripted(make_container(tmp_path / "lambda"), "lambda")
    by_intents = _scripted(make_container(tmp_path / "async"), "async")
    # carol's retweet of "two" (before dave's), and dave's of "one" once carol undid hers
    assert by_lambda == by_intents == [("carol", "two"), ("dave", "one")]


def test_redelivered_retweet_events_add_nothing_twice_and_resurrect_nothing(stack: Container) -> None:
    c = stack
    alice, carol, bob = people(c, "alice", "carol", "bob")
    c.social.follow(bob, "carol")
    home(c, bob)
    c.realtime.connect("bob-conn", bob.user_id)
    original = post(c, alice, "retried")
    published: list[Event] = []
    real = c.stores.stream.publish

    def publish(batch: Sequence[Event]) -> None:
        published.extend(batch)
        real(batch)

    c.stores.stream.publish = publish  # type: ignore[method-assign,assignment]
    c.tweets.set_retweet(carol, original, on=True)
    c.tweets.set_retweet(carol, original, on=True)  # a client retry: no second entry
    drain(c)
    created = [e for e in published if e.type == EventType.TWEET_CREATED]
    assert len(created) == 1
    _redeliver("fanout", created)
    assert len(stored(c, bob) or []) == 1
    retweet(c, carol, original, on=False)
    _redeliver("fanout", created)  # after the undo: the entry is gone, so it is not written again
    assert stored(c, bob) == [] and home(c, bob) == []
    _redeliver("notifier", created)
    assert [n.type for n in c.stores.notifications.page(alice.user_id, before=None, limit=10)] == ["retweet"]


def test_a_retry_heals_a_retweet_or_undo_that_stopped_between_the_flag_and_the_entry(stack: Container) -> None:
    c = stack
    alice, carol, bob = people(c, "alice", "carol", "bob")
    c.social.follow(bob, "carol")
    home(c, bob)
    original = post(c, alice, "interrupted")
    c.stores.engagement.add_retweet(original, carol.user_id, now_ms())  # the flag, then the call died
    assert home(c, bob) == []
    retweet(c, carol, original)  # the client's retry: the flag is already on, the entry is made now
    assert shown(c, bob) == [("carol", str(original))]
    c.stores.engagement.remove_retweet(original, carol.user_id)  # an undo that died after the flag
    retweet(c, carol, original, on=False)  # its retry finds the entry and removes it
    assert home(c, bob) == [] and c.tweets.by_author(None, carol.user_id, before=None, count=10)[0] == []

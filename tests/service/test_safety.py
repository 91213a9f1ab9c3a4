"""Blocks and mutes (chirp.services.blocks, chirp.services.safety) on the embedded stack: a block unfollows both ways,
forbids new follows, and hides the two accounts from each other in timelines, replies, search, notifications and
profiles, at fan-out and on read; a mute hides the muted from the muter's home timeline and notifications only; the
sets are cached and dropped on every change. And "who to follow" (SocialService.suggestions)."""

from __future__ import annotations

from typing import Any

import pytest

from chirp.container import Container
from chirp.errors import Forbidden
from chirp.services.tweets import NewTweet
from chirp.tokens import Principal
from support.stack import drain, pusher, signup


def post(c: Container, author: Principal, text: str, reply_to: int | None = None) -> int:
    tweet_id = int(c.tweets.create(author, NewTweet(content=text, reply_to=reply_to))["tweet_id"])
    drain(c)
    return tweet_id


def home(c: Container, user: Principal) -> list[int]:
    """What the home route shows (functions/timeline: the feed's page, hydrated, then what the reader sees)."""
    page = c.feed.home(user.user_id, before=None, after=None, count=50)
    return [
        int(t["tweet_id"]) for t in c.feed.visible(user.user_id, c.tweets.hydrator.by_ids(user.user_id, page.tweet_ids))
    ]


def searched(c: Container, viewer: Principal, q: str) -> list[int]:
    c.stores.search.refresh()
    return [int(t["tweet_id"]) for t in c.search.search(viewer, q, kind="recent", count=20, cursor=None)["tweets"]]


def replies(c: Container, viewer: Principal, tweet_id: int) -> list[int]:
    return [int(t["tweet_id"]) for t in c.tweets.replies(viewer, tweet_id, after=None, count=20)[0]]


def notified_by(c: Container, user: Principal) -> list[str]:
    notes = c.notifications.list(user, before=None, count=20)["notifications"]
    return sorted(f"{n['type']}:{n['actor']['username']}" for n in notes)  # events of two partitions: any order


def test_a_block_unfollows_both_ways_and_unmerges_both_timelines(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    stack.social.follow(alice, "bob")
    stack.social.follow(bob, "alice")
    by_alice, by_bob = post(stack, alice, "from alice"), post(stack, bob, "from bob")
    assert by_bob in home(stack, alice) and by_alice in home(stack, bob)
    state = stack.blocks.set_block(alice, "bob", on=True)
    assert state == {"username": "bob", "blocking": True, "muting": False}
    assert stack.stores.graph.counts(alice.user_id) == (0, 0)
    assert stack.stores.graph.counts(bob.user_id) == (0, 0)
    # Out of the materialized timelines (the unfollow's unmerge), not only filtered on read.
    assert by_bob not in (stack.stores.timelines.page(alice.user_id, before=None, after=None, limit=50) or [])
    assert by_alice not in (stack.stores.timelines.page(bob.user_id, before=None, after=None, limit=50) or [])
    drain(stack)
    # Unblocking restores nothing (as on Twitter), but allows following again.
    stack.blocks.set_block(alice, "bob", on=False)
    assert stack.social.follow(bob, "alice")["following"] is True


def test_a_block_forbids_follows_either_way(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    stack.blocks.set_block(alice, "bob", on=True)
    with pytest.raises(Forbidden) as blocked:
        stack.social.follow(bob, "alice")
    assert blocked.value.code == "blocked"
    with pytest.raises(Forbidden) as blocking:
        stack.social.follow(alice, "bob")
    assert blocking.value.code == "blocking"
    # The async write path's intent (already answered 202) is dropped, not applied.
    stack.social.set_following(bob, stack.social.user("alice"), on=True)
    assert stack.stores.graph.counts(alice.user_id) == (0, 0)


def test_a_blocked_viewer_cannot_read_the_blockers_profile(stack: Container) -> None:
    alice, bob, _ = signup(stack, "alice"), signup(stack, "bob"), signup(stack, "carol")
    stack.blocks.set_block(alice, "bob", on=True)
    stack.blocks.set_mute(alice, "carol", on=True)
    with pytest.raises(Forbidden) as refused:
        stack.social.profile(bob, "alice")
    assert refused.value.code == "blocked"
    seen = stack.social.profile(alice, "bob")  # the blocker sees whom they block, and that they do
    assert (seen["blocking"], seen["muting"]) == (True, False)
    muted = stack.social.profile(alice, "carol")
    assert (muted["blocking"], muted["muting"]) == (False, True)
    assert stack.social.profile(None, "alice")["username"] == "alice"  # signed out: no one to hide from


def test_fan_out_writes_no_entry_for_a_blocker(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    home(stack, bob)  # bob's timeline exists
    stack.blocks.set_block(bob, "alice", on=True)
    stack.stores.graph.follow(bob.user_id, alice.user_id, 1)  # a follow that raced the block and won
    tweet_id = post(stack, alice, "not for bob")
    assert tweet_id not in (stack.stores.timelines.page(bob.user_id, before=None, after=None, limit=50) or [])


def test_a_block_hides_replies_and_search_results_both_ways_and_a_mute_does_not(stack: Container) -> None:
    alice, bob, carol, dave = (signup(stack, n) for n in ("alice", "bob", "carol", "dave"))
    root = post(stack, carol, "a thread about zebras")
    by_bob = post(stack, bob, "bob on zebras", reply_to=root)
    by_alice = post(stack, alice, "alice on zebras", reply_to=root)
    by_dave = post(stack, dave, "dave on zebras", reply_to=root)
    stack.blocks.set_block(alice, "bob", on=True)
    stack.blocks.set_mute(alice, "dave", on=True)
    assert replies(stack, alice, root) == [by_alice, by_dave]
    assert replies(stack, bob, root) == [by_bob, by_dave]
    assert replies(stack, carol, root) == [by_bob, by_alice, by_dave]
    assert replies(stack, None, root) == [by_bob, by_alice, by_dave]  # type: ignore[arg-type]
    assert set(searched(stack, alice, "zebras")) == {root, by_alice, by_dave}
    assert set(searched(stack, bob, "zebras")) == {root, by_bob, by_dave}
    assert [u["username"] for u in stack.search.users(bob, "ali", count=5)["users"]] == []


def test_a_mute_hides_the_muted_from_the_home_timeline_and_notifications_only(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    stack.social.follow(alice, "bob")
    stack.social.follow(bob, "alice")
    before = post(stack, bob, "hello @alice")
    assert notified_by(stack, alice) == ["follow:bob", "mention:bob"]
    stack.blocks.set_mute(alice, "bob", on=True)
    after = post(stack, bob, "again @alice")
    assert before not in home(stack, alice) and after not in home(stack, alice)
    assert notified_by(stack, alice) == ["follow:bob", "mention:bob"]  # made before the mute; none since
    assert stack.stores.graph.counts(alice.user_id) == (1, 1)  # still following each other
    assert replies(stack, alice, before) == [] and int(stack.tweets.get(alice, after)["tweet_id"]) == after
    assert stack.safety.sets(bob.user_id).muting == frozenset()  # the muted one's view knows nothing of it
    own = post(stack, alice, "hi @bob")
    assert own in home(stack, bob) and notified_by(stack, bob) == ["follow:alice", "mention:alice"]
    stack.blocks.set_mute(alice, "bob", on=False)
    assert after in home(stack, alice) and notified_by(stack, alice) == ["follow:bob", "mention:bob"]


def test_a_muter_gets_no_live_push_of_the_muted_but_keeps_the_entry(stack: Container) -> None:
    author, muter, fan = signup(stack, "author"), signup(stack, "muter"), signup(stack, "fan")
    for follower in (muter, fan):
        stack.social.follow(follower, "author")
        stack.realtime.connect(f"conn-{follower.username}", follower.user_id)
    stack.blocks.set_mute(muter, "author", on=True)
    home(stack, muter)  # the muter's timeline exists
    tweet_id = post(stack, author, "live now")
    assert len(pusher(stack).of_type("conn-fan", "new_tweet")) == 1
    assert pusher(stack).of_type("conn-muter", "new_tweet") == []
    # The entry is written (hidden on read), so unmuting shows it again.
    assert tweet_id in (stack.stores.timelines.page(muter.user_id, before=None, after=None, limit=10) or [])
    assert tweet_id not in home(stack, muter)
    stack.blocks.set_mute(muter, "author", on=False)
    assert tweet_id in home(stack, muter)


def test_a_blocked_actor_makes_no_notifications(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    tweet_id = post(stack, alice, "like me")
    stack.blocks.set_block(alice, "bob", on=True)
    stack.tweets.set_like(bob, tweet_id, on=True)
    post(stack, bob, "hey @alice")
    drain(stack)
    assert stack.stores.notifications.page(alice.user_id, before=None, limit=10) == []


def test_lists_show_blocks_and_mutes_newest_first_and_self_is_refused(stack: Container) -> None:
    alice, _, _ = signup(stack, "alice"), signup(stack, "bob"), signup(stack, "carol")
    stack.blocks.set_block(alice, "bob", on=True)
    stack.blocks.set_block(alice, "carol", on=True)
    stack.blocks.set_mute(alice, "carol", on=True)
    assert [u["username"] for u in stack.blocks.listed(alice, "blocks")["users"]] in (
        ["carol", "bob"],
        ["bob", "carol"],
    )
    assert [u["username"] for u in stack.blocks.listed(alice, "mutes")["users"]] == ["carol"]
    assert stack.blocks.set_block(alice, "bob", on=False)["blocking"] is False
    assert [u["username"] for u in stack.blocks.listed(alice, "blocks")["users"]] == ["carol"]
    for change in (stack.blocks.set_block, stack.blocks.set_mute):
        with pytest.raises(Forbidden):
            change(alice, "alice", on=True)


class _CountingGraph:
    """The graph store with a count of safety-set reads."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.reads = 0

    def safety_sets(self, user_id: int, *, limit: int) -> Any:
        self.reads += 1
        return self._inner.safety_sets(user_id, limit=limit)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_the_sets_are_cached_and_every_change_drops_them(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    graph = _CountingGraph(stack.stores.graph)
    stack.stores.graph = graph
    home(stack, alice)
    home(stack, alice)
    assert graph.reads == 1  # the second home read asked the cache only
    stack.blocks.set_mute(alice, "bob", on=True)
    assert stack.safety.sets(alice.user_id).muting == {bob.user_id}  # dropped, so read again: never stale
    stack.blocks.set_block(bob, "alice", on=True)
    assert stack.safety.sets(alice.user_id).blocked_by == {bob.user_id}  # the blocked one's sets are dropped too
    reads = graph.reads
    stack.safety.sets(alice.user_id)
    assert graph.reads == reads


def test_suggestions_rank_followees_follows_and_leave_out_blocks(stack: Container) -> None:
    me, f1, f2, popular, niche, blocked = (signup(stack, n) for n in ("mine", "f1", "f2", "popular", "niche", "blk"))
    for followee in ("f1", "f2"):
        stack.social.follow(me, followee)
    for f in (f1, f2):
        stack.social.follow(f, "popular")
        stack.social.follow(f, "blk")
    stack.social.follow(f1, "niche")
    stack.social.follow(f1, "mine")
    stack.blocks.set_block(blocked, "mine", on=True)
    found = stack.social.suggestions(me, count=5)["users"]
    assert [(u["username"], u["followed_by_followees"], u["followed_by_me"]) for u in found] == [
        ("popular", 2, False),
        ("niche", 1, False),
    ]
    assert popular.username == "popular" and niche.username == "niche"
    stack.social.follow(me, "popular")
    assert [u["username"] for u in stack.social.suggestions(me, count=5)["users"]] == ["niche"]

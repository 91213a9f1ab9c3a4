"""FeedManager semantics: fan-out on write, merge on read for celebrities (same timeline either way), capped
timelines with fallback paging, follow merge, unfollow unmerge, rebuild of missing timelines, deletes."""

from pathlib import Path

import pytest

from chirp.container import Container
from chirp.services.tweets import NewTweet
from chirp.tokens import Principal
from support.stack import drain, make_container, signup


def post(c: Container, author: Principal, text: str) -> int:
    return int(c.tweets.create(author, NewTweet(content=text))["tweet_id"])


def home_ids(c: Container, user: Principal, count: int = 100) -> list[int]:
    return c.feed.home(user.user_id, before=None, after=None, count=count).tweet_ids


def test_followers_timelines_receive_a_new_tweet_by_fan_out(stack: Container) -> None:
    # Given bob follows alice and has a materialized timeline
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    stack.social.follow(bob, "alice")
    assert home_ids(stack, bob) == []
    # When alice posts and the stream is drained
    tweet_id = post(stack, alice, "hello followers")
    drain(stack)
    # Then the tweet id is in bob's materialized timeline (not merged on read)
    assert stack.stores.timelines.page(bob.user_id, before=None, after=None, limit=10) == [tweet_id]
    assert home_ids(stack, bob) == [tweet_id]


def test_celebrity_tweets_cost_no_follower_writes_and_are_merged_on_read(celebrity_stack: Container) -> None:
    c = celebrity_stack
    celeb, f1, f2 = signup(c, "celeb"), signup(c, "fan1"), signup(c, "fan2")
    c.social.follow(f1, "celeb")
    c.social.follow(f2, "celeb")
    home_ids(c, f1)  # materialize
    tweet_id = post(c, celeb, "to my many fans")
    drain(c)
    assert c.stores.timelines.page(f1.user_id, before=None, after=None, limit=10) == []
    assert home_ids(c, f1) == [tweet_id]


def _scripted_timeline(c: Container) -> list[str]:
    star, mid, reader, other = (signup(c, n) for n in ("star", "mid", "reader", "other"))
    c.social.follow(reader, "star")
    c.social.follow(other, "star")  # star has 2 followers: a celebrity when the threshold is 2
    c.social.follow(reader, "mid")
    home_ids(c, reader)
    for i in range(6):
        post(c, star if i % 2 else mid, f"tweet {i}")
        drain(c)
    post(c, reader, "my own")
    drain(c)
    timeline = c.feed.home(reader.user_id, before=None, after=None, count=50).tweet_ids
    return [t.content for t in c.tweets.hydrator.records(timeline)]


def test_both_fan_out_paths_return_the_same_timeline(tmp_path: Path) -> None:
    by_write = _scripted_timeline(make_container(tmp_path / "write"))
    by_read = _scripted_timeline(make_container(tmp_path / "read", celebrity_threshold=2))
    assert by_write == by_read == ["my own", "tweet 5", "tweet 4", "tweet 3", "tweet 2", "tweet 1", "tweet 0"]


def test_pages_have_no_gaps_or_duplicates_while_new_tweets_arrive(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    stack.social.follow(bob, "alice")
    posted = [post(stack, alice, f"t{i}") for i in range(25)]
    drain(stack)
    first = stack.feed.home(bob.user_id, before=None, after=None, count=10)
    newer = [post(stack, alice, f"new{i}") for i in range(5)]
    drain(stack)
    second = stack.feed.home(bob.user_id, before=first.next_cursor, after=None, count=10)
    third = stack.feed.home(bob.user_id, before=second.next_cursor, after=None, count=10)
    seen = first.tweet_ids + second.tweet_ids + third.tweet_ids
    assert seen == sorted(posted, reverse=True)
    assert third.next_cursor is None
    assert home_ids(stack, bob)[:5] == sorted(newer, reverse=True)


def test_pages_beyond_the_cap_fall_back_to_the_durable_store(tmp_path: Path) -> None:
    c = make_container(tmp_path / "cap", timeline_cap=5)
    alice, bob = signup(c, "alice"), signup(c, "bob")
    c.social.follow(bob, "alice")
    home_ids(c, bob)
    posted = [post(c, alice, f"t{i}") for i in range(12)]
    drain(c)
    assert len(c.stores.timelines.page(bob.user_id, before=None, after=None, limit=100) or []) == 5
    collected: list[int] = []
    cursor = None
    while True:
        page = c.feed.home(bob.user_id, before=cursor, after=None, count=4)
        collected += page.tweet_ids
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert collected == sorted(posted, reverse=True)


def test_follow_merges_recent_tweets_and_unfollow_removes_them(stack: Container) -> None:
    alice, bob, carol = signup(stack, "alice"), signup(stack, "bob"), signup(stack, "carol")
    stack.social.follow(bob, "carol")
    carol_tweet = post(stack, carol, "carol here")
    old = [post(stack, alice, f"old {i}") for i in range(3)]
    drain(stack)
    home_ids(stack, bob)
    stack.social.follow(bob, "alice")
    cached = stack.stores.timelines.page(bob.user_id, before=None, after=None, limit=10)
    assert cached == sorted([*old, carol_tweet], reverse=True)
    stack.social.unfollow(bob, "alice")
    assert home_ids(stack, bob) == [carol_tweet]


def test_a_missing_timeline_is_rebuilt_from_followees(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    stack.social.follow(bob, "alice")
    ids = [post(stack, alice, f"t{i}") for i in range(3)]
    drain(stack)
    assert not stack.stores.timelines.exists(bob.user_id)  # never read: inactive, fan-out skipped it
    assert home_ids(stack, bob) == sorted(ids, reverse=True)
    assert stack.stores.timelines.exists(bob.user_id)


def test_the_read_that_rebuilds_a_timeline_answers_from_what_it_built(tmp_path: Path) -> None:
    # Given bob, inactive (no timeline), follows alice, who posted more than the cap holds
    c = make_container(tmp_path / "rebuild", timeline_cap=5)
    alice, bob = signup(c, "alice"), signup(c, "bob")
    c.social.follow(bob, "alice")
    posted = sorted((post(c, alice, f"t{i}") for i in range(8)), reverse=True)
    drain(c)

    def first_read(before: int | None, after: int | None, count: int) -> list[int]:
        c.stores.timelines.drop([bob.user_id])  # missing again: this read rebuilds it
        return c.feed.home(bob.user_id, before=before, after=after, count=count).tweet_ids

    # Then the read that rebuilds it answers the page asked, within and past what the timeline holds
    assert first_read(None, None, 3) == posted[:3]
    assert first_read(posted[1], None, 3) == posted[2:5]
    assert first_read(None, posted[3], 10) == posted[:3]
    assert first_read(posted[3], None, 10) == posted[4:]  # past the cap: the durable index
    assert c.stores.timelines.page(bob.user_id, before=None, after=None, limit=10) == posted[:5]


def test_a_follow_applied_while_a_read_rebuilds_the_timeline_is_in_it(
    stack: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given bob, with no timeline yet, and alice's tweet from before he follows her
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    tweet_id = post(stack, alice, "before the follow")
    drain(stack)
    graph = stack.stores.graph
    read_followees = graph.following_with_follower_counts

    def follow_lands_after_the_read(user_id: int, *, limit: int) -> list[tuple[int, int]]:
        followees = read_followees(user_id, limit=limit)  # without alice: the follow is not applied yet
        monkeypatch.setattr(graph, "following_with_follower_counts", read_followees)
        stack.social.follow(bob, "alice")  # the actions consumer applies it now, before the rebuild writes
        return followees

    monkeypatch.setattr(graph, "following_with_follower_counts", follow_lands_after_the_read)
    # When bob's first read rebuilds his timeline while the follow is applied
    home_ids(stack, bob)
    # Then the follow's merge is not lost: his timeline holds her tweet from now on
    assert home_ids(stack, bob) == [tweet_id]
    assert stack.stores.timelines.page(bob.user_id, before=None, after=None, limit=10) == [tweet_id]


def test_a_deleted_tweet_leaves_every_timeline(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    stack.social.follow(bob, "alice")
    home_ids(stack, bob)
    home_ids(stack, alice)
    keep, doomed = post(stack, alice, "keep"), post(stack, alice, "delete me")
    drain(stack)
    stack.tweets.delete(alice, doomed)
    drain(stack)
    for user in (alice, bob):
        assert stack.stores.timelines.page(user.user_id, before=None, after=None, limit=10) == [keep]
        assert home_ids(stack, user) == [keep]


def test_long_poll_returns_newer_tweets_or_nothing_after_the_wait(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    stack.social.follow(bob, "alice")
    first = post(stack, alice, "first")
    drain(stack)
    assert stack.feed.wait_for_newer(bob.user_id, since_id=first, timeout_s=0.2, count=20) == []
    second = post(stack, alice, "second")
    drain(stack)
    assert stack.feed.wait_for_newer(bob.user_id, since_id=first, timeout_s=5, count=20) == [second]

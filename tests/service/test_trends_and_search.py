"""Trends (decay, spam resistance, deletes) and search (operators, ranking, deletes)."""

import pytest

from chirp.container import Container
from chirp.errors import ValidationFailed
from chirp.services.tweets import NewTweet
from chirp.tokens import Principal
from chirp.trend_math import decayed_weight
from support.stack import drain, signup


def trend_tags(c: Container) -> dict[str, int]:
    c.trends._cache.clear()  # read fresh, not the refresh-interval cache
    return {t["hashtag"]: t["tweet_count"] for t in c.trends.top()["trends"]}


def test_decay_halves_a_weight_every_half_life() -> None:
    assert decayed_weight(1.0, 0, 60) == 1.0
    assert abs(decayed_weight(1.0, 60_000, 60) - 0.5) < 1e-9
    assert abs(decayed_weight(2.0, 120_000, 60) - 0.5) < 1e-9


def test_a_hashtag_used_by_many_people_trends_above_a_spammer(stack: Container) -> None:
    users = [signup(stack, f"user{i}") for i in range(4)]
    spammer = signup(stack, "spammer")
    for i, user in enumerate(users):
        stack.tweets.create(user, NewTweet(content=f"#launch day {i}"))
    for i in range(10):
        stack.tweets.create(spammer, NewTweet(content=f"#buynow offer {i}"))
    for _ in range(5):
        stack.tweets.create(users[0], NewTweet(content="#copypasta same text"))
        stack.tweets.create(users[1], NewTweet(content="#copypasta same text"))
    drain(stack)
    tags = trend_tags(stack)
    assert tags["launch"] == 4
    assert tags["buynow"] == 1  # one author counts once per hashtag per window
    assert tags["copypasta"] == 1  # identical texts count once
    ranked = [t["hashtag"] for t in stack.trends.top()["trends"]]
    assert ranked.index("launch") < ranked.index("buynow")


def test_a_deleted_tweet_leaves_trends_and_search(stack: Container) -> None:
    alice = signup(stack, "alice")
    tweet_id = int(stack.tweets.create(alice, NewTweet(content="#ephemeral thought"))["tweet_id"])
    drain(stack)
    assert "ephemeral" in trend_tags(stack)
    assert _search(stack, alice, "thought") == ["#ephemeral thought"]
    stack.tweets.delete(alice, tweet_id)
    drain(stack)
    assert "ephemeral" not in trend_tags(stack)
    assert _search(stack, alice, "thought") == []


def _search(c: Container, viewer: Principal, q: str, kind: str = "recent") -> list[str]:
    return [t["content"] for t in c.search.search(viewer, q, kind=kind, count=20, cursor=None)["tweets"]]


def test_search_operators(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    for author, text in [
        (alice, "Machine learning is fun #AI"),
        (bob, "learning machine parts"),
        (bob, "deep learning with @alice #ai"),
        (alice, "cooking dinner tonight"),
    ]:
        stack.tweets.create(author, NewTweet(content=text))
    drain(stack)
    assert set(_search(stack, alice, "learning")) == {
        "Machine learning is fun #AI",
        "learning machine parts",
        "deep learning with @alice #ai",
    }
    assert _search(stack, alice, '"machine learning"') == ["Machine learning is fun #AI"]
    assert set(_search(stack, alice, "#ai")) == {"Machine learning is fun #AI", "deep learning with @alice #ai"}
    assert _search(stack, alice, "@alice") == ["deep learning with @alice #ai"]
    assert set(_search(stack, alice, "from:bob")) == {"learning machine parts", "deep learning with @alice #ai"}
    assert _search(stack, alice, "learning -machine") == ["deep learning with @alice #ai"]
    assert _search(stack, alice, "learning until:2020-01-01") == []
    assert len(_search(stack, alice, "learning since:2020-01-01")) == 3


def test_search_recent_pages_without_duplicates(stack: Container) -> None:
    alice = signup(stack, "alice")
    for i in range(7):
        stack.tweets.create(alice, NewTweet(content=f"paged item {i}"))
    drain(stack)
    seen, cursor = [], None
    while True:
        page = stack.search.search(alice, "paged", kind="recent", count=3, cursor=cursor)
        seen += [t["content"] for t in page["tweets"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"paged item {i}" for i in reversed(range(7))]


def test_a_blocked_authors_tweets_leave_search_without_shortening_the_pages(stack: Container) -> None:
    alice, bob, carol = signup(stack, "alice"), signup(stack, "bob"), signup(stack, "carol")
    stack.tweets.create(alice, NewTweet(content="zebra at last"))
    for i in range(3):
        stack.tweets.create(carol, NewTweet(content=f"zebra sighting {i}"))
    for i in range(3):  # the newest matches: a filter after the page was cut would leave alice's first page empty
        stack.tweets.create(bob, NewTweet(content=f"zebra rumour {i}"))
    drain(stack)
    stack.blocks.set_block(alice, "bob", on=True)
    first = stack.search.search(alice, "zebra", kind="recent", count=2, cursor=None)
    assert [t["content"] for t in first["tweets"]] == ["zebra sighting 2", "zebra sighting 1"]
    second = stack.search.search(alice, "zebra", kind="recent", count=2, cursor=first["next_cursor"])
    assert [t["content"] for t in second["tweets"]] == ["zebra sighting 0", "zebra at last"]
    assert second["next_cursor"] is None
    top = {"zebra at last"} | {f"zebra sighting {i}" for i in range(3)}
    assert set(_search(stack, alice, "zebra", kind="top")) == top
    assert "zebra at last" not in _search(stack, bob, "zebra")  # both ways
    assert len(_search(stack, bob, "zebra")) == 6
    assert len(_search(stack, carol, "zebra")) == 7


def test_top_ranks_engagement_above_an_equal_text_match(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    fans = [signup(stack, f"fan{i}") for i in range(5)]
    popular = int(stack.tweets.create(alice, NewTweet(content="rocket launch today"))["tweet_id"])
    stack.tweets.create(bob, NewTweet(content="rocket launch today!"))
    for fan in fans:
        stack.tweets.set_like(fan, popular, on=True)
    drain(stack)
    top = stack.search.search(alice, "rocket launch", kind="top", count=2, cursor=None)["tweets"]
    assert int(top[0]["tweet_id"]) == popular


def test_users_are_found_by_username_or_display_name_prefix(stack: Container) -> None:
    alice = signup(stack, "alice")
    signup(stack, "alicia")
    signup(stack, "bob")
    drain(stack)
    assert [u["username"] for u in stack.search.users(alice, "ali", count=10)["users"]] == ["alice", "alicia"]
    assert [u["username"] for u in stack.search.users(alice, "@BO", count=10)["users"]] == ["bob"]


def test_a_user_search_needs_more_than_blanks_and_at_signs(stack: Container) -> None:
    alice = signup(stack, "alice")
    for blank in (" ", "\x0c", "@ @", "\u3000"):
        with pytest.raises(ValidationFailed):
            stack.search.users(alice, blank, count=10)
    assert stack.search.users(alice, "\x1e", count=10) == {"users": []}  # not blank to JSON Schema: no match

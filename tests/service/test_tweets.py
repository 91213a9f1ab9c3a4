"""Posting, idempotency, rate limits, exact engagement counts, threads and deletes."""

from pathlib import Path

import pytest

from chirp.container import Container
from chirp.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthorized, ValidationFailed
from chirp.services.tweets import NewTweet
from support.stack import drain, make_container, signup


def test_a_tweet_carries_extracted_hashtags_mentions_and_urls(stack: Container) -> None:
    alice = signup(stack, "alice")
    tweet = stack.tweets.create(alice, NewTweet(content="  Hi @Bob #Chirp https://x.io/a.  "))
    assert tweet["content"] == "Hi @Bob #Chirp https://x.io/a."
    assert (tweet["hashtags"], tweet["mentions"], tweet["urls"]) == (["chirp"], ["bob"], ["https://x.io/a"])
    assert tweet["username"] == "alice" and tweet["likes_count"] == 0


def test_the_same_idempotency_key_returns_the_same_tweet_once(stack: Container) -> None:
    alice = signup(stack, "alice")
    first = stack.tweets.create(alice, NewTweet(content="once"), idempotency_key="key-1")
    again = stack.tweets.create(alice, NewTweet(content="once"), idempotency_key="key-1")
    other = stack.tweets.create(alice, NewTweet(content="once"), idempotency_key="key-2")
    assert first["tweet_id"] == again["tweet_id"] != other["tweet_id"]
    assert stack.stores.tweets.count_by_author(alice.user_id) == 2


def test_a_failed_post_frees_its_idempotency_key(stack: Container) -> None:
    alice = signup(stack, "alice")
    with pytest.raises(ValidationFailed):
        stack.tweets.create(alice, NewTweet(content=""), idempotency_key="k")
    assert stack.tweets.create(alice, NewTweet(content="fixed"), idempotency_key="k")["content"] == "fixed"


def test_the_tweet_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    c = make_container(tmp_path / "d", tweet_rate_limit=3)
    alice = signup(c, "alice")
    for i in range(3):
        c.tweets.create(alice, NewTweet(content=f"t{i}"))
    with pytest.raises(RateLimited) as err:
        c.tweets.create(alice, NewTweet(content="one too many"))
    assert int(err.value.headers["Retry-After"]) > 0
    assert err.value.headers["X-RateLimit-Remaining"] == "0"
    assert c.stores.tweets.count_by_author(alice.user_id) == 3


def test_likes_and_retweets_are_idempotent_and_counts_exact(stack: Container) -> None:
    alice, bob, carol = signup(stack, "alice"), signup(stack, "bob"), signup(stack, "carol")
    tweet_id = int(stack.tweets.create(alice, NewTweet(content="like me"))["tweet_id"])
    for _ in range(3):
        stack.tweets.set_like(bob, tweet_id, on=True)
    stack.tweets.set_like(carol, tweet_id, on=True)
    stack.tweets.set_retweet(bob, tweet_id, on=True)
    stack.tweets.set_retweet(bob, tweet_id, on=True)
    view = stack.tweets.get(bob, tweet_id)
    assert (view["likes_count"], view["retweets_count"], view["liked_by_user"], view["retweeted_by_user"]) == (
        2,
        1,
        True,
        True,
    )
    stack.tweets.set_like(bob, tweet_id, on=False)
    stack.tweets.set_like(bob, tweet_id, on=False)
    assert stack.tweets.get(carol, tweet_id)["likes_count"] == 1
    assert stack.tweets.get(bob, tweet_id)["liked_by_user"] is False


def test_replies_form_a_thread_and_count(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    root = int(stack.tweets.create(alice, NewTweet(content="root"))["tweet_id"])
    replies = [int(stack.tweets.create(bob, NewTweet(content=f"r{i}", reply_to=root))["tweet_id"]) for i in range(3)]
    page, cursor = stack.tweets.replies(alice, root, after=None, count=2)
    rest, end = stack.tweets.replies(alice, root, after=cursor, count=2)
    assert [int(t["tweet_id"]) for t in page + rest] == replies and end is None
    assert stack.tweets.get(alice, root)["replies_count"] == 3
    stack.tweets.delete(bob, replies[0])
    assert stack.tweets.get(alice, root)["replies_count"] == 2


def test_only_the_author_may_delete(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    tweet_id = int(stack.tweets.create(alice, NewTweet(content="mine"))["tweet_id"])
    with pytest.raises(Forbidden):
        stack.tweets.delete(bob, tweet_id)
    stack.tweets.delete(alice, tweet_id)
    with pytest.raises(NotFound):
        stack.tweets.get(alice, tweet_id)


def test_replying_to_or_quoting_a_missing_tweet_is_404(stack: Container) -> None:
    alice = signup(stack, "alice")
    with pytest.raises(NotFound):
        stack.tweets.create(alice, NewTweet(content="x", reply_to=12345))
    with pytest.raises(NotFound):
        stack.tweets.create(alice, NewTweet(content="x", quote_tweet=12345))


def test_media_must_belong_to_the_author_and_be_uploaded(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    upload = stack.media.create_upload(alice, content_type="image/png", size=3)
    with pytest.raises(Conflict) as err:
        stack.tweets.create(alice, NewTweet(content="pic", media_ids=[upload["media_id"]]))
    assert err.value.code == "media_not_uploaded"
    key = upload["media_url"].split("/", 3)[3]
    stack.stores.objects.store(key, b"png", "image/png")  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        stack.tweets.create(bob, NewTweet(content="not mine", media_ids=[upload["media_id"]]))
    tweet = stack.tweets.create(alice, NewTweet(content="pic", media_ids=[upload["media_id"]]))
    assert tweet["media_urls"] == [upload["media_url"]]


def test_quote_and_reply_notify_their_authors_once(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    root = int(stack.tweets.create(alice, NewTweet(content="root"))["tweet_id"])
    stack.tweets.create(bob, NewTweet(content="@alice replying", reply_to=root))
    stack.tweets.create(bob, NewTweet(content="quoting", quote_tweet=root))
    stack.tweets.set_like(bob, root, on=True)
    stack.social.follow(bob, "alice")
    drain(stack)
    drain(stack)  # re-delivery of nothing new is harmless
    kinds = sorted(n["type"] for n in stack.notifications.list(alice, before=None, count=50)["notifications"])
    assert kinds == ["follow", "like", "quote", "reply"]


def test_login_attempts_are_limited_per_user(tmp_path: Path) -> None:
    c = make_container(tmp_path / "d", login_limit_per_user=3)
    signup(c, "alice")
    for _ in range(3):
        with pytest.raises(Unauthorized):
            c.auth.login(username="alice", password="wrong-password", source_ip="10.0.0.1")
    with pytest.raises(RateLimited) as err:
        c.auth.login(username="alice", password="password-123", source_ip="10.0.0.2")
    assert int(err.value.headers["Retry-After"]) > 0 and err.value.headers["X-RateLimit-Limit"] == "3"


def test_signups_are_limited_per_address(tmp_path: Path) -> None:
    c = make_container(tmp_path / "d", signup_limit_per_ip=2)
    for name in ("one", "two"):
        c.auth.signup(
            username=name, email=f"{name}@x.io", password="password-123", display_name=None, source_ip="1.2.3.4"
        )
    with pytest.raises(RateLimited):
        c.auth.signup(
            username="three", email="three@x.io", password="password-123", display_name=None, source_ip="1.2.3.4"
        )
    c.auth.signup(username="four", email="four@x.io", password="password-123", display_name=None, source_ip="5.6.7.8")

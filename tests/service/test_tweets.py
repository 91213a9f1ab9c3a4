"""Posting, idempotency, rate limits, exact engagement counts, threads and deletes."""

import io
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from chirp import wiring
from chirp.container import Container
from chirp.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthorized, Unprocessable, ValidationFailed
from chirp.model import Event
from chirp.ports import StoreUnavailable
from chirp.services.tweets import IN_FLIGHT_S, NewTweet
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
    again = stack.tweets.create(alice, NewTweet(content="once", media_ids=[]), idempotency_key="key-1")  # same request
    other = stack.tweets.create(alice, NewTweet(content="once"), idempotency_key="key-2")
    assert first["tweet_id"] == again["tweet_id"] != other["tweet_id"]
    assert stack.stores.tweets.count_by_author(alice.user_id) == 2


def test_an_idempotency_key_reused_for_a_different_request_is_a_422_and_posts_nothing(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    first = stack.tweets.create(alice, NewTweet(content="one"), idempotency_key="k")
    for different in (NewTweet(content="two"), NewTweet(content="one ", media_ids=()), NewTweet("one", reply_to=1)):
        with pytest.raises(Unprocessable) as err:
            stack.tweets.create(alice, different, idempotency_key="k")
        assert (err.value.status, err.value.code) == (422, "idempotency_key_reused")
    assert stack.stores.tweets.count_by_author(alice.user_id) == 1
    assert stack.tweets.create(alice, NewTweet(content="one"), idempotency_key="k")["tweet_id"] == first["tweet_id"]
    # Keys belong to their user: bob's "k" is his own.
    assert stack.tweets.create(bob, NewTweet(content="two"), idempotency_key="k")["content"] == "two"


def test_a_duplicate_while_the_first_request_is_in_flight_is_a_409(
    stack: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = signup(stack, "alice")
    stream = stack.stores.stream
    in_flight, finish = threading.Event(), threading.Event()

    class SlowStream:
        """The first request stops just before it publishes, holding its key in flight."""

        def publish(self, events: Sequence[Event]) -> None:
            in_flight.set()
            assert finish.wait(30)
            stream.publish(events)

        def __getattr__(self, name: str) -> Any:
            return getattr(stream, name)

    monkeypatch.setattr(stack.stores, "stream", SlowStream())
    results: list[dict[str, Any]] = []
    first = threading.Thread(
        target=lambda: results.append(stack.tweets.create(alice, NewTweet(content="slow"), idempotency_key="k"))
    )
    first.start()
    try:
        assert in_flight.wait(30)
        with pytest.raises(Conflict) as err:
            stack.tweets.create(alice, NewTweet(content="slow"), idempotency_key="k")
        assert (err.value.status, err.value.code) == (409, "idempotency_request_in_progress")
        with pytest.raises(Unprocessable):  # a different body is a 422 even while the first is in flight
            stack.tweets.create(alice, NewTweet(content="fast"), idempotency_key="k")
    finally:
        finish.set()
        first.join(30)
    assert len(results) == 1
    retry = stack.tweets.create(alice, NewTweet(content="slow"), idempotency_key="k")
    assert retry["tweet_id"] == results[0]["tweet_id"]
    assert stack.stores.tweets.count_by_author(alice.user_id) == 1


def test_an_in_flight_claim_outlives_the_tweets_function() -> None:
    """A claim that expired while its request still ran would let a retry post the tweet twice."""
    assert wiring.function("tweets").timeout_s < IN_FLIGHT_S


def test_a_failed_post_frees_its_idempotency_key(stack: Container) -> None:
    alice = signup(stack, "alice")
    with pytest.raises(ValidationFailed):
        stack.tweets.create(alice, NewTweet(content=""), idempotency_key="k")
    assert stack.tweets.create(alice, NewTweet(content="fixed"), idempotency_key="k")["content"] == "fixed"


def test_a_post_whose_idempotency_record_cannot_be_completed_still_succeeds(
    stack: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = signup(stack, "alice")

    def unavailable(*args: object) -> bool:
        raise StoreUnavailable("down")

    monkeypatch.setattr(stack.stores.idempotency, "complete", unavailable)
    posted = stack.tweets.create(alice, NewTweet(content="stored and published"), idempotency_key="k")
    assert stack.tweets.get(alice, int(posted["tweet_id"]))["content"] == "stored and published"
    with pytest.raises(Conflict):  # the claim stays in flight until it expires: no second tweet meanwhile
        stack.tweets.create(alice, NewTweet(content="stored and published"), idempotency_key="k")
    assert stack.stores.tweets.count_by_author(alice.user_id) == 1


def test_a_retry_after_the_tweet_was_deleted_is_a_404(stack: Container) -> None:
    alice = signup(stack, "alice")
    posted = stack.tweets.create(alice, NewTweet(content="gone soon"), idempotency_key="k")
    stack.tweets.delete(alice, int(posted["tweet_id"]))
    with pytest.raises(NotFound):
        stack.tweets.create(alice, NewTweet(content="gone soon"), idempotency_key="k")


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


def test_media_must_belong_to_the_author_and_be_processed(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    image = io.BytesIO()
    Image.new("RGB", (4, 4)).save(image, "PNG")
    upload = stack.media.create_upload(alice, content_type="image/png", size=len(image.getvalue()))
    with pytest.raises(Conflict) as err:
        stack.tweets.create(alice, NewTweet(content="pic", media_ids=[upload["media_id"]]))
    assert err.value.code == "media_not_ready"
    key = stack.stores.media.get_many([upload["media_id"]])[upload["media_id"]].key
    stack.stores.objects.put(key, image.getvalue(), "image/png")
    stack.media.process_upload(key)  # what the object-created notification runs (tests/service/test_media.py)
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

"""Retweets travel through timelines, over real HTTP and WebSocket: a follower of two retweeters receives the
retweet live and sees the tweet once in the home timeline, with who retweeted it; undoing the retweets takes the
entries out again."""

import uuid
from typing import Any

import httpx

from support.runtime import Client, LocalStack, eventually, receive


def uname(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def shown(reader: Client) -> list[tuple[str, str | None]]:
    """(author, retweeted original's id or None) of each home item, newest first."""
    items: list[dict[str, Any]] = reader.home(count=20)["tweets"]
    return [(t["username"], t["retweet_of"]["tweet_id"] if t["retweet_of"] else None) for t in items]


def test_a_retweet_shows_once_with_who_retweeted_and_goes_with_the_undo(runtime: LocalStack) -> None:
    # The first signup on a cold stack opens every store connection: not within the client's 5-second timeout.
    name = uname("w")
    body = {"username": name, "email": f"{name}@e2e.test", "password": "password-123"}
    assert httpx.post(f"{runtime.api}/auth/signup", json=body, timeout=120).status_code == 201
    author, carol, dave, bob = (runtime.user(uname(p)) for p in ("a", "c", "d", "b"))
    bob.follow(carol.username)
    bob.follow(dave.username)
    assert bob.home()["tweets"] == []  # bob's timeline exists: fan-out writes to it
    original = author.tweet("worth a retweet")["tweet_id"]
    with bob.socket() as ws:
        answer = carol.post(f"/tweets/{original}/retweet")
        assert answer.status_code == 200 and answer.json()["retweeted_by_user"] is True
        pushed = receive(ws, "new_tweet")["tweet"]
    assert pushed["username"] == carol.username and pushed["retweet_of"]["tweet_id"] == original
    assert dave.post(f"/tweets/{original}/retweet").status_code == 200
    eventually(lambda: shown(bob) == [(carol.username, original)])
    [item] = bob.home()["tweets"]
    assert item["tweet_id"] == pushed["tweet_id"] != original  # the entry's own id (the page's cursor)
    assert item["retweet_of"]["content"] == "worth a retweet" and item["retweet_of"]["retweets_count"] == 2
    assert bob.get(f"/tweets/{item['tweet_id']}").json()["retweet_of"]["tweet_id"] == original
    assert carol.delete(f"/tweets/{original}/retweet").status_code == 200
    eventually(lambda: shown(bob) == [(dave.username, original)])  # the next retweet shows
    assert dave.delete(f"/tweets/{original}/retweet").status_code == 200
    eventually(lambda: shown(bob) == [])

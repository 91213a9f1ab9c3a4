"""The timeline function with retweets: the home page and the long-poll apply FeedManager's rule (a retweet of a tweet
the timeline shows is left out), and the poll's ``newest_id`` moves past a hidden entry so the next poll waits."""

from __future__ import annotations

import json
from typing import Any

from chirp import wiring
from chirp.container import Container
from chirp.local import events
from chirp.local.functions import invoke
from chirp.services.tweets import NewTweet
from chirp.tokens import Principal
from support.stack import drain, signup


def _get(path: str, who: Principal, **query: str) -> dict[str, Any]:
    resource = wiring.API_PREFIX + path
    event = events.rest_event(
        method="GET",
        resource=resource,
        path=resource,
        query=query,
        authorizer={"user_id": str(who.user_id), "username": who.username},
    )
    result = invoke("timeline", event)
    assert result["statusCode"] == 200, result
    body: dict[str, Any] = json.loads(result["body"])
    return body


def test_home_and_poll_leave_out_a_retweet_of_a_tweet_already_shown(stack: Container) -> None:
    alice, carol, bob = (signup(stack, n) for n in ("alice", "carol", "bob"))
    stack.social.follow(bob, "alice")
    stack.social.follow(bob, "carol")
    original = stack.tweets.create(alice, NewTweet(content="seen first"))["tweet_id"]
    drain(stack)
    assert [t["tweet_id"] for t in _get("/timeline/home", bob)["tweets"]] == [original]
    stack.tweets.set_retweet(carol, int(original), on=True)
    drain(stack)
    [entry] = stack.tweets.by_author(None, carol.user_id, before=None, count=5)[0]
    assert [t["tweet_id"] for t in _get("/timeline/home", bob)["tweets"]] == [original]
    polled = _get("/timeline/poll", bob, since_id=original, timeout="0")
    assert polled == {"tweets": [], "newest_id": entry["tweet_id"]}  # past the hidden entry
    assert _get("/timeline/poll", bob, since_id=entry["tweet_id"], timeout="0") == {
        "tweets": [],
        "newest_id": entry["tweet_id"],
    }

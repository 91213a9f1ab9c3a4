"""The async write path end to end (CHIRP_WRITE_PATH=async): likes, retweets, follows and read markers are answered
202 by the gateway with the optimistic state, no function invoked, and counts, timelines and notifications converge
once the actions consumer applied them — once each, however often the intent is sent, and never for a deleted
tweet. The authorization matrix holds on these routes: no token is a 401, and a token acts only as its owner."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt
import pytest

from chirp import wiring
from support.runtime import Client, LocalStack, eventually

DIRECT = [route for _, route in wiring.all_routes() if route.stream_write]
CONVERGE_S = 15.0


def _name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def _tweet(client: Client, tweet_id: str) -> dict[str, Any]:
    response = client.get(f"/tweets/{tweet_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _notifications(client: Client) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/notifications").json()
    return body


def _accepted(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    assert response.headers["Cache-Control"] == "private, no-store"
    body: dict[str, Any] = response.json()
    return body


def _applied(client: Client, author: Client) -> None:
    """Waits until every intent the client sent so far was applied: its intents share one partition key and apply
    in order, so a follow sent now shows only after them."""
    marker = author.username
    _accepted(client.post(f"/users/{marker}/follow"))
    eventually(lambda: author.get(f"/users/{marker}").json()["follower_count"] >= 1, CONVERGE_S)


def test_likes_and_retweets_converge_once_each(async_runtime: LocalStack) -> None:
    author, fan = async_runtime.user(_name("a")), async_runtime.user(_name("f"))
    tweet_id = author.tweet("liked through the stream")["tweet_id"]

    assert _accepted(fan.post(f"/tweets/{tweet_id}/like")) == {"tweet_id": tweet_id, "liked_by_user": True}
    assert _accepted(fan.post(f"/tweets/{tweet_id}/retweet")) == {"tweet_id": tweet_id, "retweeted_by_user": True}
    _accepted(fan.post(f"/tweets/{tweet_id}/like"))  # a retry: must not count twice
    _applied(fan, author)
    seen = _tweet(fan, tweet_id)
    assert (seen["likes_count"], seen["retweets_count"]) == (1, 1)
    assert seen["liked_by_user"] and seen["retweeted_by_user"]
    kinds = eventually(
        lambda: (
            (k := sorted(n["type"] for n in _notifications(author)["notifications"])) == ["follow", "like", "retweet"]
            and k
        ),
        CONVERGE_S,
    )
    assert kinds == ["follow", "like", "retweet"]  # one each, the retried like made none

    assert _accepted(fan.delete(f"/tweets/{tweet_id}/like")) == {"tweet_id": tweet_id, "liked_by_user": False}
    _accepted(fan.delete(f"/tweets/{tweet_id}/retweet"))
    eventually(lambda: _tweet(fan, tweet_id)["likes_count"] == 0, CONVERGE_S)
    eventually(lambda: _tweet(fan, tweet_id)["retweets_count"] == 0, CONVERGE_S)
    assert not _tweet(fan, tweet_id)["liked_by_user"]


def test_a_like_of_a_deleted_tweet_resurrects_nothing(async_runtime: LocalStack) -> None:
    author, fan = async_runtime.user(_name("a")), async_runtime.user(_name("f"))
    tweet_id = author.tweet("gone before the like lands")["tweet_id"]
    assert author.delete(f"/tweets/{tweet_id}").status_code == 200
    _accepted(fan.post(f"/tweets/{tweet_id}/like"))  # accepted: the gateway cannot know
    _applied(fan, author)
    assert author.get(f"/tweets/{tweet_id}").status_code == 404
    # The follow's notification comes from a fact published after any the like would have published, under the
    # same key (the author): once it is there, a like notification would be too.
    eventually(lambda: _notifications(author)["notifications"], CONVERGE_S)
    assert [n["type"] for n in _notifications(author)["notifications"]] == ["follow"]  # no like notification


def test_follow_fills_the_timeline_and_unfollow_empties_it(async_runtime: LocalStack) -> None:
    star, reader = async_runtime.user(_name("s")), async_runtime.user(_name("r"))
    tweet_id = star.tweet("before the follow")["tweet_id"]
    answer = _accepted(reader.post(f"/users/{star.username}/follow"))
    assert answer == {"username": star.username, "following": True}
    eventually(lambda: tweet_id in {t["tweet_id"] for t in reader.home()["tweets"]}, CONVERGE_S)
    profile = star.get(f"/users/{star.username}").json()
    assert profile["follower_count"] == 1
    eventually(lambda: [n["type"] for n in _notifications(star)["notifications"]] == ["follow"], CONVERGE_S)

    assert _accepted(reader.delete(f"/users/{star.username}/follow"))["following"] is False
    eventually(lambda: star.get(f"/users/{star.username}").json()["follower_count"] == 0, CONVERGE_S)
    eventually(lambda: tweet_id not in {t["tweet_id"] for t in reader.home()["tweets"]}, CONVERGE_S)


def test_mark_read_converges_and_covers_what_was_there(async_runtime: LocalStack) -> None:
    owner, fan = async_runtime.user(_name("o")), async_runtime.user(_name("f"))
    tweet_id = owner.tweet("to be liked")["tweet_id"]
    _accepted(fan.post(f"/tweets/{tweet_id}/like"))
    eventually(lambda: _notifications(owner)["unread_count"] == 1, CONVERGE_S)
    assert _accepted(owner.post("/notifications/read", {})) == {"read": True}
    eventually(lambda: _notifications(owner)["unread_count"] == 0, CONVERGE_S)


def test_no_function_answers_the_direct_routes(async_runtime: LocalStack) -> None:
    """The gateway's metrics show the functions' requests by route: reads are there, direct writes never."""
    author, fan = async_runtime.user(_name("a")), async_runtime.user(_name("f"))
    tweet_id = author.tweet("counted")["tweet_id"]
    _accepted(fan.post(f"/tweets/{tweet_id}/like"))
    _tweet(fan, tweet_id)

    def routes() -> set[str]:
        snapshot = httpx.get(f"{async_runtime.url}/_chirp/metrics", timeout=30).json()
        return {m["dimensions"].get("route", "") for m in snapshot["metrics"] if m["name"] == "RequestLatency"}

    served = eventually(lambda: (r := routes()) and "get_tweet" in r and r, CONVERGE_S)
    assert not served & {route.operation for route in DIRECT}


@pytest.mark.parametrize(
    ("path", "method", "body", "code"),
    [
        ("/tweets/12ab/like", "POST", None, "invalid_id"),
        ("/tweets/0/retweet", "DELETE", None, "invalid_id"),
        ("/users/not-a-name/follow", "POST", None, "invalid_username"),
        ("/notifications/read", "POST", {"up_to": "x1"}, "invalid_id"),
        ("/notifications/read", "POST", {"up_to": 5}, "invalid_id"),
        ("/notifications/read", "POST", [1], "malformed_json"),
    ],
)
def test_bad_input_is_a_400(async_runtime: LocalStack, path: str, method: str, body: Any, code: str) -> None:
    client = async_runtime.user(_name("b"))
    response = client.http.request(method, path, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code


def test_following_oneself_is_a_400(async_runtime: LocalStack) -> None:
    client = async_runtime.user(_name("m"))
    response = client.post(f"/users/{client.username.upper()}/follow")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_username"


# -- the authorization matrix over the direct routes -------------------------------------------------------------
def _path(route: wiring.Route, username: str, tweet_id: str) -> str:
    return route.path.replace("{username}", username).replace("{tweet_id}", tweet_id)


def _bad_tokens(stack: LocalStack, victim: Client) -> list[str | None]:
    now = int(time.time())
    claims = {"sub": victim.user_id, "username": victim.username, "iss": "chirp", "iat": now, "exp": now + 600}
    key = (stack.data_dir / "jwt.key").read_text().strip()
    return [
        None,
        jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, key, headers={"kid": "local"}),
        jwt.encode(claims, "x" * 48, headers={"kid": "local"}),
        jwt.encode(claims, None, algorithm="none", headers={"kid": "local"}),  # type: ignore[arg-type]
        "eyJhbGciOiJIUzI1NiJ9.not-base64!.sig",
    ]


@pytest.mark.parametrize("route", DIRECT, ids=lambda r: r.operation)
def test_direct_routes_refuse_bad_tokens(async_runtime: LocalStack, route: wiring.Route) -> None:
    victim, other = async_runtime.user(_name("v")), async_runtime.user(_name("o"))
    tweet_id = victim.tweet("not yours to like")["tweet_id"]
    url = async_runtime.url + _path(route, other.username, tweet_id)
    for token in _bad_tokens(async_runtime, victim):
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        response = httpx.request(route.method, url, headers=headers, json={}, timeout=30)
        assert response.status_code == 401, (token, response.text)
        assert response.json()["error"]["code"] == "unauthorized"


def test_a_token_acts_only_as_its_owner(async_runtime: LocalStack) -> None:
    """Whatever the request claims (a body naming the victim), the actor is the token's owner: the victim's likes,
    follows and read markers stay as they were, and the effects are the caller's own."""
    victim, other, third = (async_runtime.user(_name(p)) for p in "vot")
    tweet_id = third.tweet("liked by someone")["tweet_id"]
    for owner in (victim, other):  # one unread notification each
        _accepted(third.post(f"/tweets/{owner.tweet('to be liked')['tweet_id']}/like"))
        eventually(lambda owner=owner: _notifications(owner)["unread_count"] == 1, CONVERGE_S)
    spoof = {"actor_id": victim.user_id, "user_id": victim.user_id, "username": victim.username}
    _accepted(other.post(f"/tweets/{tweet_id}/like", spoof))
    _accepted(other.post(f"/users/{third.username}/follow", spoof))
    _accepted(other.post("/notifications/read", spoof))
    eventually(lambda: _notifications(other)["unread_count"] == 0, CONVERGE_S)  # the last of the three applied
    assert _notifications(victim)["unread_count"] == 1
    assert _tweet(other, tweet_id)["liked_by_user"]
    seen_by_victim = _tweet(victim, tweet_id)
    assert seen_by_victim["likes_count"] == 1 and not seen_by_victim["liked_by_user"]
    assert other.get(f"/users/{other.username}").json()["following_count"] == 1
    assert victim.get(f"/users/{victim.username}").json()["following_count"] == 0

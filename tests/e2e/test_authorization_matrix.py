"""Who may do what, generated from the wiring table so that a new route is covered without editing this test:
every protected route refuses a missing, expired, foreign-key, alg:none or malformed token with 401, and with
another user's valid token either acts as that user on their own data or is refused (403/404) — never acts on
someone else's behalf. WebSocket $connect is held to the same rules."""

import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from chirp import wiring
from chirp.local.samples import _BODIES
from support.runtime import Client, LocalStack

PROTECTED = [route for _, route in wiring.all_routes() if route.auth]
# What another user's valid token may do to a resource owned by the victim; anything else is 2xx acting as self.
REFUSED_FOR_OTHERS = {"delete_tweet": 403}
BAD_TOKENS = ["none", "expired", "foreign_key", "alg_none", "malformed"]


def _key(stack: LocalStack) -> str:
    return (stack.data_dir / "jwt.key").read_text().strip()


def bad_token(kind: str, stack: LocalStack, victim: Client) -> str | None:
    now = int(time.time())
    claims = {"sub": victim.user_id, "username": victim.username, "iss": "chirp", "iat": now, "exp": now + 600}
    if kind == "none":
        return None
    if kind == "expired":
        return jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, _key(stack), headers={"kid": "local"})
    if kind == "foreign_key":
        return jwt.encode(claims, "x" * 48, headers={"kid": "local"})
    if kind == "alg_none":
        return jwt.encode(claims, None, algorithm="none", headers={"kid": "local"})
    return "eyJhbGciOiJIUzI1NiJ9.not-base64!.sig"


@pytest.fixture(scope="module")
def parties(runtime: LocalStack) -> dict[str, Any]:
    victim = runtime.user(f"v{uuid.uuid4().hex[:10]}")
    other = runtime.user(f"o{uuid.uuid4().hex[:10]}")
    tweet_id = victim.tweet("owned by the victim")["tweet_id"]
    return {"victim": victim, "other": other, "tweet_id": tweet_id}


def _request(stack: LocalStack, route: wiring.Route, token: str | None, parties: dict[str, Any]) -> httpx.Response:
    victim, tweet_id = parties["victim"], parties["tweet_id"]
    path = route.path.replace("{username}", victim.username).replace("{tweet_id}", tweet_id)
    body = json.loads(json.dumps(_BODIES.get(route.operation))) if route.operation in _BODIES else None
    if body and "content" in body:
        body["content"] = "authz matrix"
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    params = {"q": "matrix"} if route.operation in ("search_tweets", "search_users") else {}
    if route.operation == "poll":
        params = {"timeout": "0"}
    return httpx.request(route.method, stack.url + path, json=body, headers=headers, params=params, timeout=30)


@pytest.mark.parametrize("kind", BAD_TOKENS)
@pytest.mark.parametrize("route", PROTECTED, ids=lambda r: r.operation)
def test_bad_tokens_are_401(runtime: LocalStack, parties: dict[str, Any], route: wiring.Route, kind: str) -> None:
    response = _request(runtime, route, bad_token(kind, runtime, parties["victim"]), parties)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("route", PROTECTED, ids=lambda r: r.operation)
def test_another_users_token_never_acts_for_the_owner(
    runtime: LocalStack, parties: dict[str, Any], route: wiring.Route
) -> None:
    victim, other = parties["victim"], parties["other"]
    before = victim.get(f"/users/{victim.username}").json()
    response = _request(runtime, route, other.token, parties)
    expected = REFUSED_FOR_OTHERS.get(route.operation)
    if expected is not None:
        assert response.status_code == expected, response.text
    else:
        assert response.status_code < 300 or response.status_code == 400, response.text
    after = victim.get(f"/users/{victim.username}").json()
    assert after["tweet_count"] == before["tweet_count"]
    assert after["following_count"] == before["following_count"]
    assert victim.get(f"/tweets/{parties['tweet_id']}").status_code == 200


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_websocket_connect_refuses_bad_tokens(runtime: LocalStack, parties: dict[str, Any], kind: str) -> None:
    token = bad_token(kind, runtime, parties["victim"])
    query = f"?token={token}" if token is not None else ""
    with pytest.raises(InvalidStatus) as err:
        connect(f"{runtime.ws_url}/{query}", open_timeout=5)
    assert err.value.response.status_code == 401


def test_every_protected_route_is_in_the_matrix() -> None:
    assert {r.operation for r in PROTECTED} == {r.operation for _, r in wiring.all_routes() if r.auth}
    assert len(PROTECTED) >= 20

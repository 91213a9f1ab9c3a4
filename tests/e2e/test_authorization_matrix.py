"""Who may do what. Every route of the wiring table is in the matrix, so a new route is covered without editing this
test; which routes are public is pinned by the explicit list below, not read from the routes' own ``auth`` flag (a
route whose flag were flipped would otherwise leave the matrix unnoticed). Every other route refuses a missing,
expired, foreign-key, alg:none or malformed token with 401, and with another user's valid token either acts as
that user on their own data or is refused (403/404) — never acts on someone else's behalf. Public routes answer
without a token. WebSocket $connect is held to the same rules."""

import json
import re
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

# The only routes anyone may call without a token. Changing this list is a security decision: review it as one.
PUBLIC = {
    ("GET", "/api/v1/health"),
    ("GET", "/api/v1/openapi.json"),
    ("POST", "/api/v1/auth/signup"),
    ("POST", "/api/v1/auth/login"),
}
# Reads that signed-out readers may make too (the same answer for all of them, cacheable at the edge); a token sent
# with them is still checked: a bad one is a 401. Also a security decision.
SIGNED_OUT_READS = {
    ("GET", "/api/v1/users/{username}"),
    ("GET", "/api/v1/users/{username}/tweets"),
    ("GET", "/api/v1/tweets/{tweet_id}"),
    ("GET", "/api/v1/tweets/{tweet_id}/replies"),
    ("GET", "/api/v1/search"),
    ("GET", "/api/v1/trends"),
}
ROUTES = [route for _, route in wiring.all_routes()]
PROTECTED = [route for route in ROUTES if (route.method, route.path) not in PUBLIC]
# What another user's valid token may do to a resource owned by the victim; anything else is 2xx acting as self.
# The victim's media is not found by anyone else (not even its processing state).
REFUSED_FOR_OTHERS = {"delete_tweet": 403, "get_media": 404, "set_alt_text": 404, "complete_upload": 404}
# Routes on the token's own account that end or revoke it: another user's token acts on a throwaway account of its
# own (the parties must live on), and the victim stays as it was.
SELF_DESTRUCTIVE = {"delete_me", "change_password"}
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
    upload = victim.post("/media", {"content_type": "image/png", "size": 1024})
    assert upload.status_code == 201, upload.text
    return {"victim": victim, "other": other, "tweet_id": tweet_id, "media_id": upload.json()["media_id"]}


def _request(stack: LocalStack, route: wiring.Route, token: str | None, parties: dict[str, Any]) -> httpx.Response:
    victim, tweet_id = parties["victim"], parties["tweet_id"]
    path = route.path.replace("{username}", victim.username).replace("{tweet_id}", tweet_id)
    path = path.replace("{media_id}", parties["media_id"])
    body = json.loads(json.dumps(_BODIES.get(route.operation))) if route.operation in _BODIES else None
    if body and "content" in body:
        body["content"] = "authz matrix"
    if route.operation == "signup":
        name = f"s{uuid.uuid4().hex[:10]}"
        body = {"username": name, "email": f"{name}@authz.test", "password": "password-123"}
    if route.operation == "login":
        body = {"username": victim.username, "password": "password-123"}
    if route.operation in SELF_DESTRUCTIVE and token == parties["other"].token:
        token = stack.user(f"t{uuid.uuid4().hex[:10]}").token
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    params = {"q": "matrix"} if route.operation in ("search_tweets", "search_users") else {}
    if route.operation == "poll":
        params = {"timeout": "0"}
    return httpx.request(route.method, stack.url + path, json=body, headers=headers, params=params, timeout=30)


@pytest.mark.parametrize("kind", BAD_TOKENS)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.operation)
def test_bad_tokens_are_401_on_every_route_but_the_public_ones(
    runtime: LocalStack, parties: dict[str, Any], route: wiring.Route, kind: str
) -> None:
    response = _request(runtime, route, bad_token(kind, runtime, parties["victim"]), parties)
    if (route.method, route.path) in PUBLIC:  # a public route does not look at the Authorization header
        assert 200 <= response.status_code < 300, response.text
        return
    if kind == "none" and (route.method, route.path) in SIGNED_OUT_READS:  # signed out: the public answer
        assert response.status_code == 200, response.text
        assert response.headers["Cache-Control"].startswith("public, max-age=")
        return
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


def test_the_public_routes_are_exactly_the_pinned_list(runtime: LocalStack) -> None:
    """The wiring table's public routes, and the operations the served OpenAPI document marks ``security: []``,
    are the pinned list: neither may grow (or shrink) without this test changing."""
    assert {(r.method, r.path) for r in ROUTES if not r.auth} == PUBLIC
    assert {(r.method, r.path) for r in ROUTES if r.optional_auth} == SIGNED_OUT_READS
    document = httpx.get(f"{runtime.api}/openapi.json", timeout=30).json()

    def documented(security: list[dict[str, list[str]]]) -> set[tuple[str, str]]:
        return {
            (method.upper(), path)
            for path, operations in document["paths"].items()
            for method, operation in operations.items()
            if operation.get("security") == security
        }

    assert documented([]) == PUBLIC
    assert documented([{}, {"bearer": []}]) == SIGNED_OUT_READS


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.operation)
def test_no_answer_to_a_signed_in_request_is_cacheable(
    runtime: LocalStack, parties: dict[str, Any], route: wiring.Route
) -> None:
    """A viewer's flags, their timeline, anything private: every answer to a request with a token (success or error)
    tells every cache not to keep it. Only signed-out reads of the pinned routes may be public (above)."""
    response = _request(runtime, route, parties["other"].token, parties)
    assert response.headers["Cache-Control"] == "private, no-store", (route.operation, response.status_code)


def test_the_matrix_covers_every_route_the_server_serves(runtime: LocalStack) -> None:
    """What the running server documents and serves, not the list the matrix was built from: every served operation
    is in the matrix, and every route of the matrix is served (a request without a token is 401, not 404)."""
    document = httpx.get(f"{runtime.api}/openapi.json", timeout=30).json()
    served = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}
    assert served == {(r.method, r.path) for r in ROUTES}
    assert len(PROTECTED) == len(ROUTES) - len(PUBLIC) >= 20


def test_a_blocked_viewers_token_reads_nothing_of_the_blocker(runtime: LocalStack) -> None:
    """A block is an authorization rule too: the blocked account's token is refused (403 ``blocked``) the blocker's
    profile, tweets and follow, while the blocker, and signed-out readers (the public, edge-cached answer), are not."""
    blocker, blocked = runtime.user(f"k{uuid.uuid4().hex[:10]}"), runtime.user(f"d{uuid.uuid4().hex[:10]}")
    assert blocker.post(f"/users/{blocked.username}/block").status_code == 200
    for response in (
        blocked.get(f"/users/{blocker.username}"),
        blocked.get(f"/users/{blocker.username}/tweets"),
        blocked.post(f"/users/{blocker.username}/follow"),
    ):
        assert (response.status_code, response.json()["error"]["code"]) == (403, "blocked"), response.text
    assert blocker.get(f"/users/{blocked.username}").json()["blocking"] is True
    assert httpx.get(f"{runtime.api}/users/{blocker.username}", timeout=30).status_code == 200


MASTODON_ROUTES = [route for _, route in wiring.all_routes("mastodon")]
MASTODON_PROTECTED = [route for route in MASTODON_ROUTES if route.auth]


@pytest.mark.parametrize("kind", BAD_TOKENS)
@pytest.mark.parametrize("route", MASTODON_PROTECTED, ids=lambda r: f"{r.method} {r.path}")
def test_bad_tokens_are_401_on_every_protected_mastodon_route(
    runtime: LocalStack, parties: dict[str, Any], route: wiring.Route, kind: str
) -> None:
    """The Mastodon surface behind its own gateway: the same authorizer refuses every bad token before any function
    runs, in Mastodon's error shape."""
    token = bad_token(kind, runtime, parties["victim"])
    path = re.sub(r"\{[^}]+\}", "1", route.path)
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = httpx.request(route.method, runtime.mastodon_url + path, headers=headers, timeout=30)
    assert response.status_code == 401, response.text
    assert isinstance(response.json().get("error"), str)

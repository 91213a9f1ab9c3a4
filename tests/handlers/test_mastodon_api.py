"""The Mastodon surface through its handler, as its gateway calls it: the wiring table's Mastodon route, the real
authorizer (scopes in its context), the REST proxy event. Entities, OAuth grants, scopes, pagination and errors in
Mastodon's shapes."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from chirp import wiring
from chirp.authorization import authorize
from chirp.container import Container
from chirp.local import events
from chirp.local.functions import invoke
from chirp.local.rest_gateway import compile_routes
from chirp.services.media import upload_key
from support.stack import drain, signup

PASSWORD = "password-123"


class Reply:
    def __init__(self, result: dict[str, Any]) -> None:
        self.status: int = result["statusCode"]
        headers = dict(result.get("headers") or {})
        for key, values in (result.get("multiValueHeaders") or {}).items():
            headers[key] = ", ".join(values)
        self.headers = headers
        self.text = str(result.get("body") or "")

    def json(self) -> Any:
        return json.loads(self.text)


def call(
    method: str,
    path: str,
    *,
    token: str | None = None,
    form: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
    query: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    multipart: tuple[bytes, str] | None = None,
    surface: wiring.Surface = "mastodon",
    resource: str | None = None,
) -> Reply:
    """One request as the local Mastodon gateway makes it (the authorizer first for a protected route)."""
    route, params = next(
        (r, m.groupdict()) for r in compile_routes(surface) if r.route.method == method and (m := r.pattern.match(path))
    )
    hdrs = dict(headers or {})
    authorizer = None
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    if route.route.auth:
        try:
            policy = authorize(events.token_authorizer_event(hdrs.get("Authorization"), method=method, resource=path))
        except Exception:
            return Reply({"statusCode": 401, "body": json.dumps({"error": "The access token is invalid"})})
        authorizer = {"principalId": policy["principalId"], **policy["context"]}
    text = None
    if form is not None:
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        text = urlencode(form, doseq=True)
    elif body is not None:
        hdrs["Content-Type"] = "application/json"
        text = json.dumps(body)
    elif multipart is not None:  # API Gateway passes binary media types base64-encoded
        hdrs["Content-Type"] = multipart[1]
        text = base64.b64encode(multipart[0]).decode()
    query = query or []
    event = events.rest_event(
        method=method,
        resource=resource or route.route.path,
        path=path,
        path_parameters=params,
        query=dict(query),
        headers=hdrs,
        body=text,
        authorizer=authorizer,
    )
    event["isBase64Encoded"] = multipart is not None
    if query:
        multi: dict[str, list[str]] = {}
        for key, value in query:
            multi.setdefault(key, []).append(value)
        event["multiValueQueryStringParameters"] = multi
    return Reply(invoke(route.function, event))


def register(scopes: str = "read write follow", redirect_uris: str = "urn:ietf:wg:oauth:2.0:oob") -> dict[str, Any]:
    reply = call(
        "POST", "/api/v1/apps", form={"client_name": "pytest", "redirect_uris": redirect_uris, "scopes": scopes}
    )
    assert reply.status == 200, reply.text
    return dict(reply.json())


def password_token(stack: Container, username: str, scope: str = "read write follow") -> str:
    app = register(scope)
    reply = call(
        "POST",
        "/oauth/token",
        form={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": username,
            "password": PASSWORD,
            "scope": scope,
        },
    )
    assert reply.status == 200, reply.text
    assert reply.json()["scope"] == scope
    return str(reply.json()["access_token"])


@pytest.fixture
def alice(stack: Container) -> str:
    signup(stack, "alice")
    return password_token(stack, "alice")


@pytest.fixture
def bob(stack: Container) -> str:
    signup(stack, "bob")
    return password_token(stack, "bob")


def test_instance_names_the_streaming_url_and_chirps_limits(stack: Container) -> None:
    """Given a running Mastodon surface
    When a client reads the instance (v2 and v1)
    Then v2 names the WebSocket API as its streaming URL, with 280 characters and 4 attachments per status; v1
    says the same in its own shape, and the version is one clients parse as Mastodon 4.3."""
    v2 = call("GET", "/api/v2/instance").json()
    assert v2["configuration"]["urls"]["streaming"] == stack.settings.mastodon_streaming_url
    assert v2["configuration"]["statuses"]["max_characters"] == 280
    assert v2["configuration"]["statuses"]["max_media_attachments"] == 4
    v1 = call("GET", "/api/v1/instance").json()
    assert v1["urls"]["streaming_api"] == stack.settings.mastodon_streaming_url
    assert v1["version"].startswith("4.3.0")


def test_password_grant_gives_a_token_that_verifies_credentials(stack: Container, alice: str) -> None:
    """Given an app registered with POST /api/v1/apps
    When alice logs in with the password grant
    Then her token reads her own account: string id, username as acct, counts."""
    me = call("GET", "/api/v1/accounts/verify_credentials", token=alice)
    assert me.status == 200, me.text
    body = me.json()
    assert body["username"] == body["acct"] == "alice"
    assert isinstance(body["id"], str) and body["id"].isdigit()
    assert body["statuses_count"] == 0 and "source" in body


def test_wrong_password_and_wrong_secret_are_refused_in_oauth_shape(stack: Container) -> None:
    signup(stack, "carol")
    app = register()
    wrong_password = call(
        "POST",
        "/oauth/token",
        form={"grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
              "username": "carol", "password": "nope-nope-nope"},
    )  # fmt: skip
    assert wrong_password.status == 400
    assert wrong_password.json()["error"] == "invalid_grant"
    wrong_secret = call(
        "POST",
        "/oauth/token",
        form={"grant_type": "password", "client_id": app["client_id"], "client_secret": "0" * 64,
              "username": "carol", "password": PASSWORD},
    )  # fmt: skip
    assert wrong_secret.status == 401
    assert wrong_secret.json()["error"] == "invalid_client"
    forged = call(
        "POST",
        "/oauth/token",
        form={"grant_type": "client_credentials", "client_id": app["client_id"] + "x", "client_secret": "x"},
    )
    assert forged.status == 401


def test_a_scope_beyond_the_apps_registration_is_refused(stack: Container) -> None:
    signup(stack, "dave")
    app = register("read")
    reply = call(
        "POST",
        "/oauth/token",
        form={"grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
              "username": "dave", "password": PASSWORD, "scope": "read write"},
    )  # fmt: skip
    assert reply.status == 400 and reply.json()["error"] == "invalid_scope"


def test_a_read_only_token_cannot_post(stack: Container) -> None:
    """Given a token granted only "read"
    When it posts a status
    Then the answer is 403 with Mastodon's error shape, and reading still works."""
    signup(stack, "erin")
    token = password_token(stack, "erin", scope="read")
    refused = call("POST", "/api/v1/statuses", token=token, form={"status": "hello"})
    assert refused.status == 403
    assert refused.json() == {"error": "This action is outside the authorized scopes"}
    assert call("GET", "/api/v1/timelines/home", token=token).status == 200


def test_granular_and_legacy_follow_scopes(stack: Container) -> None:
    signup(stack, "fay")
    signup(stack, "gus")
    gus_id = call("GET", "/api/v1/accounts/lookup", token=password_token(stack, "gus"), query=[("acct", "gus")])
    follow_only = password_token(stack, "fay", scope="read:accounts follow")
    followed = call("POST", f"/api/v1/accounts/{gus_id.json()['id']}/follow", token=follow_only)
    assert followed.status == 200 and followed.json()["following"] is True
    assert call("POST", "/api/v1/statuses", token=follow_only, form={"status": "x"}).status == 403


def test_client_credentials_token_is_not_a_user(stack: Container) -> None:
    app = register()
    reply = call(
        "POST",
        "/oauth/token",
        form={"grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"],
              "scope": "read"},
    )  # fmt: skip
    assert reply.status == 200, reply.text
    token = reply.json()["access_token"]
    assert call("GET", "/api/v1/apps/verify_credentials", token=token).status == 200
    assert call("GET", "/api/v1/accounts/verify_credentials", token=token).status in (401, 403)
    # Chirp's own API refuses it too (no username: no principal)
    chirp_own = stack.tokens.verify(token)
    assert chirp_own.user_id == 0 and chirp_own.username == ""


def test_authorization_code_with_pkce(stack: Container) -> None:
    """Given an app with a redirect URI
    When alice signs in on the consent page with a PKCE challenge and the app redeems the code with its verifier
    Then it gets a token of the granted scope; the code does not work twice, nor without the verifier."""
    signup(stack, "alice")
    app = register("read write", redirect_uris="https://app.example/cb")
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    oauth = {"client_id": app["client_id"], "redirect_uri": "https://app.example/cb", "response_type": "code",
             "scope": "read", "state": "xyz", "code_challenge": challenge, "code_challenge_method": "S256"}  # fmt: skip
    page = call("GET", "/oauth/authorize", query=list(oauth.items()))
    assert page.status == 200 and "pytest" in page.text and 'name="password"' in page.text
    wrong = call("POST", "/oauth/authorize", form={**oauth, "username": "alice", "password": "wrong-password"})
    assert wrong.status == 401 and "Wrong username or password" in wrong.text
    signed_in = call("POST", "/oauth/authorize", form={**oauth, "username": "alice", "password": PASSWORD})
    assert signed_in.status == 302
    location = urlparse(signed_in.headers["Location"])
    assert location.netloc == "app.example"
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    code = query["code"][0]
    exchange = {"grant_type": "authorization_code", "client_id": app["client_id"], "code": code,
                "redirect_uri": "https://app.example/cb"}  # fmt: skip
    assert call("POST", "/oauth/token", form={**exchange, "code_verifier": "x" * 50}).status == 400
    granted = call("POST", "/oauth/token", form={**exchange, "code_verifier": verifier})
    assert granted.status == 200, granted.text
    assert granted.json()["scope"] == "read"
    token = granted.json()["access_token"]
    assert call("GET", "/api/v1/accounts/verify_credentials", token=token).json()["username"] == "alice"
    replay = call("POST", "/oauth/token", form={**exchange, "code_verifier": verifier})
    assert replay.status == 400 and replay.json()["error"] == "invalid_grant"


def test_status_content_is_safe_html_with_links(stack: Container, alice: str, bob: str) -> None:
    """Given bob exists
    When alice posts text with markup, a mention, a hashtag and a URL
    Then the content escapes the markup and links the mention (with bob's id in mentions), the tag and the URL."""
    text = "<b>hi</b> @bob see #Chirp https://example.com/x?a=1&b=2."
    posted = call("POST", "/api/v1/statuses", token=alice, form={"status": text})
    assert posted.status == 200, posted.text
    status = posted.json()
    content = status["content"]
    assert "<b>" not in content and "&lt;b&gt;hi&lt;/b&gt;" in content
    assert 'class="u-url mention">@<span>bob</span></a>' in content
    assert 'rel="tag">#<span>Chirp</span></a>' in content
    assert '<a href="https://example.com/x?a=1&amp;b=2" rel="nofollow' in content
    assert content.endswith("</a>.</p>")
    bob_id = call("GET", "/api/v1/accounts/verify_credentials", token=bob).json()["id"]
    assert status["mentions"] == [
        {"id": bob_id, "username": "bob", "acct": "bob", "url": f"{stack.settings.mastodon_url}/@bob"}
    ]
    assert [t["name"] for t in status["tags"]] == ["chirp"]
    assert status["visibility"] == "public" and status["reblog"] is None and status["in_reply_to_id"] is None


def test_idempotency_key_posts_once(stack: Container, alice: str) -> None:
    first = call("POST", "/api/v1/statuses", token=alice, form={"status": "once"}, headers={"Idempotency-Key": "k1"})
    again = call("POST", "/api/v1/statuses", token=alice, form={"status": "once"}, headers={"Idempotency-Key": "k1"})
    assert first.json()["id"] == again.json()["id"]


def test_reply_favourite_reblog_context_and_notifications(stack: Container, alice: str, bob: str) -> None:
    """Given alice's status
    When bob replies, favourites and reblogs it, and follows alice
    Then the status's counts and bob's flags say so, the context links the reply, and alice's notifications are
    a mention, a favourite, a reblog and a follow, each with bob's account (and the status where there is one)."""
    original = call("POST", "/api/v1/statuses", token=alice, form={"status": "root"}).json()
    alice_id = original["account"]["id"]
    reply = call(
        "POST", "/api/v1/statuses", token=bob, body={"status": "@alice a reply", "in_reply_to_id": original["id"]}
    ).json()
    assert reply["in_reply_to_id"] == original["id"] and reply["in_reply_to_account_id"] == alice_id
    faved = call("POST", f"/api/v1/statuses/{original['id']}/favourite", token=bob).json()
    assert faved["favourited"] is True and faved["favourites_count"] == 1
    reblogged = call("POST", f"/api/v1/statuses/{original['id']}/reblog", token=bob).json()
    assert reblogged["reblogged"] is True or reblogged["reblog"]["reblogged"] is True
    assert call("POST", f"/api/v1/accounts/{alice_id}/follow", token=bob).json()["following"] is True
    context = call("GET", f"/api/v1/statuses/{original['id']}/context", token=alice).json()
    assert [s["id"] for s in context["descendants"]] == [reply["id"]] and context["ancestors"] == []
    assert [
        s["id"] for s in call("GET", f"/api/v1/statuses/{reply['id']}/context", token=alice).json()["ancestors"]
    ] == [original["id"]]
    drain(stack)
    notes = call("GET", "/api/v1/notifications", token=alice).json()
    kinds = sorted(n["type"] for n in notes)
    assert kinds == ["favourite", "follow", "mention", "reblog"], kinds
    for note in notes:
        assert note["account"]["username"] == "bob"
        assert (note["status"] is None) == (note["type"] == "follow")
    only = call("GET", "/api/v1/notifications", token=alice, query=[("types[]", "follow")]).json()
    assert [n["type"] for n in only] == ["follow"]
    without = call("GET", "/api/v1/notifications", token=alice, query=[("exclude_types[]", "follow")]).json()
    assert sorted(n["type"] for n in without) == ["favourite", "mention", "reblog"]
    unfaved = call("POST", f"/api/v1/statuses/{original['id']}/unfavourite", token=bob).json()
    assert unfaved["favourited"] is False and unfaved["favourites_count"] == 0


def test_home_timeline_pages_follow_link_headers(stack: Container, alice: str, bob: str) -> None:
    """Given bob follows alice, who posted 5 statuses
    When bob reads his home timeline 2 at a time, following rel="next" links
    Then he sees all 5 newest first, each once, and the last page has no next link; rel="prev" with min_id finds
    only newer statuses."""
    alice_id = call("GET", "/api/v1/accounts/verify_credentials", token=alice).json()["id"]
    call("POST", f"/api/v1/accounts/{alice_id}/follow", token=bob)
    posted = [
        call("POST", "/api/v1/statuses", token=alice, form={"status": f"post {n}"}).json()["id"] for n in range(5)
    ]
    drain(stack)
    seen: list[str] = []
    query: list[tuple[str, str]] = [("limit", "2")]
    pages = 0
    while True:
        page = call("GET", "/api/v1/timelines/home", token=bob, query=query)
        assert page.status == 200, page.text
        seen += [s["id"] for s in page.json()]
        pages += 1
        found = re.search(r'<([^>]+)>; rel="next"', page.headers.get("Link", ""))
        if not found or not page.json():
            break
        query = list(parse_qs(urlparse(found.group(1)).query, keep_blank_values=True).items())
        query = [(k, v[0]) for k, v in query]  # type: ignore[misc]
        assert pages < 10
    assert seen == list(reversed(posted))
    newer = call("GET", "/api/v1/timelines/home", token=bob, query=[("min_id", posted[2])]).json()
    assert sorted(s["id"] for s in newer) == sorted(posted[3:])


def test_account_endpoints_and_relationships(stack: Container, alice: str, bob: str) -> None:
    alice_id = call("GET", "/api/v1/accounts/verify_credentials", token=alice).json()["id"]
    bob_id = call("GET", "/api/v1/accounts/verify_credentials", token=bob).json()["id"]
    call("POST", f"/api/v1/accounts/{alice_id}/follow", token=bob)
    call("POST", "/api/v1/statuses", token=alice, form={"status": "mine"})
    assert call("GET", f"/api/v1/accounts/{alice_id}", token=bob).json()["followers_count"] == 1
    statuses = call("GET", f"/api/v1/accounts/{alice_id}/statuses", token=bob).json()
    assert [s["account"]["id"] for s in statuses] == [alice_id]
    call("POST", "/api/v1/statuses", token=alice, form={"status": "a reply", "in_reply_to_id": statuses[0]["id"]})
    assert len(call("GET", f"/api/v1/accounts/{alice_id}/statuses", token=bob).json()) == 2
    no_replies = call("GET", f"/api/v1/accounts/{alice_id}/statuses", token=bob, query=[("exclude_replies", "true")])
    assert [s["id"] for s in no_replies.json()] == [statuses[0]["id"]]
    pinned = call("GET", f"/api/v1/accounts/{alice_id}/statuses", token=bob, query=[("pinned", "true")])
    assert pinned.json() == []
    followers = call("GET", f"/api/v1/accounts/{alice_id}/followers", token=bob).json()
    assert [a["id"] for a in followers] == [bob_id]
    following = call("GET", f"/api/v1/accounts/{bob_id}/following", token=alice).json()
    assert [a["id"] for a in following] == [alice_id]
    relations = call(
        "GET", "/api/v1/accounts/relationships", token=alice, query=[("id[]", bob_id), ("id[]", "999")]
    ).json()
    assert [r["id"] for r in relations] == [bob_id]  # the unknown id is left out
    assert relations[0]["followed_by"] is True and relations[0]["following"] is False
    unfollowed = call("POST", f"/api/v1/accounts/{alice_id}/unfollow", token=bob).json()
    assert unfollowed["following"] is False
    assert call("GET", "/api/v1/accounts/123456789", token=bob).status == 404
    assert call("GET", "/api/v1/accounts/not-an-id", token=bob).json() == {"error": "Record not found"}


def test_search_trends_tag_timeline_and_empty_features(stack: Container, alice: str) -> None:
    call("POST", "/api/v1/statuses", token=alice, form={"status": "learning #python today"})
    drain(stack)
    found = call("GET", "/api/v2/search", token=alice, query=[("q", "python")]).json()
    assert [s["content"] for s in found["statuses"]] and found["hashtags"][0]["name"] == "python"
    people = call("GET", "/api/v2/search", token=alice, query=[("q", "ali"), ("type", "accounts")]).json()
    assert [a["username"] for a in people["accounts"]] == ["alice"] and people["statuses"] == []
    tagged = call("GET", "/api/v1/timelines/tag/python", token=alice).json()
    assert len(tagged) == 1 and tagged[0]["tags"][0]["name"] == "python"
    trends = call("GET", "/api/v1/trends/tags").json()
    assert [t["name"] for t in trends] == ["python"] and trends[0]["history"][0]["uses"] == "1"
    for path in ("/api/v1/custom_emojis", "/api/v1/filters", "/api/v2/filters", "/api/v1/lists"):
        token = None if path == "/api/v1/custom_emojis" else alice
        assert call("GET", path, token=token).json() == []


def test_delete_answers_the_source_text_and_the_status_is_gone(stack: Container, alice: str) -> None:
    posted = call("POST", "/api/v1/statuses", token=alice, form={"status": "<oops>"}).json()
    deleted = call("DELETE", f"/api/v1/statuses/{posted['id']}", token=alice)
    assert deleted.status == 200 and deleted.json()["text"] == "<oops>"
    assert call("GET", f"/api/v1/statuses/{posted['id']}", token=alice).status == 404


def test_bad_input_is_a_clear_4xx(stack: Container, alice: str) -> None:
    assert call("POST", "/api/v1/statuses", token=alice, form={"status": ""}).status == 400
    assert call("POST", "/api/v1/statuses", token=alice, form={"status": "x" * 281}).status == 400
    assert call("GET", "/api/v1/timelines/home", token=alice, query=[("limit", "abc")]).status == 400
    assert call("GET", "/api/v1/timelines/home", token=alice, query=[("max_id", "zzz")]).status == 400
    bad_json = call("POST", "/oauth/token", body={"grant_type": "magic"})
    assert bad_json.status == 400 and bad_json.json()["error"] == "unsupported_grant_type"
    assert call("POST", "/api/v1/apps", form={"client_name": "x", "scopes": "admin:everything"}).status == 400
    assert call("GET", "/api/v1/timelines/home").status == 401


SCOPED = [route for _, route in wiring.all_routes("mastodon") if route.scope]


@pytest.mark.parametrize("route", SCOPED, ids=[f"{r.method} {r.path}" for r in SCOPED])
def test_every_scoped_route_refuses_a_token_without_its_scope(stack: Container, route: wiring.Route) -> None:
    """The authorization matrix of the OAuth scopes: a token whose scopes do not cover the route's (read for a
    write route, write for a read route) gets 403 in Mastodon's shape, before anything else happens."""
    signup(stack, "matrix")
    lacking = "write" if route.scope.startswith("read") else "read"
    token = password_token(stack, "matrix", scope=lacking)
    path = re.sub(r"\{\w+\}", "1", route.path)
    reply = call(route.method, path, token=token)
    assert reply.status == 403, reply.text
    assert reply.json() == {"error": "This action is outside the authorized scopes"}


def test_chirps_own_tokens_have_every_scope(stack: Container) -> None:
    """A token from Chirp's own log-in (no scope claim) works on the Mastodon surface like a full-scope one."""
    chirp_token = stack.tokens.issue(signup(stack, "native"))
    posted = call("POST", "/api/v1/statuses", token=chirp_token, form={"status": "from a Chirp token"})
    assert posted.status == 200, posted.text


def _png() -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (64, 48), (29, 155, 240)).save(out, format="PNG")
    return out.getvalue()


def _multipart(fields: dict[str, str], file: tuple[str, str, bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ]
    name, content_type, data = file
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_media_upload_then_status_with_it(stack: Container, alice: str) -> None:
    """Given a PNG posted whole as multipart (POST /api/v2/media) with a description
    When the upload is processed (as the object store's notification makes it) and a status names it
    Then the upload answers 202 with url null, then GET /api/v1/media/:id has its URL, and the status carries it as
    an image attachment with the description."""
    body = _multipart({"description": "a blue square"}, ("square.png", "image/png", _png()))
    uploaded = call("POST", "/api/v2/media", token=alice, multipart=body)
    assert uploaded.status == 202, uploaded.text
    media = uploaded.json()
    assert media["url"] is None and media["type"] == "image" and media["description"] == "a blue square"
    assert call("GET", f"/api/v1/media/{media['id']}", token=alice).status == 206
    owner = stack.tokens.verify(alice)
    assert stack.media.process_upload(upload_key(owner.user_id, media["id"], "image/png")) == "ready"
    ready = call("GET", f"/api/v1/media/{media['id']}", token=alice)
    assert ready.status == 200 and ready.json()["url"]
    posted = call("POST", "/api/v1/statuses", token=alice, form={"status": "look", "media_ids[]": [media["id"]]})
    assert posted.status == 200, posted.text
    [attachment] = posted.json()["media_attachments"]
    assert attachment["id"] == media["id"] and attachment["type"] == "image"
    assert attachment["description"] == "a blue square" and attachment["meta"]["original"]["width"] == 64
    missing_file = call(
        "POST", "/api/v2/media", token=alice, multipart=_multipart({"description": "x"}, ("a", "text/plain", b""))
    )
    assert missing_file.status == 400


def test_update_credentials_changes_the_display_name_and_bio(stack: Container, alice: str) -> None:
    updated = call(
        "PATCH", "/api/v1/accounts/update_credentials", token=alice, form={"display_name": "Alice A.", "note": "hi <3"}
    )
    assert updated.status == 200, updated.text
    assert updated.json()["display_name"] == "Alice A." and updated.json()["source"]["note"] == "hi <3"
    assert updated.json()["note"] == "<p>hi &lt;3</p>"
    assert call("GET", "/api/v1/accounts/verify_credentials", token=alice).json()["display_name"] == "Alice A."


def test_chirps_own_api_refuses_an_oauth_token(stack: Container, alice: str) -> None:
    """Scopes are checked by the Mastodon surface only, so Chirp's own routes take no OAuth token (a read-only one
    would otherwise post there): 403."""
    refused = call("POST", "/api/v1/tweets", token=alice, body={"content": "via the other door"}, surface="chirp")
    assert refused.status == 403 and json.loads(refused.text)["error"]["code"] == "oauth_token"


def test_block_mute_favourites_and_the_empty_lists(stack: Container, alice: str, bob: str) -> None:
    """Given alice liked a status of bob's
    When she lists her favourites, then blocks and mutes bob
    Then her favourites hold that status, the relationship says blocking and muting, /blocks and /mutes list bob,
    and the features Chirp lacks answer empty lists."""
    bob_status = call("POST", "/api/v1/statuses", token=bob, form={"status": "like me"}).json()
    call("POST", f"/api/v1/statuses/{bob_status['id']}/favourite", token=alice)
    favourites = call("GET", "/api/v1/favourites", token=alice).json()
    assert [s["id"] for s in favourites] == [bob_status["id"]] and favourites[0]["favourited"] is True
    bob_id = bob_status["account"]["id"]
    muted = call("POST", f"/api/v1/accounts/{bob_id}/mute", token=alice).json()
    assert muted["muting"] is True and muted["blocking"] is False
    blocked = call("POST", f"/api/v1/accounts/{bob_id}/block", token=alice).json()
    assert blocked["blocking"] is True
    assert [a["id"] for a in call("GET", "/api/v1/blocks", token=alice).json()] == [bob_id]
    assert [a["id"] for a in call("GET", "/api/v1/mutes", token=alice).json()] == [bob_id]
    assert call("POST", f"/api/v1/accounts/{bob_id}/unblock", token=alice).json()["blocking"] is False
    assert call("POST", f"/api/v1/accounts/{bob_id}/unmute", token=alice).json()["muting"] is False
    assert call("GET", "/api/v1/blocks", token=alice).json() == []
    for path in ("/api/v1/announcements", "/api/v1/follow_requests", "/api/v1/conversations",
                 "/api/v1/scheduled_statuses", "/api/v1/followed_tags"):  # fmt: skip
        assert call("GET", path, token=alice).json() == []
    assert call("GET", "/api/v1/preferences", token=alice).json()["posting:default:visibility"] == "public"


def test_a_request_through_the_aws_proxy_resource_is_routed_by_its_path(stack: Container, alice: str) -> None:
    """On AWS the authorized routes arrive through a greedy {proxy+} resource (chirp_cdk.mastodon_api): the handler
    routes them by path, trailing slash or not, and logs them under the wiring's route."""
    posted = call("POST", "/api/v1/statuses", token=alice, form={"status": "via proxy"}, resource="/api/v1/{proxy+}")
    assert posted.status == 200, posted.text
    read = call("GET", f"/api/v1/statuses/{posted.json()['id']}", token=alice, resource="/api/v1/{proxy+}")
    assert read.json()["id"] == posted.json()["id"]


def test_home_shows_a_reblogged_status_once_and_nothing_of_a_muted_account(stack: Container, alice: str) -> None:
    """Given carol follows alice and bob, alice posts a status and bob reblogs it, and carol follows dave
    When carol reads her home timeline, then mutes dave and reads it again
    Then alice's status shows once (the reblog of a status already there is left out: the same rule as Chirp's
    own home timeline) and, after the mute, nothing of dave's shows."""
    signup(stack, "bob")
    signup(stack, "carol")
    signup(stack, "dave")
    bob, carol, dave = (password_token(stack, name) for name in ("bob", "carol", "dave"))
    ids = {
        name: call("GET", "/api/v1/accounts/lookup", token=carol, query=[("acct", name)]).json()["id"]
        for name in ("alice", "bob", "dave")
    }
    for name in ("alice", "bob", "dave"):
        assert call("POST", f"/api/v1/accounts/{ids[name]}/follow", token=carol).status == 200
    status = call("POST", "/api/v1/statuses", token=alice, form={"status": "worth sharing"}).json()
    assert call("POST", f"/api/v1/statuses/{status['id']}/reblog", token=bob).status == 200
    call("POST", "/api/v1/statuses", token=dave, form={"status": "noise"})
    drain(stack)
    home = call("GET", "/api/v1/timelines/home", token=carol).json()
    shown = [s["reblog"]["id"] if s["reblog"] else s["id"] for s in home]
    assert shown.count(status["id"]) == 1
    assert any(s["account"]["id"] == ids["dave"] for s in home)
    assert call("POST", f"/api/v1/accounts/{ids['dave']}/mute", token=carol).json()["muting"] is True
    home = call("GET", "/api/v1/timelines/home", token=carol).json()
    assert not any(s["account"]["id"] == ids["dave"] for s in home)

"""The OpenSearch stand-in demands what Amazon OpenSearch Service with fine-grained access control demands (HTTPS
only, every request authenticated, permissions from roles), and Chirp's adapter meets it: verified TLS plus the
Chirp user index and search Chirp's indices; no credentials, a wrong password, plain http or an untrusted
certificate are refused; the Chirp user's role (the adapter's own ``indexer_role``) reaches no other index and no
security configuration, and every permission in it is needed. The SigV4 path (production on AWS) is checked
against botocore's own signature computation on a local capture server."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import AuthenticationException, AuthorizationException
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError

from chirp.adapters.opensearch_index import OpenSearchIndex, SearchIndexError
from chirp.ids import CHIRP_EPOCH_MS, TIME_SHIFT
from chirp.local.servers.harness import Endpoint, ServerSet, opensearch_client
from chirp.local.servers.tls import server_tls
from chirp.model import TweetRecord, UserRecord
from chirp.ports import StoreUnavailable
from chirp.query import parse_query
from chirp.search_role import INDEXER_ROLE, indexer_role

from .fixtures import opensearch_index


@pytest.fixture
def ep(servers: ServerSet) -> Endpoint:
    return servers["opensearch"]


@pytest.fixture
def admin(ep: Endpoint) -> Iterator[Any]:
    client = opensearch_client(ep, admin=True)
    try:
        yield client
    finally:
        client.close()


def _prefix() -> str:
    return f"auth{secrets.token_hex(5)}-tweets"  # inside the stand-in role's "*tweets" patterns


def _tweet_id(day: datetime, seq: int) -> int:
    return ((int(day.timestamp() * 1000) - CHIRP_EPOCH_MS) << TIME_SHIFT) | seq


def _tweet(tweet_id: int, content: str) -> TweetRecord:
    return TweetRecord(tweet_id=tweet_id, user_id=1, username="alice", content=content, created_at_ms=0)


def _workload(index: OpenSearchIndex) -> None:
    """Every call the adapter makes, as the service makes them."""
    first = _tweet(_tweet_id(datetime(2025, 3, 1, tzinfo=UTC), 1), "hello secure search")
    second = _tweet(_tweet_id(datetime(2025, 4, 1, tzinfo=UTC), 2), "hello again")
    index.ensure_setup()
    index.index_tweets([first, second])
    alice = UserRecord(user_id=1, username="alice", email="", display_name="Alice", password_hash="", created_at_ms=0)
    index.index_users([alice])
    index.refresh()
    assert index.tweet_count() == 2
    recent = index.search(parse_query("hello"), limit=10, before=None, order="recent")
    assert [h.tweet_id for h in recent] == [second.tweet_id, first.tweet_id]
    relevant = index.search(parse_query("secure"), limit=10, before=None, order="relevance")
    assert [h.tweet_id for h in relevant] == [first.tweet_id]
    assert index.search_users("ali", limit=5) == [1]
    index.delete_tweets([first.tweet_id])
    index.refresh()
    assert index.tweet_count() == 1


# -- what gets in ------------------------------------------------------------------------------------------------


def test_tls_and_the_chirp_user_index_and_search_chirps_indices(ep: Endpoint) -> None:
    assert ep.url.startswith("https://")
    index = opensearch_index(ep, prefix=_prefix())
    try:
        _workload(index)
    finally:
        index.close()


def test_the_chirp_user_has_exactly_the_adapters_role(ep: Endpoint) -> None:
    client = opensearch_client(ep)
    try:
        info = client.transport.perform_request("GET", "/_plugins/_security/authinfo")
    finally:
        client.close()
    assert (info["user_name"], info["roles"], info["backend_roles"]) == ("chirp", [INDEXER_ROLE], [])


# -- what is refused ---------------------------------------------------------------------------------------------


def test_no_credentials_is_401(ep: Endpoint) -> None:
    index = opensearch_index(ep, prefix=_prefix(), auth="none", username=None, password=None)
    try:
        with pytest.raises(AuthenticationException) as raised:
            index.tweet_count()
        assert raised.value.status_code == 401
    finally:
        index.close()


def test_a_wrong_password_is_401(ep: Endpoint) -> None:
    index = opensearch_index(ep, prefix=_prefix(), password=ep.extra["password"] + "x")
    try:
        with pytest.raises(AuthenticationException) as raised:
            index.tweet_count()
        assert raised.value.status_code == 401
        assert ep.extra["password"] not in str(raised.value)
    finally:
        index.close()


def test_plain_http_is_refused(ep: Endpoint) -> None:
    plain = ep.url.replace("https://", "http://")
    # The raw library: the node speaks only TLS on its HTTP port and drops a plain-text request.
    client = OpenSearch(hosts=[plain], http_auth=(ep.extra["username"], ep.extra["password"]), max_retries=0)
    try:
        with pytest.raises(OpenSearchConnectionError):
            client.info()
    finally:
        client.close()
    # The adapter will not even send a password over plain http.
    with pytest.raises(ValueError, match="must be https"):
        OpenSearchIndex(plain, auth="basic", username="chirp", password=ep.extra["password"])


@pytest.mark.parametrize("trust", ["default trust store", "another CA"])
def test_a_certificate_from_an_untrusted_ca_is_refused(ep: Endpoint, trust: str, tmp_path: Path) -> None:
    ca_file = None if trust == "default trust store" else str(server_tls(tmp_path).ca_file)
    index = opensearch_index(ep, prefix=_prefix(), ca_file=ca_file)
    try:
        with pytest.raises(StoreUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            index.tweet_count()
    finally:
        index.close()


def test_the_chirp_user_cannot_touch_other_indices(ep: Endpoint, admin: Any) -> None:
    other = f"other-{secrets.token_hex(5)}"
    admin.index(index=other, id="1", body={"note": "not chirp's"}, refresh=True)
    client = opensearch_client(ep)
    try:
        calls: dict[str, Callable[[], object]] = {
            "search": lambda: client.search(index=other, body={"query": {"match_all": {}}}),
            "get": lambda: client.get(index=other, id="1"),
            "index": lambda: client.index(index=other, id="2", body={"note": "x"}),
            "delete": lambda: client.delete(index=other, id="1"),
            "bulk": lambda: _bulk_status(client, other),
            "create another index": lambda: client.indices.create(index=f"other-{secrets.token_hex(5)}"),
            "delete the index": lambda: client.indices.delete(index=other),
            "search everything": lambda: client.search(index="_all", body={"query": {"match_all": {}}}),
        }
        for name, call in calls.items():
            with pytest.raises(AuthorizationException) as raised:
                call()
            assert raised.value.status_code == 403, name
        assert admin.count(index=other)["count"] == 1  # nothing changed
    finally:
        client.close()
        admin.indices.delete(index=other, ignore_unavailable=True)


def _bulk_status(client: Any, index: str) -> None:
    """A bulk request is let through at cluster level; its item on a foreign index must come back forbidden."""
    result = client.bulk(body=[{"index": {"_index": index, "_id": "3"}}, {"note": "x"}])
    item = result["items"][0]["index"]
    if item["status"] == 403:
        raise AuthorizationException(403, "security_exception", item)
    raise AssertionError(f"bulk item on {index} was not forbidden: {item}")


def test_the_chirp_user_cannot_change_security_or_cluster_settings(ep: Endpoint) -> None:
    client = opensearch_client(ep)
    try:
        role = json.dumps({"cluster_permissions": ["*"], "index_permissions": []})
        calls: dict[str, Callable[[], object]] = {
            "widen its own role": lambda: client.transport.perform_request(
                "PUT", f"/_plugins/_security/api/roles/{INDEXER_ROLE}", body=role
            ),
            "read users": lambda: client.transport.perform_request("GET", "/_plugins/_security/api/internalusers"),
            "map itself to all_access": lambda: client.transport.perform_request(
                "PUT", "/_plugins/_security/api/rolesmapping/all_access", body=json.dumps({"users": ["chirp"]})
            ),
            "cluster settings": lambda: client.cluster.put_settings(
                body={"persistent": {"cluster.routing.allocation.enable": "none"}}
            ),
            "the security index": lambda: client.search(index=".opendistro_security"),
        }
        for name, call in calls.items():
            with pytest.raises(AuthorizationException) as raised:
                call()
            assert raised.value.status_code == 403, name
    finally:
        client.close()


def test_every_permission_of_the_role_is_needed(ep: Endpoint, admin: Any) -> None:
    """Least privilege, shown: the whole role runs the adapter's workload; the role less any one of its permissions
    does not (a 403 somewhere). Each variant gets a prefix and a user of its own, so nothing carries over."""
    permissions = indexer_role("any")
    variants: list[tuple[str, str]] = [("complete", "")]
    variants += [("cluster", p) for p in permissions["cluster_permissions"]]
    variants += [("index", a) for a in permissions["index_permissions"][0]["allowed_actions"]]
    outcomes: dict[str, str] = {}
    for kind, dropped in variants:
        prefix = _prefix()
        role = indexer_role(prefix)
        if kind == "cluster":
            role["cluster_permissions"].remove(dropped)
        elif kind == "index":
            role["index_permissions"][0]["allowed_actions"].remove(dropped)
        user, password = f"probe{secrets.token_hex(4)}", secrets.token_urlsafe(18)
        _security_put(admin, f"roles/{user}", role)
        _security_put(admin, f"internalusers/{user}", {"password": password})
        _security_put(admin, f"rolesmapping/{user}", {"users": [user]})
        index = opensearch_index(ep, prefix=prefix, username=user, password=password)
        try:
            _workload(index)
            outcomes[dropped or kind] = "ok"
        except AuthorizationException as exc:
            outcomes[dropped or kind] = f"403: {exc.info}"[:200]
        except SearchIndexError as exc:  # a bulk item refused (the request itself was let through)
            outcomes[dropped or kind] = f"403: {exc}"[:200] if "'status': 403" in str(exc) else str(exc)
        finally:
            index.close()
            for kind_path in ("rolesmapping", "internalusers", "roles"):
                admin.transport.perform_request("DELETE", f"/_plugins/_security/api/{kind_path}/{user}")
    assert outcomes.pop("complete") == "ok"
    assert {name: outcome[:4] for name, outcome in outcomes.items()} == dict.fromkeys(outcomes, "403:"), outcomes


def _security_put(admin: Any, path: str, body: dict[str, Any]) -> None:
    admin.transport.perform_request("PUT", f"/_plugins/_security/api/{path}", body=json.dumps(body))


# -- SigV4 (production on AWS) -----------------------------------------------------------------------------------


class _Capture(BaseHTTPRequestHandler):
    """Answers every request with an empty search/count result and keeps what it received."""

    received: list[dict[str, Any]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.received.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
        payload = json.dumps({"count": 0, "hits": {"hits": []}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_HEAD = _answer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return None


@pytest.fixture
def capture() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Handler", (_Capture,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_sigv4_requests_carry_botocores_signature(
    capture: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url, received = capture
    key, secret, token = "AKIDCHIRPTEST", "chirp-test-secret-key", "chirp-test-session-token"
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    # What Lambda gives a function: its role's temporary credentials in the environment.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_SESSION_TOKEN", token)

    index = OpenSearchIndex(url, prefix="signed-tweets", auth="sigv4", region="eu-west-1")
    try:
        assert index.tweet_count() == 0  # a GET/POST without a body
        assert index.search(parse_query("signed words"), limit=5, before=None, order="relevance") == []  # with a body
    finally:
        index.close()

    assert len(received) == 2
    for request in received:
        headers = request["headers"]
        found = re.fullmatch(
            r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
            r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})",
            headers["Authorization"],
        )
        assert found, headers["Authorization"]
        access_key, day, region, service, signed_headers, signature = found.groups()
        assert (access_key, region, service) == (key, "eu-west-1", "es")
        assert headers["X-Amz-Date"].startswith(day)
        assert headers["X-Amz-Security-Token"] == token
        assert headers["X-Amz-Content-SHA256"] == hashlib.sha256(request["body"]).hexdigest()  # the body sent
        assert {"host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"} <= set(signed_headers.split(";"))

        # botocore's own SigV4 over what arrived: same method, path, query, signed headers, body and time.
        lowered = {k.lower(): v for k, v in headers.items()}
        replay = AWSRequest(
            method=request["method"],
            url=url + request["path"],
            data=request["body"],
            headers={name: lowered[name] for name in signed_headers.split(";")},
        )
        replay.context["timestamp"] = headers["X-Amz-Date"]
        signer = SigV4Auth(Credentials(key, secret, token), "es", "eu-west-1")
        expected = signer.signature(signer.string_to_sign(replay, signer.canonical_request(replay)), replay)
        assert signature == expected
    assert received[1]["body"] and b"signed" in received[1]["body"]


def test_sigv4_without_credentials_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ValueError, match="no AWS credentials"):
        OpenSearchIndex("https://search.example", auth="sigv4")

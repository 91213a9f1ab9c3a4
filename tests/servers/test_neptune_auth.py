"""The Neptune stand-in demands what Neptune with IAM DB authentication demands -- TLS and a valid SigV4 signature on
the WebSocket upgrade -- and the adapter gets through it: signed with the default credential chain, re-signed when
its connection is rebuilt."""

from __future__ import annotations

import base64
import datetime
import os
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import botocore.auth
import pytest

import chirp.adapters.neptune as neptune
from chirp.adapters.neptune import NeptuneGraphStore
from chirp.local.servers.harness import (
    DUMMY_CREDENTIALS,
    Endpoint,
    ServerSet,
    grant_sigv4_principal,
    gremlin_upgrade_headers,
)
from chirp.ports import StoreUnavailable


@pytest.fixture
def gremlin(servers: ServerSet) -> Endpoint:
    return servers["gremlin"]


@pytest.fixture
def role_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default chain finds the stand-in's credentials in the environment, as a Lambda finds its role's."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_CREDENTIALS["aws_secret_access_key"])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def _store(ep: Endpoint, **kwargs: Any) -> NeptuneGraphStore:
    options: dict[str, Any] = {
        "iam_auth": True,
        "region": ep.extra["region"],
        "ca_file": ep.extra["ca_file"],
        "timeout_s": 10,
    }
    options.update(kwargs)
    return NeptuneGraphStore(ep.url, **options)


@pytest.fixture
def store(gremlin: Endpoint, role_credentials: None) -> Iterator[NeptuneGraphStore]:
    graph = _store(gremlin)
    yield graph
    graph.close()


def _user_ids() -> tuple[int, int]:
    base = int.from_bytes(os.urandom(4), "big") + 2**40
    return base, base + 1


def _upgrade(ep: Endpoint, headers: dict[str, str], *, tls: bool = True) -> tuple[int, str]:
    """Send one WebSocket upgrade request by hand; returns the HTTP status and body (0 when the server hung up)."""
    request = (
        "GET /gremlin HTTP/1.1\r\n"
        f"Host: {ep.host}:{ep.port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in headers.items() if name.lower() != "host")
        + "\r\n"
    )
    raw = socket.create_connection((ep.host, ep.port), timeout=10)
    sock: socket.socket = raw
    if tls:
        sock = ssl.create_default_context(cafile=ep.extra["ca_file"]).wrap_socket(raw, server_hostname=ep.host)
    with sock:
        sock.sendall(request.encode())
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
                if data.startswith(b"HTTP/1.1 101") and b"\r\n\r\n" in data:
                    break  # upgraded: the WebSocket stays open
        except (ConnectionResetError, ssl.SSLError):
            pass
    if not data:
        return 0, ""
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode(errors="replace")


def _clock(*times: datetime.datetime) -> Callable[..., datetime.datetime]:
    """botocore's signing clock: the given times in turn, then the real time (naive UTC, as botocore uses)."""
    queue = list(times)

    def now(remove_tzinfo: bool = True) -> datetime.datetime:
        if queue:
            return queue.pop(0)
        return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)

    return now


def _minutes_ago(minutes: float) -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(minutes=minutes)


def test_a_signed_connection_runs_traversals(store: NeptuneGraphStore) -> None:
    alice, bob = _user_ids()
    assert store.follow(alice, bob, 1_000) is True
    assert store.counts(bob) == (1, 0)
    assert store.followers_page(bob, cursor=None, limit=10).items == [alice]


def test_a_correctly_signed_upgrade_is_switched_to_websocket(gremlin: Endpoint) -> None:
    status, _ = _upgrade(gremlin, gremlin_upgrade_headers(gremlin))
    assert status == 101


def test_an_unknown_principal_is_refused_until_granted(gremlin: Endpoint) -> None:
    """Another key pair (say, an emulator's function credentials) is refused until the stand-in is told about it,
    as Neptune refuses a principal IAM does not know; once granted, only its right secret is accepted."""
    principal = {"aws_access_key_id": f"AKIA{uuid.uuid4().hex[:12].upper()}", "aws_secret_access_key": "s3cr3t"}
    status, body = _upgrade(gremlin, gremlin_upgrade_headers(gremlin, principal))
    assert (status, "unknown access key" in body) == (403, True)
    grant_sigv4_principal(gremlin, principal["aws_access_key_id"], principal["aws_secret_access_key"])
    assert _upgrade(gremlin, gremlin_upgrade_headers(gremlin, principal))[0] == 101
    forged = {**principal, "aws_secret_access_key": "guess"}
    status, body = _upgrade(gremlin, gremlin_upgrade_headers(gremlin, forged))
    assert (status, "does not match" in body) == (403, True)


def test_an_unsigned_upgrade_is_refused_with_403(gremlin: Endpoint) -> None:
    status, body = _upgrade(gremlin, {})
    assert (status, "Missing Authentication Token" in body) == (403, True)

    unsigned = NeptuneGraphStore(gremlin.url, ca_file=gremlin.extra["ca_file"], timeout_s=10)  # iam_auth off
    try:
        with pytest.raises(StoreUnavailable, match="403"):
            unsigned.counts(1)
    finally:
        unsigned.close()


def test_a_signature_made_with_the_wrong_secret_is_refused(
    gremlin: Endpoint, role_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    forged = {**DUMMY_CREDENTIALS, "aws_secret_access_key": "not-the-secret"}
    status, body = _upgrade(gremlin, gremlin_upgrade_headers(gremlin, forged))
    assert (status, "does not match" in body) == (403, True)

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    graph = _store(gremlin)
    try:
        with pytest.raises(StoreUnavailable, match="403"):
            graph.counts(1)
    finally:
        graph.close()


def test_a_signature_older_than_the_skew_window_is_refused(
    gremlin: Endpoint, role_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", _clock(_minutes_ago(4)))
    status, _ = _upgrade(gremlin, gremlin_upgrade_headers(gremlin))
    assert status == 101  # inside the 5-minute window: accepted

    monkeypatch.setattr(botocore.auth, "get_current_datetime", _clock(_minutes_ago(6)))
    status, body = _upgrade(gremlin, gremlin_upgrade_headers(gremlin))
    assert (status, "Signature expired" in body) == (403, True)

    # The adapter's answer to a refused upgrade: re-sign (now with the real clock) and connect again.
    monkeypatch.setattr(botocore.auth, "get_current_datetime", _clock(_minutes_ago(6)))
    graph = _store(gremlin)
    try:
        assert graph.counts(1) == (0, 0)
    finally:
        graph.close()

    # Every signature stale: refused twice, then StoreUnavailable.
    monkeypatch.setattr(botocore.auth, "get_current_datetime", _clock(_minutes_ago(6), _minutes_ago(6)))
    graph = _store(gremlin)
    try:
        with pytest.raises(StoreUnavailable, match="403"):
            graph.counts(1)
    finally:
        graph.close()


def test_plain_ws_is_refused(gremlin: Endpoint) -> None:
    status, _ = _upgrade(gremlin, gremlin_upgrade_headers(gremlin), tls=False)
    assert status == 0  # no HTTP answer at all: the TLS port hangs up on a plain request

    plain = gremlin.url.replace("wss://", "ws://")
    with pytest.raises(ValueError, match="wss"):
        NeptuneGraphStore(plain, iam_auth=True)
    unencrypted = NeptuneGraphStore(plain, timeout_s=10)
    try:
        with pytest.raises(StoreUnavailable):
            unencrypted.counts(1)
    finally:
        unencrypted.close()


def test_the_certificate_is_verified(gremlin: Endpoint) -> None:
    """The stand-in's certificate is issued by the set's private CA: a client that does not trust it fails."""
    with (
        socket.create_connection((gremlin.host, gremlin.port), timeout=10) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        ssl.create_default_context().wrap_socket(raw, server_hostname=gremlin.host)


def test_a_connection_is_re_signed_when_its_signature_ages(
    gremlin: Endpoint, role_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed: list[str] = []
    real = neptune.sigv4_headers

    def spy(url: str, credentials: Any, region: str) -> dict[str, str]:
        signed.append(url)
        return real(url, credentials, region)

    monkeypatch.setattr(neptune, "sigv4_headers", spy)
    graph = _store(gremlin, signature_max_age_s=0.5)
    try:
        assert graph.counts(1) == (0, 0)
        assert graph.counts(1) == (0, 0)
        assert len(signed) == 1  # young enough: the same connection
        time.sleep(0.6)
        assert graph.counts(1) == (0, 0)
        assert len(signed) == 2  # rebuilt with fresh headers before use
    finally:
        graph.close()


def test_reads_go_to_the_reader_endpoint_signed_too(
    gremlin: Endpoint, role_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed: list[str] = []
    real = neptune.sigv4_headers

    def spy(url: str, credentials: Any, region: str) -> dict[str, str]:
        signed.append(url)
        return real(url, credentials, region)

    monkeypatch.setattr(neptune, "sigv4_headers", spy)
    reader = gremlin.url.replace("127.0.0.1", "localhost")  # the same server by another name: its own connection
    graph = _store(gremlin, reader_url=reader)
    try:
        alice, bob = _user_ids()
        graph.follow(alice, bob, 1_000)
        assert signed == [gremlin.url]
        assert graph.followers_page(bob, cursor=None, limit=10).items == [alice]
        assert signed == [gremlin.url, reader]
        assert graph.counts(bob) == (1, 0)  # read-your-write: on the writer's connection
        assert signed == [gremlin.url, reader]
    finally:
        graph.close()

"""The Neptune adapter's IAM auth, checked on the wire without a graph server: a TLS listener on loopback records
the WebSocket upgrade requests the adapter sends and refuses them (403), and for a fixed clock and fixed credentials
each recorded request carries exactly the SigV4 headers botocore computes for that request -- recomputed here both
with botocore and from the Signature Version 4 specification by hand."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from chirp.adapters.neptune import NeptuneGraphStore
from chirp.local.servers.tls import server_tls
from chirp.ports import StoreUnavailable

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "eu-west-1"
# The clock botocore signs with: one reading per signature (first connection, then the re-signed reconnect).
TIMES = [datetime.datetime(2026, 1, 2, 3, 4, 5), datetime.datetime(2026, 1, 2, 3, 4, 12)]


@dataclass
class Upgrade:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names


class RecordingServer:
    """Accepts TLS connections, records each request head and answers 403 as Neptune does to a bad signature."""

    def __init__(self, directory: Path) -> None:
        tls = server_tls(directory)
        self.ca_file = str(tls.ca_file)
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(tls.cert_file, tls.key_file)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.upgrades: list[Upgrade] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                with self._context.wrap_socket(raw, server_side=True) as conn:
                    head = b""
                    while b"\r\n\r\n" not in head:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        head += chunk
                    self._record(head)
                    body = b'{"code":"AccessDeniedException"}'
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            except OSError:
                continue

    def _record(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        self.upgrades.append(Upgrade(method, path, headers))

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RecordingServer]:
    recording = RecordingServer(tmp_path)
    yield recording
    recording.close()


def _fixed_clock(times: list[datetime.datetime]) -> Callable[..., datetime.datetime]:
    readings = iter(times)

    def now(remove_tzinfo: bool = True) -> datetime.datetime:
        return next(readings)

    return now


def _role(monkeypatch: pytest.MonkeyPatch, token: str | None) -> None:
    """Credentials where the default chain finds a Lambda role's: the environment (and nothing from ~/.aws)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    if token is None:
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    else:
        monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


def _botocore_headers(url: str, at: datetime.datetime, token: str | None) -> dict[str, str]:
    """What botocore's signer puts on ``GET url`` at ``at`` with the test credentials."""
    request = AWSRequest(method="GET", url=url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.auth, "get_current_datetime", lambda remove_tzinfo=True: at)
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, token), "neptune-db", REGION).add_auth(request)
    return {name.lower(): value for name, value in request.headers.items()}


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _spec_signature(upgrade: Upgrade, signed_headers: str, amz_date: str) -> str:
    """Signature Version 4 from the specification, over the request as received (no botocore)."""
    names = signed_headers.split(";")
    canonical = "\n".join(
        [
            upgrade.method,
            upgrade.path,
            "",  # no query string
            "".join(f"{name}:{' '.join(upgrade.headers[name].split())}\n" for name in names),
            signed_headers,
            hashlib.sha256(b"").hexdigest(),  # empty body
        ]
    )
    scope = f"{amz_date[:8]}/{REGION}/neptune-db/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(f"AWS4{SECRET_KEY}".encode(), amz_date[:8])
    for part in (REGION, "neptune-db", "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("token", [None, "FQoGZXIvYXdzEXAMPLE//session+token="], ids=["long-term", "session"])
def test_upgrade_headers_are_botocores_sigv4_for_that_request_and_re_signed_on_reconnect(
    server: RecordingServer, monkeypatch: pytest.MonkeyPatch, token: str | None
) -> None:
    _role(monkeypatch, token)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", _fixed_clock(list(TIMES)))
    url = f"wss://127.0.0.1:{server.port}/gremlin"
    store = NeptuneGraphStore(url, iam_auth=True, region=REGION, ca_file=server.ca_file, timeout_s=5)
    try:
        with pytest.raises(StoreUnavailable, match="403"):
            store.counts(1)  # refused, re-signed, refused again
    finally:
        store.close()

    assert len(server.upgrades) == 2
    for upgrade, at in zip(server.upgrades, TIMES, strict=True):
        assert (upgrade.method, upgrade.path, upgrade.headers["upgrade"].lower()) == ("GET", "/gremlin", "websocket")
        expected = _botocore_headers(f"https://127.0.0.1:{server.port}/gremlin", at, token)
        amz_date = at.strftime("%Y%m%dT%H%M%SZ")
        assert expected["x-amz-date"] == amz_date
        for name in ("authorization", "x-amz-date"):
            assert upgrade.headers[name] == expected[name]
        assert upgrade.headers.get("x-amz-security-token") == token
        assert upgrade.headers["host"] == f"127.0.0.1:{server.port}"

        signed = "host;x-amz-date" + (";x-amz-security-token" if token else "")
        scope = f"{ACCESS_KEY}/{amz_date[:8]}/{REGION}/neptune-db/aws4_request"
        signature = _spec_signature(upgrade, signed, amz_date)
        assert upgrade.headers["authorization"] == (
            f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={signed}, Signature={signature}"
        )
    assert server.upgrades[0].headers["authorization"] != server.upgrades[1].headers["authorization"]


def test_iam_auth_needs_wss() -> None:
    with pytest.raises(ValueError, match="wss://"):
        NeptuneGraphStore("ws://127.0.0.1:8182/gremlin", iam_auth=True)
    with pytest.raises(ValueError, match="wss://"):
        NeptuneGraphStore("wss://127.0.0.1:8182/gremlin", reader_url="ws://127.0.0.1:8183/gremlin", iam_auth=True)

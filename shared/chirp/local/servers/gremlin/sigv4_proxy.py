"""The Amazon Neptune stand-in's front door: TLS plus IAM DB authentication (SigV4) in front of Gremlin Server.

Neptune with IAM auth accepts only ``wss://`` and checks the SigV4 signature of each WebSocket upgrade request
before any handshake; Gremlin Server checks neither. This proxy does what Neptune does, then gets out of the way:

1. TLS on the public port (``--cert``/``--key``): a plain ``ws://`` client fails the TLS handshake.
2. It reads the upgrade request head and recomputes its signature with botocore for the exact request received
   (method, path and query, the headers named in ``SignedHeaders``, ``X-Amz-Date``) with the known credentials
   (``$SIGV4_PROXY_ACCESS_KEY_ID`` / ``$SIGV4_PROXY_SECRET_ACCESS_KEY``, optional ``$SIGV4_PROXY_SESSION_TOKEN``),
   region ``--region`` and service ``neptune-db``. A missing, malformed, wrong or expired (more than 5 minutes off
   this clock) signature gets ``HTTP 403`` and the connection is closed, as Neptune answers.
3. Otherwise it forwards the request unchanged to Gremlin Server on ``--upstream-port`` (loopback, plain) and pipes
   bytes both ways until either side closes.

It also runs Gremlin Server itself: the command after ``--`` is its child, in the same process group, so the test
harness starts, freezes (SIGSTOP), kills and restarts the pair as one server; the proxy exits with the child's exit
code. A test tool: stdlib asyncio and botocore only.

Usage: sigv4_proxy.py --port P --upstream-port U --cert server.pem --key server-key.pem [--region R] -- java ...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import hmac
import json
import os
import re
import signal
import ssl
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "neptune-db"
MAX_SKEW = datetime.timedelta(minutes=5)  # Neptune (like every SigV4 service) refuses older or future-dated requests
HEAD_LIMIT = 32 * 1024  # bytes of request line + headers
HEAD_TIMEOUT_S = 10.0
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/\s]+)/(?P<date>\d{8})/(?P<region>[^/\s]+)/(?P<service>[^/\s]+)"
    r"/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9\-;]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass(frozen=True)
class Identity:
    """The credentials this stand-in knows (Neptune would ask IAM)."""

    access_key: str
    secret_key: str
    token: str | None = None


def check_signature(
    method: str,
    target: str,
    headers: Mapping[str, str],
    identity: Identity,
    region: str,
    now: datetime.datetime,
) -> str | None:
    """Why the request is refused, or None when its SigV4 signature is valid. ``headers``: lower-case names."""
    authorization = headers.get("authorization")
    if not authorization:
        return "Missing Authentication Token"
    match = _AUTHORIZATION.fullmatch(authorization.strip())
    if match is None:
        return "malformed Authorization header"
    if match["key"] != identity.access_key:
        return "unknown access key"
    if (match["region"], match["service"]) != (region, SERVICE):
        return f"credential scope is {match['region']}/{match['service']}, expected {region}/{SERVICE}"
    signed = match["signed"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return "host and x-amz-date must be signed"
    if any(name not in headers for name in signed):
        return "a signed header is missing"
    token = headers.get("x-amz-security-token")
    if token != identity.token or (token is not None and "x-amz-security-token" not in signed):
        return "wrong or unsigned session token"
    try:
        stamp = datetime.datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return "malformed X-Amz-Date"
    if match["date"] != headers["x-amz-date"][:8]:
        return "credential date differs from X-Amz-Date"
    if abs(now - stamp) > MAX_SKEW:
        return "Signature expired"  # Neptune's words, for a request signed more than 5 minutes away from now

    # botocore computes what the signature must be for this very request (https: Neptune signs the wss URL's
    # https form; the scheme is not part of the canonical request anyway).
    request = AWSRequest(
        method=method, url=f"https://{headers['host']}{target}", headers={n: headers[n] for n in signed}
    )
    request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(Credentials(identity.access_key, identity.secret_key, identity.token), SERVICE, region)
    if signer.signed_headers(signer.headers_to_sign(request)) != match["signed"]:
        return "SignedHeaders names headers that cannot be signed"
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, match["signature"]):
        return "The request signature we calculated does not match the signature you provided"
    return None


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    """Request line and headers (names lower-cased; repeated headers joined with ',' as SigV4 canonicalizes)."""
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"bad header line {line!r}")
        name = name.strip().lower()
        headers[name] = f"{headers[name]},{value.strip()}" if name in headers else value.strip()
    return method, target, headers


def _refusal(status: int, reason: str, message: str) -> bytes:
    body = json.dumps({"code": "AccessDeniedException", "detailedMessage": message}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


def _log(message: str) -> None:
    print(f"[sigv4-proxy] {message}", flush=True)


class Proxy:
    def __init__(
        self, identity: Identity, region: str, upstream_port: int, principals_file: Path | None = None
    ) -> None:
        self._identity = identity
        self._region = region
        self._upstream_port = upstream_port
        self._principals_file = principals_file

    def _identity_for(self, headers: Mapping[str, str]) -> Identity:
        """The identity whose access key signed the request: the one given at start, or one granted later in the
        principals file (JSON list of {access_key, secret_key, token?}, re-read per upgrade) — as IAM would know a
        function role's credentials. An unknown key falls through to the start identity and is refused there."""
        match = _AUTHORIZATION.fullmatch(headers.get("authorization", "").strip())
        if match is None or match["key"] == self._identity.access_key or self._principals_file is None:
            return self._identity
        try:
            granted = json.loads(self._principals_file.read_text())
        except (OSError, ValueError):
            return self._identity
        for principal in granted:
            if principal.get("access_key") == match["key"]:
                return Identity(principal["access_key"], principal["secret_key"], principal.get("token") or None)
        return self._identity

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._handle(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
            _log(f"dropped a connection: {type(exc).__name__}: {exc}")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
        method, target, headers = _parse_head(head)
        reason: str | None
        if method != "GET" or headers.get("upgrade", "").lower() != "websocket":
            reason = "only signed WebSocket upgrades (GET) are served"
        else:
            now = datetime.datetime.now(datetime.UTC)
            identity = self._identity_for(headers)
            reason = check_signature(method, target, headers, identity, self._region, now)
        if reason is not None:
            _log(f"403 {method} {target}: {reason}")
            writer.write(_refusal(403, "Forbidden", reason))
            await writer.drain()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._upstream_port)
        except OSError as exc:  # Gremlin Server not listening yet (the harness polls until it is)
            writer.write(_refusal(502, "Bad Gateway", f"Gremlin Server is not reachable: {exc}"))
            await writer.drain()
            return
        up_writer.write(head)  # the request unchanged; bytes already buffered in `reader` follow through the pipe
        try:
            await _pipe_both_ways(reader, writer, up_reader, up_writer)
        finally:
            up_writer.close()


async def _pipe_both_ways(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
) -> None:
    async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()

    tasks = [asyncio.create_task(pipe(reader, up_writer)), asyncio.create_task(pipe(up_reader, writer))]
    # TLS cannot half-close: when either side is done, the whole connection is.
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        task.exception()  # retrieved and dropped: a reset connection ends the pipe like a close does


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG


async def serve(args: argparse.Namespace, child_argv: Sequence[str]) -> int:
    identity = Identity(
        access_key=os.environ["SIGV4_PROXY_ACCESS_KEY_ID"],
        secret_key=os.environ["SIGV4_PROXY_SECRET_ACCESS_KEY"],
        token=os.environ.get("SIGV4_PROXY_SESSION_TOKEN") or None,
    )
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2  # Neptune's floor
    tls.load_cert_chain(args.cert, args.key)
    child = None
    if child_argv:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIGV4_PROXY_")}  # the server needs no keys
        child = await asyncio.create_subprocess_exec(*child_argv, env=env, preexec_fn=_die_with_parent)
    proxy = Proxy(identity, args.region, args.upstream_port, args.principals)
    server = await asyncio.start_server(proxy.handle, args.host, args.port, ssl=tls, limit=HEAD_LIMIT)
    _log(f"wss://{args.host}:{args.port} -> 127.0.0.1:{args.upstream_port} (SigV4 {args.region}/{SERVICE})")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    waiters: list[asyncio.Task[object]] = [asyncio.create_task(stop.wait())]
    if child is not None:
        waiters.append(asyncio.create_task(child.wait()))
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    server.close()
    if child is None:
        return 0
    if child.returncode is None:
        child.terminate()
        try:
            await asyncio.wait_for(child.wait(), args.stop_timeout)
        except TimeoutError:
            child.kill()
            await child.wait()
        return 0
    _log(f"Gremlin Server exited with code {child.returncode}")
    code = child.returncode
    return 128 - code if code < 0 else code or 1  # like a shell: killed by signal N -> 128 + N


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    child_argv: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, child_argv = argv[:split], argv[split + 1 :]
    parser = argparse.ArgumentParser(prog="sigv4_proxy.py", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="public TLS port")
    parser.add_argument("--upstream-port", type=int, required=True, help="Gremlin Server's loopback port")
    parser.add_argument("--cert", required=True, help="PEM certificate chain")
    parser.add_argument("--key", required=True, help="PEM private key")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--principals", type=Path, help="JSON file of further credentials it accepts (granted later)")
    parser.add_argument(
        "--stop-timeout", type=float, default=8.0, help="seconds Gremlin Server gets to stop before it is killed"
    )
    return asyncio.run(serve(parser.parse_args(argv), child_argv))


if __name__ == "__main__":
    sys.exit(main())

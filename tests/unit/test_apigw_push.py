"""The API Gateway pusher's batch path (``push_many``), on the wire: a loopback HTTP server plays the
``@connections`` endpoint and checks every request's SigV4 signature (service execute-api, recomputed with botocore
for the exact request received); connections that are gone answer 410, throttled ones 429 before they succeed, and
broken ones 500 every time."""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from chirp.adapters.apigw_push import ApiGatewayPusher, PushFailed

ACCESS_KEY, SECRET_KEY, REGION = "AKIDPUSH", "push-secret-key", "eu-west-1"


@dataclass
class Endpoint:
    url: str
    received: dict[str, list[bytes]] = field(default_factory=dict)
    attempts: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)


def signature_problem(request: web.Request, body: bytes) -> str | None:
    authorization = request.headers.get("Authorization", "")
    if "/execute-api/aws4_request" not in authorization or f"/{REGION}/" not in authorization:
        return f"wrong scope: {authorization!r}"
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    copy = AWSRequest(
        method=request.method,
        url=f"http://{request.host}{request.raw_path}",
        data=body,
        headers={name: request.headers[name] for name in signed},
    )
    copy.context["timestamp"] = request.headers["X-Amz-Date"]
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "execute-api", REGION)
    expected = signer.signature(signer.string_to_sign(copy, signer.canonical_request(copy)), copy)
    return None if hmac.compare_digest(expected, authorization.rsplit("Signature=", 1)[1]) else "bad signature"


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[Endpoint]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    loop = asyncio.new_event_loop()
    state = Endpoint(url="")

    async def post(request: web.Request) -> web.Response:
        body = await request.read()
        connection_id = request.match_info["connection_id"]
        state.attempts[connection_id] += 1
        problem = signature_problem(request, body)
        if problem:
            state.refused.append(problem)
            return web.Response(status=403)
        if connection_id.startswith("gone"):
            return web.Response(status=410)
        if connection_id.startswith("broken"):
            return web.Response(status=500)
        if connection_id.startswith("throttled") and state.attempts[connection_id] == 1:
            return web.Response(status=429)
        state.received.setdefault(connection_id, []).append(body)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_route("POST", "/{stage}/@connections/{connection_id}", post)
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}/prod"
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield state
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_push_many_delivers_signed_requests_and_reports_the_gone(endpoint: Endpoint) -> None:
    pusher = ApiGatewayPusher(endpoint.url, region=REGION)
    message: dict[str, object] = {"type": "new_tweet", "tweet": {"tweet_id": "1", "content": "héllo"}}
    live = [f"L0SM9cOFvHcC{i:03d}=" for i in range(150)]  # API Gateway ids end in '=': escaped in the path
    gone = pusher.push_many([*live, "gone-1", "gone-2", "throttled-1"], message)
    assert gone == {"gone-1", "gone-2"}
    assert endpoint.refused == []
    assert set(endpoint.received) == {*live, "throttled-1"}
    assert all(json.loads(b) == message for bodies in endpoint.received.values() for b in bodies)
    assert all(len(bodies) == 1 for bodies in endpoint.received.values())
    assert endpoint.attempts["throttled-1"] == 2  # a 429 is tried again
    assert pusher.push_many([], message) == set()


def test_push_many_fails_after_retries_but_tries_every_connection_first(endpoint: Endpoint) -> None:
    pusher = ApiGatewayPusher(endpoint.url, region=REGION)
    with pytest.raises(PushFailed, match="1 of 3 pushes failed"):
        pusher.push_many(["ok-1", "broken-1", "ok-2"], {"type": "x"})
    assert set(endpoint.received) == {"ok-1", "ok-2"}
    assert endpoint.attempts["broken-1"] == 3


def test_one_push_goes_through_boto3_and_agrees_on_gone(endpoint: Endpoint) -> None:
    pusher = ApiGatewayPusher(endpoint.url, region=REGION)
    assert pusher.push("abc=", {"type": "x"}) is True
    assert pusher.push("gone-3", {"type": "x"}) is False
    assert endpoint.refused == []

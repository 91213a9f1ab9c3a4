"""The local WebSocket API: upgrades at ws://host:port/?token=... (and at /api/v1/streaming, where Mastodon apps
connect: the same API, as the streaming domain's API mapping is on AWS), runs the $connect authorizer and the
realtime function's $connect / $disconnect / $default routes, and serves the @connections management endpoint (POST,
GET, DELETE /@connections/{id}, optionally under the stage) that boto3's apigatewaymanagementapi client calls. The
path never reaches the functions: API Gateway's events carry none either, only the query string and headers."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import WSMsgType, web

from chirp import wiring
from chirp.local import events

SEND_TIMEOUT_S = 2.0
Invoke = Callable[[str, dict[str, Any]], Awaitable[Any]]


def _gone(connection_id: str) -> web.Response:
    return web.Response(
        status=410,
        text=json.dumps({"message": f"connection {connection_id} is gone"}),
        content_type="application/json",
        headers={"x-amzn-ErrorType": "GoneException"},
    )


class WebSocketGateway:
    def __init__(self, invoke: Invoke) -> None:
        self._invoke = invoke
        self._function = wiring.websocket_function().name
        self._sockets: dict[str, tuple[web.WebSocketResponse, float]] = {}
        self._authorizer = wiring.authorizer_function().name

    @property
    def connection_count(self) -> int:
        return len(self._sockets)

    def app(self) -> web.Application:
        app = web.Application()
        for prefix in ("", "/{stage}"):
            app.router.add_route("POST", prefix + "/@connections/{connection_id}", self._post)
            app.router.add_route("GET", prefix + "/@connections/{connection_id}", self._get)
            app.router.add_route("DELETE", prefix + "/@connections/{connection_id}", self._delete)
        app.router.add_route("GET", wiring.MASTODON_STREAMING_PATH, self._connect)
        app.router.add_route("GET", "/{tail:.*}", self._connect)
        return app

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        query, headers = dict(request.query), dict(request.headers)
        try:
            policy = await self._invoke(self._authorizer, events.request_authorizer_event(query, headers))
            authorizer = {"principalId": policy["principalId"], **(policy.get("context") or {})}
        except Exception:
            return web.Response(
                status=401, text=json.dumps({"message": "Unauthorized"}), content_type="application/json"
            )
        connection_id = base_connection_id()
        result = await self._invoke(
            self._function,
            events.websocket_event(
                route_key="$connect", connection_id=connection_id, query=query, headers=headers, authorizer=authorizer
            ),
        )
        if not isinstance(result, dict) or result.get("statusCode") != 200:
            return web.Response(status=403, text=json.dumps({"message": "Forbidden"}), content_type="application/json")
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        self._sockets[connection_id] = (ws, time.time())
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    await self._invoke(
                        self._function,
                        events.websocket_event(
                            route_key="$default", connection_id=connection_id, body=message.data, authorizer=authorizer
                        ),
                    )
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            self._sockets.pop(connection_id, None)
            await self._invoke(
                self._function,
                events.websocket_event(route_key="$disconnect", connection_id=connection_id, authorizer=authorizer),
            )
        return ws

    async def _post(self, request: web.Request) -> web.StreamResponse:
        connection_id = request.match_info["connection_id"]
        entry = self._sockets.get(connection_id)
        if entry is None or entry[0].closed:
            return _gone(connection_id)
        data = await request.read()
        try:
            await asyncio.wait_for(entry[0].send_str(data.decode("utf-8")), SEND_TIMEOUT_S)
        except (ConnectionError, RuntimeError, TimeoutError):
            return _gone(connection_id)
        return web.Response(status=200)

    async def send_many(self, connection_ids: Sequence[str], data: str) -> set[str]:
        """What POST /@connections/{id} does, for many connections at once and without the HTTP round trip (the
        in-process pusher's path); returns the connections that are gone."""

        async def one(connection_id: str) -> bool:
            entry = self._sockets.get(connection_id)
            if entry is None or entry[0].closed:
                return False
            try:
                await asyncio.wait_for(entry[0].send_str(data), SEND_TIMEOUT_S)
            except (ConnectionError, RuntimeError, TimeoutError):
                return False
            return True

        sent = await asyncio.gather(*(one(c) for c in connection_ids))
        return {c for c, ok in zip(connection_ids, sent, strict=True) if not ok}

    def pusher(self, loop: asyncio.AbstractEventLoop) -> InProcessPusher:
        return InProcessPusher(self, loop)

    async def _get(self, request: web.Request) -> web.StreamResponse:
        connection_id = request.match_info["connection_id"]
        entry = self._sockets.get(connection_id)
        if entry is None:
            return _gone(connection_id)
        connected = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(entry[1]))
        return web.json_response(
            {"connectedAt": connected, "identity": {"sourceIp": "127.0.0.1"}, "lastActiveAt": connected}
        )

    async def _delete(self, request: web.Request) -> web.StreamResponse:
        connection_id = request.match_info["connection_id"]
        entry = self._sockets.get(connection_id)
        if entry is None:
            return _gone(connection_id)
        asyncio.get_running_loop().create_task(entry[0].close())
        return web.Response(status=204)


def base_connection_id() -> str:
    """API Gateway connection ids look like 'L0SM9cOFvHcCIhw='."""
    return uuid.uuid4().hex[:14] + "A="


class InProcessPusher:
    """The embedded backend's Pusher inside the local runtime, which serves the WebSocket API itself: a push goes
    straight to the runtime's socket (what API Gateway does behind @connections) instead of an HTTP request from the
    same process back to itself. The servers backend keeps the production adapter (HTTP to @connections)."""

    def __init__(self, gateway: WebSocketGateway, loop: asyncio.AbstractEventLoop) -> None:
        self._gateway = gateway
        self._loop = loop

    def push(self, connection_id: str, message: dict[str, object]) -> bool:
        return not self.push_many([connection_id], message)

    def push_many(self, connection_ids: Sequence[str], message: dict[str, object]) -> set[str]:
        data = json.dumps(message, separators=(",", ":"))
        sending = self._gateway.send_many(list(connection_ids), data)
        return asyncio.run_coroutine_threadsafe(sending, self._loop).result()

"""The local REST API of the Mastodon surface, on its own port (apps expect Mastodon's paths at a host's root, and
some clash with Chirp's own): the wiring table's Mastodon routes behind the same authorizer, with what API Gateway
does for them on AWS besides Chirp's gateway: repeated query parameters kept (``id[]=1&id[]=2``) and binary bodies
(multipart media uploads) passed base64-encoded, as the REST API's binary media types make it."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from chirp.local import events
from chirp.local.rest_gateway import CompiledRoute, RestGateway, compile_routes, compressed, json_http_errors, to_http

BINARY_TYPES = ("multipart/form-data", "application/octet-stream", "image/", "video/")


class MastodonGateway(RestGateway):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._routes = compile_routes("mastodon")

    def app(self) -> web.Application:
        app = web.Application(client_max_size=max(self._max_body * 2, 32 * 1024 * 1024), middlewares=[json_http_errors])
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"  # Mastodon ignores a trailing slash (Mastodon.py sends some)
        matches = [(r, m) for r in self._routes if (m := r.pattern.match(path))]
        if not matches:
            return _error(404, "Record not found")
        if request.method == "OPTIONS":
            chosen, match = matches[0]
            return await self._call(request, chosen, match.groupdict(), authorizer=None)
        found = next(((r, m) for r, m in matches if r.route.method == request.method), None)
        if found is None:
            return _error(405, f"{request.method} is not allowed here")
        chosen, match = found
        authorizer = None
        if chosen.route.auth:
            authorizer = await self._authorize(request.headers.get("Authorization"), chosen.route)
            if authorizer is None:
                return _error(401, "The access token is invalid", {"WWW-Authenticate": "Bearer"})
        return await self._call(request, chosen, match.groupdict(), authorizer)

    async def _call(
        self, request: web.Request, chosen: CompiledRoute, params: dict[str, str], authorizer: dict[str, Any] | None
    ) -> web.StreamResponse:
        raw = await request.read()
        content_type = request.headers.get("Content-Type", "").lower()
        binary = content_type.startswith(BINARY_TYPES)
        if not binary:
            try:
                body: str | None = raw.decode("utf-8") if raw else None
            except UnicodeDecodeError:
                return _error(400, "body is not valid UTF-8")
        else:
            body = base64.b64encode(raw).decode("ascii")
        event = events.rest_event(
            method=request.method,
            resource=chosen.route.path,
            path=request.path,
            path_parameters={k: unquote(v) for k, v in params.items()},
            query=dict(request.query),
            headers=dict(request.headers),
            body=body,
            authorizer=authorizer,
            source_ip=request.remote or "127.0.0.1",
            domain=request.host.split(":")[0],
        )
        if request.query:
            event["multiValueQueryStringParameters"] = {k: request.query.getall(k) for k in request.query}
        event["isBase64Encoded"] = binary
        result = await self._invoke(chosen.function, event)
        return compressed(to_http(result), request.headers.get("Accept-Encoding", ""))


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)

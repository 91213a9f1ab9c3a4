"""The local REST API: matches requests against the wiring table's routes, runs the authorizer for protected routes
(with a per-token cache, like API Gateway), builds the REST proxy event and turns the function's result into HTTP.
Also serves media objects (standing in for S3 + CloudFront) and the web client."""

from __future__ import annotations

import asyncio
import base64
import gzip
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

from aiohttp import web

from chirp import wiring
from chirp.http import error_body
from chirp.local import events
from chirp.local.direct_gateway import DirectWriter, Publish

log = logging.getLogger("chirp.gateway")

Invoke = Callable[[str, dict[str, Any]], Awaitable[Any]]


class MediaSource(Protocol):
    """Where the media live (chirp.container.media_source: the embedded store or S3): read to stand in for the CDN."""

    def read(self, key: str) -> tuple[bytes, str] | None: ...


class UploadTarget(Protocol):
    """The embedded object store (chirp.container.embedded_objects): it takes the uploads its presigned URLs allow,
    standing in for S3's presigned uploads."""

    def verify_upload(self, key: str, *, content_type: str, size: str, expires: str, signature: str) -> str | None: ...
    def store(self, key: str, data: bytes, content_type: str) -> None: ...
    def verify_part(
        self, key: str, *, upload_id: str, part: str, size: str, expires: str, signature: str
    ) -> str | None: ...
    def store_part(self, upload_id: str, part: int, data: bytes) -> str: ...


AUTHORIZER_CACHE_S = 300
METRICS_PATH = "/_chirp/metrics"
JSON = "application/json"
# The CDN in front of the API for signed-out reads (CloudFront's ApiEdge distribution on AWS): same routes under this
# prefix, answers cached as the function's Cache-Control allows (s-maxage), keyed like the distribution's cache policy.
EDGE_PREFIX = "/_edge"
EDGE_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class CompiledRoute:
    function: str
    route: wiring.Route
    pattern: re.Pattern[str]


def compile_routes(surface: wiring.Surface = "chirp") -> list[CompiledRoute]:
    compiled = []
    for fn, route in wiring.all_routes(surface):
        regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path)) + "$"
        compiled.append(CompiledRoute(fn.name, route, re.compile(regex)))
    return compiled


def json_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=error_body(code, message), content_type=JSON, headers=headers)


class RestGateway:
    def __init__(
        self,
        invoke: Invoke,
        *,
        objects: UploadTarget | None,
        media: MediaSource | None,
        web_root: Path | None,
        client_config: dict[str, str],
        max_body_bytes: int,
        metrics: Callable[[], dict[str, Any]] | None = None,
        write_path: wiring.WritePath = "sync",
        publish: Publish | None = None,
    ) -> None:
        self._invoke = invoke
        self._write_path: wiring.WritePath = write_path
        # Stream-write routes on the async write path: the gateway itself puts the intent on the stream (no function).
        self._direct = DirectWriter(publish) if publish is not None else None
        if write_path == "async" and self._direct is None:
            raise ValueError("the async write path needs the stream to publish to")
        self._metrics = metrics
        self._routes = compile_routes()
        self._objects = objects
        self._media_source = media
        self._web_root = web_root
        self._client_config = client_config
        self._max_body = max_body_bytes
        self._auth_cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._edge = EdgeCache()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=max(self._max_body * 2, 16 * 1024 * 1024), middlewares=[json_http_errors])
        app.router.add_route("PUT", "/_upload/{key:.+}", self._upload)
        app.router.add_route("GET", "/media/{key:.+}", self._media)
        app.router.add_route("GET", "/config.json", self._config)
        app.router.add_route("GET", METRICS_PATH, self._metrics_snapshot)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith(EDGE_PREFIX + "/"):
            return await self._via_edge(request)
        if not path.startswith(wiring.API_PREFIX):
            return await self._static(request)
        matches = [(r, m) for r in self._routes if (m := r.pattern.match(path))]
        if not matches:
            return json_error(404, "not_found", f"no route for {path}")
        if request.method == "OPTIONS":
            chosen, match = matches[0]
            return await self._call(request, chosen, match.groupdict(), authorizer=None)
        for candidate, candidate_match in matches:
            if candidate.route.method == request.method:
                chosen, match = candidate, candidate_match
                break
        else:
            allowed = ", ".join(sorted({r.route.method for r, _ in matches}))
            return json_error(405, "method_not_allowed", f"{request.method} is not allowed here", {"Allow": allowed})
        authorizer = None
        if chosen.route.auth and not chosen.route.optional_auth:  # public reads: the function checks a token itself
            authorizer = await self._authorize(request.headers.get("Authorization"), chosen.route)
            if authorizer is None:
                return json_error(
                    401, "unauthorized", "missing, invalid or expired bearer token", {"WWW-Authenticate": "Bearer"}
                )
        if authorizer is not None and wiring.integration(chosen.route, self._write_path) == "stream":
            return await self._accept_direct(request, chosen, match.groupdict(), authorizer)
        return await self._call(request, chosen, match.groupdict(), authorizer)

    async def _accept_direct(
        self, request: web.Request, chosen: CompiledRoute, params: dict[str, str], authorizer: dict[str, Any]
    ) -> web.StreamResponse:
        assert self._direct is not None
        raw = await request.read()
        if len(raw) > self._max_body:
            return json_error(413, "payload_too_large", f"body is larger than {self._max_body} bytes")
        unquoted = {k: unquote(v) for k, v in params.items()}
        return await self._direct.accept(chosen.route, unquoted, raw, authorizer)

    async def _via_edge(self, request: web.Request) -> web.StreamResponse:
        """Stands in for CloudFront: reads only; a cached answer while its s-maxage lasts, else the API's answer
        (stored when it says public). X-Cache says which, as CloudFront's header does."""
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            return json_error(403, "forbidden", "the edge serves reads only")
        key = EdgeCache.key(request)
        cached = self._edge.get(key)
        if cached is not None:
            return cached
        inner = request.clone(
            rel_url=request.rel_url.with_path(request.path[len(EDGE_PREFIX) :]).with_query(request.query)
        )
        response = await self._dispatch(inner)
        if isinstance(response, web.Response):
            self._edge.put(key, response)
            response.headers["X-Cache"] = "Miss from chirp-edge"
        return response

    async def _authorize(self, header: str | None, route: wiring.Route) -> dict[str, Any] | None:
        if not header:
            return None
        cached = self._auth_cache.get(header)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            policy = await self._invoke(
                wiring.authorizer_function().name,
                events.token_authorizer_event(header, method=route.method, resource=route.path),
            )
        except Exception:  # the authorizer's contract: any exception means 401
            return None
        if not _allows(policy):
            return None
        context = {"principalId": policy.get("principalId"), **(policy.get("context") or {})}
        if len(self._auth_cache) > 10_000:
            self._auth_cache.clear()
        self._auth_cache[header] = (time.monotonic() + AUTHORIZER_CACHE_S, context)
        return context

    async def _call(
        self, request: web.Request, chosen: CompiledRoute, params: dict[str, str], authorizer: dict[str, Any] | None
    ) -> web.StreamResponse:
        raw = await request.read()
        if len(raw) > self._max_body:
            return json_error(413, "payload_too_large", f"body is larger than {self._max_body} bytes")
        try:
            body = raw.decode("utf-8") if raw else None
        except UnicodeDecodeError:
            return json_error(400, "malformed_body", "body is not valid UTF-8")
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
        try:
            result = await self._invoke(chosen.function, event)
        except Exception:  # a function error (a crash, an unhandled exception): API Gateway answers 502
            log.exception("%s failed", chosen.function)
            return json_error(502, "bad_gateway", "the function failed")
        return compressed(to_http(result), request.headers.get("Accept-Encoding", ""))

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        if self._objects is None:
            return json_error(404, "not_found", "uploads are served by object storage")
        key = request.match_info["key"]
        q = request.query
        if "part" in q:
            return await self._upload_part(request, key)
        refused = self._objects.verify_upload(
            key,
            content_type=q.get("content_type", ""),
            size=q.get("size", ""),
            expires=q.get("expires", ""),
            signature=q.get("signature", ""),
        )
        if refused:
            return json_error(403, "upload_refused", refused)
        if request.headers.get("Content-Type", "").split(";")[0].strip().lower() != q["content_type"]:
            return json_error(400, "content_type_mismatch", "Content-Type differs from the one signed")
        data = await request.read()
        if len(data) != int(q["size"]):
            return json_error(400, "size_mismatch", f"expected {q['size']} bytes, got {len(data)}")
        await asyncio.to_thread(self._objects.store, key, data, q["content_type"])
        return web.Response(status=200, headers={"ETag": f'"{len(data)}"'})

    async def _upload_part(self, request: web.Request, key: str) -> web.StreamResponse:
        """One part of a multipart upload (S3's presigned UploadPart): its URL pins the part's exact size."""
        assert self._objects is not None
        q = request.query
        refused = self._objects.verify_part(
            key,
            upload_id=q.get("upload_id", ""),
            part=q.get("part", ""),
            size=q.get("size", ""),
            expires=q.get("expires", ""),
            signature=q.get("signature", ""),
        )
        if refused:
            return json_error(403, "upload_refused", refused)
        data = await request.read()
        if len(data) != int(q["size"]):
            return json_error(400, "size_mismatch", f"expected {q['size']} bytes, got {len(data)}")
        etag = await asyncio.to_thread(self._objects.store_part, q["upload_id"], int(q["part"]), data)
        return web.Response(status=200, headers={"ETag": etag, "Access-Control-Expose-Headers": "ETag"})

    async def _media(self, request: web.Request) -> web.StreamResponse:
        """Stands in for the CDN in front of the media bucket."""
        if self._media_source is None:
            return json_error(404, "not_found", "media are served by the CDN")
        found = await asyncio.to_thread(self._media_source.read, "media/" + request.match_info["key"])
        if found is None:
            return json_error(404, "not_found", "no such media")
        data, content_type = found
        return web.Response(
            body=data,
            content_type=content_type,
            headers={"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"},
        )

    async def _metrics_snapshot(self, request: web.Request) -> web.StreamResponse:
        """The operator page's data (chirp.local.metrics): the functions' metrics over the last minute."""
        if self._metrics is None:
            return json_error(404, "not_found", "no metrics collector")
        return web.json_response(self._metrics(), headers={"Cache-Control": "no-store"})

    async def _config(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self._client_config, headers={"Cache-Control": "no-store"})

    async def _static(self, request: web.Request) -> web.StreamResponse:
        if self._web_root is None or request.method not in ("GET", "HEAD"):
            return json_error(404, "not_found", f"no route for {request.path}")
        root = self._web_root.resolve()
        target = (root / request.path.lstrip("/")).resolve()
        if root != target and root not in target.parents:
            return json_error(404, "not_found", "no such file")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            target = root / "index.html"  # single-page app: client-side routes
            if not target.is_file():
                return json_error(404, "not_found", f"no route for {request.path}")
        return web.FileResponse(target, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


class EdgeCache:
    """What the CDN keeps: 200 answers whose Cache-Control is public with an s-maxage (or max-age), for that long.
    The key is the distribution's cache policy: path, every query parameter, the Authorization header (a signed-in
    request never shares a signed-out answer; its own answers say private, no-store and are never kept) and whether
    the client takes gzip."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, ...], tuple[float, int, bytes, dict[str, str]]] = {}

    @staticmethod
    def key(request: web.Request) -> tuple[str, ...]:
        query = "&".join(f"{k}={v}" for k, v in sorted(request.query.items()))
        gzip_ok = "gzip" in request.headers.get("Accept-Encoding", "").lower()
        return (request.method, request.path, query, request.headers.get("Authorization", ""), str(gzip_ok))

    def get(self, key: tuple[str, ...]) -> web.Response | None:
        found = self._entries.get(key)
        if found is None or found[0] <= time.monotonic():
            self._entries.pop(key, None)
            return None
        _, status, body, headers = found
        return web.Response(status=status, body=body, headers={**headers, "X-Cache": "Hit from chirp-edge"})

    def put(self, key: tuple[str, ...], response: web.Response) -> None:
        seconds = shared_max_age(response.headers.get("Cache-Control", ""))
        if response.status != 200 or not seconds or not isinstance(response.body, bytes):
            return
        if len(self._entries) >= EDGE_MAX_ENTRIES:
            self._entries.clear()
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "x-cache")}
        self._entries[key] = (time.monotonic() + seconds, response.status, response.body, headers)


def shared_max_age(cache_control: str) -> int:
    """Seconds a shared cache may keep an answer: s-maxage, else max-age, and 0 for private/no-store/no-cache."""
    directives = {}
    for part in cache_control.lower().split(","):
        name, _, value = part.strip().partition("=")
        directives[name] = value
    if "public" not in directives or directives.keys() & {"private", "no-store", "no-cache"}:
        return 0
    raw = directives.get("s-maxage") or directives.get("max-age") or "0"
    return int(raw) if raw.isdigit() else 0


@web.middleware
async def json_http_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """aiohttp's own errors (unroutable paths, oversized bodies) in Chirp's error shape, like API Gateway's gateway
    responses."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status, "bad_request")
        return json_error(exc.status, code, exc.reason)


def _allows(policy: Any) -> bool:
    try:
        statements = policy["policyDocument"]["Statement"]
    except (KeyError, TypeError):
        return False
    return any(s.get("Effect") == "Allow" for s in statements) and not any(
        s.get("Effect") == "Deny" for s in statements
    )


def compressed(response: web.Response, accept_encoding: str) -> web.Response:
    """gzip the body as API Gateway's minimumCompressionSize does: when the client accepts gzip and the body is at
    least ``wiring.RESPONSE_COMPRESSION_MIN_BYTES``."""
    body = response.body
    accepts = {part.split(";")[0].strip().lower() for part in accept_encoding.split(",")}
    if (
        not isinstance(body, bytes)
        or len(body) < wiring.RESPONSE_COMPRESSION_MIN_BYTES
        or "gzip" not in accepts
        or "Content-Encoding" in response.headers
    ):
        return response
    response.body = gzip.compress(body, compresslevel=6)
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    return response


def to_http(result: Any) -> web.Response:
    """A Lambda proxy integration result as API Gateway would return it; a malformed result is a 502."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        return json_error(502, "bad_gateway", "the function returned a malformed response")
    headers: dict[str, str] = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        if values:
            headers[str(key)] = ", ".join(str(v) for v in values)
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    headers.pop("Content-Length", None)
    return web.Response(status=result["statusCode"], body=payload, headers=headers)

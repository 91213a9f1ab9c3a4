"""The Mastodon surface's REST edge: ``chirp.http.RestApp`` (routes from the wiring table, the authorizer's
principal, metrics and logs) with Mastodon's conventions instead of Chirp's: errors as ``{"error": "..."}``, nulls
kept, parameters from the query, a form, a JSON or a multipart body alike (``name[]`` lists included), the route's
OAuth scope checked against the token's, ``Link`` headers on pages, and CORS open to any origin (apps run anywhere;
bearer tokens, never cookies, carry the credentials)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import CORSConfig, Response, content_types

from chirp import wiring
from chirp.config import get_settings
from chirp.errors import (
    ChirpError,
    Forbidden,
    InternalError,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationFailed,
)
from chirp.http import CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_S, RestApp, _PerThreadResolver, logger
from chirp.mastodon import scopes
from chirp.mastodon.oauth import OAuthError, require_user
from chirp.mastodon.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, Paging, link_header
from chirp.ports import StoreUnavailable
from chirp.tokens import Principal

_PARSED = "_chirp_mastodon_body"
OUTSIDE_SCOPE = "This action is outside the authorized scopes"
Handler = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


def mastodon_error(error: ChirpError) -> Response[str]:
    """Mastodon's error entity; OAuth endpoints' errors as RFC 6749 says (error code + description)."""
    if isinstance(error, OAuthError):
        body = {"error": error.code, "error_description": error.message}
    else:
        body = {"error": error.message}
    return Response(
        status_code=error.status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers=dict(error.headers),
    )


class MastodonApp(RestApp):
    accepts_oauth_tokens = True

    def __init__(self, function_name: str) -> None:
        super().__init__(function_name)
        cors = CORSConfig(
            allow_origin="*",
            allow_headers=CORS_ALLOW_HEADERS,
            expose_headers=[*CORS_EXPOSE_HEADERS, "Link"],
            max_age=CORS_MAX_AGE_S,
        )
        self.resolver = _PerThreadResolver(cors=cors, serializer=json.dumps)  # Mastodon's entities keep their nulls
        self.resolver.exception_handler(ChirpError)(mastodon_error)
        self.resolver.exception_handler(StoreUnavailable)(self._store_unavailable)
        self.resolver.exception_handler(Exception)(self._unhandled)
        self.resolver.not_found(lambda _exc: mastodon_error(NotFound("Record not found")))
        self._routes_by_operation = {route.operation: route for route in self.function.routes}
        self._patterns = [
            (r, re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(r.path)))) for r in self.function.routes
        ]
        self.base_url = get_settings().mastodon_url.rstrip("/")

    def _resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        # Clients write some paths with a trailing slash (Mastodon.py: /api/v1/instance/); Mastodon ignores it.
        path = str(event.get("path") or "")
        if len(path) > 1 and path.endswith("/"):
            event = {**event, "path": path.rstrip("/")}
            path = path.rstrip("/")
        if "{proxy+}" in str(event.get("resource")):  # on AWS (chirp_cdk.mastodon_api): name the wiring's route
            method = str(event.get("httpMethod"))
            route = next((r for r, rx in self._patterns if r.method == method and rx.fullmatch(path)), None)
            if route is not None:
                event = {**event, "resource": route.path}
        return super()._resolve(event, context)

    def bind(self) -> None:
        """Every operation runs behind its route's scope check (``wiring.Route.scope``)."""
        for name, fn in list(self._operations.items()):
            route = self._routes_by_operation.get(name)
            if route is not None and route.scope:
                self._operations[name] = self._scoped(route, fn)
        super().bind()

    def _scoped(self, route: wiring.Route, fn: Handler) -> Handler:
        def checked(**params: Any) -> Any:
            granted = self.token_scope()
            if granted is not None and not scopes.covers(scopes.parse(granted, default=""), route.scope):
                raise Forbidden(OUTSIDE_SCOPE, code="outside_scope")
            return fn(**params)

        return checked

    @staticmethod
    def _store_unavailable(exc: StoreUnavailable) -> Response[str]:
        logger.warning("store unavailable", extra={"reason": str(exc)})
        return mastodon_error(ServiceUnavailable("a backing store is unavailable; retry shortly"))

    @staticmethod
    def _unhandled(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return mastodon_error(InternalError("internal error"))

    # -- who asks --------------------------------------------------------------------------------------------------
    def token_scope(self) -> str | None:
        """The OAuth scope of the request's token (the authorizer's context); None for a Chirp token (all rights)."""
        authorizer = (self.event.raw_event.get("requestContext") or {}).get("authorizer") or {}
        scope = authorizer.get("scope")
        return str(scope) if scope is not None else None

    def user(self) -> Principal:
        """The signed-in user; an app-only (client credentials) token is refused."""
        authorizer = (self.event.raw_event.get("requestContext") or {}).get("authorizer") or {}
        if str(authorizer.get("user_id") or authorizer.get("principalId")) == "0":
            raise Forbidden("This method requires an authenticated user", code="user_required")
        return require_user(self.principal())

    # -- parameters ------------------------------------------------------------------------------------------------
    def params(self) -> dict[str, list[str]]:
        """Every parameter of the request: the query's, then the body's (form, JSON or multipart), ``name[]`` folded
        into ``name``."""
        merged: dict[str, list[str]] = {}
        multi = self.event.raw_event.get("multiValueQueryStringParameters") or {}
        single = self.event.raw_event.get("queryStringParameters") or {}
        for key, values in (multi or {k: [v] for k, v in single.items()}).items():
            merged.setdefault(_plain(key), []).extend(str(v) for v in values)
        for key, values in self._body_params().items():
            merged.setdefault(_plain(key), []).extend(values)
        return merged

    def param(self, name: str) -> str | None:
        values = self.params().get(name)
        return values[-1] if values else None

    def param_list(self, name: str) -> list[str]:
        return self.params().get(name, [])

    def param_bool(self, name: str) -> bool:
        return (self.param(name) or "").lower() in ("1", "true", "on", "yes")

    def file(self, name: str) -> UploadedFile | None:
        return self._parsed_body()[1].get(name)

    def paging(self) -> Paging:
        raw = self.param("limit")
        limit = DEFAULT_LIMIT
        if raw is not None:
            if not raw.isascii() or not raw.isdigit() or len(raw) > 4:
                raise ValidationFailed("limit must be a positive integer")
            limit = max(1, min(MAX_LIMIT, int(raw)))  # Mastodon clamps rather than refuses
        return Paging(
            max_id=self.param("max_id") or None,
            since_id=self.param("since_id") or None,
            min_id=self.param("min_id") or None,
            limit=limit,
        )

    def page(self, page: Page) -> Response[str]:
        """A JSON array with its ``Link`` header."""
        query = {k: v[-1] for k, v in self._query_only().items() if v}
        link = link_header(self.base_url + str(self.event.raw_event.get("path") or ""), query, page)
        headers = {"Link": link} if link else {}
        return Response(200, content_types.APPLICATION_JSON, json.dumps(page.items), headers)

    def json(self, body: Any, status: int = 200) -> Response[str]:
        return Response(status, content_types.APPLICATION_JSON, json.dumps(body))

    def html(self, body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response[str]:
        safe = {
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action *",
            **(headers or {}),
        }
        return Response(status, "text/html; charset=utf-8", body, {**safe, "X-Frame-Options": "DENY"})

    def _query_only(self) -> dict[str, list[str]]:
        multi = self.event.raw_event.get("multiValueQueryStringParameters") or {}
        single = self.event.raw_event.get("queryStringParameters") or {}
        return {k: [str(x) for x in v] for k, v in (multi or {k: [v] for k, v in single.items()}).items()}

    def _raw_body(self) -> bytes:
        raw = self.event.raw_event.get("body") or ""
        if self.event.raw_event.get("isBase64Encoded"):
            try:
                data = base64.b64decode(raw)
            except binascii.Error:
                raise ValidationFailed("body is not valid base64") from None
        else:
            data = str(raw).encode("utf-8", errors="surrogatepass")
        limit = get_settings().media_max_bytes + 64 * 1024
        if len(data) > limit:
            raise PayloadTooLarge(f"body is larger than {limit} bytes")
        return data

    def _body_params(self) -> dict[str, list[str]]:
        return self._parsed_body()[0]

    def _parsed_body(self) -> tuple[dict[str, list[str]], dict[str, UploadedFile]]:
        """The body's fields and files, parsed once per request (kept on the request's own event: the local runtime
        runs concurrent requests through one app)."""
        event = self.event.raw_event
        cached = event.get(_PARSED)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        content_type = (self.header("Content-Type") or "").lower()
        data = self._raw_body()
        parsed: tuple[dict[str, list[str]], dict[str, UploadedFile]] = ({}, {})
        if not data.strip():
            pass
        elif content_type.startswith("application/json"):
            parsed = (_json_params(data), {})
        elif content_type.startswith("multipart/form-data"):
            parsed = _multipart(data, self.header("Content-Type") or "")
        else:  # a form (what most clients send), also when the type is missing
            try:
                parsed = (parse_qs(data.decode("utf-8"), keep_blank_values=True), {})
            except UnicodeDecodeError:
                raise ValidationFailed("body is not valid UTF-8") from None
        event[_PARSED] = parsed
        return parsed


def _plain(key: str) -> str:
    return key[:-2] if key.endswith("[]") else key


def _json_params(data: bytes) -> dict[str, list[str]]:
    try:
        parsed = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise ValidationFailed("body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise ValidationFailed("body must be a JSON object")
    out: dict[str, list[str]] = {}
    for key, value in parsed.items():
        values = value if isinstance(value, list) else [value]
        out[str(key)] = [_scalar(v) for v in values if v is not None]
    return out


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value)


def _multipart(data: bytes, content_type: str) -> tuple[dict[str, list[str]], dict[str, UploadedFile]]:
    """A multipart/form-data body: its text fields and its files."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + data
    )
    if not message.is_multipart():
        raise ValidationFailed("malformed multipart body")
    fields: dict[str, list[str]] = {}
    files: dict[str, UploadedFile] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        body = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[_plain(name)] = UploadedFile(filename, part.get_content_type(), body)
        else:
            fields.setdefault(_plain(name), []).append(body.decode("utf-8", errors="replace"))
    return fields, files

"""The REST edge shared by every API function: a Powertools resolver whose routes come from the wiring table, request
parsing (JSON bodies into pydantic models, query and path parameters, the authorizer's principal) and the one
mapping from domain errors to HTTP responses."""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from chirp import warm_heap, wiring
from chirp.config import get_settings
from chirp.errors import (
    ChirpError,
    Forbidden,
    InternalError,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)
from chirp.ids import parse_id
from chirp.observability import metrics
from chirp.ports import StoreUnavailable
from chirp.text import has_visible_char
from chirp.tokens import Principal

M = TypeVar("M", bound=BaseModel)
Handler = Callable[..., Any]
logger = Logger(service="chirp")


# What browsers may send and read cross-origin: the functions answer with it (Powertools) and the CDK app's
# preflight and gateway responses say the same, from here.
CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key"]
CORS_EXPOSE_HEADERS = ["Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]
CORS_MAX_AGE_S = 600

# Request values whose shape the OpenAPI document states with these patterns (chirp.openapi), so that the server and
# the document agree on every value: what the pattern allows is accepted here, what it refuses is a 400.
# Idempotency-Key: visible ASCII with inner spaces, what an HTTP header carries unambiguously (proxies strip the
# surrounding blanks, and other bytes reach the function decoded differently by each gateway).
IDEMPOTENCY_KEY_MAX = 128
IDEMPOTENCY_KEY_PATTERN = r"^[\x20-\x7e]*[\x21-\x7e][\x20-\x7e]*$"
_IDEMPOTENCY_KEY_RE = re.compile(IDEMPOTENCY_KEY_PATTERN.strip("^$"))


def cors_config(origins: Sequence[str]) -> CORSConfig | None:
    """The REST API's CORS rules for these origins (the first is the default ``Access-Control-Allow-Origin``);
    None without origins. Powertools adds its own always-allowed request headers (X-Amz-Date, X-Api-Key, ...)."""
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=list(origins[1:]),
        allow_headers=CORS_ALLOW_HEADERS,
        expose_headers=CORS_EXPOSE_HEADERS,
        max_age=CORS_MAX_AGE_S,
    )


class _PerThreadResolver(APIGatewayRestResolver):
    """Powertools keeps the current event on its router class and the routing context on the resolver: one
    invocation per process is all Lambda runs, but the local runtime runs concurrent invocations in threads, where
    one request would read another's event (its principal, headers, body). Here both are per thread."""

    _state = threading.local()

    @property  # type: ignore[override]
    def current_event(self) -> BaseProxyEvent:
        event: BaseProxyEvent = self._state.event
        return event

    @current_event.setter
    def current_event(self, value: BaseProxyEvent) -> None:
        self._state.event = value

    @property  # type: ignore[override]
    def context(self) -> dict[str, Any]:
        if not hasattr(self._state, "context"):
            self._state.context = {}
        context: dict[str, Any] = self._state.context
        return context

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        self._state.context = value

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        self._state.event = self._to_proxy_event(dict(event))
        return super().resolve(event, context)


def _without_nulls(value: Any) -> Any:
    # Recurses only into containers: a page's many scalars (ids, strings, counts) cost no call each.
    if isinstance(value, dict):
        return {k: _without_nulls(v) if isinstance(v, dict | list) else v for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) if isinstance(v, dict | list) else v for v in value]
    return value


def compact_json(body: Any) -> str:
    """Chirp's JSON on the wire: no null fields (an absent key means no value; the OpenAPI document says the same
    by making every nullable field optional instead), no blanks between tokens: fewer bytes on every page."""
    return json.dumps(_without_nulls(body), separators=(",", ":"))


def error_body(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message}})


def error_response(error: ChirpError) -> Response[str]:
    return Response(
        status_code=error.status,
        content_type=content_types.APPLICATION_JSON,
        body=error_body(error.code, error.message),
        headers=dict(error.headers),
    )


class RestApp:
    """One function's REST surface. Operations are bound to routes by name from the wiring table."""

    # OAuth tokens (a scope claim) are the Mastodon surface's, which checks their scopes per route; Chirp's own
    # routes have no scopes to check, so they take only Chirp's own tokens (chirp.mastodon.edge says True).
    accepts_oauth_tokens = False

    def __init__(self, function_name: str) -> None:
        settings = get_settings()
        self.function = wiring.function(function_name)
        self.resolver = _PerThreadResolver(cors=cors_config(settings.cors_origin_list), serializer=compact_json)
        self._operations: dict[str, Handler] = {}
        self._max_body = settings.max_body_bytes
        self.resolver.exception_handler(ChirpError)(error_response)
        self.resolver.exception_handler(StoreUnavailable)(self._unavailable)
        self.resolver.exception_handler(Exception)(self._internal)
        self.resolver.not_found(self._not_found)
        self._route_names: dict[tuple[str, str], str] = {}
        self._public: dict[tuple[str, str], wiring.Route] = {}
        self._handler = logger.inject_lambda_context(
            self._resolve, clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST
        )
        self._handler = metrics.traced(self._handler)

    # -- binding -----------------------------------------------------------------------------------------------
    def operation(self, name: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self._operations[name] = fn
            return fn

        return register

    def bind(self) -> None:
        wired = {route.operation for route in self.function.routes}
        if missing := wired - self._operations.keys():
            raise RuntimeError(f"{self.function.name}: routes without an operation: {sorted(missing)}")
        if extra := self._operations.keys() - wired:
            raise RuntimeError(f"{self.function.name}: operations without a route: {sorted(extra)}")
        for route in self.function.routes:
            self.resolver.route(route.powertools_rule, route.method)(self._operations[route.operation])
            self._route_names[(route.method, route.path)] = route.operation
            if route.public_cache_s:
                self._public[(route.method, route.path)] = route

    def handler(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            return self._handler(event, context)
        finally:
            warm_heap.after_invocation(self.function.name)

    def _resolve(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        # Names only, never values: query strings and bodies may carry credentials (a WebSocket token, passwords).
        logger.debug(
            "request",
            extra={
                "method": event.get("httpMethod"),
                "resource": event.get("resource"),
                "query_names": sorted(event.get("queryStringParameters") or {}),
            },
        )
        started = time.perf_counter()
        request_id = str((event.get("requestContext") or {}).get("requestId") or "")
        with metrics.correlated(request_id):  # stream events published by this request carry it
            result = self.resolver.resolve(event, context)
        self._cache_control(event, result)
        self._observe(event, result, time.perf_counter() - started)
        return result

    def _cache_control(self, event: dict[str, Any], result: dict[str, Any]) -> None:
        """Only a signed-out 200 GET of a public route may be cached (at the edge, for the route's seconds); every
        other answer (a viewer's flags, anything private, an error) says private, no-store."""
        route = self._public.get((str(event.get("httpMethod")), str(event.get("resource"))))
        signed_out = not _header(event, "Authorization")
        if route is not None and signed_out and result.get("statusCode") == 200:
            value = f"public, max-age={route.public_cache_s}, s-maxage={route.public_cache_s}"
        else:
            value = "private, no-store"
        if isinstance(result.get("multiValueHeaders"), dict):
            result["multiValueHeaders"]["Cache-Control"] = [value]
        else:
            result.setdefault("headers", {})["Cache-Control"] = value

    def _observe(self, event: dict[str, Any], result: dict[str, Any], seconds: float) -> None:
        """The request's metrics and its one log line (route, status, latency; the logger adds the correlation id).
        Names only: never the path's values, the query or the body."""
        route = self._route_names.get((str(event.get("httpMethod")), str(event.get("resource"))), "other")
        status = int(result.get("statusCode") or 0)
        latency_ms = round(seconds * 1000.0, 3)
        metrics.record("RequestLatency", latency_ms, function=self.function.name, route=route)
        if status >= 500:
            metrics.count("RequestErrors", function=self.function.name, route=route)
        elif status == 429:
            metrics.count("RateLimitRefusals", function=self.function.name, route=route)
        logger.info("served", extra={"route": route, "status": status, "latency_ms": latency_ms})
        metrics.flush()

    # -- error mapping -----------------------------------------------------------------------------------------
    @staticmethod
    def _unavailable(exc: StoreUnavailable) -> Response[str]:
        logger.warning("store unavailable", extra={"reason": str(exc)})
        return error_response(ServiceUnavailable("a backing store is unavailable; retry shortly"))

    @staticmethod
    def _internal(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return error_response(InternalError("internal error"))

    @staticmethod
    def _not_found(exc: Exception) -> Response[str]:
        return error_response(NotFound("no such route"))

    # -- request parsing ---------------------------------------------------------------------------------------
    @property
    def event(self) -> Any:
        return self.resolver.current_event

    def principal(self) -> Principal:
        authorizer = (self.event.raw_event.get("requestContext") or {}).get("authorizer") or {}
        user_id, username = authorizer.get("user_id") or authorizer.get("principalId"), authorizer.get("username")
        if not user_id or not username or not str(user_id).isdigit():
            raise Unauthorized("missing or invalid credentials", code="unauthorized")
        if authorizer.get("scope") is not None and not self.accepts_oauth_tokens:
            raise Forbidden("an OAuth token is for the Mastodon-compatible API only", code="oauth_token")
        version = str(authorizer.get("ver") or "0")  # the token's version (the account routes re-check it)
        return Principal(
            user_id=int(user_id), username=str(username), version=int(version) if version.isdigit() else -1
        )

    def viewer(self, verify: Callable[[str], Principal]) -> Principal | None:
        """Who reads a public route (``wiring.Route.public_cache_s``): no authorizer runs for those, so the function
        checks a bearer token itself with ``verify`` (a bad one is a 401, as the authorizer would answer); None when
        signed out."""
        authorizer = (self.event.raw_event.get("requestContext") or {}).get("authorizer") or {}
        if authorizer.get("principalId") or authorizer.get("user_id"):
            return self.principal()
        header = self.header("Authorization")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("missing, invalid or expired bearer token", code="unauthorized")
        try:
            return verify(token.strip())
        except ChirpError:
            raise Unauthorized("missing, invalid or expired bearer token", code="unauthorized") from None

    def body(self, model: type[M]) -> M:
        raw = self.event.raw_event.get("body") or ""
        if self.event.raw_event.get("isBase64Encoded"):
            try:
                raw = base64.b64decode(raw).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise ValidationFailed("body is not valid UTF-8", code="malformed_body") from None
        if len(raw.encode("utf-8", errors="surrogatepass")) > self._max_body:
            raise PayloadTooLarge(f"body is larger than {self._max_body} bytes")
        try:
            data = json.loads(raw) if raw.strip() else None
        except (json.JSONDecodeError, RecursionError):
            raise ValidationFailed("body is not valid JSON", code="malformed_json") from None
        if not isinstance(data, dict):
            raise ValidationFailed("body must be a JSON object", code="malformed_json")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ValidationFailed(_describe(exc)) from None

    def query(self, name: str) -> str | None:
        params = self.event.raw_event.get("queryStringParameters") or {}
        value = params.get(name)
        return value if isinstance(value, str) else None

    def query_int(self, name: str, *, default: int, low: int, high: int) -> int:
        raw = self.query(name)
        if raw is None:
            return default
        if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 10 or not low <= int(raw) <= high:
            raise ValidationFailed(f"{name} must be an integer between {low} and {high}", code=f"invalid_{name}")
        return int(raw)

    def query_id(self, name: str) -> int | None:
        raw = self.query(name)
        return parse_id(raw, field=name) if raw is not None else None

    def page_cursor(self) -> str | None:
        """An opaque cursor (graph pages); bounded so that garbage never reaches a store."""
        raw = self.query("cursor")
        if raw is not None and not 1 <= len(raw) <= 200:
            raise ValidationFailed("cursor must be 1-200 characters", code="invalid_cursor")
        return raw

    def count(self) -> int:
        return self.query_int("count", default=20, low=1, high=100)

    def search_text(self, name: str = "q") -> str:
        """Required search text: something besides blanks and control characters (the document's pattern)."""
        raw = self.query(name)
        if not raw or not has_visible_char(raw):
            raise ValidationFailed(
                f"{name} needs a visible character (not only blanks or invisible ones)", code="invalid_query"
            )
        return raw

    def idempotency_key(self) -> str | None:
        """The optional Idempotency-Key header, as the document states it: 1-128 visible ASCII characters."""
        raw = self.header("Idempotency-Key")
        if raw is not None and not (len(raw) <= IDEMPOTENCY_KEY_MAX and _IDEMPOTENCY_KEY_RE.fullmatch(raw)):
            raise ValidationFailed(
                f"Idempotency-Key must be 1-{IDEMPOTENCY_KEY_MAX} visible ASCII characters",
                code="invalid_idempotency_key",
            )
        return raw

    def source_ip(self) -> str:
        identity = (self.event.raw_event.get("requestContext") or {}).get("identity") or {}
        return str(identity.get("sourceIp") or "")

    def header(self, name: str) -> str | None:
        headers = self.event.raw_event.get("headers") or {}
        for key, value in headers.items():
            if key.lower() == name.lower():
                return str(value)
        return None


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def path_id(raw: str, what: str = "tweet") -> int:
    """Ids in paths: anything malformed is simply a resource that does not exist."""
    try:
        return parse_id(raw)
    except ValidationFailed:
        raise NotFound(f"{what} {raw!r} does not exist") from None


def created(body: Mapping[str, object], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=201, content_type=content_types.APPLICATION_JSON, body=compact_json(body), headers=headers or {}
    )


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)

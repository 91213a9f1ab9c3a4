"""The REST edge shared by every API function: a Powertools resolver whose routes come from the wiring table, request
parsing (JSON bodies into pydantic models, query and path parameters, the authorizer's principal) and the one
mapping from domain errors to HTTP responses."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from chirp import wiring
from chirp.config import get_settings
from chirp.errors import ChirpError, NotFound, PayloadTooLarge, ServiceUnavailable, Unauthorized, ValidationFailed
from chirp.ids import parse_id
from chirp.ports import StoreUnavailable
from chirp.tokens import Principal

M = TypeVar("M", bound=BaseModel)
Handler = Callable[..., Any]
logger = Logger(service="chirp")


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

    def __init__(self, function_name: str) -> None:
        settings = get_settings()
        origins = settings.cors_origin_list
        cors = (
            CORSConfig(
                allow_origin=origins[0],
                extra_origins=origins[1:],
                allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                expose_headers=["Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"],
                max_age=600,
            )
            if origins
            else None
        )
        self.function = wiring.function(function_name)
        self.resolver = APIGatewayRestResolver(cors=cors)
        self._operations: dict[str, Handler] = {}
        self._max_body = settings.max_body_bytes
        self.resolver.exception_handler(ChirpError)(error_response)
        self.resolver.exception_handler(StoreUnavailable)(self._unavailable)
        self.resolver.exception_handler(Exception)(self._internal)
        self.resolver.not_found(self._not_found)
        self._handler = logger.inject_lambda_context(self._resolve, clear_state=True)

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

    def handler(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return self._handler(event, context)

    def _resolve(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return self.resolver.resolve(event, context)

    # -- error mapping -----------------------------------------------------------------------------------------
    @staticmethod
    def _unavailable(exc: StoreUnavailable) -> Response[str]:
        logger.warning("store unavailable", extra={"reason": str(exc)})
        return error_response(ServiceUnavailable("a backing store is unavailable; retry shortly"))

    @staticmethod
    def _internal(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return Response(
            status_code=500, content_type=content_types.APPLICATION_JSON, body=error_body("internal", "internal error")
        )

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
        return Principal(user_id=int(user_id), username=str(username))

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

    def source_ip(self) -> str:
        identity = (self.event.raw_event.get("requestContext") or {}).get("identity") or {}
        return str(identity.get("sourceIp") or "")

    def header(self, name: str) -> str | None:
        headers = self.event.raw_event.get("headers") or {}
        for key, value in headers.items():
            if key.lower() == name.lower():
                return str(value)
        return None


def path_id(raw: str, what: str = "tweet") -> int:
    """Ids in paths: anything malformed is simply a resource that does not exist."""
    try:
        return parse_id(raw)
    except ValidationFailed:
        raise NotFound(f"{what} {raw!r} does not exist") from None


def created(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=201, content_type=content_types.APPLICATION_JSON, body=json.dumps(body), headers=headers or {}
    )


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)

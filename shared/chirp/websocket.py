"""The WebSocket edge: route the API Gateway WebSocket event to the realtime service. A connection speaks Chirp's
protocol or Mastodon's streaming protocol (chirp.services.streaming decides which from the $connect query)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from chirp import warm_heap
from chirp.container import get_container
from chirp.observability import metrics
from chirp.services.streaming import StreamingError, speaks_mastodon

logger = Logger(service="chirp")


def dispatch(event: dict[str, Any]) -> dict[str, Any]:
    try:
        return _dispatch(event)
    finally:
        metrics.flush()
        warm_heap.after_invocation("websocket")


def _dispatch(event: dict[str, Any]) -> dict[str, Any]:
    context = event.get("requestContext") or {}
    route, connection_id = context.get("routeKey"), str(context.get("connectionId", ""))
    realtime = get_container().realtime
    authorizer = context.get("authorizer") or {}  # the $connect authorizer's context, on every route
    user_id = str(authorizer.get("user_id") or authorizer.get("principalId") or "")
    if route == "$connect":
        if not user_id.isdigit():
            metrics.count("WebSocketConnects", outcome="refused")
            return {"statusCode": 401, "body": "Unauthorized"}
        query = event.get("queryStringParameters") or {}
        mastodon = speaks_mastodon(query)
        if mastodon and not _may_read(authorizer.get("scope")):
            metrics.count("WebSocketConnects", outcome="refused")
            return {"statusCode": 403, "body": "Forbidden: streaming needs the read scope"}
        try:
            realtime.connect(connection_id, int(user_id), mastodon=query if mastodon else None)
        except StreamingError as exc:  # ?stream= names a stream Chirp does not have
            metrics.count("WebSocketConnects", outcome="refused")
            return {"statusCode": 400, "body": str(exc)}
        except Exception:
            metrics.count("WebSocketConnects", outcome="refused")
            raise
        metrics.count("WebSocketConnects", outcome="accepted")
        return {"statusCode": 200}
    if route == "$disconnect":
        realtime.disconnect(connection_id)
        return {"statusCode": 200}
    message = _message(event.get("body"))
    if message is not None and user_id.isdigit() and realtime.mastodon_message(connection_id, int(user_id), message):
        return {"statusCode": 200}
    realtime.send(connection_id, _reply(message))
    return {"statusCode": 200}


def _may_read(scope: Any) -> bool:
    """Chirp's own tokens carry no scope (everything); a Mastodon OAuth token needs read (or read:statuses)."""
    return scope is None or bool({"read", "read:statuses", "read:notifications"} & set(str(scope).split()))


def _message(body: Any) -> dict[str, Any] | None:
    try:
        message = json.loads(body) if isinstance(body, str) else None
    except json.JSONDecodeError:
        return None
    return message if isinstance(message, dict) else None


def _reply(message: dict[str, Any] | None) -> dict[str, Any]:
    if message is None:
        return {"type": "error", "error": {"code": "malformed_message", "message": "messages are JSON objects"}}
    if message.get("action") == "ping":
        return {"type": "pong"}
    return {"type": "error", "error": {"code": "unknown_action", "message": "supported actions: ping"}}

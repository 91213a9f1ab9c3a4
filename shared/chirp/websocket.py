"""The WebSocket edge: route the API Gateway WebSocket event to the realtime service."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from chirp.container import get_container
from chirp.observability import metrics

logger = Logger(service="chirp")


def dispatch(event: dict[str, Any]) -> dict[str, Any]:
    try:
        return _dispatch(event)
    finally:
        metrics.flush()


def _dispatch(event: dict[str, Any]) -> dict[str, Any]:
    context = event.get("requestContext") or {}
    route, connection_id = context.get("routeKey"), str(context.get("connectionId", ""))
    realtime = get_container().realtime
    if route == "$connect":
        authorizer = context.get("authorizer") or {}
        user_id = str(authorizer.get("user_id") or authorizer.get("principalId") or "")
        if not user_id.isdigit():
            metrics.count("WebSocketConnects", outcome="refused")
            return {"statusCode": 401, "body": "Unauthorized"}
        try:
            realtime.connect(connection_id, int(user_id))
        except Exception:
            metrics.count("WebSocketConnects", outcome="refused")
            raise
        metrics.count("WebSocketConnects", outcome="accepted")
        return {"statusCode": 200}
    if route == "$disconnect":
        realtime.disconnect(connection_id)
        return {"statusCode": 200}
    realtime.send(connection_id, _reply(event.get("body")))
    return {"statusCode": 200}


def _reply(body: Any) -> dict[str, Any]:
    try:
        message = json.loads(body) if isinstance(body, str) else None
    except json.JSONDecodeError:
        message = None
    if not isinstance(message, dict):
        return {"type": "error", "error": {"code": "malformed_message", "message": "messages are JSON objects"}}
    if message.get("action") == "ping":
        return {"type": "pong"}
    return {"type": "error", "error": {"code": "unknown_action", "message": "supported actions: ping"}}

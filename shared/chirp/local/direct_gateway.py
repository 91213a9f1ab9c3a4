"""The local gateway's stand-in for API Gateway's Kinesis service integration (write path "async"): a request to a
stream-write route, once the authorizer allowed it, becomes the intent event chirp.direct_writes describes (the one
the mapping template builds on AWS), published to the configured stream; the answer is 202 with the optimistic
state. No function is invoked."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from chirp import wiring
from chirp.direct_writes import (
    ACCEPTED_STATUS,
    DIRECT_WRITES,
    RESPONSE_HEADERS,
    UNAVAILABLE_BODY,
    accepted_answer,
    intent_event,
)
from chirp.errors import ValidationFailed
from chirp.http import error_body
from chirp.model import Event, now_ms
from chirp.ports import StoreUnavailable

Publish = Callable[[Sequence[Event]], None]
JSON = "application/json"


class DirectWriter:
    def __init__(self, publish: Publish) -> None:
        self._publish = publish

    async def accept(
        self, route: wiring.Route, params: dict[str, str], body: bytes, authorizer: dict[str, Any]
    ) -> web.Response:
        write = DIRECT_WRITES[route.operation]
        try:
            subject = _up_to(body) if write.subject == "up_to" else params.get(write.subject)
            event = intent_event(
                write,
                subject=subject,
                actor_id=str(authorizer["principalId"]),
                actor_username=str(authorizer.get("username") or ""),
                request_id=str(uuid.uuid4()),
                at_ms=now_ms(),
            )
        except ValidationFailed as exc:
            return _json(exc.status, error_body(exc.code, exc.message))
        try:
            await asyncio.to_thread(self._publish, [event])
        except StoreUnavailable:  # as Kinesis refusing the record: retry later
            return _json(503, UNAVAILABLE_BODY)
        return _json(ACCEPTED_STATUS, json.dumps(accepted_answer(write, subject)))


def _json(status: int, body: str) -> web.Response:
    return web.Response(status=status, text=body, content_type=JSON, headers=RESPONSE_HEADERS)


def _up_to(body: bytes) -> str | None:
    """The body's optional up_to as the mapping template reads it ($input.path('$.up_to')): absent or null is none;
    a body that is not a JSON object, or an up_to that is not a string, is refused, as the Lambda path refuses them.
    (The template takes a number's digits as the id: on AWS such a body is accepted, marking up to that id.)"""
    if not body.strip():
        return None
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ValidationFailed("body is not valid JSON", code="malformed_json") from None
    if not isinstance(data, dict):
        raise ValidationFailed("body must be a JSON object", code="malformed_json")
    up_to = data.get("up_to")
    if up_to is not None and not isinstance(up_to, str):
        raise ValidationFailed("up_to must be a decimal id", code="invalid_id")
    return up_to

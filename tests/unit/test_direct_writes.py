"""The direct-write path's one truth (chirp.direct_writes): API Gateway's mapping templates, rendered with a Velocity
engine (airspeed) standing in for API Gateway's, put on the stream exactly the event the local gateway builds for
the same request, refuse exactly the requests it refuses, and answer the same 202 body; the wiring table's
stream-write routes are exactly the described ones."""

from __future__ import annotations

import base64
import json
from typing import Any

import airspeed  # type: ignore[import-untyped]
import pytest

from chirp import wiring
from chirp.direct_writes import (
    DIRECT_WRITES,
    UNAVAILABLE_BODY,
    DirectWrite,
    accepted_answer,
    accepted_template,
    intent_event,
    refused_template,
    request_template,
)
from chirp.errors import ValidationFailed
from chirp.model import Event

STREAM = "chirp-events"
# The Java String methods the templates call that airspeed lacks (API Gateway's VTL has all of java.lang.String).
airspeed.operators.__additional_methods__[str].setdefault(
    "equalsIgnoreCase", lambda self, other: self.lower() == other.lower()
)


class _Input:
    """API Gateway's $input for one request: path parameters and the JSON body (or an integration response)."""

    def __init__(self, params: dict[str, str], body: dict[str, Any] | None) -> None:
        self._params = params
        self._body = body or {}

    def params(self, name: str) -> str:
        return self._params.get(name, "")

    def path(self, expression: str) -> Any:
        assert expression.startswith("$.")
        return self._body.get(expression[2:])


class _Util:
    def base64Encode(self, value: Any) -> str:
        return base64.b64encode(str(value).encode()).decode()


def _context(actor_id: str, username: str) -> dict[str, Any]:
    return {
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "requestTimeEpoch": 1_764_500_000_123,
        "authorizer": {"principalId": actor_id, "username": username},
        "responseOverride": {},
    }


def _render(template: str, params: dict[str, str], body: dict[str, Any] | None, ctx: dict[str, Any]) -> str:
    return str(airspeed.Template(template).merge({"input": _Input(params, body), "util": _Util(), "context": ctx}))


def _request(write: DirectWrite, subject: str | None) -> tuple[dict[str, str], dict[str, Any] | None]:
    if write.subject == "up_to":
        return {}, ({"up_to": subject} if subject is not None else None)
    return {write.subject: subject or ""}, None


SUBJECTS: dict[str, list[str | None]] = {
    "tweet_id": ["1234567890123", "0", "12a", "", "99999999999999999999", '1"}'],
    "username": ["alice_01", "Bob", "bob", "x" * 16, "a-b", ""],
    "up_to": [None, "987654321", "abc", ""],
}
CASES = [(op, subject) for op, write in DIRECT_WRITES.items() for subject in SUBJECTS[write.subject]]


@pytest.mark.parametrize(("operation", "subject"), CASES)
def test_template_and_local_builder_agree(operation: str, subject: str | None) -> None:
    write = DIRECT_WRITES[operation]
    ctx = _context("4242", "bob")
    params, body = _request(write, subject)
    request = json.loads(_render(request_template(write, STREAM), params, body, ctx))
    assert request["StreamName"] == STREAM
    try:
        local = intent_event(
            write,
            subject=subject,
            actor_id="4242",
            actor_username="bob",
            request_id=ctx["requestId"],
            at_ms=ctx["requestTimeEpoch"],
        )
    except ValidationFailed as refused:
        assert request["PartitionKey"] == ""  # Kinesis refuses it: ValidationException
        rendered = _render(refused_template(write), {}, {"__type": "ValidationException"}, ctx)
        assert json.loads(rendered) == {"error": {"code": refused.code, "message": refused.message}}
        assert ctx["responseOverride"] == {}  # stays the method's 400
        return
    assert request["PartitionKey"] == "4242"
    sent = Event.model_validate_json(base64.b64decode(request["Data"]))
    assert sent == local
    answered = json.loads(_render(accepted_template(write), params, None, ctx))
    assert answered == accepted_answer(write, subject)


def test_events_carry_what_the_consumer_reads() -> None:
    like = intent_event(
        DIRECT_WRITES["unlike"], subject="77", actor_id="5", actor_username="ann", request_id="r", at_ms=1
    )
    assert like.data == {"actor_id": "5", "actor_username": "ann", "on": False, "tweet_id": "77"}
    assert like.partition_key == "5"  # one actor's intents stay in order (like, then unlike)
    follow = intent_event(
        DIRECT_WRITES["follow"], subject="Carl", actor_id="5", actor_username="ann", request_id="r", at_ms=1
    )
    assert follow.data["followee_username"] == "Carl" and follow.data["on"] is True
    read = intent_event(
        DIRECT_WRITES["mark_read"], subject=None, actor_id="5", actor_username="ann", request_id="r", at_ms=1
    )
    assert read.data == {"actor_id": "5", "actor_username": "ann", "up_to": None}


def test_other_kinesis_refusals_are_503() -> None:
    ctx = _context("1", "bob")
    rendered = _render(
        refused_template(DIRECT_WRITES["like"]), {}, {"__type": "ProvisionedThroughputExceededException"}, ctx
    )
    assert json.loads(rendered) == json.loads(UNAVAILABLE_BODY)
    assert ctx["responseOverride"] == {"status": 503}


def test_stream_write_routes_are_exactly_the_described_ones() -> None:
    routes = {route.operation for _, route in wiring.all_routes() if route.stream_write}
    assert routes == set(DIRECT_WRITES)
    for _, route in wiring.all_routes():
        assert wiring.integration(route, "sync") == "lambda"
        assert wiring.integration(route, "async") == ("stream" if route.stream_write else "lambda")
        if route.stream_write:
            assert route.auth  # the actor comes from the authorizer


def test_the_actions_consumer_is_invoked_for_the_intents_only() -> None:
    trigger = wiring.function("actions").stream
    assert trigger is not None
    assert set(trigger.event_types) == {w.event_type.value for w in DIRECT_WRITES.values()}

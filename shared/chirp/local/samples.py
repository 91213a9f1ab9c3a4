"""Sample events for every function in the wiring table (events/<function>/<name>.json): REST proxy events for
each route, WebSocket $connect/$disconnect/$default, authorizer TOKEN/REQUEST and a Kinesis batch per consumer.

Values a sample cannot know in advance are placeholders — {{user_id}}, {{username}}, {{other_username}},
{{tweet_id}}, {{media_id}}, {{token}} — that tests fill in after creating those records (``render``)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

from chirp import wiring
from chirp.local import events
from chirp.model import Event, EventType
from chirp.object_consumer import s3_event

PRINCIPAL = {"principalId": "{{user_id}}", "user_id": "{{user_id}}", "username": "{{username}}"}
_BODIES: dict[str, dict[str, Any]] = {
    "signup": {"username": "sample_user", "email": "sample@example.com", "password": "sample-password"},
    "login": {"username": "sample_user", "password": "sample-password"},
    "create_tweet": {"content": "Hello from a sample event #chirp @{{other_username}}"},
    "create_upload": {"content_type": "image/png", "size": 1024},
    "set_alt_text": {"alt_text": "A sample image"},
    "complete_upload": {"upload_id": "sample", "etags": ['"0"']},
    "mark_read": {},
    # The sampler's password is tests/support/stack.signup's.
    "update_me": {"display_name": "Sample Person", "bio": "Writes sample events", "place": "GB"},
    "change_password": {"current_password": "password-123", "new_password": "sample-password-2"},
    "delete_me": {"password": "password-123"},
    "create_status": {"status": "Hello from a sample event #chirp @{{other_username}}"},
    "create_app": {"client_name": "sample app", "scopes": "read write follow"},
}
_PATH_VALUES = {
    "username": "{{other_username}}",
    "tweet_id": "{{tweet_id}}",
    "media_id": "{{media_id}}",
    # the Mastodon surface's (chirp.mastodon)
    "account_id": "{{user_id}}",
    "status_id": "{{tweet_id}}",
    "hashtag": "chirp",
}
_QUERIES = {
    "search_tweets": {"q": "sample #chirp"},
    "search_users": {"q": "sam"},
    "poll": {"since_id": "1", "timeout": "0"},
    "account_lookup": {"acct": "{{other_username}}"},
    "search": {"q": "sample"},
}
_FIXED = {
    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "extendedRequestId": "sample",
    "requestTime": "24/Nov/2026:00:00:00 +0000",
    "requestTimeEpoch": 1795478400000,
    "connectedAt": 1795478400000,
    "messageId": "sample",
    "eventTime": "2026-11-24T00:00:00.000Z",
}
SAMPLE_TIME_MS = 1795478400000


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (_FIXED[k] if k in _FIXED else _freeze(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_freeze(v) for v in value]
    return value


def rest_samples() -> dict[tuple[str, str], dict[str, Any]]:
    samples = {}
    for fn, route in [*wiring.all_routes("chirp"), *wiring.all_routes("mastodon")]:
        params = {name: _PATH_VALUES[name] for name in re.findall(r"\{(\w+)\}", route.path)}
        path = route.path
        for name, value in params.items():
            path = path.replace("{" + name + "}", value)
        body = _BODIES.get(route.operation)
        headers = {"Content-Type": "application/json", "Host": "127.0.0.1:3000"}
        if route.auth:
            headers["Authorization"] = "Bearer {{token}}"
        samples[(fn.name, route.operation)] = events.rest_event(
            method=route.method,
            resource=route.path,
            path=path,
            path_parameters=params or None,
            query=_QUERIES.get(route.operation),
            headers=headers,
            body=json.dumps(body) if body is not None else None,
            authorizer=PRINCIPAL if route.auth else None,
        )
    return samples


def other_samples() -> dict[tuple[str, str], dict[str, Any]]:
    samples: dict[tuple[str, str], dict[str, Any]] = {}
    authorizer = wiring.authorizer_function().name
    samples[(authorizer, "token")] = events.token_authorizer_event(
        "Bearer {{token}}", method="GET", resource="/api/v1/timeline/home"
    )
    samples[(authorizer, "request")] = events.request_authorizer_event({"token": "{{token}}"}, {})
    ws = wiring.websocket_function().name
    conn = "sampleConnA="
    samples[(ws, "connect")] = events.websocket_event(
        route_key="$connect", connection_id=conn, query={"token": "{{token}}"}, authorizer=PRINCIPAL
    )
    samples[(ws, "default_ping")] = events.websocket_event(
        route_key="$default", connection_id=conn, body='{"action": "ping"}', authorizer=PRINCIPAL
    )
    samples[(ws, "disconnect")] = events.websocket_event(
        route_key="$disconnect", connection_id=conn, authorizer=PRINCIPAL
    )
    tweet = {
        "tweet_id": "{{tweet_id}}",
        "user_id": "{{user_id}}",
        "username": "{{username}}",
        "content": "Hello #chirp @{{other_username}}",
        "created_at_ms": SAMPLE_TIME_MS,
        "hashtags": ["chirp"],
        "mentions": ["{{other_username}}"],
        "urls": [],
        "media_urls": [],
        "media": [],
        "reply_to": None,
        "reply_to_user_id": None,
        "quote_tweet": None,
        "quote_user_id": None,
    }
    created = Event(
        event_id="sample-event-1",
        type=EventType.TWEET_CREATED,
        occurred_at_ms=SAMPLE_TIME_MS,
        partition_key="{{user_id}}",
        data={"tweet": tweet},
    )
    batch = events.kinesis_event(
        [
            events.KinesisInput(
                sequence_number=events.sequence_number(1),
                partition_key="{{user_id}}",
                data=created.model_dump_json().encode(),
                arrival_s=SAMPLE_TIME_MS / 1000,
            )
        ]
    )
    for fn in wiring.stream_consumers():
        samples[(fn.name, "kinesis_tweet_created")] = batch
    for fn in wiring.object_consumers():
        assert fn.objects is not None
        created_object = s3_event("chirp-media", "placeholder", 1024)
        created_object["Records"][0]["s3"]["object"]["key"] = f"{fn.objects.prefix}{{{{user_id}}}}/{{{{media_id}}}}.png"
        samples[(fn.name, "s3_object_created")] = created_object
    return samples


def all_samples() -> dict[Path, dict[str, Any]]:
    found = {**rest_samples(), **other_samples()}
    return {Path(fn) / f"{name}.json": _freeze(event) for (fn, name), event in found.items()}


def render(event: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """Fill the placeholders of a sample (also inside base64 Kinesis data)."""

    def fill(text: str) -> str:
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        return text

    rendered: dict[str, Any] = json.loads(fill(json.dumps(event)))
    for record in rendered.get("Records", []):
        if "kinesis" not in record:  # an S3 notification: filled above
            continue
        data = fill(base64.b64decode(record["kinesis"]["data"]).decode())
        record["kinesis"]["data"] = base64.b64encode(data.encode()).decode()
    return rendered


def serialize(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2, sort_keys=True) + "\n"


def write(root: Path) -> int:
    samples = all_samples()
    for relative, event in samples.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(serialize(event))
    return len(samples)


if __name__ == "__main__":
    print(f"wrote {write(Path('events'))} sample events")

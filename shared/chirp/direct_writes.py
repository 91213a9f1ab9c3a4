"""Fire-and-forget writes accepted straight onto the stream (wiring: routes with ``stream_write``, write path
"async"): the one description of each such route's intent event, its validation and its 202 answer, from which both
API Gateway's Kinesis PutRecord mapping templates (VTL, for the CDK app) and the local gateway's builder are made, so
the two cannot drift (a test renders the templates and compares).

The request is checked for what can be checked without a store: the id's or username's syntax, and not following
oneself. Everything else (the tweet exists, the user exists) is the consumer's to find out: the request is accepted
(202) and an intent whose target is gone changes nothing. That, and counts that appear in reads only once the
"actions" consumer ran, is the trade for having no Lambda in the request path.

The partition key is the actor, not the Lambda path's (the tweet's author or the followee): the gateway does not
know those without a read, and the actor keeps what must stay ordered (one user's like then unlike, follow then
unfollow) on one shard while spreading a celebrity's likes over all shards. The facts the consumer publishes (e.g.
TWEET_LIKED) carry the Lambda path's own keys.

On AWS a request that fails the checks still reaches Kinesis, with an empty partition key, which Kinesis refuses
with a ValidationException; the integration response turns that into Chirp's 400 (VTL cannot end a request itself).
Any other refusal (throughput exceeded, KMS, access) is a 503 the client retries."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from chirp.api_models import USERNAME_PATTERN
from chirp.errors import ValidationFailed
from chirp.ids import ID_PATTERN
from chirp.model import Event, EventType

Subject = Literal["tweet_id", "username", "up_to"]


@dataclass(frozen=True, slots=True)
class DirectWrite:
    operation: str
    event_type: EventType
    on: bool | None  # the state the intent sets (None: marking notifications read)
    subject: Subject  # path parameter tweet_id / username, or the body's optional up_to
    state_key: str  # the optimistic state in the 202 answer, named as in the API's Tweet and Relationship
    invalid_code: str
    invalid_message: str


def _tweet(operation: str, event_type: EventType, on: bool, state_key: str) -> DirectWrite:
    return DirectWrite(operation, event_type, on, "tweet_id", state_key, "invalid_id", "tweet_id must be a decimal id")


def _follow(operation: str, on: bool) -> DirectWrite:
    return DirectWrite(
        operation,
        EventType.FOLLOW_REQUESTED,
        on,
        "username",
        "following",
        "invalid_username",
        "username must be another user's: 1-15 letters, digits or underscores",
    )


DIRECT_WRITES: dict[str, DirectWrite] = {
    w.operation: w
    for w in (
        _tweet("like", EventType.LIKE_REQUESTED, True, "liked_by_user"),
        _tweet("unlike", EventType.LIKE_REQUESTED, False, "liked_by_user"),
        _tweet("retweet", EventType.RETWEET_REQUESTED, True, "retweeted_by_user"),
        _tweet("unretweet", EventType.RETWEET_REQUESTED, False, "retweeted_by_user"),
        _follow("follow", True),
        _follow("unfollow", False),
        DirectWrite(
            "mark_read", EventType.READ_REQUESTED, None, "up_to", "read", "invalid_id", "up_to must be a decimal id"
        ),
    )
}
ACCEPTED_STATUS = 202
# On every answer of a direct route, as chirp.http gives every answer to a signed-in request: never cached.
RESPONSE_HEADERS = {"Cache-Control": "private, no-store"}


# -- the local gateway's builder ---------------------------------------------------------------------------------
def valid(write: DirectWrite, subject: str | None, actor_username: str) -> bool:
    """The checks the mapping template makes (``_valid_vtl``), in Python."""
    if write.subject == "tweet_id":
        return subject is not None and re.fullmatch(ID_PATTERN, subject) is not None
    if write.subject == "username":
        return (
            subject is not None
            and re.fullmatch(USERNAME_PATTERN, subject) is not None
            and subject.lower() != actor_username.lower()
        )
    return not subject or re.fullmatch(ID_PATTERN, subject) is not None


def intent_event(
    write: DirectWrite, *, subject: str | None, actor_id: str, actor_username: str, request_id: str, at_ms: int
) -> Event:
    """The intent the mapping template puts on the stream for this request; raises ValidationFailed where the
    template's request would be refused."""
    if not valid(write, subject, actor_username):
        raise ValidationFailed(write.invalid_message, code=write.invalid_code)
    data: dict[str, Any] = {"actor_id": actor_id, "actor_username": actor_username}
    if write.on is not None:
        data["on"] = write.on
    data[_data_key(write)] = subject or None
    return Event(
        event_id=request_id,
        type=write.event_type,
        occurred_at_ms=at_ms,
        partition_key=actor_id,
        data=data,
        correlation_id=request_id,
    )


def accepted_answer(write: DirectWrite, subject: str | None) -> dict[str, Any]:
    """The 202 body: the optimistic state, no counts (the consumer has not run yet)."""
    if write.subject == "up_to":
        return {"read": True}
    return {write.subject: subject, write.state_key: write.on}


def _data_key(write: DirectWrite) -> str:
    return "followee_username" if write.subject == "username" else write.subject


# -- API Gateway's mapping templates -----------------------------------------------------------------------------
def request_template(write: DirectWrite, stream_name: str) -> str:
    """The integration request (Kinesis PutRecord) for a route: the event's JSON, base64, under the actor's key.
    Ids and usernames go into the JSON only after their syntax is checked (digits; letters, digits, _), and the
    authorizer's username was checked at sign-up, so nothing in it needs escaping."""
    # The body's up_to as a string ("" when absent or null): a quiet reference renders nothing for null.
    subject = "\"$!input.path('$.up_to')\"" if write.subject == "up_to" else f"$input.params('{write.subject}')"
    value = '#if($subject == "")null#{else}"$subject"#end' if write.subject == "up_to" else '"$subject"'
    on = f',"on":{json.dumps(write.on)}' if write.on is not None else ""
    event = (
        '{"event_id":"$context.requestId","type":"' + write.event_type.value + '",'
        '"occurred_at_ms":$context.requestTimeEpoch,"partition_key":"$actor","correlation_id":"$context.requestId",'
        '"data":{"actor_id":"$actor","actor_username":"$context.authorizer.username"'
        + on
        + f',"{_data_key(write)}":{value}'
        + "}}"
    )
    return "\n".join(
        (
            "#set($actor = $context.authorizer.principalId)",
            f"#set($subject = {subject})",
            f"#set($valid = {_valid_vtl(write)})",
            "#define($event)" + event + "#end",
            "{"
            + f'"StreamName":{json.dumps(stream_name)},'
            + '"PartitionKey":"#if($valid)$actor#end",'
            + '"Data":"$util.base64Encode("$event")"'
            + "}",
        )
    )


def _valid_vtl(write: DirectWrite) -> str:
    """``valid`` in VTL (Java regexes: String.matches is a whole-string match, like re.fullmatch)."""
    if write.subject == "tweet_id":
        return f"$subject.matches('{ID_PATTERN}')"
    if write.subject == "username":
        return f"$subject.matches('{USERNAME_PATTERN}') && !$subject.equalsIgnoreCase($context.authorizer.username)"
    return f"$subject == \"\" || $subject.matches('{ID_PATTERN}')"


def accepted_template(write: DirectWrite) -> str:
    """The 202 answer, from the request's own parameters (the subject's syntax was checked before Kinesis took it)."""
    if write.subject == "up_to":
        return json.dumps(accepted_answer(write, None))
    subject = f'"{write.subject}":"$input.params(\'{write.subject}\')"'
    return "{" + subject + f',"{write.state_key}":{json.dumps(write.on)}' + "}"


def refused_template(write: DirectWrite) -> str:
    """Kinesis said 4xx: our own refusal of a request that failed the checks (ValidationException) is Chirp's 400;
    any other (throughput exceeded, KMS, access denied) is a 503 the client may retry."""
    invalid = json.dumps({"error": {"code": write.invalid_code, "message": write.invalid_message}})
    return "\n".join(
        (
            "#set($type = \"$!input.path('$.__type')\")",
            "#if($type.contains('ValidationException'))",
            invalid,
            "#{else}",
            "#set($context.responseOverride.status = 503)",
            UNAVAILABLE_BODY,
            "#end",
        )
    )


UNAVAILABLE_BODY = json.dumps(
    {"error": {"code": "unavailable", "message": "the write could not be accepted now; retry shortly"}}
)

"""The edge of every object-created consumer (the media processor): decode the S3 event notification's records and
run one handler per object key, with the same failure rules as the stream consumers' edge.

- A store outage (StoreUnavailable) fails the invocation: S3 invokes asynchronously, so Lambda retries it (twice,
  with backoff) and then sends the event to the function's on-failure destination (cdk: the dead-letter bucket).
- Any other failure is tried again within the invocation (the trigger's ``quarantine_after`` attempts), then the
  notification record is kept whole in the dead-letter store (``chirp dlq`` lists it) and ``give_up`` runs for its
  key (the media processor marks the upload failed and deletes it: nothing half-processed is ever shown).
- Redeliveries are expected (at-least-once): the handler is idempotent on its key."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from chirp import wiring
from chirp.config import get_settings
from chirp.model import now_ms
from chirp.observability import metrics
from chirp.ports import QUARANTINED, DeadLetter, DeadLetterStore, StoreUnavailable, StreamRecord

logger = Logger(service="chirp")


def object_keys(event: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(object key, raw record) of each ObjectCreated record; S3 sends keys URL-encoded (spaces as '+')."""
    found = []
    for record in event.get("Records") or []:
        if str(record.get("eventName", "")).startswith("ObjectCreated"):
            found.append((unquote_plus(record["s3"]["object"]["key"]), record))
    return found


def is_object_notification(data: str) -> bool:
    """Whether a dead letter's record is an object notification (kept whole by ``_quarantine``), not a stream
    event."""
    try:
        record = json.loads(data)
    except ValueError:
        return False
    return isinstance(record, dict) and record.get("eventSource") == "aws:s3"


def s3_event(bucket: str, key: str, size: int) -> dict[str, Any]:
    """An S3 ObjectCreated notification for one object, as S3 delivers it to Lambda (the local runtime sends these)."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key, safe="/"), "size": size},
                },
            }
        ]
    }


def make_object_handler(
    handle: Callable[[str], object], give_up: Callable[[str, str], None]
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        from chirp.container import get_container

        name = get_settings().function or context.function_name.removeprefix("chirp-")
        trigger = wiring.function(name).objects
        attempts = trigger.quarantine_after if trigger is not None else 1
        return consume_objects(
            event, context, handle, give_up, dead_letters=get_container().dead_letters, attempts=attempts, name=name
        )

    return handler


def consume_objects(
    event: dict[str, Any],
    context: LambdaContext,
    handle: Callable[[str], object],
    give_up: Callable[[str, str], None],
    *,
    dead_letters: DeadLetterStore,
    attempts: int,
    name: str,
) -> dict[str, Any]:
    handled = 0
    for key, record in object_keys(event):
        error: Exception | None = None
        for attempt in range(max(1, attempts)):
            if attempt:
                time.sleep(min(0.1 * 2**attempt, 1.0))
            try:
                handle(key)
                error = None
                break
            except StoreUnavailable:
                raise  # an outage: the asynchronous invocation is retried whole (handling is idempotent)
            except Exception as exc:
                error = exc
        if error is not None:
            _quarantine(dead_letters, context, name, key, record, error, attempts)
            try:
                give_up(key, str(error))
            except Exception:
                logger.exception("could not give up on %s", key)
        handled += 1
    return {"objects": handled}


def _quarantine(
    store: DeadLetterStore,
    context: LambdaContext,
    name: str,
    key: str,
    record: dict[str, Any],
    error: Exception,
    attempts: int,
) -> None:
    """Keeps the notification record whole; raises (the invocation is retried) when that fails: nothing is lost."""
    letter = DeadLetter(
        consumer=name,
        reason=QUARANTINED,
        error=f"failed {attempts} time(s): {error!r}",
        failed_at_ms=now_ms(),
        records=(StreamRecord(seq=0, shard=0, partition_key=key, data=json.dumps(record), arrival_ms=now_ms()),),
        source=str(record.get("s3", {}).get("bucket", {}).get("arn", "")),
        function_arn=context.invoked_function_arn,
        request_id=context.aws_request_id,
    )
    letter_id = store.put(letter)
    metrics.count("DeadLetters", 1, consumer=name)
    logger.error("quarantined the notification for %s as %s", key, letter_id, extra={"error": repr(error)})

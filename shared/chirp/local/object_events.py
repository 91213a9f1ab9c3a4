"""The media store's object-created notifications, delivered to the wiring table's object consumers as S3 delivers
them on AWS: asynchronously (the upload's answer does not wait), an S3 event per object, filtered by the trigger's
key prefix, retried twice on failure and then kept in the dead-letter store (Lambda's on-failure destination).

The notifications come from the store itself: the embedded object store's listeners, or on the servers backend
moto's S3 event notification to an SQS queue (moto delivers S3 events to SQS, not to a local process), which
``poll_queue`` reads."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from chirp import wiring
from chirp.model import now_ms
from chirp.object_consumer import object_keys, s3_event
from chirp.ports import RETRIES_EXHAUSTED, DeadLetter, DeadLetterStore, StreamRecord

log = logging.getLogger("chirp.object_events")
ASYNC_RETRIES = 2  # Lambda's default for asynchronous invocations
RETRY_DELAYS_S = (60.0, 120.0)  # as Lambda's asynchronous retries: a store outage shorter than that loses nothing
QUEUE_SUFFIX = "-object-created"  # one queue per bucket: stacks sharing the stand-in servers never take each other's


class ObjectEvents:
    def __init__(
        self,
        invoke: Callable[[str, dict[str, Any]], Any],
        executor: Executor,
        dead_letters: Callable[[], DeadLetterStore],
        bucket: str,
    ) -> None:
        self._invoke = invoke
        self._executor = executor
        self._dead_letters = dead_letters
        self._bucket = bucket

    def object_created(self, key: str, size: int, _content_type: str = "") -> None:
        """The embedded store's listener: one notification, handed to the consumers' invocations at once."""
        self.deliver(s3_event(self._bucket, key, size))

    def deliver(self, event: dict[str, Any]) -> None:
        keys = [key for key, _ in object_keys(event)]
        for fn in wiring.object_consumers():
            assert fn.objects is not None
            if any(key.startswith(fn.objects.prefix) for key in keys):
                self._executor.submit(self._invoke_async, fn.name, event)

    def _invoke_async(self, function: str, event: dict[str, Any]) -> None:
        for attempt in range(ASYNC_RETRIES + 1):
            try:
                self._invoke(function, event)
                return
            except Exception as exc:
                error = exc
                if attempt < ASYNC_RETRIES:
                    time.sleep(RETRY_DELAYS_S[attempt])
        log.error("%s failed %s times on an object-created event: %r", function, ASYNC_RETRIES + 1, error)
        letter = DeadLetter(
            consumer=function,
            reason=RETRIES_EXHAUSTED,
            error=repr(error),
            failed_at_ms=now_ms(),
            records=tuple(
                StreamRecord(seq=0, shard=0, partition_key=key, data=json.dumps(record), arrival_ms=now_ms())
                for key, record in object_keys(event)
            ),
            source=f"arn:aws:s3:::{self._bucket}",
        )
        try:
            self._dead_letters().put(letter)
        except Exception:
            log.exception("could not keep the object-created event in the dead-letter store")


def provision_queue(s3: Any, sqs: Any, bucket: str, prefixes: list[str]) -> str:
    """The queue moto's S3 sends the bucket's object-created events to (servers backend); returns its URL."""
    url = str(sqs.create_queue(QueueName=f"{bucket}{QUEUE_SUFFIX}"[:80])["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
                }
                for prefix in prefixes
            ]
        },
    )
    return url


async def poll_queue(sqs: Any, url: str, events: ObjectEvents, stop: asyncio.Event) -> None:
    """Reads the queue moto's S3 notifies and delivers each event (deleted once handed over, as Lambda's
    asynchronous invocation queue would hold it)."""
    while not stop.is_set():
        try:
            answer = await asyncio.to_thread(
                sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
        except Exception:
            log.exception("object-created queue unreadable; retrying")
            await asyncio.sleep(1.0)
            continue
        for message in answer.get("Messages", []):
            body = json.loads(message["Body"])
            if "Records" in body:  # moto's s3:TestEvent has none
                events.deliver(body)
            await asyncio.to_thread(sqs.delete_message, QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

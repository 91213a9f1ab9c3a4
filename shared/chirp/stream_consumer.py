"""The edge of every stream consumer: decode Kinesis records into events, run one handler per record, and report
partial batch failures (Powertools batch utility) so that only failed records are retried."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from chirp.model import Event
from chirp.ports import StoreUnavailable

logger = Logger(service="chirp")


def decode_record(data_b64: str) -> Event:
    return Event.model_validate(json.loads(base64.b64decode(data_b64)))


def encode_event(event: Event) -> str:
    return base64.b64encode(event.model_dump_json().encode()).decode()


def consume(event: dict[str, Any], context: LambdaContext, handle: Callable[[Event], None]) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.KinesisDataStreams, raise_on_entire_batch_failure=False)
    outages: list[StoreUnavailable] = []

    def record_handler(record: KinesisStreamRecord) -> None:
        decoded = decode_record(record.kinesis.data)
        logger.debug("event", extra={"type": decoded.type.value, "event_id": decoded.event_id})
        try:
            handle(decoded)
        except StoreUnavailable as exc:
            outages.append(exc)
            raise

    response = dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
    if outages:
        # Not a bad record: a store is down. Failing the whole invocation makes the batch retry (handlers are
        # idempotent) instead of counting toward max retries and the dead-letter path.
        raise outages[0]
    return response


def make_handler(handle: Callable[[Event], None]) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """A Lambda handler for a stream consumer that runs ``handle`` on every event of a batch."""

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return consume(event, context, handle)

    return handler

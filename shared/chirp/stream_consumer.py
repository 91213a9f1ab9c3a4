"""The edge of every stream consumer: decode Kinesis records into events, run one handler per record (or one per
batch, for consumers that read once per batch), and report partial batch failures (Powertools batch utility) so
that only failed records are retried."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
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


def consume_batch(
    event: dict[str, Any],
    context: LambdaContext,
    handle_batch: Callable[[Sequence[Event]], Sequence[BaseException | None]],
) -> dict[str, Any]:
    """Like ``consume``, for handlers that work on the whole batch at once (one batched read for all its records):
    ``handle_batch`` gets every decodable event and returns each one's outcome (None or the exception that failed
    it); the records are then reported one by one, as ``consume`` does."""
    decoded: list[tuple[str, Event | Exception]] = []
    for raw in event.get("Records", []):
        record = KinesisStreamRecord(raw)
        try:
            decoded.append((record.kinesis.sequence_number, decode_record(record.kinesis.data)))
        except Exception as exc:  # an undecodable record fails alone (and bisects down to itself)
            decoded.append((record.kinesis.sequence_number, exc))
    events = [item for _, item in decoded if isinstance(item, Event)]
    results = iter(handle_batch(events)) if events else iter(())
    outcomes = {seq: item if isinstance(item, Exception) else next(results) for seq, item in decoded}

    processor = BatchProcessor(event_type=EventType.KinesisDataStreams, raise_on_entire_batch_failure=False)
    outages: list[StoreUnavailable] = []

    def record_handler(record: KinesisStreamRecord) -> None:
        outcome = outcomes.get(record.kinesis.sequence_number)
        if isinstance(outcome, StoreUnavailable):
            outages.append(outcome)
        if outcome is not None:
            raise outcome

    response = dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
    if outages:
        raise outages[0]  # a store is down: retry the whole batch (see ``consume``)
    return response


def make_batch_handler(
    handle_batch: Callable[[Sequence[Event]], Sequence[BaseException | None]],
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """A Lambda handler for a stream consumer that handles each batch at once (see ``consume_batch``)."""

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return consume_batch(event, context, handle_batch)

    return handler


def make_handler(handle: Callable[[Event], None]) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """A Lambda handler for a stream consumer that runs ``handle`` on every event of a batch."""

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return consume(event, context, handle)

    return handler

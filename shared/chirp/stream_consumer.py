"""The edge of every stream consumer: decode Kinesis or Kafka (MSK) records into events, run one handler per record
(or one per batch, for consumers that read once per batch), and report partial batch failures (Powertools batch
utility) so that only failed records are retried. The consumers behind it never learn which stream they read.

What differs between the two event source mappings, and how Chirp handles it:
- Event shape: Kinesis sends ``Records`` (a list, base64 ``kinesis.data``); MSK sends ``records`` grouped by
  "topic-partition" (base64 ``value``, a ``key``, ``offset``). ``_event_type`` picks the shape by ``eventSource``.
- Failure identifiers: Kinesis reports the sequence number; Kafka a {"partition": "topic-partition", "offset"}
  pair. Powertools' BatchProcessor builds either (EventType.KinesisDataStreams / EventType.Kafka).
- Retries: both ESMs retry from the first failed record of a shard / partition and bisect on error; the wiring
  table's max_retries (-1: until the records reach their maximum age) applies to both. Kafka caps -1 at 10 retries
  when an on-failure destination is set, so its mappings ask for 10,000 instead (chirp_cdk.stream_stack).
- Dead letters: the same on both. A record that keeps failing (not an outage) is quarantined here, whole, in the
  dead-letter store (``consume_batch``); a batch that outlives its maximum age goes to the mappings' S3 on-failure
  destination, whose invocation record carries the whole payload. ``chirp dlq`` reads and replays both.
- Duplicates and order: both are at-least-once and ordered per shard / partition, with the same key (the
  author): the handlers are idempotent either way.
- A whole-invocation failure (a store down) is raised on both: the ESM retries the batch (bisecting it)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEventRecord
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from chirp import warm_heap, wiring
from chirp.config import get_settings
from chirp.model import Event, now_ms
from chirp.observability import metrics
from chirp.ports import QUARANTINED, DeadLetter, DeadLetterStore, StoreUnavailable, StreamRecord, from_raw

logger = Logger(service="chirp")
MAX_CORRELATION_IDS = 10  # per log line of a batch
RETRY_TIME_MARGIN_MS = 5_000  # no in-invocation retry this close to the timeout: the mapping would retry it all


def decode_record(data_b64: str) -> Event:
    return Event.model_validate(json.loads(base64.b64decode(data_b64)))


def encode_event(event: Event) -> str:
    return base64.b64encode(event.model_dump_json().encode()).decode()


KAFKA_SOURCES = frozenset({"aws:kafka", "SelfManagedKafka"})
StreamRecordView = KinesisStreamRecord | KafkaEventRecord
RecordId = tuple[str, int, str]  # Kafka: (topic-partition, offset, ""); Kinesis: ("", 0, sequence number)


def _event_type(event: dict[str, Any]) -> EventType:
    """Kafka (MSK or self-managed) or Kinesis, from the batch's own ``eventSource``."""
    return EventType.Kafka if event.get("eventSource") in KAFKA_SOURCES else EventType.KinesisDataStreams


def _raw_records(event: dict[str, Any]) -> list[dict[str, Any]]:
    if _event_type(event) is EventType.Kafka:
        return [r for partition in (event.get("records") or {}).values() for r in partition]
    return list(event.get("Records") or [])


def _view(event_type: EventType, raw: dict[str, Any]) -> StreamRecordView:
    return KafkaEventRecord(raw) if event_type is EventType.Kafka else KinesisStreamRecord(raw)


def _data(record: StreamRecordView) -> str:
    """The record's payload, base64 as the ESM delivers it."""
    return record.value if isinstance(record, KafkaEventRecord) else record.kinesis.data


def _record_id(record: StreamRecordView) -> RecordId:
    if isinstance(record, KafkaEventRecord):
        return (f"{record.topic}-{record.partition}", record.offset, "")
    return ("", 0, record.kinesis.sequence_number)


def consume(
    event: dict[str, Any],
    context: LambdaContext,
    handle: Callable[[Event], None],
    *,
    dead_letters: DeadLetterStore | None = None,
    attempts: int = 1,
) -> dict[str, Any]:
    """Run ``handle`` on every event of the batch and report each failure (see ``consume_batch``)."""

    def handle_each(events: Sequence[Event]) -> list[BaseException | None]:
        outcomes: list[BaseException | None] = []
        for decoded in events:
            logger.set_correlation_id(decoded.correlation_id or None)  # this event's request, in every line
            logger.debug("event", extra={"type": decoded.type.value, "event_id": decoded.event_id})
            try:
                with metrics.correlated(decoded.correlation_id):  # and in the events its handling publishes
                    handle(decoded)
            except Exception as exc:
                outcomes.append(exc)
            else:
                outcomes.append(None)
        return outcomes

    return consume_batch(event, context, handle_each, dead_letters=dead_letters, attempts=attempts)


def consume_batch(
    event: dict[str, Any],
    context: LambdaContext,
    handle_batch: Callable[[Sequence[Event]], Sequence[BaseException | None]],
    *,
    dead_letters: DeadLetterStore | None = None,
    attempts: int = 1,
) -> dict[str, Any]:
    """Run ``handle_batch`` once on every decodable event (one batched read for all its records); it returns each
    one's outcome (None or the exception that failed it). Then:

    - a store outage (StoreUnavailable) fails the whole invocation: the mapping retries the batch until the outage
      ends or the records reach their maximum age (handlers are idempotent), and nothing is quarantined;
    - a record that failed otherwise is tried again, up to ``attempts`` in all, within this invocation;
    - with ``dead_letters``, the records that still fail (and undecodable ones, at once) are quarantined there
      whole, in one letter, and the shard moves on; without, or when that write fails, they are reported as batch
      item failures (Powertools' batch processor), so the mapping retries from the first of them."""
    event_type = _event_type(event)
    records = [_view(event_type, raw) for raw in _raw_records(event)]
    outcomes: dict[RecordId, BaseException | None] = {}
    decoded: dict[RecordId, Event] = {}
    for record in records:
        try:
            decoded[_record_id(record)] = decode_record(_data(record))
        except Exception as exc:  # an undecodable record fails alone (and bisects down to itself)
            outcomes[_record_id(record)] = exc
    pending = list(decoded)
    _correlate(decoded.values())
    for attempt in range(max(1, attempts)):
        if attempt:
            time.sleep(min(0.1 * 2**attempt, 1.0))
        results = list(handle_batch([decoded[rid] for rid in pending])) if pending else []
        outcomes.update(zip(pending, results, strict=True))
        if any(isinstance(o, StoreUnavailable) for o in outcomes.values()):
            break
        pending = [rid for rid in pending if outcomes[rid] is not None]
        if not pending or context.get_remaining_time_in_millis() < RETRY_TIME_MARGIN_MS:
            break
    outage = next((o for o in outcomes.values() if isinstance(o, StoreUnavailable)), None)
    if outage is not None:
        # Not a bad record: a store is down. Failing the whole invocation makes the batch retry.
        raise outage
    failed = [r for r in records if outcomes.get(_record_id(r)) is not None]
    quarantined = bool(failed) and dead_letters is not None
    if quarantined and dead_letters is not None:
        quarantined = _quarantine(dead_letters, context, event, failed, outcomes, attempts)

    def record_handler(record: StreamRecordView) -> None:
        outcome = outcomes.get(_record_id(record))
        if outcome is not None and not quarantined:
            raise outcome

    processor = BatchProcessor(event_type=event_type, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )


def _quarantine(
    store: DeadLetterStore,
    context: LambdaContext,
    event: dict[str, Any],
    failed: Sequence[StreamRecordView],
    outcomes: dict[RecordId, BaseException | None],
    attempts: int,
) -> bool:
    """Keep the poison records whole in the dead-letter store; False when that failed (they are then reported as
    failures and retried, so nothing is lost)."""
    kept = [_stream_record(r) for r in failed]
    errors = [f"{k.sequence_number}: {outcomes[_record_id(r)]!r}" for k, r in zip(kept, failed, strict=True)]
    first = failed[0]
    letter = DeadLetter(
        consumer=consumer_name(context),
        reason=QUARANTINED,
        error=f"failed {attempts} time(s): " + "; ".join(errors),
        failed_at_ms=now_ms(),
        records=tuple(kept),
        source=first.event_source_arn if isinstance(first, KinesisStreamRecord) else str(event.get("eventSourceArn")),
        function_arn=context.invoked_function_arn,
        request_id=context.aws_request_id,
    )
    try:
        letter_id = store.put(letter)
        metrics.count("DeadLetters", len(failed), consumer=letter.consumer)
    except Exception:
        logger.exception("could not quarantine %s record(s); reporting them as failures", len(failed))
        return False
    logger.error("quarantined %s poison record(s) as %s", len(failed), letter_id, extra={"errors": errors[:10]})
    return True


def _correlate(events: Iterable[Event]) -> None:
    """The batch's correlation ids (the requests behind its events) on every log line of this invocation."""
    ids = list(dict.fromkeys(e.correlation_id for e in events if e.correlation_id))
    logger.set_correlation_id(",".join(ids[:MAX_CORRELATION_IDS]) if ids else None)
    if ids:
        logger.debug("batch", extra={"records": len(ids), "correlation_ids": ids[:MAX_CORRELATION_IDS]})


def _stream_record(record: StreamRecordView) -> StreamRecord:
    """The record whole, as the stream holds it (a Kafka record's key is its partition key)."""
    if isinstance(record, KafkaEventRecord):
        key = record.raw_event.get("key") or ""
        return StreamRecord(
            seq=record.offset,
            shard=record.partition,
            partition_key=from_raw(base64.b64decode(key)),
            data=from_raw(base64.b64decode(record.value)),
            arrival_ms=record.timestamp,
            sequence_number=str(record.offset),
        )
    shard = record.event_id.split(":", 1)[0].removeprefix("shardId-")
    return StreamRecord(
        seq=int(record.kinesis.sequence_number),
        shard=int(shard) if shard.isdigit() else 0,
        partition_key=record.kinesis.partition_key,
        data=from_raw(base64.b64decode(record.kinesis.data)),
        arrival_ms=int(record.kinesis.approximate_arrival_timestamp * 1000),
        sequence_number=record.kinesis.sequence_number,
    )


def consumer_name(context: LambdaContext) -> str:
    """The wiring name of the running consumer: CHIRP_FUNCTION on AWS; locally the context's (``chirp-<name>``)."""
    return get_settings().function or context.function_name.removeprefix("chirp-")


def _edge_options(context: LambdaContext) -> dict[str, Any]:
    """The dead-letter store and attempts of the running consumer, from the container and its wiring trigger."""
    from chirp.container import get_container

    try:
        trigger = wiring.function(consumer_name(context)).stream
    except KeyError:  # a context that names no consumer (a test's): one attempt, as the mapping would retry
        trigger = None
    return {
        "dead_letters": get_container().dead_letters,
        "attempts": trigger.quarantine_after if trigger is not None else 1,
    }


def make_batch_handler(
    handle_batch: Callable[[Sequence[Event]], Sequence[BaseException | None]],
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """A Lambda handler for a stream consumer that handles each batch at once (see ``consume_batch``)."""

    @metrics.traced
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            return consume_batch(event, context, handle_batch, **_edge_options(context))
        finally:
            metrics.flush()
            warm_heap.after_invocation(consumer_name(context))

    return handler


def make_handler(handle: Callable[[Event], None]) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """A Lambda handler for a stream consumer that runs ``handle`` on every event of a batch."""

    @metrics.traced
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            return consume(event, context, handle, **_edge_options(context))
        finally:
            metrics.flush()
            warm_heap.after_invocation(consumer_name(context))

    return handler

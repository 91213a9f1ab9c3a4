"""The batch form of the stream consumer edge (``consume_batch``): the handler sees the whole batch once, and each
record is still reported on its own — a failed outcome is a batch item failure, an undecodable record fails alone,
and a store outage fails the whole invocation (so the batch is retried rather than sent towards the dead letters)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from chirp.local import events
from chirp.local.context import LocalLambdaContext
from chirp.model import Event, EventType
from chirp.ports import StoreUnavailable
from chirp.stream_consumer import consume_batch


def batch(*payloads: bytes) -> dict[str, object]:
    return events.kinesis_event(
        [events.KinesisInput(events.sequence_number(i + 1), f"pk-{i}", data, 0.0) for i, data in enumerate(payloads)]
    )


def event(n: int) -> bytes:
    return Event.new(EventType.USER_CREATED, "pk", {"n": n}).model_dump_json().encode()


def test_one_call_per_batch_and_failures_reported_per_record() -> None:
    seen: list[list[int]] = []

    def handle(batch_events: Sequence[Event]) -> list[BaseException | None]:
        seen.append([e.data["n"] for e in batch_events])
        return [ValueError("bad") if e.data["n"] == 2 else None for e in batch_events]

    result = consume_batch(batch(event(1), event(2), b"not json", event(4)), LocalLambdaContext("fanout"), handle)
    assert seen == [[1, 2, 4]]  # once, with every decodable event, in order
    failed = [f["itemIdentifier"] for f in result["batchItemFailures"]]
    assert failed == [events.sequence_number(2), events.sequence_number(3)]


def test_a_store_outage_fails_the_whole_invocation() -> None:
    def handle(batch_events: Sequence[Event]) -> list[BaseException | None]:
        return [StoreUnavailable("redis down") if e.data["n"] == 1 else None for e in batch_events]

    with pytest.raises(StoreUnavailable):
        consume_batch(batch(event(0), event(1)), LocalLambdaContext("fanout"), handle)


def test_an_all_good_batch_reports_nothing() -> None:
    result = consume_batch(batch(event(1), event(2)), LocalLambdaContext("fanout"), lambda es: [None] * len(es))
    assert result == {"batchItemFailures": []}

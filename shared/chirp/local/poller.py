"""The local event source mapping: for every stream consumer in the wiring table and every shard, read batches
after the consumer's checkpoint, invoke the function with a Kinesis event, and honour the contract of
ReportBatchItemFailures — checkpoint up to the first failed record and retry from it, halve the batch when the whole
invocation fails (bisect on error), and send a record to the dead-letter port once it is older than
max_record_age_s (or failed max_retries times, when the trigger sets a count) and move on. Outages are waited out,
like any failed batch; poison records do not wait for that: the consumer edge quarantines them itself."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from chirp import wiring
from chirp.local import events
from chirp.model import now_ms
from chirp.ports import RECORD_AGE_EXCEEDED, RETRIES_EXHAUSTED, StoreUnavailable, StreamRecord

log = logging.getLogger("chirp.poller")
Invoke = Callable[[str, dict[str, Any]], Awaitable[Any]]
IDLE_POLL_S = 0.5
OUTAGE_BACKOFF_MAX_S = 5.0


class StreamSource(Protocol):
    """A stream's shards and the mapping's state (``chirp.local.event_source.EventSource``)."""

    @property
    def shards(self) -> int: ...
    def read(self, shard: int, *, after: int, limit: int) -> list[StreamRecord]: ...
    def checkpoint(self, consumer: str, shard: int) -> int: ...
    def set_checkpoint(self, consumer: str, shard: int, seq: int) -> None: ...
    def dead_letter(self, consumer: str, record: StreamRecord, error: str, *, reason: str) -> None: ...


@dataclass
class ShardState:
    attempts: dict[int, int] = field(default_factory=dict)  # seq -> failed attempts
    batch_limit: int = 0
    outage_s: float = 0.0  # current back-off while a store is unavailable


class StreamPoller:
    def __init__(self, source: StreamSource, invoke: Invoke) -> None:
        self._source = source
        self._invoke = invoke
        self._wakes: list[asyncio.Event] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.invocations = 0

    def notify(self) -> None:
        """Thread-safe: new records were published; wake every shard loop."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake_all)

    def _wake_all(self) -> None:
        for wake in self._wakes:
            wake.set()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for fn in wiring.stream_consumers():
            for shard in range(self._source.shards):
                wake = asyncio.Event()
                self._wakes.append(wake)
                self._tasks.append(asyncio.create_task(self._run(fn, shard, wake), name=f"poll-{fn.name}-{shard}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, fn: wiring.Function, shard: int, wake: asyncio.Event) -> None:
        trigger = fn.stream
        assert trigger is not None
        state = ShardState(batch_limit=trigger.batch_size)
        while True:
            wake.clear()
            try:
                processed = await self._step(fn, trigger, shard, state)
            except Exception:
                log.exception("poller %s/%s failed", fn.name, shard)
                processed = False
            if not processed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), IDLE_POLL_S)

    async def _step(self, fn: wiring.Function, trigger: wiring.StreamTrigger, shard: int, state: ShardState) -> bool:
        after = await asyncio.to_thread(self._source.checkpoint, fn.name, shard)
        records = await asyncio.to_thread(self._source.read, shard, after=after, limit=state.batch_limit)
        if not records:
            return False
        if await self._expire(fn, trigger, shard, records):
            return True
        if trigger.max_batching_window_s and len(records) < state.batch_limit and not state.attempts:
            await asyncio.sleep(min(trigger.max_batching_window_s, 1.0))
            records = await asyncio.to_thread(self._source.read, shard, after=after, limit=state.batch_limit)
        shape = getattr(self._source, "lambda_event", None)  # a Kafka source shapes MSK events (kafka_source.py)
        if shape is not None:
            event, by_sequence = shape(records, shard)
        else:
            by_sequence = {r.sequence_number or events.sequence_number(r.seq): r.seq for r in records}
            event = events.kinesis_event(
                [
                    events.KinesisInput(
                        sequence_number=r.sequence_number or events.sequence_number(r.seq),
                        partition_key=r.partition_key,
                        data=r.data.encode("utf-8", "surrogateescape"),
                        arrival_s=r.arrival_ms / 1000,
                        shard_id=f"shardId-{shard:012d}",
                    )
                    for r in records
                ]
            )
        self.invocations += 1
        try:
            result = await self._invoke(fn.name, event)
            failed = _failed(result, by_sequence)
            error = "reported as a batch item failure"
        except StoreUnavailable as exc:  # a store is down: wait and retry the same batch, however long it takes
            state.outage_s = min(max(0.2, state.outage_s * 2), OUTAGE_BACKOFF_MAX_S)
            log.warning("%s/%s: store unavailable (%s); retrying in %.1fs", fn.name, shard, exc, state.outage_s)
            await asyncio.sleep(state.outage_s)
            return True
        except Exception as exc:  # the whole invocation failed: retry, bisecting the batch
            failed = {records[0].seq}
            error = f"invocation failed: {exc!r}"
            state.batch_limit = max(1, len(records) // 2) if trigger.bisect_on_error else state.batch_limit
        state.outage_s = 0.0
        if not failed:
            await asyncio.to_thread(self._source.set_checkpoint, fn.name, shard, records[-1].seq)
            state.attempts.clear()
            state.batch_limit = trigger.batch_size
            return True
        first = min(failed)
        done = [r for r in records if r.seq < first]
        if done:
            await asyncio.to_thread(self._source.set_checkpoint, fn.name, shard, done[-1].seq)
        state.attempts[first] = state.attempts.get(first, 0) + 1
        if 0 <= trigger.max_retries < state.attempts[first]:  # -1: retried until the record's age runs out
            poison = next(r for r in records if r.seq == first)
            log.error("%s: record %s failed %s times; dead-lettered", fn.name, first, state.attempts[first])
            await asyncio.to_thread(self._source.dead_letter, fn.name, poison, error, reason=RETRIES_EXHAUSTED)
            await asyncio.to_thread(self._source.set_checkpoint, fn.name, shard, first)
            state.attempts.pop(first, None)
            state.batch_limit = trigger.batch_size
        else:
            await asyncio.sleep(min(0.05 * 2 ** state.attempts[first], 1.0))
        return True

    async def _expire(
        self, fn: wiring.Function, trigger: wiring.StreamTrigger, shard: int, records: list[StreamRecord]
    ) -> bool:
        """As Lambda does: records older than the trigger's max_record_age_s are not invoked again but dead-lettered
        whole (Lambda's S3 on-failure destination), and the shard moves on. False when none has expired."""
        oldest_ms = now_ms() - trigger.max_record_age_s * 1000
        expired = [r for r in records if 0 < r.arrival_ms < oldest_ms] if trigger.max_record_age_s >= 0 else []
        for record in expired:
            log.error("%s: record %s is older than %ss; dead-lettered", fn.name, record.seq, trigger.max_record_age_s)
            error = f"record older than max_record_age_s={trigger.max_record_age_s}"
            await asyncio.to_thread(self._source.dead_letter, fn.name, record, error, reason=RECORD_AGE_EXCEEDED)
        if expired:
            await asyncio.to_thread(self._source.set_checkpoint, fn.name, shard, max(r.seq for r in expired))
        return bool(expired)


def _failed(result: Any, by_sequence: dict[str, int]) -> set[int]:
    """The failed records' positions; an identifier that names no record of the batch fails the whole batch (what
    Lambda does with an invalid batchItemFailures response)."""
    if not isinstance(result, dict):
        return set()
    failures = result.get("batchItemFailures") or []
    identifiers = [_identifier(f.get("itemIdentifier", "")) for f in failures]
    if any(i not in by_sequence for i in identifiers):
        return {min(by_sequence.values())}
    return {by_sequence[i] for i in identifiers}


def _identifier(value: Any) -> str:
    """Kinesis names a failed record by its sequence number; Kafka by {"partition": "topic-partition", "offset"}."""
    if isinstance(value, dict):
        return f"{value.get('partition')}@{value.get('offset')}"  # kafka_source.kafka_identifier
    return str(value)

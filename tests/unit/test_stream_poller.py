"""The local event source mapping honours ReportBatchItemFailures: retries from the first failure, bisects a batch
whose invocation crashes, waits a store outage out, and dead-letters what it gives up on (a record past
max_record_age_s, or past max_retries when a trigger sets a count) through the dead-letter port, keeping the shard
moving. A poison record does not wait for that: the consumer edge quarantines it to the same port.

The consumer is a stream function as deployed: Powertools' BatchProcessor (``chirp.stream_consumer.consume``) runs
the handler on every record of a batch and reports each failure, so the records after a failed one are handled and
then delivered again with it: at least once, which is why every consumer is idempotent."""

import asyncio
import dataclasses
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chirp import cli, wiring
from chirp.adapters.embedded.stream import SqliteEventStream
from chirp.config import Settings
from chirp.local import events, poller
from chirp.local.context import LocalLambdaContext
from chirp.local.event_source import EventSource, MappingState
from chirp.model import Event, EventType
from chirp.ports import QUARANTINED, RECORD_AGE_EXCEEDED, RETRIES_EXHAUSTED, DeadLetterStore, StoreUnavailable
from chirp.stream_consumer import consume, decode_record

FANOUT = wiring.function("fanout").stream
assert FANOUT is not None
QUARANTINE_AFTER = FANOUT.quarantine_after
OUTAGES = 6  # failed invocations in a row, more than any retry count would allow


def _fanout_trigger(monkeypatch: pytest.MonkeyPatch, **changes: int) -> None:
    """The wiring table with the fanout trigger changed (the poller reads the table)."""
    functions = tuple(
        dataclasses.replace(fn, stream=dataclasses.replace(FANOUT, **changes)) if fn.name == "fanout" else fn  # type: ignore[type-var]
        for fn in wiring.FUNCTIONS
    )
    monkeypatch.setattr(wiring, "FUNCTIONS", functions)


@pytest.fixture(autouse=True)
def quick_idle_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(poller, "IDLE_POLL_S", 0.05)


def _source(path: Path, shards: int = 1) -> EventSource:
    return EventSource(SqliteEventStream(path / "stream.db", shards=shards), MappingState(path / "mapping.db"))


def _publish(source: EventSource, texts: list[str]) -> None:
    stream = source.reader
    assert isinstance(stream, SqliteEventStream)
    stream.publish([Event.new(EventType.USER_CREATED, "same-partition", {"text": t}) for t in texts])


class Consumer:
    """The fanout function with a handler that fails the ``poison`` texts; ``crash_on`` kills a whole invocation of
    more than one record (of any, with ``crash_alone``) before it answers (a timeout, out of memory); the store is
    down for the first ``outages`` invocations. With ``dead_letters`` the edge quarantines there as deployed. The
    other stream functions succeed."""

    def __init__(
        self,
        poison: frozenset[str] = frozenset(),
        crash_on: str | None = None,
        outages: int = 0,
        *,
        crash_alone: bool = False,
        dead_letters: DeadLetterStore | None = None,
    ) -> None:
        self.poison = poison
        self.crash_on = crash_on
        self.crash_alone = crash_alone
        self.outages = outages
        self.dead_letters = dead_letters
        self.seen: list[str] = []  # texts handled successfully, in order, repeats included
        self.poison_attempts = 0
        self.batches: list[int] = []
        self._store_down = False

    async def __call__(self, function: str, event: dict[str, Any]) -> Any:
        if function != "fanout":
            return {"batchItemFailures": []}
        self.batches.append(len(event["Records"]))
        texts = [decode_record(r["kinesis"]["data"]).data["text"] for r in event["Records"]]
        if self.crash_on in texts and (len(texts) > 1 or self.crash_alone):
            raise RuntimeError("consumer died mid-batch")
        self._store_down = self.outages > 0
        self.outages -= 1
        context = LocalLambdaContext("fanout")
        attempts = QUARANTINE_AFTER if self.dead_letters is not None else 1
        return consume(event, context, self._handle, dead_letters=self.dead_letters, attempts=attempts)

    def _handle(self, event: Event) -> None:
        text = event.data["text"]
        if self._store_down:
            raise StoreUnavailable("redis is down")
        if text in self.poison:
            self.poison_attempts += 1
            raise ValueError(f"cannot handle {text}")
        self.seen.append(text)


def caught_up(source: EventSource) -> Callable[[], bool]:
    """True once every stream function has checkpointed every record of every shard."""

    def check() -> bool:
        for shard in range(source.shards):
            records = source.read(shard, after=0, limit=10_000)
            last = records[-1].seq if records else 0
            if any(source.checkpoint(fn.name, shard) < last for fn in wiring.stream_consumers()):
                return False
        return True

    return check


async def _run_until(source: EventSource, consumer: Consumer, done: Callable[[], bool], timeout_s: float = 30) -> None:
    p = poller.StreamPoller(source, consumer)
    await p.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not done():
            assert asyncio.get_running_loop().time() < deadline, "the poller did not catch up in time"
            await asyncio.sleep(0.01)
    finally:
        await p.stop()


def test_a_poison_record_is_quarantined_whole_and_the_shard_keeps_moving(tmp_path: Path) -> None:
    """Given the edge as deployed (a dead-letter store, quarantine_after attempts) and a record no handler can take
    When the batch is delivered
    Then the poison is tried quarantine_after times within the one invocation, then kept whole in the dead-letter
    store, and the records around it are handled once: no retry of the batch, nothing blocked, nothing lost."""
    source = _source(tmp_path)
    _publish(source, ["a", "b", "poison", "c", "d"])
    consumer = Consumer(poison=frozenset({"poison"}), dead_letters=source.state.letters)
    asyncio.run(_run_until(source, consumer, caught_up(source)))
    assert consumer.seen == ["a", "b", "c", "d"]
    assert consumer.batches == [5]
    assert consumer.poison_attempts == QUARANTINE_AFTER
    letters = source.state.letters.list()
    assert [(letter.consumer, letter.reason) for letter in letters] == [("fanout", QUARANTINED)]
    [record] = letters[0].records
    published = source.read(0, after=0, limit=10)[2]
    assert (record.data, record.partition_key) == (published.data, published.partition_key)
    assert record.sequence_number == events.sequence_number(published.seq)  # as the event carried it
    assert "cannot handle poison" in letters[0].error


def test_with_a_retry_count_a_failing_record_is_dead_lettered_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a trigger with max_retries 3 and an edge without a dead-letter store (reports item failures)
    When a record keeps failing
    Then the mapping retries from it 3 times, dead-letters it (RetryAttemptsExhausted) and moves on."""
    _fanout_trigger(monkeypatch, max_retries=3)
    source = _source(tmp_path)
    _publish(source, ["a", "b", "poison", "c", "d"])
    consumer = Consumer(poison=frozenset({"poison"}))
    asyncio.run(_run_until(source, consumer, caught_up(source)))
    # Nothing lost. What precedes the poison is checkpointed once; what follows it was handled in every attempt of
    # the poison's batch (first try and 3 retries), then once more after the poison was dead-lettered.
    assert Counter(consumer.seen) == {"a": 1, "b": 1, "c": 5, "d": 5}
    assert consumer.seen[:2] == ["a", "b"] and consumer.seen[-2:] == ["c", "d"]
    letters = source.state.letters.list()
    assert [json.loads(letter.records[0].data)["data"]["text"] for letter in letters] == ["poison"]
    assert (letters[0].consumer, letters[0].reason) == ("fanout", RETRIES_EXHAUSTED)
    assert consumer.batches == [5] + [3] * 3 + [2]  # first try, retries from the poison, then the rest


def test_a_record_that_crashes_every_invocation_is_dead_lettered_when_it_expires(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given retries without a count (-1, as deployed) and a record that kills every invocation it is in (the edge
    cannot quarantine what crashes it)
    When it outlives max_record_age_s
    Then it, and the records stuck behind it that expired too, are dead-lettered whole (RecordAgeExceeded), as
    Lambda sends them to the S3 destination: nothing is lost, and the shard moves on to newer records."""
    _fanout_trigger(monkeypatch, max_record_age_s=1)
    source = _source(tmp_path)
    _publish(source, ["a", "killer", "c"])
    consumer = Consumer(crash_on="killer", crash_alone=True, dead_letters=source.state.letters)
    started = time.monotonic()
    asyncio.run(_run_until(source, consumer, caught_up(source)))
    assert time.monotonic() - started >= 1  # retried, not given up on, while the record was young
    assert consumer.seen == ["a"]
    letters = source.state.letters.list()
    assert {(letter.consumer, letter.reason) for letter in letters} == {("fanout", RECORD_AGE_EXCEEDED)}
    assert [json.loads(letter.records[0].data)["data"]["text"] for letter in letters] == ["killer", "c"]
    _publish(source, ["d"])
    later = Consumer(dead_letters=source.state.letters)
    asyncio.run(_run_until(source, later, caught_up(source)))
    assert later.seen == ["d"]


def test_a_crash_mid_batch_is_retried_by_bisecting_without_double_processing(tmp_path: Path) -> None:
    source = _source(tmp_path)
    texts = [f"t{i}" for i in range(8)]
    _publish(source, texts)
    consumer = Consumer(crash_on="t5")
    asyncio.run(_run_until(source, consumer, caught_up(source)))
    assert consumer.seen == texts  # a crashed invocation handled nothing, so nothing ran twice
    assert consumer.batches[0] == 8 and consumer.batches[1] == 4
    assert source.state.letters.list() == []


def test_checkpoints_survive_a_new_poller(tmp_path: Path) -> None:
    first_source = _source(tmp_path, shards=2)
    _publish(first_source, ["x", "y"])
    first = Consumer()
    asyncio.run(_run_until(first_source, first, caught_up(first_source)))
    _publish(first_source, ["z"])
    second_source = _source(tmp_path, shards=2)  # a restart: the same files, opened again
    second = Consumer()
    asyncio.run(_run_until(second_source, second, caught_up(second_source)))
    assert first.seen == ["x", "y"] and second.seen == ["z"]


def test_checkpoints_only_move_forward(tmp_path: Path) -> None:
    state = MappingState(tmp_path / "mapping.db")
    state.set_checkpoint("fanout", 0, 10)
    state.set_checkpoint("fanout", 0, 7)
    assert state.checkpoint("fanout", 0) == 10
    assert state.checkpoint("fanout", 1) == 0


def test_sequence_numbers_round_trip() -> None:
    assert events.parse_sequence_number(events.sequence_number(123456)) == 123456


def test_an_unavailable_store_is_waited_out_not_dead_lettered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(poller, "OUTAGE_BACKOFF_MAX_S", 0.2)
    source = _source(tmp_path)
    _publish(source, ["kept", "also kept"])
    consumer = Consumer(outages=OUTAGES, dead_letters=source.state.letters)
    asyncio.run(_run_until(source, consumer, caught_up(source)))
    assert consumer.seen == ["kept", "also kept"]
    assert len(consumer.batches) == OUTAGES + 1
    assert source.state.letters.list() == []


def test_dead_letters_are_replayed_once_by_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIRP_BACKEND", "embedded")
    settings = Settings(data_dir=tmp_path)
    stream = SqliteEventStream(tmp_path / "stream.db", shards=2)
    source = EventSource(stream, MappingState.for_settings(settings))  # where `chirp dlq` looks
    _publish(source, ["ok", "poison"])
    consumer = Consumer(poison=frozenset({"poison"}), dead_letters=source.state.letters)
    asyncio.run(_run_until(source, consumer, caught_up(source)))
    assert len(source.state.letters.list()) == 1
    before = stream.latest_seq()
    assert cli.main(["dlq", "replay", "--data-dir", str(tmp_path)]) == 0
    assert source.state.letters.list() == []
    assert len(source.state.letters.list(include_replayed=True)) == 1
    replayed = [r for shard in range(2) for r in stream.read(shard, after=before, limit=10)]
    assert [json.loads(r.data)["data"]["text"] for r in replayed] == ["poison"]

"""The local event source mapping honours ReportBatchItemFailures: retries from the first failure, bisects a batch
whose invocation crashes, dead-letters a poison record after max_retries and keeps the shard moving.

The consumer is a stream function as deployed: Powertools' BatchProcessor (``chirp.stream_consumer.consume``) runs
the handler on every record of a batch and reports each failure, so the records after a failed one are handled and
then delivered again with it: at least once, which is why every consumer is idempotent."""

import asyncio
import json
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
from chirp.ports import StoreUnavailable
from chirp.stream_consumer import consume, decode_record

MAX_RETRIES = wiring.function("fanout").stream.max_retries  # type: ignore[union-attr]


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
    more than one record before it answers (a timeout, out of memory); the store is down for the first ``outages``
    invocations. The other stream functions succeed."""

    def __init__(self, poison: frozenset[str] = frozenset(), crash_on: str | None = None, outages: int = 0) -> None:
        self.poison = poison
        self.crash_on = crash_on
        self.outages = outages
        self.seen: list[str] = []  # texts handled successfully, in order, repeats included
        self.batches: list[int] = []
        self._store_down = False

    async def __call__(self, function: str, event: dict[str, Any]) -> Any:
        if function != "fanout":
            return {"batchItemFailures": []}
        self.batches.append(len(event["Records"]))
        texts = [decode_record(r["kinesis"]["data"]).data["text"] for r in event["Records"]]
        if self.crash_on in texts and len(texts) > 1:
            raise RuntimeError("consumer died mid-batch")
        self._store_down = self.outages > 0
        self.outages -= 1
        return consume(event, LocalLambdaContext("fanout"), self._handle)

    def _handle(self, event: Event) -> None:
        text = event.data["text"]
        if self._store_down:
            raise StoreUnavailable("redis is down")
        if text in self.poison:
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


def test_a_poison_record_is_dead_lettered_and_the_shard_keeps_moving(tmp_path: Path) -> None:
    source = _source(tmp_path)
    _publish(source, ["a", "b", "poison", "c", "d"])
    consumer = Consumer(poison=frozenset({"poison"}))
    asyncio.run(_run_until(source, consumer, caught_up(source)))
    # Nothing lost. What precedes the poison is checkpointed once; what follows it was handled in every attempt of
    # the poison's batch (first try and max_retries retries), then once more after the poison was dead-lettered.
    assert Counter(consumer.seen) == {"a": 1, "b": 1, "c": MAX_RETRIES + 2, "d": MAX_RETRIES + 2}
    assert consumer.seen[:2] == ["a", "b"] and consumer.seen[-2:] == ["c", "d"]
    letters = source.state.dead_letters()
    assert [json.loads(letter.record.data)["data"]["text"] for letter in letters] == ["poison"]
    assert letters[0].consumer == "fanout"
    assert consumer.batches == [5] + [3] * MAX_RETRIES + [2]  # first try, retries from the poison, then the rest


def test_a_crash_mid_batch_is_retried_by_bisecting_without_double_processing(tmp_path: Path) -> None:
    source = _source(tmp_path)
    texts = [f"t{i}" for i in range(8)]
    _publish(source, texts)
    consumer = Consumer(crash_on="t5")
    asyncio.run(_run_until(source, consumer, caught_up(source)))
    assert consumer.seen == texts  # a crashed invocation handled nothing, so nothing ran twice
    assert consumer.batches[0] == 8 and consumer.batches[1] == 4
    assert source.state.dead_letters() == []


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
    consumer = Consumer(outages=MAX_RETRIES + 3)  # more failed invocations than max_retries
    asyncio.run(_run_until(source, consumer, caught_up(source)))
    assert consumer.seen == ["kept", "also kept"]
    assert len(consumer.batches) == MAX_RETRIES + 4
    assert source.state.dead_letters() == []


def test_dead_letters_are_replayed_once_by_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIRP_BACKEND", "embedded")
    settings = Settings(data_dir=tmp_path)
    stream = SqliteEventStream(tmp_path / "stream.db", shards=2)
    source = EventSource(stream, MappingState.for_settings(settings))  # where `chirp dlq` looks
    _publish(source, ["ok", "poison"])
    asyncio.run(_run_until(source, Consumer(poison=frozenset({"poison"})), caught_up(source)))
    assert len(source.state.dead_letters()) == 1
    before = stream.latest_seq()
    assert cli.main(["dlq", "replay", "--data-dir", str(tmp_path)]) == 0
    assert source.state.dead_letters() == []
    replayed = [r for shard in range(2) for r in stream.read(shard, after=before, limit=10)]
    assert [json.loads(r.data)["data"]["text"] for r in replayed] == ["poison"]

"""The local event source mapping honours ReportBatchItemFailures: retries from the first failure, bisects a batch
whose invocation crashes, dead-letters a poison record after max_retries and keeps the shard moving."""

import asyncio
import json
from pathlib import Path
from typing import Any

from chirp import cli, wiring
from chirp.adapters.embedded.stream import SqliteEventStream
from chirp.local import events, poller
from chirp.model import Event, EventType
from chirp.ports import StoreUnavailable


def _publish(stream: SqliteEventStream, texts: list[str]) -> None:
    stream.publish([Event.new(EventType.USER_CREATED, "same-partition", {"text": t}) for t in texts])


class Consumer:
    """A stand-in for one stream function: fails chosen texts, optionally crashes a whole invocation."""

    def __init__(self, poison: set[str], crash_on: str | None = None) -> None:
        self.poison = poison
        self.crash_on = crash_on
        self.seen: list[str] = []
        self.batches: list[int] = []

    async def __call__(self, function: str, event: dict[str, Any]) -> Any:
        if function != "fanout":
            return {"batchItemFailures": []}
        self.batches.append(len(event["Records"]))
        texts = []
        failures = []
        for record in event["Records"]:
            text = Event.model_validate_json(events_b64(record)).data["text"]
            if self.crash_on == text and len(event["Records"]) > 1:
                raise RuntimeError("consumer died mid-batch")
            if text in self.poison:
                failures.append({"itemIdentifier": record["kinesis"]["sequenceNumber"]})
                break  # Kinesis consumers stop at the first failure: later records are retried too
            texts.append(text)
        self.seen.extend(texts)
        return {"batchItemFailures": failures}


def events_b64(record: dict[str, Any]) -> str:
    import base64

    return base64.b64decode(record["kinesis"]["data"]).decode()


async def _run_until_idle(stream: SqliteEventStream, consumer: Consumer, seconds: float = 2.0) -> None:
    p = poller.StreamPoller(stream, consumer)
    await p.start()
    await asyncio.sleep(seconds)
    await p.stop()


def test_a_poison_record_is_dead_lettered_and_the_shard_keeps_moving(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(poller, "IDLE_POLL_S", 0.05)
    stream = SqliteEventStream(tmp_path / "s.db", shards=1)
    _publish(stream, ["a", "b", "poison", "c", "d"])
    consumer = Consumer(poison={"poison"})
    asyncio.run(_run_until_idle(stream, consumer))
    assert consumer.seen == ["a", "b", "c", "d"]  # nothing lost, nothing twice
    letters = stream.dead_letters()
    assert [json.loads(letter.record.data)["data"]["text"] for letter in letters] == ["poison"]
    assert letters[0].consumer == "fanout"
    max_retries = wiring.function("fanout").stream.max_retries  # type: ignore[union-attr]
    assert len(consumer.batches) == 1 + max_retries + 1  # first try, retries, then the rest


def test_a_crash_mid_batch_is_retried_by_bisecting_without_double_processing(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(poller, "IDLE_POLL_S", 0.05)
    stream = SqliteEventStream(tmp_path / "s.db", shards=1)
    texts = [f"t{i}" for i in range(8)]
    _publish(stream, texts)
    consumer = Consumer(poison=set(), crash_on="t5")
    asyncio.run(_run_until_idle(stream, consumer))
    assert consumer.seen == texts
    assert consumer.batches[0] == 8 and consumer.batches[1] == 4
    assert stream.dead_letters() == []


def test_checkpoints_survive_a_new_poller(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(poller, "IDLE_POLL_S", 0.05)
    stream = SqliteEventStream(tmp_path / "s.db", shards=2)
    _publish(stream, ["x", "y"])
    first = Consumer(poison=set())
    asyncio.run(_run_until_idle(stream, first, 1.0))
    _publish(stream, ["z"])
    second = Consumer(poison=set())
    asyncio.run(_run_until_idle(SqliteEventStream(tmp_path / "s.db", shards=2), second, 1.0))
    assert first.seen == ["x", "y"] and second.seen == ["z"]


def test_sequence_numbers_round_trip() -> None:
    assert events.parse_sequence_number(events.sequence_number(123456)) == 123456


class FlakyStore(Consumer):
    """A consumer whose store is down for the first few invocations."""

    def __init__(self, outages: int) -> None:
        super().__init__(poison=set())
        self.outages = outages

    async def __call__(self, function: str, event: dict[str, Any]) -> Any:
        if function == "fanout" and self.outages > 0:
            self.outages -= 1
            raise StoreUnavailable("redis is down")
        return await super().__call__(function, event)


def test_an_unavailable_store_is_waited_out_not_dead_lettered(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(poller, "IDLE_POLL_S", 0.05)
    monkeypatch.setattr(poller, "OUTAGE_BACKOFF_MAX_S", 0.2)
    stream = SqliteEventStream(tmp_path / "s.db", shards=1)
    _publish(stream, ["kept", "also kept"])
    consumer = FlakyStore(outages=6)  # more failures than max_retries
    asyncio.run(_run_until_idle(stream, consumer, 3.0))
    assert consumer.seen == ["kept", "also kept"]
    assert stream.dead_letters() == []


def test_dead_letters_are_replayed_once_by_the_cli(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(poller, "IDLE_POLL_S", 0.05)
    monkeypatch.setenv("CHIRP_BACKEND", "embedded")
    stream = SqliteEventStream(tmp_path / "stream.db", shards=2)
    _publish(stream, ["ok", "poison"])
    asyncio.run(_run_until_idle(stream, Consumer(poison={"poison"}), 2.5))
    assert len(stream.dead_letters()) == 1
    before = stream.latest_seq()
    assert cli.main(["dlq", "replay", "--data-dir", str(tmp_path)]) == 0
    assert stream.dead_letters() == []
    replayed = [r for shard in range(2) for r in stream.read(shard, after=before, limit=10)]
    assert [json.loads(r.data)["data"]["text"] for r in replayed] == ["poison"]

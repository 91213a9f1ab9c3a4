"""The local MSK event source mapping on the real Kafka stand-in: the poller reads the topic's partitions as shards,
invokes the consumer with Lambda's MSK event shape, and commits each consumer's group offset only after its batch
succeeded. A reported item failure is retried from that record (the ones after it are delivered again: at least
once); a crashed invocation commits nothing, and a new mapping (a restarted runtime) resumes from the committed
offsets, re-delivering exactly what was not acknowledged."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chirp import wiring
from chirp.adapters.kafka_stream import KafkaEventStream, client_config
from chirp.container import ensure_kafka_topic
from chirp.local import poller
from chirp.local.context import LocalLambdaContext
from chirp.local.event_source import MappingState
from chirp.local.kafka_source import KafkaSource, group_id
from chirp.local.servers.harness import Endpoint, ServerSet, kafka_config
from chirp.model import Event, EventType
from chirp.stream_consumer import consume

KEY = "same-author"


@pytest.fixture(scope="module")
def ep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    with ServerSet(tmp_path_factory.mktemp("kafka-mapping")) as servers:
        yield servers.start(["kafka"])["kafka"]


@pytest.fixture(autouse=True)
def quick_idle_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(poller, "IDLE_POLL_S", 0.05)


def _app(ep: Endpoint) -> dict[str, Any]:
    return client_config(
        f"{ep.host}:{ep.port}",
        auth="scram",
        region="us-east-1",
        username=str(ep.extra["username"]),
        password=str(ep.extra["password"]),
        ca_file=str(ep.extra["ca_file"]),
    )


@pytest.fixture
def topic(ep: Endpoint) -> str:
    name = f"mapping-{uuid.uuid4().hex[:8]}"
    ensure_kafka_topic(kafka_config(ep, admin=True), name, partitions=2, retention_ms=3_600_000)
    return name


class Fanout:
    """The fanout function behind the real consumer edge; fails ``fail_once`` texts once (a batch item failure) and
    crashes every invocation while ``crashing``. The other stream functions succeed."""

    def __init__(self, fail_once: set[str] | None = None, *, crashing: bool = False) -> None:
        self.fail_once = set(fail_once or ())
        self.crashing = crashing
        self.seen: list[str] = []
        self.shapes: set[str] = set()

    async def __call__(self, function: str, event: dict[str, Any]) -> Any:
        if function != "fanout":
            return {"batchItemFailures": []}
        self.shapes.add(str(event.get("eventSource")))
        if self.crashing:
            raise RuntimeError("consumer died mid-batch")
        return consume(event, LocalLambdaContext("fanout"), self._handle)

    def _handle(self, event: Event) -> None:
        text = str(event.data["text"])
        if text in self.fail_once:
            self.fail_once.discard(text)
            raise ValueError(f"cannot handle {text} yet")
        self.seen.append(text)


def _source(ep: Endpoint, topic: str, tmp_path: Path) -> KafkaSource:
    return KafkaSource(_app(ep), topic, MappingState(tmp_path / "mapping.db"))


def _caught_up(source: KafkaSource, consumers: list[str]) -> Callable[[], bool]:
    def check() -> bool:
        for shard in range(source.shards):
            records = source.read(shard, after=0, limit=10_000)
            last = records[-1].seq if records else 0
            if any(source.checkpoint(name, shard) < last for name in consumers):
                return False
        return True

    return check


async def _run(source: KafkaSource, consumer: Fanout, done: Callable[[], bool], timeout_s: float = 30) -> None:
    p = poller.StreamPoller(source, consumer)
    await p.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not await asyncio.to_thread(done):
            assert asyncio.get_running_loop().time() < deadline, "the mapping did not catch up in time"
            await asyncio.sleep(0.05)
    finally:
        await p.stop()


def _publish(ep: Endpoint, topic: str, texts: list[str]) -> None:
    KafkaEventStream(_app(ep), topic).publish([Event.new(EventType.USER_CREATED, KEY, {"text": t}) for t in texts])


def test_records_arrive_in_msk_shape_in_order_and_offsets_follow(
    ep: Endpoint, topic: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    texts = [f"r{i}" for i in range(12)]
    _publish(ep, topic, texts)
    source = _source(ep, topic, tmp_path)
    request.addfinalizer(source.close)  # librdkafka consumers must be closed, never left to the garbage collector
    consumer = Fanout(fail_once={"r4"})
    everyone = [fn.name for fn in wiring.stream_consumers()]
    asyncio.run(_run(source, consumer, _caught_up(source, everyone)))
    assert consumer.shapes == {"aws:kafka"}
    # r4 failed once: the mapping resumed from it, so it and every record after it came again, in order (at least
    # once); what came before it was acknowledged and never delivered again.
    assert consumer.seen[-8:] == texts[4:]
    assert sorted(set(consumer.seen)) == sorted(texts)
    assert consumer.seen[:4] == texts[:4] and all(consumer.seen.count(t) == 1 for t in texts[:4])
    # Each consumer's position is its own group's committed offset, at the end of the partition that holds the key.
    shard = next(s for s in range(source.shards) if source.read(s, after=0, limit=1))
    end = source.read(shard, after=0, limit=100)[-1].seq
    assert {name: source.checkpoint(name, shard) for name in everyone} == dict.fromkeys(everyone, end)
    assert group_id("fanout") == "chirp-fanout"


def test_a_crashed_consumer_commits_nothing_and_a_new_mapping_redelivers(
    ep: Endpoint, topic: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _publish(ep, topic, ["a", "b", "c"])
    source = _source(ep, topic, tmp_path)
    request.addfinalizer(source.close)
    everyone = [fn.name for fn in wiring.stream_consumers()]
    asyncio.run(_run(source, Fanout(), _caught_up(source, everyone)))
    _publish(ep, topic, ["d", "e"])
    shard = next(s for s in range(source.shards) if source.read(s, after=0, limit=1))
    before = source.checkpoint("fanout", shard)
    crashing = Fanout(crashing=True)
    others = [name for name in everyone if name != "fanout"]
    asyncio.run(_run(source, crashing, _caught_up(source, others)))  # the others move on; fanout keeps crashing
    assert source.checkpoint("fanout", shard) == before
    restarted = _source(ep, topic, tmp_path)  # a new runtime: positions come from the consumer groups
    request.addfinalizer(restarted.close)
    consumer = Fanout()
    asyncio.run(_run(restarted, consumer, _caught_up(restarted, everyone)))
    assert consumer.seen == ["d", "e"]  # what was acknowledged is not delivered again; what was not, is

"""Contract of the EventStream port, on every stream Chirp runs on: the embedded log, Kinesis (the kinesalite
stand-in) and Kafka (the Apache Kafka stand-in, SASL_SSL/SCRAM, as MSK). Each is built by the container from
settings, as the functions build it, and read back as the event source mapping reads it (chirp.local)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chirp.config import Settings, load_settings
from chirp.container import event_stream
from chirp.local.event_source import KinesisShardReader, MappingState
from chirp.local.kafka_source import KafkaSource
from chirp.local.servers.harness import ServerSet
from chirp.local.servers_env import servers_environment
from chirp.model import Event, EventType
from chirp.ports import EventStream, StoreUnavailable, StreamRecord

STREAMS = ["embedded", "kinesis", "kafka"]
STAND_INS = {"kinesis": ["kinesis"], "kafka": ["moto", "kafka"]}  # moto: the Secrets Manager holding credentials


class Reader:
    """Reads every shard of a stream from the start, as the local event source mapping does."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self._after: dict[int, int] = {}  # per shard: the last sequence number ``poll`` read

    def poll(self, limit: int) -> list[StreamRecord]:
        """Every record after the last one this reader polled, ``limit`` at a time (the mapping's loop)."""
        records: list[StreamRecord] = []
        for shard in range(self.source.shards):
            while batch := self.source.read(shard, after=self._after.get(shard, 0), limit=limit):
                records.extend(batch)
                self._after[shard] = batch[-1].seq
        return records

    def all(self) -> list[StreamRecord]:
        records: list[StreamRecord] = []
        for shard in range(self.source.shards):
            after = 0
            while batch := self.source.read(shard, after=after, limit=100):
                records.extend(batch)
                after = batch[-1].seq
        return records


@pytest.fixture(scope="module", params=STREAMS)
def stream_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def stand_ins(stream_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if stream_kind == "embedded":
        yield {}
        return
    with ServerSet(tmp_path_factory.mktemp(f"stream-{stream_kind}")) as servers:
        yield servers.start(STAND_INS[stream_kind])


@pytest.fixture
def stream_and_reader(
    stream_kind: str, stand_ins: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[EventStream, Reader, Settings]]:
    made = _stream_and_reader(stream_kind, stand_ins, tmp_path, monkeypatch)
    yield made
    close = getattr(made[1].source, "close", None)
    if close is not None:  # Kafka: a librdkafka consumer left to the garbage collector can crash the process
        close()


def _stream_and_reader(
    stream_kind: str, stand_ins: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[EventStream, Reader, Settings]:
    namespace = f"c{os.urandom(4).hex()}"
    if stream_kind == "embedded":
        settings = Settings(backend="embedded", data_dir=tmp_path, stream_shards=2)
        stream = event_stream(settings)
        return stream, Reader(stream), settings
    env = servers_environment(stand_ins, namespace=namespace)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    stream = event_stream(settings)
    if stream_kind == "kinesis":
        from chirp.container import aws_client
        from chirp.local.provision import ensure_stream

        kinesis = aws_client("kinesis", settings)
        ensure_stream(kinesis, settings.stream_name, 2)
        return stream, Reader(KinesisShardReader(kinesis, settings.stream_name)), settings
    state = MappingState(tmp_path / "mapping.db")
    from chirp.container import kafka_config

    return stream, Reader(KafkaSource(kafka_config(settings), settings.stream_name, state)), settings


def _events(author: str, count: int) -> list[Event]:
    return [Event.new(EventType.TWEET_CREATED, author, {"tweet_id": i, "author_id": author}) for i in range(count)]


def test_every_published_event_is_read_back_once(stream_and_reader: tuple[EventStream, Reader, Settings]) -> None:
    stream, reader, _ = stream_and_reader
    published = _events("1", 3) + _events("2", 3) + _events("3", 3)
    stream.publish(published)
    read = [Event.model_validate(json.loads(r.data)) for r in reader.all()]
    assert sorted(e.event_id for e in read) == sorted(e.event_id for e in published)


def test_one_keys_events_stay_in_order_on_one_shard(stream_and_reader: tuple[EventStream, Reader, Settings]) -> None:
    stream, reader, _ = stream_and_reader
    for batch in range(4):  # several publishes: order must hold across calls, not only within one
        stream.publish(_events("42", 5) if batch % 2 == 0 else _events("7", 5))
    records = reader.all()
    by_key: dict[str, list[StreamRecord]] = {}
    for r in records:
        by_key.setdefault(r.partition_key, []).append(r)
    assert set(by_key) == {"42", "7"}
    for key, mine in by_key.items():
        assert len({r.shard for r in mine}) == 1, f"key {key} spread over shards"
        ids = [Event.model_validate(json.loads(r.data)).data["tweet_id"] for r in mine]
        assert ids == [0, 1, 2, 3, 4] * 2
        assert [r.seq for r in mine] == sorted(r.seq for r in mine)


def test_reading_on_in_small_batches_reads_each_record_once(
    stream_and_reader: tuple[EventStream, Reader, Settings],
) -> None:
    # Given events read on from the last one read, two at a time, up to the end of the stream
    stream, reader, _ = stream_and_reader
    stream.publish(_events("5", 5))
    first = reader.poll(limit=2)
    # When more arrive after that (empty) last read, and are read on the same way
    stream.publish(_events("5", 3))
    second = reader.poll(limit=2)

    # Then each batch of events is read once, in order, nothing before it again
    def tweet_ids(records: list[StreamRecord]) -> list[int]:
        return [Event.model_validate(json.loads(r.data)).data["tweet_id"] for r in records]

    assert tweet_ids(first) == [0, 1, 2, 3, 4]
    assert tweet_ids(second) == [0, 1, 2]
    assert reader.poll(limit=2) == []


def test_raw_replay_puts_back_the_exact_bytes(stream_and_reader: tuple[EventStream, Reader, Settings]) -> None:
    stream, reader, _ = stream_and_reader
    raw = '{"not": "an event", "text": "\u00e9\u2603"}  '  # a poison record, kept exactly (spaces, non-ASCII)
    stream.publish_raw("99", raw)
    (record,) = reader.all()
    assert record.partition_key == "99"
    assert record.data.encode("utf-8", "surrogateescape") == raw.encode()


@pytest.mark.parametrize("kind", ["kinesis", "kafka"])
def test_an_unreachable_stream_is_a_store_outage(kind: str) -> None:
    closed = "127.0.0.1:9"  # the discard port: nothing listens
    stream: EventStream
    if kind == "kinesis":
        stream = event_stream(Settings(backend="servers", kinesis_endpoint_url=f"http://{closed}", store_timeout_s=0.5))
    else:
        from chirp.adapters.kafka_stream import KafkaEventStream, client_config

        config = client_config(closed, auth="scram", region="us-east-1", username="u", password="p", timeout_s=1.0)
        stream = KafkaEventStream(config, "chirp-events", timeout_s=1.0)
    with pytest.raises(StoreUnavailable):
        stream.publish(_events("1", 1))

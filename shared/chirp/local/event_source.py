"""What an event source mapping is besides the poller: a reader of the stream's shards and the state it keeps --
per consumer and shard the last processed sequence number, and the dead letters (on AWS, Lambda keeps the
checkpoints and sends expired batches to its S3 on-failure destination). One state file for both backends, the
dead letters beside it through the dead-letter port (the container's); the embedded stream's log is read in place,
a Kinesis stream (the stand-in) over the Kinesis API."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chirp.config import Settings
from chirp.container import Container, aws_client, embedded_stream, local_dead_letters
from chirp.model import now_ms
from chirp.ports import RETRIES_EXHAUSTED, DeadLetter, DeadLetterStore, StreamReader, StreamRecord, from_raw
from chirp.sqlite import Database

if TYPE_CHECKING:
    from chirp.local.kafka_source import KafkaSource

log = logging.getLogger("chirp.event_source")
MAX_KEPT_ITERATORS = 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    consumer TEXT NOT NULL, shard INTEGER NOT NULL, sequence_number TEXT NOT NULL, PRIMARY KEY (consumer, shard));
"""


class MappingState:
    """Checkpoints of the local event source mappings (sequence numbers kept as text: Kinesis's are up to 128-bit
    decimals), and where their dead letters go: the dead-letter port, by default the table in the same file."""

    def __init__(self, path: Path, dead_letters: DeadLetterStore | None = None) -> None:
        self._db = Database(path, SCHEMA)
        self.letters = dead_letters if dead_letters is not None else local_dead_letters(path)

    @classmethod
    def for_settings(cls, settings: Settings, dead_letters: DeadLetterStore | None = None) -> MappingState:
        return cls(settings.data_dir / f"mapping-{settings.stream_name}.db", dead_letters)

    def checkpoint(self, consumer: str, shard: int) -> int:
        row = self._db.one(
            "SELECT sequence_number FROM checkpoints WHERE consumer = ? AND shard = ?", (consumer, shard)
        )
        return int(row[0]) if row else 0

    def set_checkpoint(self, consumer: str, shard: int, seq: int) -> None:
        """Checkpoints only move forward."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT sequence_number FROM checkpoints WHERE consumer = ? AND shard = ?", (consumer, shard)
            ).fetchone()
            if row is not None and int(row[0]) >= seq:
                return
            conn.execute(
                "INSERT INTO checkpoints (consumer, shard, sequence_number) VALUES (?,?,?)"
                " ON CONFLICT(consumer, shard) DO UPDATE SET sequence_number = excluded.sequence_number",
                (consumer, shard, str(seq)),
            )

    def checkpoints(self) -> list[tuple[str, int, int]]:
        """Every (consumer, shard, sequence number) checkpoint."""
        rows = self._db.query("SELECT consumer, shard, sequence_number FROM checkpoints ORDER BY consumer, shard")
        return [(str(r[0]), int(r[1]), int(r[2])) for r in rows]

    def rewind(self, consumer: str, shard: int, seq: int) -> None:
        """Move a checkpoint back (``set_checkpoint`` only moves forward): the stream no longer holds the records
        after ``seq``."""
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE checkpoints SET sequence_number = ? WHERE consumer = ? AND shard = ?",
                (str(seq), consumer, shard),
            )

    def dead_letter(self, consumer: str, record: StreamRecord, error: str, *, reason: str = RETRIES_EXHAUSTED) -> None:
        """What the mapping gave up on (Lambda's on-failure destination), whole, through the dead-letter port."""
        self.letters.put(DeadLetter(consumer, reason, error, now_ms(), (record,)))


class KinesisShardReader:
    """A StreamReader over a real Kinesis stream (the stand-in), reading each shard as an event source mapping
    does: from TRIM_HORIZON, then after the checkpoint's sequence number."""

    def __init__(self, client: Any, stream_name: str) -> None:
        self._kinesis = client
        self._stream = stream_name
        shards = client.list_shards(StreamName=stream_name)["Shards"]
        self._shard_ids = [s["ShardId"] for s in shards]
        self.shards = len(self._shard_ids)
        # (shard, last sequence number read) -> the NextShardIterator after it, as Lambda's mapping keeps reading:
        # a poll is then one request, not two (GetShardIterator + GetRecords). Measured on the bench's post
        # workload, the polls were most of the stand-in's requests, and the posts' puts queued behind them.
        self._next: dict[tuple[int, int], str] = {}

    def reconcile(self, state: MappingState) -> None:
        """A checkpoint the stream does not hold (a stand-in that lost its last records in a power loss, or a new
        stream under an old data directory) would stop its consumer or skip the shard's new records. Every record
        such a shard still holds came before the lost checkpoint, so was processed: resume after the shard's last
        record (from its start if it has none)."""
        for consumer, shard, seq in state.checkpoints():
            if shard >= self.shards or self._holds(shard, seq):
                continue
            last = self._last_sequence(shard)
            log.warning(
                "%s/%s: checkpoint %s is not in stream %s (lost records, or a new stream): resuming after %s",
                consumer,
                shard,
                seq,
                self._stream,
                last or "its start",
            )
            state.rewind(consumer, shard, last)

    def _holds(self, shard: int, seq: int) -> bool:
        """Whether the shard has the record ``seq`` (read, not just asked for an iterator after it: a stand-in
        may give one for any number that names the shard)."""
        try:
            iterator = self._kinesis.get_shard_iterator(
                StreamName=self._stream,
                ShardId=self._shard_ids[shard],
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                StartingSequenceNumber=str(seq),
            )["ShardIterator"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("ResourceNotFoundException", "InvalidArgumentException"):
                return False
            raise
        records = self._kinesis.get_records(ShardIterator=iterator, Limit=1)["Records"]
        return bool(records) and int(records[0]["SequenceNumber"]) == seq

    def _last_sequence(self, shard: int) -> int:
        iterator = self._kinesis.get_shard_iterator(
            StreamName=self._stream, ShardId=self._shard_ids[shard], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        last = 0
        while iterator:
            page = self._kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            if page["Records"]:
                last = int(page["Records"][-1]["SequenceNumber"])
            elif not page.get("MillisBehindLatest"):
                break
            iterator = page.get("NextShardIterator")
        return last

    def read(self, shard: int, *, after: int, limit: int) -> list[StreamRecord]:
        kept = self._next.pop((shard, after), None)  # atomic: two pollers never share one iterator
        page: dict[str, Any] | None = None
        if kept is not None:
            try:
                page = self._kinesis.get_records(ShardIterator=kept, Limit=limit)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ExpiredIteratorException":
                    raise
        if page is None:
            page = self._kinesis.get_records(ShardIterator=self._iterator(shard, after), Limit=limit)
        records = page["Records"]
        following = page.get("NextShardIterator")
        if following:  # a closed shard has none
            if len(self._next) >= MAX_KEPT_ITERATORS:  # positions no poller came back to (a retried batch's)
                self._next.clear()
            self._next[(shard, int(records[-1]["SequenceNumber"]) if records else after)] = following
        return [
            StreamRecord(
                seq=int(r["SequenceNumber"]),
                shard=shard,
                partition_key=r["PartitionKey"],
                data=from_raw(bytes(r["Data"])),
                arrival_ms=int(r["ApproximateArrivalTimestamp"].timestamp() * 1000),
                sequence_number=r["SequenceNumber"],
            )
            for r in records
        ]

    def _iterator(self, shard: int, after: int) -> str:
        """A new iterator: after the sequence number ``after``, or at the shard's start (0)."""
        shard_id = self._shard_ids[shard]
        if after:
            iterator = self._kinesis.get_shard_iterator(
                StreamName=self._stream,
                ShardId=shard_id,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                StartingSequenceNumber=str(after),
            )["ShardIterator"]
        else:
            iterator = self._kinesis.get_shard_iterator(
                StreamName=self._stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        return str(iterator)


class EventSource:
    """What the poller drives: a stream's shards plus the mapping's state."""

    def __init__(self, reader: StreamReader, state: MappingState) -> None:
        self.reader = reader
        self.state = state

    @property
    def shards(self) -> int:
        return self.reader.shards

    def read(self, shard: int, *, after: int, limit: int) -> list[StreamRecord]:
        return self.reader.read(shard, after=after, limit=limit)

    def checkpoint(self, consumer: str, shard: int) -> int:
        return self.state.checkpoint(consumer, shard)

    def set_checkpoint(self, consumer: str, shard: int, seq: int) -> None:
        self.state.set_checkpoint(consumer, shard, seq)

    def dead_letter(self, consumer: str, record: StreamRecord, error: str, *, reason: str = RETRIES_EXHAUSTED) -> None:
        self.state.dead_letter(consumer, record, error, reason=reason)


def open_event_source(container: Container) -> EventSource | KafkaSource:
    """The event source for the container's stream: the embedded log, the Kinesis stream's shards, or the Kafka
    topic's partitions (``chirp.local.kafka_source``)."""
    settings = container.settings
    state = MappingState.for_settings(settings, container.dead_letters)
    reader: StreamReader | None = embedded_stream(container)
    if reader is None and settings.stream_kind == "msk":
        from chirp.local.kafka_source import open_kafka_source

        return open_kafka_source(settings, state)
    if reader is None:
        kinesis = KinesisShardReader(aws_client("kinesis", settings), settings.stream_name)
        kinesis.reconcile(state)
        reader = kinesis
    return EventSource(reader, state)

"""The event stream on Kinesis: put_records with the author as partition key (one author's events stay ordered on
one shard), retrying only the entries Kinesis rejected. ``KinesisShardReader`` reads a shard the way an event
source mapping does, for the local runtime's poller."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chirp.adapters.embedded.sqlite import Database
from chirp.adapters.embedded.stream import DeadLetter, StoredRecord
from chirp.model import Event, now_ms
from chirp.ports import StoreUnavailable

MAX_RECORDS_PER_CALL = 500


class KinesisEventStream:
    def __init__(self, client: Any, stream_name: str, *, attempts: int = 4) -> None:
        self._kinesis = client
        self._stream = stream_name
        self._attempts = attempts
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def publish_raw(self, partition_key: str, data: str) -> None:
        """Put one record back exactly as it was (dead-letter replay)."""
        self._put([{"Data": raw_bytes(data), "PartitionKey": partition_key}])

    def publish(self, events: Sequence[Event]) -> None:
        for start in range(0, len(events), MAX_RECORDS_PER_CALL):
            self._put(
                [
                    {"Data": e.model_dump_json().encode(), "PartitionKey": e.partition_key}
                    for e in events[start : start + MAX_RECORDS_PER_CALL]
                ]
            )
        for listener in list(self._listeners):
            listener()

    def _put(self, entries: list[dict[str, Any]]) -> None:
        pending = entries
        for attempt in range(self._attempts):
            try:
                response = self._kinesis.put_records(StreamName=self._stream, Records=pending)
            except (ClientError, BotoCoreError) as exc:
                if attempt == self._attempts - 1:
                    raise StoreUnavailable(f"kinesis: {exc}") from exc
            else:
                if not response.get("FailedRecordCount"):
                    return
                pending = [
                    entry for entry, result in zip(pending, response["Records"], strict=True) if result.get("ErrorCode")
                ]
            time.sleep(0.05 * 2**attempt)
        raise StoreUnavailable(f"kinesis: {len(pending)} records still rejected after {self._attempts} attempts")


MAPPING_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    consumer TEXT NOT NULL, shard INTEGER NOT NULL, sequence_number TEXT NOT NULL, PRIMARY KEY (consumer, shard));
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT, consumer TEXT NOT NULL, shard INTEGER NOT NULL, sequence_number TEXT NOT NULL,
    partition_key TEXT NOT NULL, data BLOB NOT NULL, error TEXT NOT NULL, failed_at_ms INTEGER NOT NULL,
    replayed INTEGER NOT NULL DEFAULT 0);
"""


class MappingState:
    """What an event source mapping remembers: per consumer and shard, the last processed sequence number (Kinesis
    sequence numbers are up to 128-bit decimals, kept as text), and the dead letters (SQS on AWS)."""

    def __init__(self, path: Path) -> None:
        self._db = Database(path, MAPPING_SCHEMA)

    def checkpoint(self, consumer: str, shard: int) -> int:
        row = self._db.one(
            "SELECT sequence_number FROM checkpoints WHERE consumer = ? AND shard = ?", (consumer, shard)
        )
        return int(row[0]) if row else 0

    def set_checkpoint(self, consumer: str, shard: int, seq: int) -> None:
        if seq <= self.checkpoint(consumer, shard):
            return
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO checkpoints (consumer, shard, sequence_number) VALUES (?,?,?)"
                " ON CONFLICT(consumer, shard) DO UPDATE SET sequence_number = excluded.sequence_number",
                (consumer, shard, str(seq)),
            )

    def dead_letter(self, consumer: str, record: StoredRecord, error: str) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO dead_letters (consumer, shard, sequence_number, partition_key, data, error, failed_at_ms)"
                " VALUES (?,?,?,?,?,?,?)",
                (
                    consumer,
                    record.shard,
                    str(record.seq),
                    record.partition_key,
                    raw_bytes(record.data),
                    error[:2000],
                    now_ms(),
                ),
            )

    def dead_letters(self, *, include_replayed: bool = False) -> list[DeadLetter]:
        rows = self._db.query(
            "SELECT id, consumer, shard, sequence_number, partition_key, data, error, failed_at_ms FROM dead_letters"
            + ("" if include_replayed else " WHERE replayed = 0")
            + " ORDER BY id"
        )
        return [
            DeadLetter(
                id=r[0],
                consumer=r[1],
                record=StoredRecord(int(r[3]), r[2], r[4], from_raw(r[5]), 0, r[3]),
                error=r[6],
                failed_at_ms=r[7],
            )
            for r in rows
        ]

    def mark_replayed(self, dead_letter_id: int) -> None:
        with self._db.transaction() as conn:
            conn.execute("UPDATE dead_letters SET replayed = 1 WHERE id = ?", (dead_letter_id,))


def raw_bytes(data: str) -> bytes:
    """A record's exact bytes (records that are not UTF-8 travel as surrogate escapes)."""
    return data.encode("utf-8", "surrogateescape")


def from_raw(data: bytes | str) -> str:
    return data if isinstance(data, str) else data.decode("utf-8", "surrogateescape")


class KinesisShardReader:
    """A StreamSource for the poller over a real Kinesis stream. Checkpoints and dead letters are kept in a local
    SQLite file (on AWS the event source mapping keeps checkpoints, and dead letters go to SQS)."""

    def __init__(self, client: Any, stream_name: str, state: MappingState) -> None:
        self._kinesis = client
        self._stream = stream_name
        self._state = state
        shards = client.list_shards(StreamName=stream_name)["Shards"]
        self._shard_ids = [s["ShardId"] for s in shards]
        self.shards = len(self._shard_ids)

    def read(self, shard: int, *, after: int, limit: int) -> list[StoredRecord]:
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
        records = self._kinesis.get_records(ShardIterator=iterator, Limit=limit)["Records"]
        return [
            StoredRecord(
                seq=int(r["SequenceNumber"]),
                shard=shard,
                partition_key=r["PartitionKey"],
                data=from_raw(bytes(r["Data"])),
                arrival_ms=int(r["ApproximateArrivalTimestamp"].timestamp() * 1000),
                sequence_number=r["SequenceNumber"],
            )
            for r in records
        ]

    def checkpoint(self, consumer: str, shard: int) -> int:
        return self._state.checkpoint(consumer, shard)

    def set_checkpoint(self, consumer: str, shard: int, seq: int) -> None:
        self._state.set_checkpoint(consumer, shard, seq)

    def dead_letter(self, consumer: str, record: StoredRecord, error: str) -> None:
        self._state.dead_letter(consumer, record, error)

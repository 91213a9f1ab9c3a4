"""Embedded event stream (production: Kinesis): an append-only SQLite log split into shards by partition key, with
per-consumer checkpoints and a dead-letter table. Publishing wakes in-process pollers at once."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from chirp.adapters.embedded.sqlite import Database
from chirp.model import Event, now_ms

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, shard INTEGER NOT NULL, partition_key TEXT NOT NULL,
    data TEXT NOT NULL, arrival_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS records_by_shard ON records(shard, seq);
CREATE TABLE IF NOT EXISTS checkpoints (
    consumer TEXT NOT NULL, shard INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (consumer, shard));
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT, consumer TEXT NOT NULL, shard INTEGER NOT NULL, seq INTEGER NOT NULL,
    partition_key TEXT NOT NULL, data TEXT NOT NULL, error TEXT NOT NULL, failed_at_ms INTEGER NOT NULL,
    replayed INTEGER NOT NULL DEFAULT 0);
"""


@dataclass(frozen=True, slots=True)
class StoredRecord:
    seq: int
    shard: int
    partition_key: str
    data: str
    arrival_ms: int
    sequence_number: str = ""  # the stream's own sequence number string, when it has one (Kinesis)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    consumer: str
    record: StoredRecord
    error: str
    failed_at_ms: int


def shard_for(partition_key: str, shards: int) -> int:
    return int.from_bytes(hashlib.md5(partition_key.encode()).digest()[:8], "big") % shards


class SqliteEventStream:
    def __init__(self, path: Path, *, shards: int) -> None:
        self._db = Database(path, SCHEMA)
        self.shards = shards
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def add_listener(self, listener: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def publish(self, events: Sequence[Event]) -> None:
        arrival = now_ms()
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO records (shard, partition_key, data, arrival_ms) VALUES (?,?,?,?)",
                [
                    (shard_for(e.partition_key, self.shards), e.partition_key, e.model_dump_json(), arrival)
                    for e in events
                ],
            )
        for listener in list(self._listeners):
            listener()

    def publish_raw(self, partition_key: str, data: str) -> None:
        """Put one record back exactly as it was (dead-letter replay)."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO records (shard, partition_key, data, arrival_ms) VALUES (?,?,?,?)",
                (shard_for(partition_key, self.shards), partition_key, data, now_ms()),
            )
        for listener in list(self._listeners):
            listener()

    def read(self, shard: int, *, after: int, limit: int) -> list[StoredRecord]:
        rows = self._db.query(
            "SELECT seq, shard, partition_key, data, arrival_ms FROM records WHERE shard = ? AND seq > ?"
            " ORDER BY seq LIMIT ?",
            (shard, after, limit),
        )
        return [StoredRecord(*row) for row in rows]

    def checkpoint(self, consumer: str, shard: int) -> int:
        row = self._db.one("SELECT seq FROM checkpoints WHERE consumer = ? AND shard = ?", (consumer, shard))
        return int(row[0]) if row else 0

    def set_checkpoint(self, consumer: str, shard: int, seq: int) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO checkpoints (consumer, shard, seq) VALUES (?,?,?)"
                " ON CONFLICT(consumer, shard) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                (consumer, shard, seq),
            )

    def dead_letter(self, consumer: str, record: StoredRecord, error: str) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO dead_letters (consumer, shard, seq, partition_key, data, error, failed_at_ms)"
                " VALUES (?,?,?,?,?,?,?)",
                (consumer, record.shard, record.seq, record.partition_key, record.data, error[:2000], now_ms()),
            )

    def dead_letters(self, *, include_replayed: bool = False) -> list[DeadLetter]:
        rows = self._db.query(
            "SELECT id, consumer, shard, seq, partition_key, data, error, failed_at_ms FROM dead_letters"
            + ("" if include_replayed else " WHERE replayed = 0")
            + " ORDER BY id"
        )
        return [
            DeadLetter(
                id=r[0], consumer=r[1], record=StoredRecord(r[3], r[2], r[4], r[5], 0), error=r[6], failed_at_ms=r[7]
            )
            for r in rows
        ]

    def mark_replayed(self, dead_letter_id: int) -> None:
        with self._db.transaction() as conn:
            conn.execute("UPDATE dead_letters SET replayed = 1 WHERE id = ?", (dead_letter_id,))

    def latest_seq(self) -> int:
        row = self._db.one("SELECT COALESCE(MAX(seq), 0) FROM records")
        return int(row[0]) if row else 0

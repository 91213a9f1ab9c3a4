"""Embedded event stream (production: Kinesis): an append-only SQLite log split into shards by partition key.
Publishing wakes in-process listeners (the local poller) at once. It is only the stream: what an event source
mapping remembers (checkpoints, dead letters) is the local runtime's (``chirp.local.event_source``), as on AWS."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from chirp.model import Event, now_ms
from chirp.ports import StreamRecord
from chirp.sqlite import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, shard INTEGER NOT NULL, partition_key TEXT NOT NULL,
    data TEXT NOT NULL, arrival_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS records_by_shard ON records(shard, seq);
"""


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

    def read(self, shard: int, *, after: int, limit: int) -> list[StreamRecord]:
        rows = self._db.query(
            "SELECT seq, shard, partition_key, data, arrival_ms FROM records WHERE shard = ? AND seq > ?"
            " ORDER BY seq LIMIT ?",
            (shard, after, limit),
        )
        return [StreamRecord(*row) for row in rows]

    def latest_seq(self) -> int:
        row = self._db.one("SELECT COALESCE(MAX(seq), 0) FROM records")
        return int(row[0]) if row else 0

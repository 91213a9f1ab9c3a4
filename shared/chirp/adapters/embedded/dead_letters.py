"""The local runtime's dead letters: one SQLite table beside the event source mappings' checkpoints (the same file,
``mapping-<stream>.db``), whichever the backend. A letter of several records is kept as one row per record (the
unit of replay); the record's bytes are a BLOB, byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chirp.ports import RETRIES_EXHAUSTED, DeadLetter, StreamRecord, from_raw, raw_bytes
from chirp.sqlite import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT, consumer TEXT NOT NULL, shard INTEGER NOT NULL, sequence_number TEXT NOT NULL,
    partition_key TEXT NOT NULL, data BLOB NOT NULL, error TEXT NOT NULL, failed_at_ms INTEGER NOT NULL,
    replayed INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT 'RetryAttemptsExhausted');
"""
COLUMNS = "id, consumer, shard, sequence_number, partition_key, data, error, failed_at_ms, replayed, reason"


class SqliteDeadLetters:
    def __init__(self, path: Path) -> None:
        self._db = Database(path, SCHEMA)
        columns = {row[1] for row in self._db.query("PRAGMA table_info(dead_letters)")}
        if "reason" not in columns:  # a data directory from before reasons were kept
            self._db.execute(f"ALTER TABLE dead_letters ADD COLUMN reason TEXT NOT NULL DEFAULT '{RETRIES_EXHAUSTED}'")

    def put(self, letter: DeadLetter) -> str:
        ids: list[str] = []
        with self._db.transaction() as conn:
            for record in letter.records:
                cursor = conn.execute(
                    "INSERT INTO dead_letters (consumer, shard, sequence_number, partition_key, data, error,"
                    " failed_at_ms, reason) VALUES (?,?,?,?,?,?,?,?)",
                    (
                        letter.consumer,
                        record.shard,
                        record.sequence_number or str(record.seq),
                        record.partition_key,
                        raw_bytes(record.data),
                        letter.error[:2000],
                        letter.failed_at_ms,
                        letter.reason,
                    ),
                )
                ids.append(str(cursor.lastrowid))
        return ",".join(ids)

    def list(self, *, include_replayed: bool = False) -> list[DeadLetter]:
        where = "" if include_replayed else " WHERE replayed = 0"
        return [_letter(row) for row in self._db.query(f"SELECT {COLUMNS} FROM dead_letters{where} ORDER BY id")]

    def fetch(self, letter_id: str) -> DeadLetter:
        row = self._db.one(f"SELECT {COLUMNS} FROM dead_letters WHERE id = ?", (int(letter_id),))
        if row is None:
            raise KeyError(letter_id)
        return _letter(row)

    def mark_replayed(self, letter_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("UPDATE dead_letters SET replayed = 1 WHERE id = ?", (int(letter_id),))


def _letter(row: tuple[Any, ...]) -> DeadLetter:
    letter_id, consumer, shard, sequence, key, data, error, failed_at_ms, replayed, reason = row
    record = StreamRecord(int(sequence), int(shard), str(key), from_raw(bytes(data)), 0, str(sequence))
    return DeadLetter(
        consumer=str(consumer),
        reason=str(reason),
        error=str(error),
        failed_at_ms=int(str(failed_at_ms)),
        records=(record,),
        id=str(letter_id),
        replayed=bool(replayed),
    )

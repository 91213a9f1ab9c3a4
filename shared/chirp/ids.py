"""Time-ordered 64-bit ids (snowflake layout) so that ordering by id is ordering by creation time.

Layout: 41 bits of milliseconds since CHIRP_EPOCH_MS | 10 bits of worker | 12 bits of sequence.
The worker is random per process (a Lambda container); stores reject a duplicate id and the caller retries.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time

CHIRP_EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
WORKER_BITS = 10
SEQUENCE_BITS = 12
TIME_SHIFT = WORKER_BITS + SEQUENCE_BITS
_SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1


class IdGenerator:
    def __init__(self, worker: int | None = None) -> None:
        self._worker = (secrets.randbits(WORKER_BITS) if worker is None else worker) & ((1 << WORKER_BITS) - 1)
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0

    def next_id(self) -> int:
        with self._lock:
            now = _now_ms()
            if now < self._last_ms:  # clock went backwards: keep monotonic
                now = self._last_ms
            if now == self._last_ms:
                self._sequence = (self._sequence + 1) & _SEQUENCE_MASK
                if self._sequence == 0:
                    while now <= self._last_ms:
                        now = _now_ms()
            else:
                self._sequence = secrets.randbits(4)
            self._last_ms = now
            return ((now - CHIRP_EPOCH_MS) << TIME_SHIFT) | (self._worker << SEQUENCE_BITS) | self._sequence


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def id_time_ms(snowflake: int) -> int:
    """Unix milliseconds at which an id was minted."""
    return (snowflake >> TIME_SHIFT) + CHIRP_EPOCH_MS


def min_id_for_time_ms(unix_ms: int) -> int:
    """The smallest id that could be minted at or after ``unix_ms`` (for since/until filters)."""
    return max(0, unix_ms - CHIRP_EPOCH_MS) << TIME_SHIFT


_default = IdGenerator(int(os.environ["CHIRP_WORKER_ID"]) if os.environ.get("CHIRP_WORKER_ID") else None)


def new_id() -> int:
    return _default.next_id()


# Positive decimal ids below 9e18 (< 2**63), no leading zeros; the OpenAPI document uses the same pattern.
ID_PATTERN = r"^(?:[1-9][0-9]{0,17}|[1-8][0-9]{18})$"
_ID_RE = re.compile(ID_PATTERN)


def parse_id(raw: str | None, *, field: str = "id") -> int:
    """Parse a client-supplied id; raises ValidationFailed for anything but a positive decimal id."""
    from chirp.errors import ValidationFailed

    if raw is None or not _ID_RE.fullmatch(raw):
        raise ValidationFailed(f"{field} must be a decimal id", code="invalid_id")
    return int(raw)

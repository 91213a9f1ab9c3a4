"""Open-loop arrivals for timed writes: one every ``PACE_S``, a request that starts late not pushing the next ones
back. Back to back, each write also waits for the cores the previous writes' stream consumers (fan-out, indexing,
trends, notifications, pushes) take: on AWS those run in their own functions and services, here on the same 2 cores.
Measured on 2026-11-30 on one stack, posts by a user with no followers: back to back p50 23-44 / p95 59-93 ms; 200 ms
apart p50 23 / p95 36 ms. That contention is reported apart (back-to-back figures, latency under load), not as a
write's latency."""

from __future__ import annotations

import time
from collections.abc import Iterator

PACE_S = 0.12  # a rate the stream's consumers keep up with on this machine


def paced(count: int, pace_s: float = PACE_S) -> Iterator[int]:
    """0 .. count-1, each yielded at its arrival time (``pace_s`` after the previous one's)."""
    started = time.perf_counter()
    for i in range(count):
        time.sleep(max(0.0, started + i * pace_s - time.perf_counter()))
        yield i

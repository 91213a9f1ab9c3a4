"""After the bulk load, wait until the stand-ins have digested it before any workload is timed.

Loading 200,000 tweets can leave the servers busy (Cassandra flushing memtables and compacting, OpenSearch merging
segments, JVMs compiling) on the same 2 cores the timed requests need; on AWS that work runs on the managed services'
own hosts. The run waits until the servers together use under ``IDLE_CORES`` of a core over a ``WINDOW_S`` window
(at most ``MAX_S``) and records how long that took and what each used per window. Measured on 2026-12-01: they were
quiet 6 s after the load (OpenSearch's half a core in the first window), so the load's aftermath was not what set
the cold reads' p95 (that was the runtime's cycle collector: ``chirp.warm_heap``); the step keeps it that way."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from machine import group_cpu_s

IDLE_CORES = 0.15
WINDOW_S = 2.0
MAX_S = 180.0


def settle(groups: Mapping[str, int], log: Callable[[str], None]) -> dict[str, Any]:
    """Waits for the process groups (name -> pgid) to go quiet; returns the seconds waited and the cores each used
    per window."""
    if not groups:
        return {"seconds": 0.0, "quiet": True, "window_s": WINDOW_S, "cores_per_window": []}
    started = time.perf_counter()
    windows: list[dict[str, float]] = []
    before = {name: group_cpu_s(pgid) for name, pgid in groups.items()}
    quiet = False
    while time.perf_counter() - started < MAX_S:
        time.sleep(WINDOW_S)
        now = {name: group_cpu_s(pgid) for name, pgid in groups.items()}
        used = {name: round(max(0.0, now[name] - before[name]) / WINDOW_S, 2) for name in groups}
        windows.append(used)
        before = now
        if sum(used.values()) < IDLE_CORES:
            quiet = True
            break
    waited = round(time.perf_counter() - started, 1)
    log(f"settled after the load in {waited}s (quiet: {quiet}); cores per server: {windows[0]} .. {windows[-1]}")
    return {"seconds": waited, "quiet": quiet, "window_s": WINDOW_S, "cores_per_window": windows}

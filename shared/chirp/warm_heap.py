"""The cycle collector's policy for a serving process: what a function loaded to serve its first request (modules,
clients, service models, prepared statements) is moved out of the collector's sight once that request is done.

CPython's full collection walks every tracked object, and a serving process triggers one whenever enough objects have
outlived two younger collections, as the objects of in-flight requests do. Measured on 2026-12-01 in the local
runtime (one process for every function, ~240,000 objects after start): full passes of 130-190 ms every 0.6-1.5 s
during cold home reads, which set their p95. ``gc.freeze`` (what the CPython documentation advises for long-lived
start-up state) moves the objects alive now to a generation no collection visits, so later passes walk only what
requests created since. Whatever was garbage at that moment stays allocated: a one-off few kilobytes."""

from __future__ import annotations

import gc
import threading

_settled: set[str] = set()
_lock = threading.Lock()


def after_invocation(function_name: str) -> None:
    """Call at the end of every invocation; the first one of each function freezes the heap as it is then (in Lambda a
    process serves one function; the local runtime serves them all in one process, each loading its own)."""
    if function_name in _settled:
        return
    with _lock:
        if function_name not in _settled:
            _settled.add(function_name)
            gc.freeze()

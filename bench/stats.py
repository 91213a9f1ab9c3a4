"""Percentiles and timing helpers. Percentiles use the nearest-rank method on the sorted samples."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def percentile(samples: Sequence[float], p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(samples_ms: Sequence[float]) -> dict[str, Any]:
    """p50/p95/p99/mean/max in milliseconds (rounded to 0.01) and the sample count."""
    if not samples_ms:
        return {"n": 0}
    return {
        "p50": round(percentile(samples_ms, 50), 2),
        "p95": round(percentile(samples_ms, 95), 2),
        "p99": round(percentile(samples_ms, 99), 2),
        "mean": round(statistics.fmean(samples_ms), 2),
        "max": round(max(samples_ms), 2),
        "n": len(samples_ms),
    }


def timed_ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None

"""The local runtime's metrics collector: the same EMF documents the functions emit on Lambda (chirp.observability),
kept over a sliding window and summarized (count, rate, p50/p95/max per metric and dimension set; the design's
monitoring table as values against its thresholds) for the operator page (/_chirp/metrics, web/operator.html) and
``chirp metrics``.

The runtime's own functions hand their documents to the collector in-process. The stream consumers' process sends
its documents as UDP datagrams to the collector's loopback port, which the runtime writes to ``<data dir>/
metrics.port`` before starting that process (``install_sender`` reads it): one collector for both processes."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chirp.observability import metrics
from chirp.observability.catalog import BY_NAME, METRICS, MONITORING, Row

log = logging.getLogger("chirp.metrics")
WINDOW_S = 60.0
MAX_VALUES_PER_SECOND = 2_000  # per metric and dimension set: beyond, values only count (percentiles sample)
PORT_FILE = "metrics.port"
Dimensions = tuple[tuple[str, str], ...]


@dataclass
class _Second:
    at: int
    count: int = 0
    total: float = 0.0
    values: list[float] = field(default_factory=list)


class Collector:
    """EMF documents in, summaries out; thread-safe."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._series: dict[tuple[str, Dimensions], deque[_Second]] = {}
        self._lock = threading.Lock()
        self.documents = 0

    def add(self, document: Mapping[str, Any]) -> None:
        """One EMF document (each of its metric directives); anything else is ignored."""
        try:
            directives = [
                ([m["Name"] for m in d["Metrics"]], {k for dims in d["Dimensions"] for k in dims if k != "service"})
                for d in document["_aws"]["CloudWatchMetrics"]
            ]
        except (KeyError, IndexError, TypeError):
            return
        now = int(time.time())
        with self._lock:
            self.documents += 1
            for names, keys in directives:
                dims: Dimensions = tuple(sorted((k, str(document.get(k, ""))) for k in keys))
                for name in names:
                    self._add(now, name, dims, document.get(name))

    def _add(self, now: int, name: str, dims: Dimensions, raw: Any) -> None:
        series = self._series.setdefault((name, dims), deque())
        if not series or series[-1].at != now:
            series.append(_Second(now))
        second = series[-1]
        for value in raw if isinstance(raw, list) else [raw]:
            if isinstance(value, int | float) and math.isfinite(value):
                second.count += 1
                second.total += value
                if len(second.values) < MAX_VALUES_PER_SECOND:
                    second.values.append(float(value))

    def snapshot(self) -> dict[str, Any]:
        """Every metric and dimension set seen in the window, and the monitoring table's rows."""
        now = time.time()
        horizon = now - self.window_s
        with self._lock:
            for series in self._series.values():
                while series and series[0].at < horizon:
                    series.popleft()
            windows = {key: list(s) for key, s in self._series.items() if s}
        rows = []
        for (name, dims), seconds in sorted(windows.items()):
            unit = BY_NAME[name].unit if name in BY_NAME else ""
            rows.append({"name": name, "unit": unit, "dimensions": dict(dims), **_summary(seconds, self.window_s)})
        return {
            "window_s": self.window_s,
            "at_ms": int(now * 1000),
            "documents": self.documents,
            "monitoring": [_monitor(row, windows) for row in MONITORING],
            "metrics": rows,
            "catalog": [{"name": m.name, "unit": m.unit, "meaning": m.meaning} for m in METRICS],
        }


def _summary(seconds: Iterable[_Second], window_s: float) -> dict[str, Any]:
    count = 0
    total = 0.0
    values: list[float] = []
    for second in seconds:
        count += second.count
        total += second.total
        values.extend(second.values)
    values.sort()
    return {
        "count": count,
        "sum": round(total, 3),
        "rate_per_s": round(count / window_s, 3),
        "p50": _percentile(values, 0.50),
        "p95": _percentile(values, 0.95),
        "max": round(values[-1], 3) if values else None,
    }


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 3)


Windows = Mapping[tuple[str, Dimensions], list[_Second]]


def _matching(windows: Windows, name: str, where: Mapping[str, str]) -> list[_Second]:
    """The seconds of ``name`` over every dimension set that holds ``where``."""
    found = []
    for (metric, dims), seconds in windows.items():
        if metric == name and where.items() <= dict(dims).items():
            found.extend(seconds)
    return found


def _monitor(row: Row, windows: Windows) -> dict[str, Any]:
    """A monitoring row's value over the window: its p95, or 100 * good / (good + bad); None without samples."""
    value: float | None
    if row.kind == "p95":
        values = sorted(v for s in _matching(windows, row.metric, row.where) for v in s.values)
        value = _percentile(values, 0.95)
        samples = len(values)
    else:
        good = sum(s.total for s in _matching(windows, row.metric, row.where))
        bad = sum(s.total for s in _matching(windows, row.bad_metric, row.bad_where))
        samples = int(good + bad)
        value = round(100.0 * good / (good + bad), 2) if good + bad else None
    breached = value is not None and (value < row.alarm if row.alarm_when_below else value > row.alarm)
    met = value is not None and (value >= row.target if row.alarm_when_below else value <= row.target)
    return {
        "key": row.key,
        "label": row.label,
        "unit": row.unit,
        "value": value,
        "samples": samples,
        "target": row.target,
        "alarm": row.alarm,
        "alarm_when_below": row.alarm_when_below,
        "status": "no data" if value is None else "alarm" if breached else "ok" if met else "warn",
        "describe": row.describe,
    }


# -- across processes --------------------------------------------------------------------------------------------
class Receiver:
    """Datagrams of EMF documents on a loopback UDP port, into a collector (a daemon thread)."""

    def __init__(self, collector: Collector, host: str = "127.0.0.1") -> None:
        self._collector = collector
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with contextlib.suppress(OSError):  # room for bursts (a bench's consumers) while this thread catches up
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self._socket.bind((host, 0))
        self.port: int = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._run, name="metrics-receiver", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                data = self._socket.recv(65_535)
            except OSError:
                return  # closed
            with contextlib.suppress(ValueError, TypeError):
                self._collector.add(json.loads(data))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()


def install_collector(data_dir: Path) -> tuple[Collector, Receiver]:
    """In the runtime's process: this process's metrics go to a new collector, which also listens for the consumers'
    process (its port written under ``data_dir``)."""
    collector = Collector()
    receiver = Receiver(collector)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / PORT_FILE).write_text(str(receiver.port))
    metrics.set_sink(collector.add)
    return collector, receiver


def install_sender(data_dir: Path) -> bool:
    """In the consumers' process: send every EMF document to the runtime's collector; False (metrics printed) when
    the runtime wrote no port."""
    try:
        port = int((data_dir / PORT_FILE).read_text())
    except (OSError, ValueError):
        return False
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(document: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # the runtime is gone or busy: a metric is not worth an error
            sender.sendto(metrics.json_line(document).encode(), ("127.0.0.1", port))

    metrics.set_sink(send)
    return True


def render(snapshot: Mapping[str, Any]) -> str:
    """A snapshot as text: the monitoring table, then every metric (``chirp metrics``)."""
    window = snapshot.get("window_s", WINDOW_S)
    lines = [
        f"Chirp metrics, last {window:g} s",
        "",
        f"{'signal':<32} {'value':>10} {'target':>8} {'alarm':>8}  status",
    ]
    for row in snapshot.get("monitoring", []):
        below = row["alarm_when_below"]
        value = "-" if row["value"] is None else f"{row['value']:g} {row['unit']}"
        target = f"{'>' if below else '<'}{row['target']:g}"
        alarm = f"{'<' if below else '>'}{row['alarm']:g}"
        lines.append(f"{row['label']:<32} {value:>10} {target:>8} {alarm:>8}  {row['status']}")
    lines += ["", f"{'metric':<20} {'dimensions':<40} {'count':>8} {'/s':>8} {'p50':>9} {'p95':>9} {'max':>9}"]
    for m in snapshot.get("metrics", []):
        dims = ",".join(f"{k}={v}" for k, v in m["dimensions"].items())
        figures = [("-" if m[k] is None else f"{m[k]:g}") for k in ("p50", "p95", "max")]
        lines.append(
            f"{m['name']:<20} {dims:<40} {m['count']:>8} {m['rate_per_s']:>8g} " + " ".join(f"{f:>9}" for f in figures)
        )
    return "\n".join(lines)

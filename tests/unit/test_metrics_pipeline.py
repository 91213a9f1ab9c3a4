"""Where the metrics go: EMF lines on stdout in Lambda; locally the runtime's collector, in-process or as datagrams
from the consumers' process; and what the collector makes of them (p95, ratios, the text ``chirp metrics`` prints)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chirp.local.metrics import Collector, install_collector, install_sender, render
from chirp.observability import metrics
from chirp.observability.timing import TimedPort, operation_kind


@pytest.fixture(autouse=True)
def clean_sink() -> Iterator[None]:
    metrics.flush()
    yield
    metrics.set_sink(None)


def test_in_lambda_a_requests_metrics_are_one_emf_line_on_stdout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "chirp-timeline")
    metrics.set_sink(None)
    metrics.record("RequestLatency", 12.5, function="timeline", route="home")
    metrics.record("RequestLatency", 7.5, function="timeline", route="home")
    metrics.count("TimelineCacheHits")
    assert metrics.flush() == 1
    (line,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    latency, hits = line["_aws"]["CloudWatchMetrics"]
    assert latency == {
        "Namespace": "Chirp",
        "Dimensions": [["service", "function", "route"]],
        "Metrics": [{"Name": "RequestLatency", "Unit": "Milliseconds"}],
    }
    assert hits["Dimensions"] == [["service"]] and hits["Metrics"] == [{"Name": "TimelineCacheHits", "Unit": "Count"}]
    assert line["RequestLatency"] == [12.5, 7.5] and line["TimelineCacheHits"] == [1.0]
    assert line["route"] == "home" and line["service"] == "chirp"
    assert abs(line["_aws"]["Timestamp"] - time.time() * 1000) < 60_000


def test_a_dimension_with_two_values_takes_two_documents() -> None:
    sent: list[dict[str, Any]] = []
    metrics.set_sink(sent.append)
    metrics.record("StoreLatency", 1.0, store="cache", op="read")
    metrics.record("StoreLatency", 9.0, store="keyspaces", op="write")
    metrics.record("DeliveryLag", 30.0)
    assert metrics.flush() == 2
    assert sorted((d["store"], d["op"], d["StoreLatency"]) for d in sent) == [
        ("cache", "read", [1.0]),
        ("keyspaces", "write", [9.0]),
    ]
    assert sum("DeliveryLag" in d for d in sent) == 1


def test_a_metric_has_at_most_100_values_per_document() -> None:
    sent: list[dict[str, object]] = []
    metrics.set_sink(sent.append)
    for i in range(250):
        metrics.record("StoreLatency", float(i), store="cache", op="read")
    assert metrics.flush() == 3
    assert [len(doc["StoreLatency"]) for doc in sent] == [100, 100, 50]  # type: ignore[arg-type]


def test_the_consumers_process_sends_to_the_runtimes_collector(tmp_path: Path) -> None:
    collector, receiver = install_collector(tmp_path)
    try:
        assert install_sender(tmp_path)  # what the consumers' process does (here: the same process)
        metrics.record("DeliveryLag", 40.0)
        metrics.record("DeliveryLag", 60.0)
        metrics.flush()
        deadline = time.monotonic() + 5
        while collector.documents == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        (row,) = [m for m in collector.snapshot()["metrics"] if m["name"] == "DeliveryLag"]
        assert row["count"] == 2 and row["p50"] == 40.0 and row["max"] == 60.0
    finally:
        receiver.close()


def test_collector_rows_against_the_design_thresholds() -> None:
    collector = Collector()
    sent: list[dict[str, object]] = []
    metrics.set_sink(sent.append)
    for ms in range(1, 101):  # 1..100 ms: p95 is 95
        metrics.record("RequestLatency", float(ms), function="search", route="search_tweets")
    metrics.count("TimelineCacheHits", 13)
    metrics.count("TimelineCacheMisses", 7)
    metrics.count("WebSocketConnects", 99, outcome="accepted")
    metrics.count("WebSocketConnects", 1, outcome="refused")
    metrics.flush()
    for doc in sent:
        collector.add(doc)
    rows = {row["key"]: row for row in collector.snapshot()["monitoring"]}
    assert rows["SearchP95"]["value"] == 95.0 and rows["SearchP95"]["status"] == "ok"
    assert rows["CacheHitRate"]["value"] == 65.0 and rows["CacheHitRate"]["status"] == "alarm"  # below 70
    assert rows["WebSocketConnectSuccess"]["value"] == 99.0 and rows["WebSocketConnectSuccess"]["status"] == "ok"
    assert rows["TimelineP95"]["value"] is None and rows["TimelineP95"]["status"] == "no data"
    text = render(collector.snapshot())
    assert "Timeline cache hit rate" in text and "65 %" in text and "alarm" in text


def test_the_timing_proxy_times_each_call_as_read_or_write() -> None:
    class Store:
        size = 3

        def get(self, key: str) -> str:
            return key.upper()

        def add_if_exists(self, ids: list[int], item: int) -> int:
            return len(ids)

    sent: list[dict[str, object]] = []
    metrics.set_sink(sent.append)
    port = TimedPort(Store(), "cache")
    assert port.get("a") == "A" and port.add_if_exists([1, 2], 3) == 2 and port.size == 3
    metrics.flush()
    ops = {str(doc["op"]): doc["StoreLatency"] for doc in sent}
    assert set(ops) == {"read", "write"} and all(len(v) == 1 for v in ops.values())  # type: ignore[arg-type]
    assert [operation_kind(m) for m in ("page", "publish", "hit", "lookup", "fill", "counts")] == [
        "read",
        "write",
        "write",
        "read",
        "write",
        "read",
    ]

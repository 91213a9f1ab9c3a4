"""Throughput inputs: measured in ``bench/results/*.json`` where available, otherwise labelled assumptions.

A benchmark result file may carry a top-level ``capacity_inputs`` object; its keys are the names in
``ASSUMED`` below, with ``lambda_ms_per_request`` given as an object, for example::

    {"capacity_inputs": {"timeline_inserts_per_s_per_node": 71000,
                         "lambda_ms_per_request": {"read": 18, "write": 22, "stream_batch": 150}}}

Files are read in name order and a later file overrides an earlier one. Unknown keys are reported, not used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_FIELD_NOTE = (
    "field note, one 2-core machine: Python redis pipeline 65-79K ZADD/s "
    "(pipelined redis-benchmark ~538K/s, server-side script ~210K/s)"
)

# name -> (value, why this value)
ASSUMED: dict[str, tuple[float, str]] = {
    "timeline_inserts_per_s_per_node": (65_000, _FIELD_NOTE + "; low end of the Python pipeline range"),
    "timeline_inserts_per_s_per_lambda": (65_000, "one fan-out Lambda pipelining inserts, " + _FIELD_NOTE),
    "lambda_ms_per_request.read": (30, "billed ms per read request (Redis + Keyspaces round trips, Python)"),
    "lambda_ms_per_request.write": (25, "billed ms per write request (Keyspaces write + Kinesis put)"),
    "lambda_ms_per_request.stream_batch": (250, "billed ms per Kinesis batch of stream_batch_records records"),
    "stream_batch_records": (100, "Kinesis event source batch size"),
    "websocket_connections_per_instance": (200_000, "idle-heavy sockets on one c7g.2xlarge (16 GiB)"),
    "neptune_queries_per_s_per_instance": (20_000, "one-hop follower-page reads on db.r5.4xlarge, warm cache"),
    "neptune_ios_per_query": (2, "storage I/Os per graph query after the buffer cache"),
    "neptune_storage_factor": (3, "Neptune bytes per raw edge byte (three indexes)"),
    "opensearch_queries_per_s_per_node": (500, "recent-window tweet searches per r6g.4xlarge.search"),
    "opensearch_hot_gib_per_node": (3072, "hot index GiB per r6g.4xlarge.search (1:24 memory:disk)"),
    "search_index_bytes_per_tweet": (600, "OpenSearch bytes per indexed tweet incl. doc values"),
    "keyspaces_target_utilization": (0.7, "provisioned capacity auto-scaling target"),
    "cache_usable_memory_fraction": (0.75, "ElastiCache reserved-memory-percent default 25%"),
    "archive_compression": (0.3, "Parquet+zstd bytes per raw row byte for archived tweets/likes"),
    "requests_per_connection": (20, "HTTP keep-alive: API requests per new client connection"),
    "websocket_heartbeat_minutes": (9, "client ping interval under API Gateway's 10-minute idle timeout"),
}


@dataclass(frozen=True)
class Input:
    value: float
    source: str  # "measured: <file>" or "assumed: <why>"

    @property
    def measured(self) -> bool:
        return self.source.startswith("measured")


@dataclass(frozen=True)
class Inputs:
    values: dict[str, Input]
    ignored: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> float:
        return self.values[name].value


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def load_inputs(results_dir: Path | None) -> Inputs:
    """Assumed inputs, overridden by ``capacity_inputs`` found in ``results_dir/*.json``."""
    values = {name: Input(value, f"assumed: {why}") for name, (value, why) in ASSUMED.items()}
    ignored: list[str] = []
    if results_dir is not None and results_dir.is_dir():
        for path in sorted(results_dir.glob("*.json")):
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                ignored.append(f"{path.name} (unreadable JSON)")
                continue
            found = document.get("capacity_inputs") if isinstance(document, dict) else None
            if not isinstance(found, dict):
                continue
            for name, value in _flatten(found).items():
                if name in ASSUMED and isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                    values[name] = Input(float(value), f"measured: {path.as_posix()}")
                else:
                    ignored.append(f"{path.name}: {name}")
    return Inputs(values, tuple(ignored))

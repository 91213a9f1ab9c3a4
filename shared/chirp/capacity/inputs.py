"""Throughput inputs: measured in one benchmark results file chosen on purpose, otherwise labelled assumptions.

A benchmark result file (``bench/results/*.json``) may carry a top-level ``capacity_inputs`` object; its keys are
the names in ``ASSUMED`` below, with ``lambda_ms_per_request`` given as an object, for example::

    {"capacity_inputs": {"timeline_inserts_per_s_per_node": 71000,
                         "lambda_ms_per_request": {"read": 18, "write": 22, "stream_batch": 150}}}

Exactly one file is read: the scenario names it (``inputs_from``) or the command line does (``--inputs``). Which
file decides the biggest per-request lines (a run on a loaded machine can triple Lambda's duration), so it is never
"whichever sorts last"; the report prints the file, its backend and the machine's load while it ran. Unknown keys
are reported, not used.
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
    "lambda_ms_per_request.authorizer": (
        8,
        "billed ms per token authorizer call (HMAC check and one Keyspaces point read: the token version)",
    ),
    "lambda_ms_per_request.ping": (2, "billed ms per WebSocket ping handled by a function"),
    "access_log_bytes_per_request": (450, "one JSON access-log line of the REST stage"),
    "function_log_bytes_per_request": (350, "one structured INFO line per request from Powertools Logger"),
    "access_log_gzip_ratio": (0.15, "Firehose GZIP output bytes per raw byte of JSON access-log lines"),
    "auth_calls_per_user_per_day": (
        1,
        "sign-ins (and the rare sign-up) per daily user: Chirp's token lasts 24 h (token_ttl_s)",
    ),
    "push_bytes": (1_500, "one tweet pushed over @connections (JSON + HTTPS overhead)"),
    "cache_bytes_per_timeline_insert": (100, "one ZADD of a timeline entry on the wire (command + reply)"),
    "response_bytes_per_tweet": (1_500, "design doc: ~1.5 KB per tweet (its stored row) in a response page"),
    "response_wire_over_raw": (0.3, "gzip of a JSON page of tweets"),
    "counter_coalescing": (
        1.47,
        "likes per counter write of the actions consumer, batches of 100 (bench/workloads/coalescing.py alone, "
        "embedded: Zipf s=1.1 over 50,000 tweets)",
    ),
    "edge_hit_ratio": (0.8, "signed-out reads answered by the CDN without reaching the API (10-30 s TTLs)"),
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
    origin: str = "assumed only (no benchmark results file)"  # which file, its backend and the machine's load

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


def _origin(path: Path, document: dict[str, Any]) -> str:
    machine = document.get("machine") if isinstance(document.get("machine"), dict) else {}
    assert isinstance(machine, dict)
    parts = [path.as_posix(), f"backend {document.get('backend', '?')}" + (" (quick)" if document.get("quick") else "")]
    if machine.get("cores"):
        parts.append(f"{machine['cores']} cores")
    start, end = machine.get("load_average_at_start"), machine.get("load_average_at_end")
    if isinstance(start, list) and isinstance(end, list) and start and end:
        parts.append(f"1-min load average {start[0]:g} at start, {end[0]:g} at end")
    if machine.get("started_at"):
        parts.append(f"run {machine['started_at']}")
    return "; ".join(parts)


def load_inputs(results_file: Path | None) -> Inputs:
    """Assumed inputs, overridden by the ``capacity_inputs`` of one benchmark results file."""
    values = {name: Input(value, f"assumed: {why}") for name, (value, why) in ASSUMED.items()}
    if results_file is None:
        return Inputs(values)
    if results_file.is_dir():
        raise ValueError(f"{results_file} is a directory: name the one results file whose measurements to use")
    try:
        document = json.loads(results_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{results_file}: unreadable benchmark results ({exc})") from exc
    found = document.get("capacity_inputs") if isinstance(document, dict) else None
    if not isinstance(found, dict):
        raise ValueError(f"{results_file} has no capacity_inputs object")
    ignored: list[str] = []
    for name, value in _flatten(found).items():
        if name in ASSUMED and isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            values[name] = Input(float(value), f"measured: {results_file.as_posix()}")
        elif name != "source":
            ignored.append(name)
    return Inputs(values, tuple(ignored), _origin(results_file, document))

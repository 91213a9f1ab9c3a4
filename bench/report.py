"""Results: the JSON document (every figure, machine facts, capacity inputs), the targets table and the Markdown
summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _get(doc: dict[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def derived(doc: dict[str, Any]) -> dict[str, Any]:
    """Ratios against the baselines and the capacity planner's inputs."""
    w, b = doc.get("workloads", {}), doc.get("baselines", {})
    # The physical limit: the higher of redis-benchmark's ZADD -P 64 (one ever-growing key) and the same with one key
    # per timeline (what fan-out does); both are in the results.
    zadd = [
        _get(b, "redis_benchmark.zadd_pipelined_p64.requests_per_s"),
        _get(b, "redis_benchmark.zadd_one_key_per_timeline_p64.requests_per_s"),
    ]
    limit = max((z for z in zadd if z), default=None)
    strategies = _get(b, "fanout_strategies.strategies") or {}
    script = _get(strategies, "chirp_chunk_script.inserts_per_s")
    mastodon = _get(strategies, "mastodon_round_trip_per_follower.inserts_per_s")
    sizes = _get(w, "fanout.sizes") or {}
    biggest = sizes.get(str(max((int(k) for k in sizes), default=0)), {})
    # On one Redis: the servers backend's own fan-out store rate; embedded keeps timelines in-process, so its
    # per-Redis-node figure is the product script measured against the bench's Redis.
    redis_rate = biggest.get("store_only_inserts_per_s") if doc.get("backend") == "servers" else script
    out = {
        "redis_zadd_pipelined_limit_per_s": limit,
        "chirp_fanout_inserts_per_s_on_redis": redis_rate,
        "chirp_fanout_fraction_of_redis_limit": round(redis_rate / limit, 3) if redis_rate and limit else None,
        "chirp_script_vs_mastodon": round(script / mastodon, 1) if script and mastodon else None,
        "fan_out_consumer_inserts_per_s_100k": biggest.get("fan_out_inserts_per_s"),
    }
    capacity = {
        "timeline_inserts_per_s_per_node": redis_rate,
        "lambda_ms_per_request": {
            "read": _get(w, "handlers.read_ms.p50"),
            "write": _get(w, "handlers.write_ms.p50"),
        },
        "edge_hit_ratio": _get(w, "edge.hit_ratio"),
        "response_bytes_per_tweet": _get(w, "timeline.page_bytes.json_bytes_per_tweet_p50"),
        "response_wire_over_raw": _get(w, "timeline.page_bytes.wire_over_raw"),
        "counter_coalescing": _get(w, "coalescing.likes_per_counter_write"),
        "source": "timeline inserts: "
        + (
            "fan-out store on the servers backend's Redis, 100,000 followers"
            if doc.get("backend") == "servers"
            else "Chirp's per-chunk fan-out script on the bench's Redis, 10,000 followers"
        )
        + "; lambda ms: p50 in-process handler time (timeline GET / tweets POST)"
        + "; edge hit ratio: signed-out reads through the local edge (Zipf mix of tweets, profiles, trends)"
        + "; response bytes: per tweet of the bench's home pages (JSON), and a page's gzip size over its raw size"
        + "; counter coalescing: likes applied per counter write by the actions consumer (Zipf s=1.1 like intents over"
        + " the data set's tweets, batches of the wiring table's batch size)",
    }
    return {"ratios": out, "capacity_inputs": capacity}


READS_VS_EMBEDDED = 0.5  # the servers backend's 8-client home reads/s, as a fraction of the embedded backend's


def targets(doc: dict[str, Any]) -> list[dict[str, Any]]:
    w = doc.get("workloads", {})
    backend = doc.get("backend")
    ratios = doc.get("ratios", {})
    warm = _get(w, "timeline.no_celebrity.warm_ms.p95")
    rows: list[tuple[str, Any, str, float, str]] = [
        ("home timeline read p95, warm (ms)", warm, "<=", 15, ""),
        ("home timeline read p95, cold/rebuilt (ms)", _get(w, "timeline.no_celebrity.cold_ms.p95"), "<=", 60, ""),
        (
            "home timeline read p95, follows 10 celebrities, warm (ms)",
            _get(w, "timeline.ten_celebrities.warm_ms.p95"),
            "<=",
            25,
            "warm target + 10 ms",
        ),
        ("post tweet p95 (ms)", _get(w, "post.latency_ms.p95"), "<=", 40, ""),
        ("fan-out rate / pipelined ZADD limit", ratios.get("chirp_fanout_fraction_of_redis_limit"), ">=", 0.5, ""),
        ("fan-out rate / one-round-trip-per-follower", ratios.get("chirp_script_vs_mastodon"), ">=", 10, ""),
        (
            "celebrity post: timelines written",
            _get(w, "fanout.celebrity_post.timelines_written"),
            "<=",
            1,
            "O(1): the author's own timeline",
        ),
        (
            "post -> WebSocket p95 (ms)",
            _get(w, "realtime.latency_ms.p95"),
            "<=",
            250 if backend == "embedded" else 1000,
            "1,000 connected followers" if not doc.get("quick") else "",
        ),
    ]
    for kind in ("word", "phrase", "hashtag", "from", "since"):
        rows.append((f"search p95, {kind} (ms)", _get(w, f"search.queries.{kind}.latency_ms.p95"), "<=", 30, ""))
    rows.append(("post -> searchable, max (ms)", _get(w, "search.post_to_searchable_ms.max"), "<=", 2000, ""))
    rows.append(("handler ms p50, timeline", _get(w, "handlers.read_ms.p50"), "<=", 10, "in-process"))
    rows.append(("handler ms p50, post", _get(w, "handlers.write_ms.p50"), "<=", 15, "in-process"))
    rows.append(
        ("tweet cache hit rate, read mix", _get(w, "handlers.tweet_cache.timeline_mix.hit_rate"), ">=", 0.9, "")
    )
    out = []
    for name, value, op, target, note in rows:
        met = None if value is None else (value <= target if op == "<=" else value >= target)
        out.append({"target": name, "value": value, "op": op, "goal": target, "met": met, "note": note})
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _pct_row(name: str, s: dict[str, Any] | None) -> str:
    s = s or {}
    return f"| {name} | {_fmt(s.get('p50'))} | {_fmt(s.get('p95'))} | {_fmt(s.get('p99'))} | {_fmt(s.get('n'))} |"


def markdown(doc: dict[str, Any]) -> str:
    w, b, m = doc.get("workloads", {}), doc.get("baselines", {}), doc.get("machine", {})
    lines = [
        f"# Chirp benchmark — {doc.get('backend')} backend{' (quick)' if doc.get('quick') else ''}",
        "",
        f"{m.get('started_at')} · {m.get('cores')} cores · {m.get('cpu_model')} · {m.get('memory_mb')} MB · "
        f"Python {m.get('python')} · git {m.get('git')} · load average {m.get('load_average_at_start')} at start, "
        f"{m.get('load_average_at_end')} at end",
        "",
        f"Data: {json.dumps(doc.get('dataset', {}).get('summary', {}))}",
        "",
        "## Targets",
        "",
        "| target | measured | goal | met |",
        "|---|---:|---:|:-:|",
    ]
    for t in doc.get("targets", []):
        met = "-" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| {t['target']} | {_fmt(t['value'])} | {t['op']} {_fmt(t['goal'])} | {met} |")
    lines += ["", "## Latency (ms)", "", "| workload | p50 | p95 | p99 | n |", "|---|---:|---:|---:|---:|"]
    lines.append(_pct_row("post tweet (one at a time, steady rate)", _get(w, "post.latency_ms")))
    lines.append(_pct_row("post tweet, back to back (no target)", _get(w, "post.back_to_back_ms")))
    lines.append(_pct_row("post tweet, warm-up posts (no target)", _get(w, "post.warm_up_ms")))
    lines.append(_pct_row("post tweet, 8 concurrent clients", _get(w, "post.throughput.latency_under_load_ms")))
    for group in ("no_celebrity", "ten_celebrities", "typical"):
        lines.append(_pct_row(f"home timeline, {group}, warm", _get(w, f"timeline.{group}.warm_ms")))
        lines.append(_pct_row(f"home timeline, {group}, cold", _get(w, f"timeline.{group}.cold_ms")))
    lines.append(_pct_row("home timeline, warm-up cold reads (no target)", _get(w, "timeline.warm_up.cold_ms")))
    lines.append(_pct_row("home timeline, 8 concurrent clients", _get(w, "timeline.throughput.latency_under_load_ms")))
    lines.append(_pct_row("post -> WebSocket (every follower)", _get(w, "realtime.latency_ms")))
    lines.append(_pct_row("post -> WebSocket (last follower)", _get(w, "realtime.until_last_follower_ms")))
    for kind in ("word", "phrase", "hashtag", "from", "since"):
        lines.append(_pct_row(f"search, {kind}", _get(w, f"search.queries.{kind}.latency_ms")))
    lines.append(_pct_row("post -> searchable", _get(w, "search.post_to_searchable_ms")))
    lines.append(_pct_row("hashtag burst -> /trends", _get(w, "trends.burst_to_trending_ms")))
    lines.append(_pct_row("post -> last follower's timeline (API)", _get(w, "fanout.api.post_to_last_follower_ms")))
    lines.append(_pct_row("handler in-process, timeline read", _get(w, "handlers.read_ms")))
    lines.append(_pct_row("handler in-process, post", _get(w, "handlers.write_ms")))
    lines += [
        "",
        "## Throughput",
        "",
        f"- tweets/s sustained (8 clients): {_fmt(_get(w, 'post.throughput.tweets_per_s'))}",
        f"- home timeline reads/s sustained (8 clients): {_fmt(_get(w, 'timeline.throughput.reads_per_s'))}",
        f"- one 20-tweet home page: {_fmt(_get(w, 'timeline.page_bytes.json_bytes_p50'))} bytes of JSON, "
        f"{_fmt(_get(w, 'timeline.page_bytes.gzip_bytes_p50'))} gzip on the wire "
        f"(x{_fmt(_get(w, 'timeline.page_bytes.wire_over_raw'))})",
        f"- signed-out reads through the edge: {_fmt(_get(w, 'edge.hit_ratio'))} answered there, "
        f"{_fmt(_get(w, 'edge.origin_requests'))} of {_fmt(_get(w, 'edge.requests'))} reached the API",
        "",
        "## Fan-out (timeline inserts/s)",
        "",
        "| followers | fan-out consumer path | timeline store only | until last follower p50 (ms) |",
        "|---:|---:|---:|---:|",
    ]
    for size, row in (_get(w, "fanout.sizes") or {}).items():
        lines.append(
            f"| {int(size):,} | {_fmt(row['fan_out_inserts_per_s'])} | {_fmt(row['store_only_inserts_per_s'])} | "
            f"{_fmt(row['until_last_follower_ms'].get('p50'))} |"
        )
    cp = _get(w, "fanout.celebrity_post") or {}
    lines += [
        "",
        f"Celebrity post ({_fmt(cp.get('followers'))} followers): {_fmt(cp.get('timelines_written'))} "
        f"timeline(s) written in {_fmt(cp.get('ms'))} ms.",
        "",
        "## Baselines (same run, same Redis)",
        "",
    ]
    for name, row in (_get(b, "redis_benchmark") or {}).items():
        if isinstance(row, dict):
            lines.append(f"- redis-benchmark {name}: {_fmt(row.get('requests_per_s'))} ops/s")
    for name, row in (_get(b, "fanout_strategies.strategies") or {}).items():
        lines.append(f"- fan-out {name} (10,000 followers): {_fmt(row.get('inserts_per_s'))} inserts/s")
    lines.append(f"- fastest batched strategy: {_get(b, 'fanout_strategies.fastest_batched')}")
    fr = _get(b, "fan_out_on_read") or {}
    lines.append(
        f"- pure fan-out-on-read p50/p95 {_fmt(_get(fr, 'fan_out_on_read_ms.p50'))}/"
        f"{_fmt(_get(fr, 'fan_out_on_read_ms.p95'))} ms vs hybrid {_fmt(_get(fr, 'hybrid_ms.p50'))}/"
        f"{_fmt(_get(fr, 'hybrid_ms.p95'))} ms (in-process, ids of one page)"
    )
    for k, v in (doc.get("ratios") or {}).items():
        lines.append(f"- {k}: {_fmt(v)}")
    lines += ["", "## Memory (peak RSS, MB)", ""]
    for name, row in (doc.get("memory") or {}).items():
        sampled, hwm = _fmt(row.get("peak_rss_mb_sampled")), _fmt(row.get("peak_rss_mb_hwm"))
        lines.append(f"- {name}: {sampled} sampled peak, {hwm} high-water")
    if doc.get("errors"):
        lines += ["", "## Errors", ""] + [f"- {k}: {v}" for k, v in doc["errors"].items()]
    return "\n".join(lines) + "\n"


def write(doc: dict[str, Any], out_dir: Path, stem: str) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{stem}.json"
    md_path = out_dir / f"{stem}.md"
    json_path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    md_path.write_text(markdown(doc))
    return json_path, md_path


def side_by_side(docs: list[dict[str, Any]]) -> str:
    """One table, one column per backend: every target row and the headline baselines."""
    names = [str(d.get("backend")) for d in docs]
    lines = [
        "# Chirp benchmark — side by side",
        "",
        "| figure | goal | " + " | ".join(names) + " |",
        "|---|---:|" + "---:|" * len(names),
    ]
    by_backend = [{t["target"]: t for t in d.get("targets", [])} for d in docs]
    for row in docs[0].get("targets", []):
        cells = []
        for targets in by_backend:
            t = targets.get(row["target"], {})
            mark = "" if t.get("met") is None else (" ✓" if t["met"] else " ✗")
            cells.append(_fmt(t.get("value")) + mark)
        lines.append(f"| {row['target']} | {row['op']} {_fmt(row['goal'])} | " + " | ".join(cells) + " |")
    if {"embedded", "servers"} <= set(names):  # a goal relative to the other backend: only a pair of runs has it
        reads = {n: _get(d, "workloads.timeline.throughput.reads_per_s") for n, d in zip(names, docs, strict=True)}
        if reads["embedded"] and reads["servers"] is not None:
            ratio = reads["servers"] / reads["embedded"]
            mark = " ✓" if ratio >= READS_VS_EMBEDDED else " ✗"
            cells = [_fmt(round(ratio, 2)) + mark if n == "servers" else "" for n in names]
            lines.append(
                f"| 8-client home reads/s, servers / embedded | >= {READS_VS_EMBEDDED:.2f} | "
                + " | ".join(cells)
                + " |"
            )
    extra = [
        ("tweets/s (8 clients)", "workloads.post.throughput.tweets_per_s"),
        ("home reads/s (8 clients)", "workloads.timeline.throughput.reads_per_s"),
        ("home page JSON bytes p50", "workloads.timeline.page_bytes.json_bytes_p50"),
        ("home page gzip wire / raw", "workloads.timeline.page_bytes.wire_over_raw"),
        ("signed-out reads answered at the edge", "workloads.edge.hit_ratio"),
        ("post -> WebSocket p50 (ms)", "workloads.realtime.latency_ms.p50"),
        ("post -> searchable p50 (ms)", "workloads.search.post_to_searchable_ms.p50"),
        ("hashtag burst -> trending p50 (ms)", "workloads.trends.burst_to_trending_ms.p50"),
        ("fan-out consumer inserts/s, 100k followers", "workloads.fanout.sizes.100000.fan_out_inserts_per_s"),
        ("timeline store inserts/s, 100k followers", "workloads.fanout.sizes.100000.store_only_inserts_per_s"),
        ("redis-benchmark ZADD -P 64 (ops/s)", "baselines.redis_benchmark.zadd_pipelined_p64.requests_per_s"),
        (
            "fan-out: chunk script (inserts/s)",
            "baselines.fanout_strategies.strategies.chirp_chunk_script.inserts_per_s",
        ),
        (
            "fan-out: pipeline of per-key commands",
            "baselines.fanout_strategies.strategies.pipeline_per_key_commands.inserts_per_s",
        ),
        (
            "fan-out: one round trip per follower",
            "baselines.fanout_strategies.strategies.mastodon_round_trip_per_follower.inserts_per_s",
        ),
        ("hybrid read p95 (ms, in-process)", "baselines.fan_out_on_read.hybrid_ms.p95"),
        ("fan-out-on-read p95 (ms, in-process)", "baselines.fan_out_on_read.fan_out_on_read_ms.p95"),
        ("runtime peak RSS (MB)", "memory.runtime.peak_rss_mb_hwm"),
        ("load average at start", "machine.load_average_at_start"),
    ]
    for label, path in extra:
        lines.append(f"| {label} | | " + " | ".join(_fmt(_get(d, path)) for d in docs) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python bench/report.py a.json b.json: the side-by-side table of separate runs
    import sys

    print(side_by_side([json.loads(Path(p).read_text()) for p in sys.argv[1:]]), end="")

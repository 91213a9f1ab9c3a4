"""PNG charts: latency percentiles per workload, and fan-out insert rate vs follower count with the pipelined Redis
ZADD limit (and the one-round-trip-per-follower baseline) drawn as lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from report import _get


def latency_chart(doc: dict[str, Any], path: Path) -> Path:
    w = doc.get("workloads", {})
    series = {
        "post": _get(w, "post.latency_ms"),
        "timeline warm": _get(w, "timeline.no_celebrity.warm_ms"),
        "timeline cold": _get(w, "timeline.no_celebrity.cold_ms"),
        "timeline 10 celebs": _get(w, "timeline.ten_celebrities.warm_ms"),
        "post→WebSocket": _get(w, "realtime.latency_ms"),
        "search word": _get(w, "search.queries.word.latency_ms"),
        "search phrase": _get(w, "search.queries.phrase.latency_ms"),
        "search #tag": _get(w, "search.queries.hashtag.latency_ms"),
        "search from:": _get(w, "search.queries.from.latency_ms"),
        "search since:": _get(w, "search.queries.since.latency_ms"),
        "post→searchable": _get(w, "search.post_to_searchable_ms"),
        "burst→trending": _get(w, "trends.burst_to_trending_ms"),
    }
    names = [k for k, v in series.items() if v and v.get("n")]
    fig, ax = plt.subplots(figsize=(12, 5))
    width = 0.27
    for i, p in enumerate(("p50", "p95", "p99")):
        xs = [j + (i - 1) * width for j in range(len(names))]
        ax.bar(xs, [series[n][p] for n in names], width, label=p)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("ms (log scale)")
    ax.set_title(f"Chirp latency percentiles — {doc.get('backend')} backend{' (quick)' if doc.get('quick') else ''}")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def fanout_chart(doc: dict[str, Any], path: Path) -> Path:
    sizes = _get(doc, "workloads.fanout.sizes") or {}
    xs = sorted(int(k) for k in sizes)
    fig, ax = plt.subplots(figsize=(8, 5))
    if xs:
        ax.plot(xs, [sizes[str(x)]["fan_out_inserts_per_s"] for x in xs], "o-", label="Chirp fan-out (consumer path)")
        ax.plot(xs, [sizes[str(x)]["store_only_inserts_per_s"] for x in xs], "s-", label="Chirp timeline store only")
    limit = _get(doc, "ratios.redis_zadd_pipelined_limit_per_s")
    if limit:
        ax.axhline(limit, color="red", linestyle="--", label=f"redis-benchmark ZADD -P 64 ({limit:,.0f}/s)")
        ax.axhline(limit / 2, color="red", linestyle=":", alpha=0.5, label="50% of the Redis limit (target)")
    strategies = _get(doc, "baselines.fanout_strategies.strategies") or {}
    for name, marker in (
        ("chirp_chunk_script", "D"),
        ("pipeline_per_key_commands", "v"),
        ("pipeline_per_key_script", "^"),
    ):
        rate = _get(strategies, f"{name}.inserts_per_s")
        if rate:
            ax.plot([10_000], [rate], marker, label=f"Redis baseline: {name.replace('_', ' ')}")
    mastodon = _get(strategies, "mastodon_round_trip_per_follower.inserts_per_s")
    if mastodon:
        ax.axhline(mastodon, color="gray", linestyle="-.", label=f"one round trip per follower ({mastodon:,.0f}/s)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("followers")
    ax.set_ylabel("timeline inserts / s")
    ax.set_title(f"Fan-out rate vs follower count — {doc.get('backend')} backend")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

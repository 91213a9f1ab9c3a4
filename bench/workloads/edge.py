"""Workload: signed-out reads through the edge (CloudFront's ApiEdge on AWS; the local gateway's /_edge stand-in here,
which keeps answers exactly as long as their Cache-Control allows). Readers without a token open tweets and
profiles picked with a Zipf skew (a few are popular, as shared links are) and the trends; the edge's X-Cache header
says which requests the origin (API Gateway, WAF, Lambda) still saw. The hit ratio is the planner's edge input."""

from __future__ import annotations

import random
import time
from typing import Any

import httpx
from context import Bench, log
from stats import summary

from chirp import wiring


def _zipf_pick(rng: random.Random, items: list[Any], s: float = 1.1) -> Any:
    weights = [1 / (rank + 1) ** s for rank in range(len(items))]
    return rng.choices(items, weights=weights, k=1)[0]


def run(bench: Bench) -> dict[str, Any]:
    assert bench.stack.runtime is not None
    edge = f"{bench.stack.runtime.url}/_edge{wiring.API_PREFIX}"
    rng = random.Random(7)
    data = bench.data
    tweets = [t.tweet_id for t in data.tweets[-500:]]
    profiles = [data.by_id[u].username for u in data.celebrities + data.typical_users[:200]]
    requests = bench.scale(3000, 600)
    hits, seen_by_origin, latencies = 0, 0, []
    with httpx.Client(timeout=30) as client:
        for i in range(requests):
            kind = i % 10
            if kind < 6:
                path = f"/tweets/{_zipf_pick(rng, tweets)}"
            elif kind < 9:
                path = f"/users/{_zipf_pick(rng, profiles)}"
            else:
                path = "/trends"
            start = time.perf_counter()
            response = client.get(edge + path)
            latencies.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"edge read {path}: {response.status_code} {response.text[:200]}")
            if response.headers.get("X-Cache", "").startswith("Hit"):
                hits += 1
            else:
                seen_by_origin += 1
    result = {
        "requests": requests,
        "edge_hits": hits,
        "origin_requests": seen_by_origin,
        "hit_ratio": round(hits / requests, 4),
        "latency_ms": summary(latencies),
        "mix": "60% tweets, 30% profiles (Zipf s=1.1 over 500 tweets / celebrities + 200 users), 10% trends",
    }
    log(f"edge: {result['hit_ratio']:.1%} of {requests} signed-out reads answered at the edge")
    return result

"""In-process handler time per request (the Lambda-billed part, no HTTP): the timeline and tweets functions invoked
on API Gateway proxy events, on this process's container over the same stores. Feeds ``capacity_inputs``."""

from __future__ import annotations

import json
import time
from typing import Any

from context import Bench, log
from pacing import PACE_S, paced
from stats import summary

from chirp.container import set_container
from chirp.local.events import rest_event
from chirp.local.functions import invoke
from chirp.observability import metrics
from chirp.ports import CacheStats


def _event(method: str, resource: str, user: Any, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return rest_event(
        method=method,
        resource=resource,
        path=resource,
        query={"count": "20"} if method == "GET" else None,
        headers={"Content-Type": "application/json"},
        body=json.dumps(body) if body is not None else None,
        authorizer={"principalId": str(user.user_id), "user_id": str(user.user_id), "username": user.username},
    )


def _cache_figures(stats: CacheStats) -> dict[str, Any]:
    return {
        "hit_rate": round(stats.hit_rate, 4),
        "hits": stats.hits,
        "misses": stats.misses,
        "per_kind": {
            kind: {"hits": getattr(stats, f"{kind}_hits"), "misses": getattr(stats, f"{kind}_misses")}
            for kind in ("tweet", "count", "flag")
        },
    }


class StoreTime:
    """A metrics sink summing each request's ``StoreLatency`` (ms) per store and operation: where a handler's time
    goes. Concurrent calls each count whole, so a request's parts can add up to more than its wall time."""

    def __init__(self) -> None:
        self.request: dict[str, float] = {}
        self.requests: list[dict[str, float]] = []

    def __call__(self, document: metrics.Document) -> None:
        values = document.get("StoreLatency")
        if values is None:
            return
        key = f"{document.get('store')}.{document.get('op')}"
        total = sum(values) if isinstance(values, list) else float(values)
        self.request[key] = self.request.get(key, 0.0) + total

    def next_request(self) -> None:
        self.requests.append(self.request)
        self.request = {}

    def summary(self) -> dict[str, Any]:
        keys = sorted({k for r in self.requests for k in r})
        return {k: summary([r.get(k, 0.0) for r in self.requests]) for k in keys}


def run(bench: Bench) -> dict[str, Any]:
    assert bench.stack.container is not None
    set_container(bench.stack.container)
    cache = bench.stack.container.stores.tweet_cache
    readers = [bench.users[u] for u in bench.data.typical_users[: bench.scale(100, 30)]]
    at_start = cache.stats()
    for user in readers:  # materialize this process's timelines (embedded keeps them in-process)
        invoke("timeline", _event("GET", "/api/v1/timeline/home", user))
    reads = []
    for _ in range(3):
        for user in readers:
            start = time.perf_counter()
            result = invoke("timeline", _event("GET", "/api/v1/timeline/home", user))
            reads.append((time.perf_counter() - start) * 1000)
            assert result["statusCode"] == 200, result
    # The tweet cache on the timeline workload's mix, in-process (this process's cache adapter counts; on the
    # servers backend it is the Redis the runtime fills): users nobody has read yet, each read once (cold) and then
    # as often as the timeline workload re-reads; and, separately, the handler reads above.
    read_before = set(bench.data.typical_users[: bench.scale(600, 120)])  # by the timeline workload and above
    fresh = [bench.users[u] for u in reversed(bench.data.typical_users) if u not in read_before][: len(readers)]
    before_mix = cache.stats()
    for user in fresh:
        for _ in range(1 + bench.scale(4, 3)):
            assert invoke("timeline", _event("GET", "/api/v1/timeline/home", user))["statusCode"] == 200
    cache_figures = {
        "timeline_mix": _cache_figures(cache.stats().minus(before_mix)),
        "handler_reads": _cache_figures(before_mix.minus(at_start)),
    }
    writes = []
    authors = readers[:20]
    # At a steady rate, as the post workload times posts: back to back, each post would also wait for the cores its
    # predecessors' consumers take in the runtime beside this process (reported apart: post.back_to_back_ms).
    store_time = StoreTime()
    metrics.set_sink(store_time)
    try:
        for i in paced(bench.scale(200, 50)):
            user = authors[i % len(authors)]
            event = _event("POST", "/api/v1/tweets", user, {"content": f"handler timing {i} #tag{i % 5}"})
            start = time.perf_counter()
            result = invoke("tweets", event)
            writes.append((time.perf_counter() - start) * 1000)
            store_time.next_request()
            assert result["statusCode"] == 201, result
    finally:
        metrics.set_sink(None)
    out = {
        "read_ms": summary(reads),
        "write_ms": summary(writes),
        "write_pace_s": PACE_S,
        "write_store_ms": store_time.summary(),
        "tweet_cache": cache_figures,
    }
    log(f"handlers {out}")
    return out

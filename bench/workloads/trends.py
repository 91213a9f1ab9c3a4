"""Workload 6: a burst of a new hashtag from many distinct accounts, then the time until GET /trends lists it. The
trend store first gets a background of ordinary hashtag traffic, so the new tag has competition."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from context import Bench, log
from data import TAGS
from stats import summary


def clients_for(bench: Bench, posts: list[tuple[int, str]]) -> None:
    """Creates (and authorizes) every poster's client before anything is timed."""
    for user_id, _ in posts:
        bench.warm_token(user_id)


def _post_all(bench: Bench, posts: list[tuple[int, str]]) -> None:
    def worker(part: list[tuple[int, str]]) -> None:
        for user_id, text in part:
            bench.client(user_id).post("/tweets", json={"content": text})

    threads = [threading.Thread(target=worker, args=(posts[k::8],)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def run(bench: Bench) -> dict[str, Any]:
    users = bench.data.typical_users
    reader = users[0]
    bench.warm_token(reader)
    background = [(users[100 + i], f"background chatter {i} #{TAGS[i % 10]}") for i in range(bench.scale(150, 40))]
    clients_for(bench, background)
    _post_all(bench, background)
    burst_size = bench.scale(40, 20)
    samples: list[float] = []
    from_last: list[float] = []
    timeouts = 0
    for round_ in range(bench.scale(3, 1)):
        tag = "burst" + uuid.uuid4().hex[:8]
        authors = users[400 + round_ * burst_size : 400 + (round_ + 1) * burst_size]
        burst = [(u, f"something is happening {i} #{tag}") for i, u in enumerate(authors)]
        clients_for(bench, burst)
        started = time.perf_counter()
        _post_all(bench, burst)
        posted = time.perf_counter()
        deadline = started + 30
        found = False
        while time.perf_counter() < deadline and not found:
            trends = bench.client(reader).get("/trends").json().get("trends", [])
            found = any(t["hashtag"] == tag for t in trends)
            if not found:
                time.sleep(0.05)
        if not found:
            timeouts += 1
            break
        samples.append((time.perf_counter() - started) * 1000)
        from_last.append((time.perf_counter() - posted) * 1000)
    result = {
        "burst_accounts": burst_size,
        "burst_to_trending_ms": summary(samples),
        "last_post_to_trending_ms": summary(from_last),
        "timeouts_30s": timeouts,
    }
    log(f"trends {result}")
    return result

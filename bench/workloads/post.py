"""Workload 1: POST /tweets latency at the API (one post at a time, at a steady arrival rate; also back to back, with
no target) and sustained tweets/s from concurrent clients. Every post also drives the stream consumers (fan-out,
push, indexing, trends) in the runtime, as in production."""

from __future__ import annotations

import threading
import time
from typing import Any

from context import Bench, log
from pacing import PACE_S, paced
from stats import summary

WARM_UP_POSTS = (150, 100)  # full, quick
BACK_TO_BACK_POSTS = (200, 30)
TIMED_POSTS = (500, 80)  # at a steady rate (``pacing``); back to back reported apart, with no target


def _content(bench: Bench, i: int) -> str:
    words = bench.rng.sample(["coffee", "launch", "latency", "python", "river", "storm", "music", "rocket"], 5)
    return f"bench post {i} " + " ".join(words) + f" #tag{i % 7}"


def _post(bench: Bench, authors: list[int], i: int) -> tuple[float, bool]:
    """One post by the i-th author in turn: (ms, created)."""
    client = bench.client(authors[i % len(authors)])
    start = time.perf_counter()
    response = client.post("/tweets", json={"content": _content(bench, i)})
    return (time.perf_counter() - start) * 1000, response.status_code == 201


def run(bench: Bench) -> dict[str, Any]:
    authors = bench.data.typical_users[:50]
    for author in authors:
        bench.warm_token(author)
    # Warm-up, reported apart (no target): the stand-ins start cold (JIT), which Keyspaces and Kinesis never are.
    # Measured on 2026-11-30, in-process: posts 1-20 p50 33 / p95 137 ms, 21-100 21 / 56, 101-200 15 / 30.
    warm_up = [_post(bench, authors, i)[0] for i in range(bench.scale(*WARM_UP_POSTS))]
    back_to_back = [_post(bench, authors, i)[0] for i in range(bench.scale(*BACK_TO_BACK_POSTS))]
    samples: list[float] = []
    errors = 0
    for i in paced(bench.scale(*TIMED_POSTS)):
        took, ok = _post(bench, authors, i)
        samples.append(took)
        errors += not ok
    log(f"post latency {summary(samples)}")
    concurrency = 8
    duration = bench.scale(15, 5)
    counts = [0] * concurrency
    under_load: list[list[float]] = [[] for _ in range(concurrency)]
    clients = [bench.stack.client(authors[k], bench.users[authors[k]].username) for k in range(concurrency)]
    for k, client in enumerate(clients):
        client.get(f"/users/{bench.users[authors[k]].username}")  # authorizer cache holds the token
    deadline = time.perf_counter() + duration

    def worker(k: int) -> None:
        client = clients[k]
        i = 0
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            response = client.post("/tweets", json={"content": _content(bench, 10_000 + k * 100_000 + i)})
            under_load[k].append((time.perf_counter() - start) * 1000)
            counts[k] += response.status_code == 201
            i += 1
        client.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    loaded = [x for xs in under_load for x in xs]
    result = {
        "warm_up_ms": summary(warm_up),
        "latency_ms": summary(samples),
        "pace_s": PACE_S,
        "back_to_back_ms": summary(back_to_back),
        "errors": errors,
        "throughput": {
            "clients": concurrency,
            "seconds": round(elapsed, 2),
            "tweets": sum(counts),
            "tweets_per_s": round(sum(counts) / elapsed, 1),
            "latency_under_load_ms": summary(loaded),
        },
    }
    log(f"post throughput {result['throughput']['tweets_per_s']}/s")
    return result

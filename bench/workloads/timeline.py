"""Workload 2: GET /timeline/home (count=20) at the API. Cold: the first read of a timeline that does not exist
(rebuilt from the followees' recent tweets, as after inactivity or a cache loss). Warm: later reads of the same
timelines. Groups: users who follow no celebrity, users who follow all 10 celebrities (merge on read), and typical
users (a random sample; most follow one or more celebrities). Also reads/s sustained from concurrent clients."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from context import Bench, log
from machine import group_cpu_s
from stats import summary

WARM_UP_READS = 40  # cold reads before the timed ones (users the groups do not use)


def _read(bench: Bench, user_id: int) -> float:
    start = time.perf_counter()
    response = bench.client(user_id).get("/timeline/home", params={"count": 20})
    took = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"home timeline: {response.status_code} {response.text[:200]}")
    return took


def _warm_up(bench: Bench, users: list[int]) -> dict[str, Any]:
    """Cold reads of users outside the groups, reported apart (no target), as the post and search workloads warm up
    first: a fresh runtime's first rebuilds pay one-off costs (lazy imports, statement preparation, script loading,
    the stand-ins' JIT on new query shapes) that a serving Lambda container has long paid. Measured on 2026-11-30:
    the first ~10 cold reads after start took 40-200 ms, the rest 17-25 ms; with 60 samples those few set the p95."""
    for user in users:
        bench.warm_token(user)
    return {"users": len(users), "cold_ms": summary([_read(bench, u) for u in users])}


def _group(bench: Bench, users: list[int], rounds: int) -> dict[str, Any]:
    for user in users:
        bench.warm_token(user)
    cold = [_read(bench, u) for u in users]
    warm: list[float] = []
    for _ in range(rounds):
        for user in users:
            warm.append(_read(bench, user))
    return {"users": len(users), "cold_ms": summary(cold), "warm_ms": summary(warm)}


def _page_bytes(bench: Bench, users: list[int]) -> dict[str, Any]:
    """Bytes of one 20-tweet home page as JSON and as gzip on the wire (what response compression saves)."""
    raw: list[int] = []
    wire: list[int] = []
    per_tweet: list[float] = []
    for user in users:
        client = bench.client(user)
        plain = client.get("/timeline/home", params={"count": 20}, headers={"Accept-Encoding": "identity"})
        packed = client.get("/timeline/home", params={"count": 20}, headers={"Accept-Encoding": "gzip"})
        if plain.status_code == 200 and packed.status_code == 200 and plain.json().get("tweets"):
            raw.append(len(plain.content))
            wire.append(packed.num_bytes_downloaded)
            per_tweet.append(len(plain.content) / len(plain.json()["tweets"]))
    if not raw:
        return {}
    raw.sort()
    wire.sort()
    per_tweet.sort()
    median_raw, median_wire = raw[len(raw) // 2], wire[len(wire) // 2]
    return {
        "pages": len(raw),
        "json_bytes_p50": median_raw,
        "gzip_bytes_p50": median_wire,
        "json_bytes_per_tweet_p50": round(per_tweet[len(per_tweet) // 2]),
        "wire_over_raw": round(median_wire / median_raw, 3),
    }


def run(bench: Bench) -> dict[str, Any]:
    data = bench.data
    taken: set[int] = set()

    def pick(pool: list[int], n: int) -> list[int]:
        chosen = [u for u in pool if u not in taken][:n]
        taken.update(chosen)
        return chosen

    groups = {
        "no_celebrity": pick(data.no_celebrity_users, bench.scale(300, 60)),
        "ten_celebrities": pick(data.celebrity_fans, bench.scale(200, 30)),
        "typical": pick(data.typical_users, bench.scale(300, 60)),
    }
    # Warm-up readers of both shapes of cold read (a pure store rebuild, and a rebuild that merges celebrities)
    half = WARM_UP_READS // 2
    pairs = zip(pick(data.no_celebrity_users, half), pick(data.typical_users, half), strict=False)
    warm_up = [u for pair in pairs for u in pair]
    result: dict[str, Any] = {"warm_up": _warm_up(bench, warm_up)}
    for name, users in groups.items():
        result[name] = _group(bench, users, rounds=bench.scale(4, 3))
        log(f"timeline {name}: cold {result[name]['cold_ms']} warm {result[name]['warm_ms']}")
    readers = groups["typical"]
    result["page_bytes"] = _page_bytes(bench, readers[:20])
    log(f"timeline page bytes {result['page_bytes']}")
    concurrency = 8
    duration = bench.scale(15, 5)
    counts = [0] * concurrency
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    # Clients (and their authorizer-cached tokens) exist before the clock starts: only reads are timed.
    pools = [[bench.client(u) for u in readers[k::concurrency]] for k in range(concurrency)]
    deadline = 0.0

    def worker(k: int) -> None:
        clients = pools[k]
        i = 0
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            ok = clients[i % len(clients)].get("/timeline/home", params={"count": 20}).status_code == 200
            latencies[k].append((time.perf_counter() - start) * 1000)
            counts[k] += ok
            i += 1

    def run(seconds: float) -> float:
        nonlocal deadline
        started = time.perf_counter()
        deadline = started + seconds
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - started

    # Untimed first: the servers backend's function workers (two per core, started with the runtime) have served
    # one client at a time so far, the most recently used one each time; their first reads open their connections.
    # The timed reads are the warm steady state.
    run(bench.scale(2, 1))
    counts[:] = [0] * concurrency
    for xs in latencies:
        xs.clear()
    cpu_before = {name: group_cpu_s(pid) for name, pid in _process_groups(bench).items()}
    elapsed = run(duration)
    cpu_s = {name: group_cpu_s(pid) - cpu_before[name] for name, pid in _process_groups(bench).items()}
    result["throughput"] = {
        "clients": concurrency,
        "seconds": round(elapsed, 2),
        "reads": sum(counts),
        "reads_per_s": round(sum(counts) / elapsed, 1),
        "latency_under_load_ms": summary([x for xs in latencies for x in xs]),
        # Where the 2 cores went: CPU ms per read of each process group (the runtime: its API process and the
        # consumers' process; bench: this process, the load generator), and the cores each kept busy.
        "cpu_ms_per_read": {n: round(s / max(1, sum(counts)) * 1000, 3) for n, s in cpu_s.items()},
        "cores": {n: round(s / elapsed, 2) for n, s in cpu_s.items()},
    }
    log(f"timeline throughput {result['throughput']['reads_per_s']}/s")
    return result


def _process_groups(bench: Bench) -> dict[str, int]:
    """The runtime's, each stand-in's and this process's process group ids."""
    runtime = bench.stack.runtime
    servers = bench.stack.servers
    groups = {"bench": os.getpgid(0)}
    if runtime is not None and runtime.process is not None:
        groups["runtime"] = os.getpgid(runtime.process.pid)
    if servers is not None:
        groups.update({name: os.getpgid(stats.pid) for name, stats in servers.stats().items()})
    return groups

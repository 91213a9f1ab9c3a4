"""Soak: steady mixed load against the local runtime for N minutes, on loopback.

Starts the stand-in servers (``--backend servers``; none for ``embedded``) and the local runtime as a subprocess,
then drives a paced, mixed workload from a few client threads: each thread owns a few users and, for each of them in
turn, either performs a model-tracked write (post, reply, follow, unfollow, like, retweet, delete: the seeded
workload of tests/support/invariants.py) or a read (home timeline, a tweet, search, a profile, notifications, trends).
Every request's latency and status is recorded; the RSS of the runtime and of every server process group is sampled
every 10 s. At the end the invariant checker proves the data is consistent (counts, timelines, threads, search).

Verdicts: error rate 0; p99 stable (last minute vs first minute, within 1.5x); RSS of every process flat within 10%
(mean of the last minute's samples vs the first minute's). Results: ``bench/results/soak-<date>.json``.

    python bench/soak.py --minutes 10                       # make soak
    python bench/soak.py --minutes 1 --backend embedded --out /tmp/soak.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from chirp.local.servers.harness import ServerSet, _group_rss_mb  # noqa: E402
from chirp.local.servers_env import servers_environment  # noqa: E402
from support.invariants import Model, _one_operation, check  # noqa: E402
from support.runtime import Client, LocalStack  # noqa: E402

SAMPLE_EVERY_S = 10.0
P99_STABLE_RATIO = 1.5
RSS_FLAT_FRACTION = 0.10
READS = ["home", "tweet", "search", "profile", "notifications", "trends"]


@dataclass
class Recorder:
    """Request samples (offset s, operation, status or 0, latency ms) and errors, shared by the client threads."""

    started: float
    samples: list[tuple[float, str, int, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, op: str, status: int, latency_s: float, error: str = "") -> None:
        with self.lock:
            self.samples.append((time.monotonic() - self.started, op, status, latency_s * 1000))
            if error:
                self.errors.append(error[:300])


class TimedClient(Client):
    """A Client whose every request is recorded (the invariant workload calls get/post/delete)."""

    recorder: Recorder | None = None

    def _timed(self, op: str, call: Any) -> Any:
        started = time.monotonic()
        try:
            response = call()
        except Exception as exc:
            if self.recorder is not None:
                self.recorder.add(op, 0, time.monotonic() - started, f"{op}: {exc!r}")
            raise
        if self.recorder is not None:
            status = response.status_code
            bad = status >= 500 or status == 429
            self.recorder.add(op, status, time.monotonic() - started, f"{op} -> {status}: {response.text[:200]}" * bad)
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self._timed(f"GET {_route(path)}", lambda: super(TimedClient, self).get(path, **params))

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self._timed(f"POST {_route(path)}", lambda: super(TimedClient, self).post(path, body, headers))

    def delete(self, path: str) -> Any:
        return self._timed(f"DELETE {_route(path)}", lambda: super(TimedClient, self).delete(path))


def _route(path: str) -> str:
    parts = [p for p in path.split("?")[0].split("/") if p]
    shaped = ["{id}" if p.isdigit() else p for p in parts]
    if len(shaped) >= 2 and shaped[0] == "users":
        shaped[1] = "{name}"
    return "/" + "/".join(shaped)


def _read(me: TimedClient, everyone: list[TimedClient], model: Model, rng: random.Random) -> None:
    op = rng.choices(READS, weights=[40, 20, 15, 10, 10, 5])[0]
    with model.lock:
        live = list(model.tweets)
    if op == "home":
        me.get("/timeline/home", count=20)
    elif op == "tweet" and live:
        me.get(f"/tweets/{rng.choice(live)}")
    elif op == "search":
        me.get("/search", q=rng.choice(["#alpha", "#beta", "words", "#gamma words"]))
    elif op == "profile":
        me.get(f"/users/{rng.choice(everyone).username}")
    elif op == "notifications":
        me.get("/notifications", count=20)
    else:
        me.get("/trends")


def _client_loop(
    mine: list[TimedClient],
    everyone: list[TimedClient],
    model: Model,
    rng: random.Random,
    *,
    deadline: float,
    interval_s: float,
    max_iterations: int,
    recorder: Recorder,
) -> None:
    """Paced closed loop (one request every ``interval_s`` at most), bounded by the deadline and an iteration cap."""
    next_at = time.monotonic()
    for i in range(max_iterations):
        if time.monotonic() >= deadline:
            return
        me = mine[i % len(mine)]
        try:
            if rng.random() < 0.3:
                _one_operation(me, everyone, model, rng)  # type: ignore[arg-type]
            else:
                _read(me, everyone, model, rng)
        except Exception as exc:  # recorded; the loop goes on (the verdict is error rate 0)
            with recorder.lock:
                recorder.errors.append(f"{me.username}: {exc!r}"[:300])
        next_at += interval_s
        time.sleep(max(0.0, next_at - time.monotonic()))


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def _sampler(
    stack: LocalStack, servers: ServerSet | None, stop: threading.Event, started: float, out: list[dict[str, Any]]
) -> None:
    while True:
        row: dict[str, Any] = {"t_s": round(time.monotonic() - started, 1)}
        if stack.process is not None:
            row["runtime"] = _group_rss_mb(stack.process.pid) or _rss_mb(stack.process.pid)
        if servers is not None:
            row.update({name: s.rss_mb for name, s in servers.stats().items()})
        out.append(row)
        if stop.wait(SAMPLE_EVERY_S):
            return


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def _window_stats(samples: list[tuple[float, str, int, float]], low: float, high: float) -> dict[str, Any]:
    chosen = [s for s in samples if low <= s[0] < high]
    latencies = [s[3] for s in chosen]
    return {
        "from_s": round(low, 1),
        "to_s": round(high, 1),
        "requests": len(chosen),
        "rps": round(len(chosen) / max(1e-9, high - low), 1),
        "p50_ms": _percentile(latencies, 0.50),
        "p99_ms": _percentile(latencies, 0.99),
        "max_ms": round(max(latencies), 1) if latencies else 0.0,
    }


def summarize(
    recorder: Recorder, rss: list[dict[str, Any]], duration_s: float, invariants: dict[str, Any]
) -> dict[str, Any]:
    samples = recorder.samples
    window = min(60.0, duration_s / 3)
    first, last = _window_stats(samples, 0, window), _window_stats(samples, duration_s - window, duration_s + 1)
    per_minute = [_window_stats(samples, m * 60, (m + 1) * 60) for m in range(max(1, int(duration_s // 60)))]
    by_op: dict[str, list[float]] = {}
    for _t, op, _status, latency in samples:
        by_op.setdefault(op, []).append(latency)
    failed = [s for s in samples if s[2] == 0 or s[2] >= 500 or s[2] == 429]
    errors = len(failed) + max(0, len(recorder.errors) - len(failed))
    processes = sorted({k for row in rss for k in row if k != "t_s"})
    rss_verdicts: dict[str, Any] = {}
    for name in processes:
        early = [r[name] for r in rss if name in r and r["t_s"] <= window]
        late = [r[name] for r in rss if name in r and r["t_s"] >= duration_s - window]
        start_mb, end_mb = sum(early) / max(1, len(early)), sum(late) / max(1, len(late))
        change = (end_mb - start_mb) / start_mb if start_mb else 0.0
        rss_verdicts[name] = {
            "first_mb": round(start_mb, 1),
            "last_mb": round(end_mb, 1),
            "change_pct": round(100 * change, 1),
            "flat": abs(change) <= RSS_FLAT_FRACTION,
        }
    p99_ratio = round(last["p99_ms"] / first["p99_ms"], 2) if first["p99_ms"] else 0.0
    verdicts = {
        "error_rate_zero": errors == 0,
        "p99_stable": p99_ratio <= P99_STABLE_RATIO,
        "rss_flat": all(v["flat"] for v in rss_verdicts.values()),
        "invariants_hold": bool(invariants.get("ok")),
    }
    return {
        "requests": len(samples),
        "errors": errors,
        "error_rate": round(errors / max(1, len(samples)), 6),
        "error_examples": recorder.errors[:10],
        "first_window": first,
        "last_window": last,
        "p99_ratio_last_over_first": p99_ratio,
        "per_minute": per_minute,
        "by_operation": {
            op: {"n": len(v), "p50_ms": _percentile(v, 0.5), "p99_ms": _percentile(v, 0.99)}
            for op, v in sorted(by_op.items())
        },
        "rss": rss_verdicts,
        "rss_samples": rss,
        "invariants": invariants,
        "verdicts": verdicts,
        "passed": all(verdicts.values()),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="chirp-soak-"))
    servers: ServerSet | None = None
    stack: LocalStack | None = None
    env = {"CHIRP_TWEET_RATE_LIMIT": "1000000", "CHIRP_SIGNUP_LIMIT_PER_IP": "1000000"}
    started_setup = time.monotonic()
    try:
        if args.backend == "servers":
            servers = ServerSet(base_dir=work)
            env.update(servers_environment(servers.start(), namespace=f"soak{uuid.uuid4().hex[:6]}"))
        stack = LocalStack(work / "data", env).start()
        setup_s = round(time.monotonic() - started_setup, 1)
        run_id = uuid.uuid4().hex[:6]
        recorder = Recorder(started=time.monotonic())
        TimedClient.recorder = recorder
        users: list[TimedClient] = []
        for i in range(args.threads * args.users_per_thread):
            plain = stack.user(f"s{run_id}{i}")
            timed = TimedClient(stack, plain.token, user_id=plain.user_id, username=plain.username)
            users.append(timed)
        model = Model()
        rss: list[dict[str, Any]] = []
        stop = threading.Event()
        duration_s = args.minutes * 60
        recorder.started = time.monotonic()
        sampler = threading.Thread(target=_sampler, args=(stack, servers, stop, recorder.started, rss), daemon=True)
        sampler.start()
        deadline = recorder.started + duration_s
        interval_s = args.threads / args.rate
        max_iterations = int(duration_s / interval_s) + 10
        threads = [
            threading.Thread(
                target=_client_loop,
                args=(users[t :: args.threads], users, model, random.Random(args.seed * 100 + t)),
                kwargs={
                    "deadline": deadline,
                    "interval_s": interval_s,
                    "max_iterations": max_iterations,
                    "recorder": recorder,
                },
                name=f"soak-client-{t}",
            )
            for t in range(args.threads)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=duration_s + 120)
        load_s = round(time.monotonic() - recorder.started, 1)
        stop.set()
        sampler.join(timeout=30)
        TimedClient.recorder = None  # the checker's own requests are not part of the load figures
        check_started = time.monotonic()
        invariants: dict[str, Any]
        try:
            model.errors.clear()  # load errors are counted above; the checker proves the data
            invariants = {"ok": True, "checked": check(stack, model, users, settle_s=60.0)}  # type: ignore[arg-type]
        except AssertionError as exc:
            invariants = {"ok": False, "violation": str(exc)[:1000]}
        invariants["seconds"] = round(time.monotonic() - check_started, 1)
        invariants["model"] = {
            "operations": model.operations,
            "live_tweets": len(model.tweets),
            "deleted": len(model.deleted),
            "follows": len(model.follows),
            "likes": len(model.likes),
            "retweets": len(model.retweets),
        }
        result = summarize(recorder, rss, load_s, invariants)
        return {
            "kind": "soak",
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "backend": args.backend,
            "minutes": args.minutes,
            "threads": args.threads,
            "users": len(users),
            "target_rps": args.rate,
            "seed": args.seed,
            "setup_s": setup_s,
            "load_s": load_s,
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "servers": {n: e.version for n, e in servers.endpoints.items()} if servers else {},
            **result,
        }
    finally:
        if stack is not None:
            stack.stop()
        if servers is not None:
            servers.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--backend", choices=["servers", "embedded"], default="servers")
    parser.add_argument("--out", type=Path, default=None, help="default: bench/results/soak-<date>[-embedded].json")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument("--users-per-thread", type=int, default=3)
    parser.add_argument("--rate", type=float, default=40.0, help="target requests per second, all threads together")
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.threads < 1 or args.users_per_thread < 1 or args.rate <= 0:
        parser.error("--minutes, --threads, --users-per-thread and --rate must be positive")
    result = run(args)
    suffix = "" if args.backend == "servers" else f"-{args.backend}"
    out = args.out or REPO / "bench" / "results" / f"soak-{datetime.now(UTC):%Y-%m-%d}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    brief = {k: result[k] for k in ("requests", "errors", "p99_ratio_last_over_first", "verdicts", "passed")}
    print(json.dumps({"out": str(out), **brief, "rss": result["rss"]}, indent=2))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""The metrics' overhead per request: in-process handler time (the timeline and tweets functions on API Gateway proxy
events, embedded stores) with Chirp's metrics on (the timing proxy around every store port, the service counters,
the request metric, the EMF flush serialized as on Lambda) and off (the same stores unwrapped, recording and
flushing replaced by no-ops), request by request in random order, so that the machine's load hits both alike.

    .venv/bin/python bench/metrics_overhead.py [--users 60] [--requests 1000] [--redis]

``--redis``: the cache ports (timelines, tweet cache, rate limits, idempotency, ...) on the production Redis adapter
and a Redis stand-in configured as ElastiCache is (TLS + AUTH), the other stores embedded: a warm home read is then
the Lambda's production path (it touches only the cache).

Prints one JSON object per run: median wall and CPU time per mode and operation; the overhead is the CPU the metrics
add (median on - median off), also as a share of the handler's wall time without metrics; the wall-time
difference is reported too (on a loaded machine it is mostly noise)."""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # the local runtime's level: logs are not measured here

from chirp.config import Settings, get_settings
from chirp.container import Container, build_embedded, set_container
from chirp.local.events import rest_event
from chirp.local.functions import invoke
from chirp.observability import metrics
from chirp.observability.timing import TimedPort
from chirp.services.tweets import NewTweet
from chirp.tokens import Principal

REPO = Path(__file__).resolve().parents[1]


def _event(method: str, path: str, user: Principal, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return rest_event(
        method=method,
        resource=f"/api/v1{path}",
        path=f"/api/v1{path}",
        query={"count": "20"} if method == "GET" else None,
        headers={"Content-Type": "application/json"},
        body=json.dumps(body) if body is not None else None,
        authorizer={"principalId": str(user.user_id), "user_id": str(user.user_id), "username": user.username},
    )


def _seed(container: Container, users: int) -> list[Principal]:
    rng = random.Random(7)
    people = []
    for i in range(users):
        result = container.auth.signup(
            username=f"user{i}", email=f"user{i}@example.com", password="password-123", display_name=None
        )
        people.append(Principal(user_id=int(result["user_id"]), username=f"user{i}"))
    for person in people:
        for other in rng.sample(people, min(20, users - 1)):
            if other != person:
                container.social.follow(person, other.username)
        for n in range(5):
            container.tweets.create(person, NewTweet(content=f"seed {n} from {person.username} #seed{n}"))
    return people


@contextmanager
def _metrics_off(container: Container) -> Iterator[None]:
    """The stores unwrapped and recording and flushing no-ops, for the duration."""
    wrapped = {f.name: getattr(container.stores, f.name) for f in fields(container.stores)}
    saved = metrics.record, metrics.flush
    for name, port in wrapped.items():
        if isinstance(port, TimedPort):
            setattr(container.stores, name, port.__wrapped__)
    metrics.record = lambda *args, **kwargs: None  # type: ignore[assignment]
    metrics.flush = lambda: 0  # type: ignore[assignment]
    try:
        yield
    finally:
        metrics.record, metrics.flush = saved
        for name, port in wrapped.items():
            setattr(container.stores, name, port)


def _time(function: str, event: dict[str, Any], expect: int) -> tuple[float, float]:
    """(wall, CPU) milliseconds of one invocation: the wall time swings with the machine's load and the stores'
    answers; the CPU time of this thread is what the metrics add to."""
    started, cpu = time.perf_counter(), time.thread_time()
    result = invoke(function, event)
    elapsed = (time.perf_counter() - started) * 1000.0, (time.thread_time() - cpu) * 1000.0
    assert result["statusCode"] == expect, result
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--requests", type=int, default=1000, help="requests per mode and operation")
    parser.add_argument("--redis", action="store_true", help="the cache ports on a Redis stand-in")
    args = parser.parse_args()
    with _redis() if args.redis else _nothing() as redis:
        report = _measure(args, redis)
    print(json.dumps(report, indent=2))
    return 0


@contextmanager
def _redis() -> Iterator[Any]:
    """A Redis stand-in (TLS + AUTH, as ElastiCache) and a client of the production adapter's."""
    from chirp.container import redis_connect
    from chirp.local.servers.harness import ServerSet

    with ServerSet() as servers:
        ep = servers.start(["redis"])["redis"]
        yield redis_connect(
            f"rediss://{ep.host}:{ep.port}/0", password=str(ep.extra["password"]), ca_file=str(ep.extra["ca_file"])
        )


def _cache_on_redis(container: Container, client: Any) -> None:
    from chirp.container import redis_cache_ports

    for name, port in redis_cache_ports(client, container.settings).items():
        setattr(container.stores, name, TimedPort(port, "cache"))


def _measure(args: argparse.Namespace, redis: Any) -> dict[str, Any]:
    with open(os.devnull, "w") as devnull:
        # As on Lambda (metrics.print_sink): each EMF document serialized to a JSON line, written nowhere here.
        def emit(document: dict[str, Any]) -> None:
            devnull.write(metrics.json_line(document) + "\n")

        metrics.set_sink(emit)
        with tempfile.TemporaryDirectory() as tmp:
            get_settings.cache_clear()
            settings = Settings(
                data_dir=Path(tmp),
                jwt_keys="k1:" + "s" * 40,
                ws_management_url="http://127.0.0.1:9/unused",
                tweet_rate_limit=10**9,
            )
            container = build_embedded(settings)
            if redis is not None:
                _cache_on_redis(container, redis)
            set_container(container)
            people = _seed(container, args.users)
            for _ in range(3):  # every timeline materialized (reads are the warm path), caches and connections warm
                for person in people:
                    invoke("timeline", _event("GET", "/timeline/home", person))
            times: dict[str, dict[str, list[tuple[float, float]]]] = {
                m: {"home": [], "post": []} for m in ("on", "off")
            }
            order = random.Random(11)
            for i in range(args.requests):
                person = people[i % len(people)]
                # Each request pair runs once each way, in random order: load and drift hit both modes alike.
                for mode in order.sample(["on", "off"], 2):
                    with _metrics_off(container) if mode == "off" else _nothing():
                        home = _event("GET", "/timeline/home", person)
                        times[mode]["home"].append(_time("timeline", home, 200))
                        post = _event("POST", "/tweets", person, {"content": f"overhead {i} {mode} #bench"})
                        times[mode]["post"].append(_time("tweets", post, 201))
            set_container(None)
    report: dict[str, Any] = {
        "cache": "redis" if redis is not None else "embedded",
        "requests_per_mode_and_operation": args.requests,
    }
    for op in ("home", "post"):
        wall_on, wall_off = (statistics.median(w for w, _ in times[m][op]) for m in ("on", "off"))
        cpu_on, cpu_off = (statistics.median(c for _, c in times[m][op]) for m in ("on", "off"))
        report[op] = {
            "wall_median_ms": {"on": round(wall_on, 4), "off": round(wall_off, 4)},
            "cpu_median_ms": {"on": round(cpu_on, 4), "off": round(cpu_off, 4)},
            "overhead_cpu_us": round(1000 * (cpu_on - cpu_off), 1),
            "overhead_pct_of_handler_time": round(100 * (cpu_on - cpu_off) / wall_off, 2),
            "overhead_wall_pct": round(100 * (wall_on / wall_off - 1), 2),
        }
    return report


@contextmanager
def _nothing() -> Iterator[None]:
    yield


if __name__ == "__main__":
    sys.exit(main())

"""Baselines measured in the same run, on the same Redis and data:

- the physical limit: ``redis-benchmark`` pipelined ZADD and LPUSH (and unpipelined ZADD) on the bench's Redis;
- fan-out strategies on Redis for the same followers and the same semantics (write only existing timelines, trim to
  the cap): Mastodon's way (one round trip per follower), Chirp's per-chunk server-side script (the product path),
  a plain pipeline of per-key commands (EXISTS round, then ZADD + ZREMRANGEBYRANK round, per 1,000 followers) and
  Chirp's cluster path (one single-key script per follower, pipelined);
- pure fan-out-on-read (merge every followee's recent tweets per request) vs Chirp's hybrid read, in-process on the
  backend's own stores, for the same users."""

from __future__ import annotations

import csv
import io
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import redis
from context import Bench, log
from stats import summary

from chirp.container import redis_timelines
from chirp.ids import new_id
from chirp.ports import TimelineStore

if TYPE_CHECKING:
    from chirp.local.servers.harness import Endpoint  # (tests/ is on sys.path once bench/stack.py is imported)

FOLLOWERS = 10_000
BASE = 9_500_000_000_000
CHUNK = 1000


def scratch_db(url: str, db: int) -> str:
    """The same Redis server, another database (the runtime's timelines live in database 0)."""
    parsed = urlparse(url)
    return parsed._replace(path=f"/{db}").geturl()


def redis_client(ep: Endpoint, db: int) -> redis.Redis:
    """A client of the bench's Redis on database ``db``, with the stand-in's TLS and AUTH (as ElastiCache's)."""
    url = scratch_db(ep.url, db)
    tls: dict[str, Any] = {"ssl_ca_certs": ep.extra["ca_file"]} if url.startswith("rediss:") else {}
    return redis.Redis.from_url(url, password=ep.extra.get("password"), **tls)


def redis_benchmark(ep: Endpoint, requests: int, dbnum: int = 15) -> dict[str, Any]:
    exe = shutil.which("redis-benchmark")
    if exe is None:
        return {"error": "redis-benchmark not installed"}
    host, port = ep.host, str(ep.port)
    # redis-benchmark 7.0 reads no password from the environment: -a it is (a stand-in's throwaway password),
    # redacted in the command recorded with the results.
    auth: list[str] = ["--tls", "--cacert", str(ep.extra["ca_file"])] if ep.url.startswith("rediss:") else []
    if ep.extra.get("password"):
        auth += ["-a", str(ep.extra["password"])]
    results: dict[str, Any] = {}
    runs = {
        "zadd_pipelined_p64": ["-P", "64", "-t", "zadd"],
        "lpush_pipelined_p64": ["-P", "64", "-t", "lpush"],
        "zadd_one_key_per_timeline_p64": ["-P", "64", "ZADD", "bench:tl:__rand_int__", "0", "m:__rand_int__"],
        "zadd_unpipelined": ["-P", "1", "-t", "zadd"],
    }
    for name, extra in runs.items():
        n = requests if "unpipelined" not in name else max(20_000, requests // 20)
        argv = [
            exe,
            "-h",
            host,
            "-p",
            port,
            "-n",
            str(n),
            "-r",
            "100000",
            "-c",
            "50",
            "--dbnum",
            str(dbnum),
            "--csv",
            *auth,
            *extra,
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        rows = [r for r in csv.reader(io.StringIO(done.stdout)) if r and r[0] != "test"]
        if rows:
            shown = ["***" if i and argv[i - 1] == "-a" else arg for i, arg in enumerate(argv)]
            results[name] = {"requests_per_s": float(rows[-1][1]), "command": " ".join(shown[1:])}
        else:  # e.g. a refused TLS handshake or password: say so instead of leaving the figure out
            results[name] = {"error": done.stderr.strip()[-300:] or f"exit code {done.returncode}"}
    redis_client(ep, dbnum).flushdb()
    return results


# The hand-written strategies keep their own timelines beside the adapter's, in the same shape (a sorted set of
# zero-padded ids, score 0, plus a marker member that says the timeline exists): the same work per follower,
# without depending on how the adapter names its keys.
_MARKER = "0" * 19


def _raw_key(user_id: int) -> str:
    return f"bl:{{{user_id}}}"


def _raw_member(tweet_id: int) -> str:
    return f"{tweet_id:019d}"


def _prepare(client: redis.Redis, store: TimelineStore, users: Sequence[int]) -> None:
    """Every follower's timeline exists with 20 older ids: the adapter's through its bulk path, the raw ones here."""
    prefill = [new_id() - (1 << 30) * k for k in range(1, 21)]
    store.drop(users)
    store.build_many(dict.fromkeys(users, prefill))
    members = {_MARKER: 0, **{_raw_member(t): 0 for t in prefill}}
    for start in range(0, len(users), CHUNK):
        pipe = client.pipeline(transaction=False)
        for u in users[start : start + CHUNK]:
            pipe.delete(_raw_key(u))
            pipe.zadd(_raw_key(u), members)
        pipe.execute()


def _mastodon(client: redis.Redis, users: Sequence[int], tweet_id: int, cap: int) -> int:
    """One job for the whole fan-out, one round trip per follower (ZADD + trim). No existence check: Mastodon picks
    active followers in its SQL query instead, so this does no more work per follower than Chirp's script."""
    value = _raw_member(tweet_id)
    written = 0
    for u in users:
        key = _raw_key(u)
        pipe = client.pipeline(transaction=False)
        pipe.zadd(key, {value: 0})
        pipe.zremrangebyrank(key, 1, -(cap + 1))
        pipe.execute()
        written += 1
    return written


def _pipeline(client: redis.Redis, users: Sequence[int], tweet_id: int, cap: int) -> int:
    value = _raw_member(tweet_id)
    written = 0
    for start in range(0, len(users), CHUNK):
        keys = [_raw_key(u) for u in users[start : start + CHUNK]]
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.exists(key)
        live = [k for k, e in zip(keys, pipe.execute(), strict=True) if e]
        pipe = client.pipeline(transaction=False)
        for key in live:
            pipe.zadd(key, {value: 0})
            pipe.zremrangebyrank(key, 1, -(cap + 1))
        pipe.execute()
        written += len(live)
    return written


def fanout_strategies(ep: Endpoint, db: int, cap: int, repeats: int) -> dict[str, Any]:
    client = redis_client(ep, db)
    users = [BASE + i for i in range(FOLLOWERS)]
    script = redis_timelines(client, cap=cap, ttl_s=86400, chunk=CHUNK)
    per_key = redis_timelines(client, cap=cap, ttl_s=86400, cluster=True)
    _prepare(client, script, users)
    strategies: dict[str, Callable[[int], int]] = {
        "chirp_chunk_script": lambda t: script.add_if_exists(users, t),
        "pipeline_per_key_commands": lambda t: _pipeline(client, users, t, cap),
        "pipeline_per_key_script": lambda t: per_key.add_if_exists(users, t),
        "mastodon_round_trip_per_follower": lambda t: _mastodon(client, users, t, cap),
    }
    results: dict[str, Any] = {}
    for name, fn in strategies.items():
        rates = []
        fn(new_id())  # warm-up
        for _ in range(repeats):
            started = time.perf_counter()
            written = fn(new_id())
            rates.append(written / (time.perf_counter() - started))
        results[name] = {"inserts_per_s": round(statistics.median(rates)), "followers": FOLLOWERS, "repeats": repeats}
        log(f"baseline {name}: {results[name]}")
    # ids each timeline holds after every strategy wrote (the adapter trims lazily: a few over the cap is expected)
    pages = script.page_many(users[:10], before=None, after=None, limit=10 * cap)
    sizes = {len(page or []) for page in pages.values()}
    sizes |= {int(client.zcard(_raw_key(u))) - 1 for u in users[:10]}  # less the marker
    script.drop(users)
    for start in range(0, len(users), 5000):
        client.delete(*[_raw_key(u) for u in users[start : start + 5000]])
    fastest = max(
        ("chirp_chunk_script", "pipeline_per_key_commands", "pipeline_per_key_script"),
        key=lambda k: results[k]["inserts_per_s"],
    )
    return {"strategies": results, "fastest_batched": fastest, "timeline_sizes_after": sorted(sizes)}


def fan_out_on_read(bench: Bench) -> dict[str, Any]:
    """Hybrid (materialized timeline + celebrity merge) vs pure fan-out-on-read, ids of the first page of 20."""
    container = bench.stack.container
    assert container is not None
    feed, graph, tweets = container.feed, container.stores.graph, container.stores.tweets
    users = bench.data.typical_users[: bench.scale(200, 40)]
    for u in users:
        feed.home(u, before=None, after=None, count=20)  # materialize (warm)
    hybrid, pure = [], []
    for _ in range(2):
        for u in users:
            start = time.perf_counter()
            a = feed.home(u, before=None, after=None, count=20).tweet_ids
            hybrid.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            followees = graph.following_ids(u, limit=5000)
            b = tweets.recent_ids_by_authors([*followees, u], limit=20)
            pure.append((time.perf_counter() - start) * 1000)
            del a, b
    h, p = summary(hybrid), summary(pure)
    result = {
        "users": len(users),
        "hybrid_ms": h,
        "fan_out_on_read_ms": p,
        "p50_speedup": round(p["p50"] / h["p50"], 2) if h["p50"] else None,
        "p95_speedup": round(p["p95"] / h["p95"], 2) if h["p95"] else None,
    }
    log(f"baseline fan-out-on-read {result}")
    return result

"""Workload 5: GET /search latency over the loaded corpus for word, phrase, hashtag, from: and since: queries, and
the time from POST /tweets until the tweet is found by a search for a unique word in it (through the stream and the
indexer).

Before timing, the index alone answers ``INDEX_WARMUP`` queries of every kind in-process (no hydration, so the tweet
cache stays as cold as the earlier workloads left it): a domain in service has its query path JIT-compiled, while the
stand-in node has only bulk-indexed since it started. After timing, ``stages`` profiles a fresh set of queries per
kind in-process: the viewer's safety sets, the index query and the hydration (and how many tweets missed the cache),
the stages a search request spends its time in."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from context import Bench, log
from data import TAGS, WORDS
from stats import summary

from chirp.query import parse_query
from chirp.services.safety import Safety
from chirp.services.views import TweetHydrator

KINDS = ("word", "phrase", "hashtag", "from", "since")
INDEX_WARMUP = 60


def _queries(bench: Bench, kind: str, n: int, rng: random.Random | None = None) -> list[str]:
    rng = rng or bench.rng
    data = bench.data
    authors = [t.username for t in data.tweets[-2000:]]
    since = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%d")
    out = []
    for _ in range(n):
        if kind == "word":
            out.append(rng.choice(WORDS))
        elif kind == "phrase":
            tweet = data.tweets[rng.randrange(len(data.tweets))]
            words = tweet.content.split()
            i = rng.randrange(max(1, min(len(words), 5) - 1))
            out.append(f'"{words[i]} {words[i + 1]}"' if len(words) > 1 else words[0])
        elif kind == "hashtag":
            out.append(f"#{rng.choice(TAGS[:20])}")
        elif kind == "from":
            out.append(f"from:{rng.choice(authors)}")
        else:
            out.append(f"{rng.choice(WORDS)} since:{since}")
    return out


def _warm_index(bench: Bench) -> None:
    assert bench.stack.container is not None
    index = bench.stack.container.stores.search
    rng = random.Random(11)  # not the timed queries' generator: those stay the ones earlier runs measured
    for kind in KINDS:
        for q in _queries(bench, kind, INDEX_WARMUP, rng):
            index.search(parse_query(q), limit=21, before=None, order="recent")


def _stages(bench: Bench, viewer: int, n: int) -> dict[str, Any]:
    """Per kind, in-process on the same stores: safety sets, index query, hydration (ms), and the share of the
    page's tweets that missed the tweet cache (a miss costs a batched store read per table; embedded: this process's
    own in-memory cache, not the runtime's)."""
    assert bench.stack.container is not None
    stores = bench.stack.container.stores
    safety, hydrator = Safety(stores), TweetHydrator(stores)
    out: dict[str, Any] = {}
    rng = random.Random(13)
    for kind in KINDS:
        times: dict[str, list[float]] = {"safety_ms": [], "index_ms": [], "hydrate_ms": []}
        missed = shown = 0
        for q in _queries(bench, kind, n, rng):
            t0 = time.perf_counter()
            hidden = safety.hidden(viewer)
            t1 = time.perf_counter()
            hits = stores.search.search(parse_query(q), limit=21, before=None, order="recent", exclude_authors=hidden)
            t2 = time.perf_counter()
            ids = [h.tweet_id for h in hits][:20]
            cached = stores.tweet_cache.lookup(ids, viewer_id=None, objects=True, counts=False).tweets
            missed, shown = missed + sum(t not in cached for t in ids), shown + len(ids)
            t3 = time.perf_counter()
            hydrator.by_ids(viewer, ids)
            t4 = time.perf_counter()
            for key, ms in zip(times, ((t1 - t0) * 1000, (t2 - t1) * 1000, (t4 - t3) * 1000), strict=True):
                times[key].append(ms)
        out[kind] = {key: summary(v) for key, v in times.items()} | {
            "tweet_cache_miss_share": round(missed / shown, 3) if shown else None
        }
    return out


def run(bench: Bench) -> dict[str, Any]:
    reader = bench.data.typical_users[-1]
    bench.warm_token(reader)
    client = bench.client(reader)
    result: dict[str, Any] = {"queries": {}}
    n = bench.scale(100, 30)
    _warm_index(bench)
    for kind in KINDS:
        queries = _queries(bench, kind, n + 5)
        samples, hits = [], 0
        for i, q in enumerate(queries):
            start = time.perf_counter()
            response = client.get("/search", params={"q": q, "count": 20})
            took = (time.perf_counter() - start) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"search {q!r}: {response.status_code} {response.text[:200]}")
            if i >= 5:  # warm-up
                samples.append(took)
                hits += bool(response.json().get("tweets"))
        result["queries"][kind] = {"latency_ms": summary(samples), "queries_with_hits": hits, "example": queries[-1]}
        log(f"search {kind}: {result['queries'][kind]}")
    result["stages"] = _stages(bench, reader, n)
    log(f"search stages: {result['stages']}")
    author = bench.data.typical_users[-2]
    bench.warm_token(author)
    searchable: list[float] = []
    timeouts = 0
    for _ in range(bench.scale(10, 4)):
        word = "probe" + uuid.uuid4().hex[:10]
        started = time.perf_counter()
        bench.client(author).post("/tweets", json={"content": f"searchable {word} now"})
        deadline = started + 20
        found = False
        while time.perf_counter() < deadline and not found:
            found = bool(client.get("/search", params={"q": word}).json().get("tweets"))
            if not found:
                time.sleep(0.02)
        if not found:
            timeouts += 1
            break  # the indexer is not keeping up (or not running): one 20 s timeout is the finding
        searchable.append((time.perf_counter() - started) * 1000)
    result["post_to_searchable_ms"] = summary(searchable)
    result["post_to_searchable_timeouts_20s"] = timeouts
    log(f"searchable after {result['post_to_searchable_ms']}")
    return result

"""Workload 5: GET /search latency over the loaded corpus for word, phrase, hashtag, from: and since: queries, and
the time from POST /tweets until the tweet is found by a search for a unique word in it (through the stream and the
indexer)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from context import Bench, log
from data import TAGS, WORDS
from stats import summary


def _queries(bench: Bench, kind: str, n: int) -> list[str]:
    rng = bench.rng
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


def run(bench: Bench) -> dict[str, Any]:
    reader = bench.data.typical_users[-1]
    bench.warm_token(reader)
    client = bench.client(reader)
    result: dict[str, Any] = {"queries": {}}
    n = bench.scale(100, 30)
    for kind in ("word", "phrase", "hashtag", "from", "since"):
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

"""Workload 3: fan-out on write, in-process against the backend's real timeline store (embedded: the in-process
store; servers: Redis) and graph store (SQLite / Gremlin), for synthetic authors with 100, 10,000 and 100,000
followers whose timelines all exist. Reported per size: timeline inserts/s of ``FeedManager.fan_out`` (graph paging
+ timeline writes, what the fan-out consumer runs), of the timeline store alone (``add_if_exists`` in pages of the
fan-out page size, through the feed's write pool as the consumer drives it), and the time until the last follower's
timeline holds the tweet. Plus, at the API: post by the most-followed ordinary author -> tweet in its last
follower's home timeline (through the stream)."""

from __future__ import annotations

import statistics
import time
from typing import Any

from context import Bench, log
from loaders import bulk_follows
from stats import summary

from chirp.container import Container
from chirp.ids import new_id
from chirp.model import TweetRecord

FOLLOWER_BASE = 9_000_000_000_000
AUTHOR_BASE = 8_000_000_000_000
SIZES = (100, 10_000, 100_000)
PREFILL = 20  # ids already in each synthetic timeline


def synthetic_followers(count: int) -> list[int]:
    return [FOLLOWER_BASE + i for i in range(count)]


def prepare_timelines(bench: Bench, user_ids: list[int]) -> None:
    """Makes every timeline exist with PREFILL older ids, through the timeline store's bulk path (pipelined)."""
    prefill = [new_id() - (1 << 30) * k for k in range(1, PREFILL + 1)]
    _container(bench).stores.timelines.build_many(dict.fromkeys(user_ids, prefill))


def drop_timelines(bench: Bench, user_ids: list[int]) -> None:
    _container(bench).stores.timelines.drop(user_ids)


def _container(bench: Bench) -> Container:
    container = bench.stack.container
    assert container is not None
    return container


def _tweet(author: int) -> TweetRecord:
    now = int(time.time() * 1000)
    return TweetRecord(
        tweet_id=new_id(), user_id=author, username="fanout_probe", content="fan-out probe", created_at_ms=now
    )


def run(bench: Bench) -> dict[str, Any]:
    container = bench.stack.container
    assert container is not None
    feed, timelines = container.feed, container.stores.timelines
    page_size = container.settings.fanout_page_size
    everyone = synthetic_followers(max(SIZES))
    start = time.perf_counter()
    prepare_timelines(bench, everyone)
    edges: list[tuple[int, int]] = []
    for size in SIZES:
        edges += [(f, AUTHOR_BASE + size) for f in everyone[:size]]
    bulk_follows(container, edges, int(time.time() * 1000) - 3_600_000)
    log(f"fan-out setup ({len(everyone)} timelines, {len(edges)} edges) in {time.perf_counter() - start:.1f}s")
    repeats = bench.scale(5, 2)
    sizes: dict[str, Any] = {}
    for size in SIZES:
        author = AUTHOR_BASE + size
        followers = everyone[:size]
        last = followers[0]  # the oldest follow: the last page of followers_page (newest first)
        feed_rates, store_rates, until_last = [], [], []
        for _ in range(repeats):
            tweet = _tweet(author)
            started = time.perf_counter()
            written = feed.fan_out(tweet, celebrity=False)
            page = timelines.page(last, before=None, after=tweet.tweet_id - 1, limit=1) or []
            until_last.append((time.perf_counter() - started) * 1000)
            if tweet.tweet_id not in page:
                raise RuntimeError(f"fan-out to {size}: last follower's timeline lacks the tweet")
            feed_rates.append(written / (until_last[-1] / 1000))
            tweet = _tweet(author)
            started = time.perf_counter()
            # As the fan-out consumer drives the store: pages of the fan-out page size through the feed's write
            # pool (a few script calls in flight), without the graph read. Measured one call at a time, the figure
            # was the Python client's round trip rather than the script (2026-11-30, 6 back-to-back pairs at
            # 100,000 followers on a loaded box: 10-55% lower, every time).
            writes = [
                feed.start_add_to_followers(tweet.tweet_id, followers[i : i + page_size])
                for i in range(0, size, page_size)
            ]
            stored = sum(w.result() for w in writes)
            store_rates.append(stored / (time.perf_counter() - started))
        sizes[str(size)] = {
            "followers": size,
            "fan_out_inserts_per_s": round(statistics.median(feed_rates)),
            "store_only_inserts_per_s": round(statistics.median(store_rates)),
            "until_last_follower_ms": summary(until_last),
            "repeats": repeats,
        }
        log(f"fan-out {size}: {sizes[str(size)]}")
    celebrity = bench.data.celebrities[0]
    counter = _count_writes(bench, celebrity)
    drop_timelines(bench, everyone)
    return {"sizes": sizes, "celebrity_post": counter, "api": _api_fanout(bench), "timeline_prefill": PREFILL}


def _count_writes(bench: Bench, celebrity: int) -> dict[str, Any]:
    """A celebrity's post: how many timelines fan-out writes (expected 1: the author's own) and how long it takes."""
    container = bench.stack.container
    assert container is not None
    container.feed.rebuild(celebrity)  # the author's own timeline exists, as for any active user
    tweet = _tweet(celebrity)
    started = time.perf_counter()
    written = container.feed.fan_out(tweet)
    took = (time.perf_counter() - started) * 1000
    followers = bench.data.follower_counts.get(celebrity, 0)
    return {"followers": followers, "timelines_written": written, "ms": round(took, 2)}


def _api_fanout(bench: Bench) -> dict[str, Any]:
    """POST by the most-followed ordinary author, then poll its last follower's home timeline over HTTP."""
    data = bench.data
    celebs = set(data.celebrities)
    author = max((u for u in data.follower_counts if u not in celebs), key=lambda u: data.follower_counts[u])
    followers = sorted(f for f, e in data.follows if e == author)
    last = followers[0]  # bulk-loaded edges are followed in (followee, follower) order: the smallest id is oldest
    bench.warm_token(author)
    bench.warm_token(last)
    bench.client(last).get("/timeline/home", params={"count": 5})  # the timeline exists (active follower)
    samples = []
    for i in range(bench.scale(10, 4)):
        started = time.perf_counter()
        response = bench.client(author).post("/tweets", json={"content": f"api fan-out probe {i}"})
        tweet_id = response.json()["tweet_id"]
        deadline = started + 10
        while time.perf_counter() < deadline:
            page = bench.client(last).get("/timeline/home", params={"count": 5}).json()
            if any(t["tweet_id"] == tweet_id for t in page["tweets"]):
                break
            time.sleep(0.005)
        samples.append((time.perf_counter() - started) * 1000)
        time.sleep(0.2)
    return {"author_followers": data.follower_counts[author], "post_to_last_follower_ms": summary(samples)}

"""Workload: counter coalescing on the async write path. Like intents, built as the gateway builds them
(chirp.direct_writes), for tweets picked with a Zipf skew (a few go viral) by users picked uniformly, applied
in-process by the actions consumer in batches of the wiring table's batch size, on the bench's own stores (SQLite
embedded, Keyspaces on the servers). Each batch moves each tweet's counter once by its net change
(EngagementStore.set_engagements), so the figure is likes applied per counter write made: the planner's measured
``counter_coalescing`` input.

The ratio is a property of the batches (how often a batch holds several likes of one tweet), not of the store; it
grows with the skew and the batch size and falls as more tweets share the likes. Counter writes are counted around
the store port (one per call whose changes do not cancel out: the adapters write exactly that, a contract test
checks it).

Alone, on a generated data set (default 20,000 users, 50,000 tweets):
``.venv/bin/python bench/workloads/coalescing.py [--backend embedded|servers] [--likes N] [--batch-sizes 1000 ...]``."""

from __future__ import annotations

import random
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[1]
if __name__ == "__main__":  # run alone: bench/ and shared/ on the path, as bench/run.py has them
    sys.path[:0] = [str(BENCH), str(BENCH.parent / "shared"), str(BENCH.parent / "tests")]

from context import Bench, log  # noqa: E402

from chirp import wiring  # noqa: E402
from chirp.direct_writes import DIRECT_WRITES, intent_event  # noqa: E402
from chirp.ports import EngagementChange, EngagementKind, EngagementStore  # noqa: E402

ZIPF_S = 1.1  # the edge workload's skew for shared links; likes of viral tweets are at least as concentrated


class CountingEngagement:
    """The engagement store, counting what the consumer's coalesced calls write."""

    def __init__(self, inner: EngagementStore) -> None:
        self.inner = inner
        self.likes_applied = 0
        self.counter_writes = 0

    def set_engagements(self, kind: EngagementKind, tweet_id: int, changes: Sequence[EngagementChange]) -> list[bool]:
        changed = self.inner.set_engagements(kind, tweet_id, changes)
        net = sum((1 if c.on else -1) for c, moved in zip(changes, changed, strict=True) if moved)
        self.likes_applied += sum(changed)
        self.counter_writes += net != 0
        return changed

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _zipf_picks(rng: random.Random, items: list[int], s: float, k: int) -> list[int]:
    """``k`` picks, the item of rank r with weight 1 / r**s."""
    weights = [1 / (rank + 1) ** s for rank in range(len(items))]
    return rng.choices(items, weights=weights, k=k)


def run(bench: Bench) -> dict[str, Any]:
    """The bench's step: the wiring table's batch size."""
    batch = wiring.function("actions").stream.batch_size  # type: ignore[union-attr]
    return measure(bench, likes=bench.scale(10_000, 1_000), batch=batch, seed=11)  # quick: keeps QUICK=1 under 5 min


def measure(bench: Bench, *, likes: int, batch: int, seed: int) -> dict[str, Any]:
    container = bench.stack.container
    assert container is not None
    rng = random.Random(seed)
    tweets = [t.tweet_id for t in bench.data.tweets if t.retweet_of is None]
    rng.shuffle(tweets)  # popularity rank independent of author and age
    users = list(bench.users.values())
    picks = _zipf_picks(rng, tweets, ZIPF_S, likes)
    counting = CountingEngagement(container.stores.engagement)
    real = container.stores.engagement
    container.stores.engagement = counting
    elapsed = 0.0
    try:
        for start in range(0, likes, batch):
            chunk = []
            for tweet_id in picks[start : start + batch]:
                user = rng.choice(users)
                chunk.append(
                    intent_event(
                        DIRECT_WRITES["like"],
                        subject=str(tweet_id),
                        actor_id=str(user.user_id),
                        actor_username=user.username,
                        request_id=str(uuid.uuid4()),
                        at_ms=int(time.time() * 1000),
                    )
                )
            started = time.perf_counter()
            outcomes = container.actions.on_events(chunk)
            elapsed += time.perf_counter() - started
            if any(outcomes):
                raise RuntimeError(f"the actions consumer failed intents: {[o for o in outcomes if o][:3]}")
    finally:
        container.stores.engagement = real
    ratio = counting.likes_applied / counting.counter_writes if counting.counter_writes else None
    result = {
        "like_intents": likes,
        "likes_applied": counting.likes_applied,
        "counter_writes": counting.counter_writes,
        "likes_per_counter_write": round(ratio, 3) if ratio else None,
        "batch_size": batch,
        "tweets": len(tweets),
        "users": len(users),
        "zipf_s": ZIPF_S,
        "consumer_ms_per_intent": round(elapsed * 1000 / likes, 3),
        "mix": f"like intents, tweets Zipf s={ZIPF_S} over the data set's {len(tweets):,} tweets, users uniform "
        f"(an intent for a like already there changes nothing), batches of {batch}",
    }
    log(
        f"coalescing: {counting.likes_applied} likes applied with {counting.counter_writes} counter writes "
        f"({result['likes_per_counter_write']} per write, batches of {batch})"
    )
    return result


def main() -> None:
    import argparse
    import json
    import os

    from data import DataSpec, generate
    from loaders import load
    from stack import BenchStack

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--likes", type=int, default=20_000, help="like intents per batch size")
    parser.add_argument("--users", type=int, default=20_000, help="users in the generated data set")
    parser.add_argument("--tweets", type=int, default=50_000, help="tweets in the generated data set")
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[], help="besides the wiring table's")
    parser.add_argument("--backend", choices=["embedded", "servers"], default="embedded")
    args = parser.parse_args()
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("CHIRP_SERVERS_JVM_OPTS", "-Xmx512m")  # alone on a shared machine: small heaps
    spec = DataSpec(users=args.users, tweets=args.tweets, realtime_followers=150)
    stack = BenchStack(args.backend, celebrity_threshold=spec.celebrity_threshold)
    try:
        if args.backend == "servers":
            stack.start_servers()
        container = stack.build_container()
        data = generate(spec)
        load(container, data, args.backend, log)
        bench = Bench(stack, data, quick=False)
        wired = wiring.function("actions").stream.batch_size  # type: ignore[union-attr]
        runs = [
            measure(bench, likes=args.likes, batch=size, seed=11 + i)
            for i, size in enumerate([wired, *args.batch_sizes])
        ]
        print(json.dumps({"backend": args.backend, "dataset": spec.__dict__, "coalescing": runs}, indent=2))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()

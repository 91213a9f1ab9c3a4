"""Latency of the local runtime (embedded backend) as a client sees it: post, home timeline read and
post -> WebSocket delivery. Usage: python bench/local_latency.py [--n 300]. Prints percentiles in ms."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.runtime import LocalStack, receive


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50": pct(samples, 50),
        "p95": pct(samples, 95),
        "p99": pct(samples, 99),
        "mean": round(statistics.mean(samples), 2),
        "n": len(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = LocalStack(Path(tmp) / "data", {"CHIRP_TWEET_RATE_LIMIT": "100000"}).start()
        try:
            author, reader = stack.user("author"), stack.user("reader")
            followers = [stack.user(f"f{i}") for i in range(50)]
            for f in [reader, *followers]:
                f.follow("author")
                f.home()
            post, home, push = [], [], []
            with reader.socket() as ws:
                for i in range(args.n):
                    start = time.perf_counter()
                    response = author.post("/tweets", {"content": f"latency probe {i} #bench"})
                    post.append((time.perf_counter() - start) * 1000)
                    tweet_id = response.json()["tweet_id"]
                    while receive(ws, "new_tweet")["tweet"]["tweet_id"] != tweet_id:
                        pass
                    push.append((time.perf_counter() - start) * 1000)
                    start = time.perf_counter()
                    assert reader.get("/timeline/home", count=20).status_code == 200
                    home.append((time.perf_counter() - start) * 1000)
        finally:
            stack.stop()
    print(
        json.dumps(
            {
                "post_ms": summary(post),
                "home_timeline_ms": summary(home),
                "post_to_websocket_ms": summary(push),
                "followers": 51,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

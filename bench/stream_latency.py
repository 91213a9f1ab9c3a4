"""Post -> WebSocket latency through each stream, Kinesis and Kafka (the MSK variant), on the same stand-in servers:

    python bench/stream_latency.py [--posts 30 | --quick] [--out bench/results]

One set of stand-ins (all of them, plus the Kafka broker), two local runtimes on the servers backend that differ only
in their stream (their own namespace each), one follower holding a WebSocket per runtime. The author posts one tweet
at a time; latency is from just before the POST to the follower's ``new_tweet`` push (the first two are warm-up).
Writes ``<out>/<date>-stream-latency.json`` (``--quick``: 20 posts, ``-stream-latency-quick.json``). Local figures
on one shared machine: they compare the two paths through Chirp's code and the stand-ins, not AWS's services."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import websockets

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "bench")]

from stats import summary  # noqa: E402

from chirp.local.servers.harness import ALL_SERVERS, ServerSet  # noqa: E402
from chirp.local.servers_env import servers_environment  # noqa: E402
from support.runtime import LocalStack  # noqa: E402


def _signup(stack: LocalStack, username: str) -> str:
    """A new user's token (a generous timeout: the first requests of a fresh runtime are its cold starts)."""
    body = {"username": username, "email": f"{username}@bench.test", "password": "password-123"}
    response = httpx.post(f"{stack.api}/auth/signup", json=body, timeout=60)
    response.raise_for_status()
    return str(response.json()["token"])


def _author_and_follower(stack: LocalStack) -> tuple[str, str]:
    """Two new users, the second following the first (its home timeline materialized); their tokens."""
    run = uuid.uuid4().hex[:6]
    author, follower = f"la{run}", f"lf{run}"
    author_token, follower_token = _signup(stack, author), _signup(stack, follower)
    with httpx.Client(base_url=stack.api, headers={"Authorization": f"Bearer {follower_token}"}, timeout=60) as http:
        http.post(f"/users/{author}/follow").raise_for_status()
        http.get("/timeline/home").raise_for_status()
    return author_token, follower_token


async def _measure(stack: LocalStack, posts: int, author_token: str, follower_token: str) -> dict[str, Any]:
    latencies: list[float] = []
    missed = 0
    headers = {"Authorization": f"Bearer {author_token}"}
    async with (
        websockets.connect(f"{stack.ws_url}/?token={follower_token}", open_timeout=30) as ws,
        httpx.AsyncClient(base_url=stack.api, headers=headers) as http,
    ):
        for i in range(posts + 2):
            started = time.perf_counter()
            response = await http.post("/tweets", json={"content": f"latency probe {i}"}, timeout=30)
            tweet_id = str(response.json()["tweet_id"])
            try:
                while True:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 15))
                    if message.get("type") == "new_tweet" and str(message["tweet"]["tweet_id"]) == tweet_id:
                        break
            except TimeoutError:
                missed += 1
                continue
            if i >= 2:
                latencies.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.2)
    return {"posts": posts, "post_to_websocket_ms": summary(latencies), "missed": missed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--posts", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="20 posts, written beside the full run's file")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args(argv)
    if args.quick:
        args.posts = 20
    work = Path(tempfile.mkdtemp(prefix="chirp-stream-latency-"))
    results: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with ServerSet(base_dir=work) as servers:
        endpoints = servers.start([*ALL_SERVERS, "kafka"])
        results["kafka_broker"] = {"version": endpoints["kafka"].version, **vars(servers.stats()["kafka"])}
        for stream in ("kinesis", "kafka"):
            chosen = {n: ep for n, ep in endpoints.items() if n != ("kafka" if stream == "kinesis" else "kinesis")}
            env = servers_environment(chosen, namespace=f"lat{stream}")
            stack = LocalStack(work / f"runtime-{stream}" / "data", env).start()
            try:
                results[stream] = asyncio.run(_measure(stack, args.posts, *_author_and_follower(stack)))
            finally:
                stack.stop()
            print(stream, json.dumps(results[stream]), flush=True)
    shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{time.strftime('%Y-%m-%d')}-stream-latency{'-quick' if args.quick else ''}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Workload 4: post -> WebSocket receive. The probe author's followers (1,000 in a full run) each hold an open
WebSocket; the author posts a tweet at a time and every follower's receive time is recorded. Latency is from just
before the POST to each follower's receipt; also reported: per post, the time until the last follower had it."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import websockets
from context import Bench, log
from stats import summary


async def _session(bench: Bench) -> dict[str, Any]:
    data = bench.data
    runtime = bench.stack.runtime
    assert runtime is not None
    followers = data.realtime_followers
    sockets: list[Any] = []
    for start in range(0, len(followers), 50):
        batch = followers[start : start + 50]
        sockets += await asyncio.gather(
            *[
                websockets.connect(
                    f"{runtime.ws_url}/?token={bench.stack.token(u, bench.users[u].username)}",
                    open_timeout=30,
                    max_queue=None,
                )
                for u in batch
            ]
        )
    author = data.realtime_author
    token = bench.stack.token(author, bench.users[author].username)
    received: dict[int, list[float]] = {}

    async def listen(ws: Any) -> None:
        async for raw in ws:
            message = json.loads(raw)
            if message.get("type") == "new_tweet":
                received.setdefault(int(message["tweet"]["tweet_id"]), []).append(time.perf_counter())

    listeners = [asyncio.create_task(listen(ws)) for ws in sockets]
    latencies: list[float] = []
    to_last: list[float] = []
    missing = 0
    async with httpx.AsyncClient(base_url=runtime.api, headers={"Authorization": f"Bearer {token}"}) as http:
        await http.get(f"/users/{bench.users[author].username}")
        for i in range(bench.scale(20, 8) + 2):
            started = time.perf_counter()
            response = await http.post("/tweets", json={"content": f"realtime probe {i}"})
            tweet_id = int(response.json()["tweet_id"])
            deadline = started + 15
            while len(received.get(tweet_id, [])) < len(sockets) and time.perf_counter() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            times = received.get(tweet_id, [])
            if not times and i >= 1:
                missing += len(sockets)
                break  # nothing delivered within 15 s: the stream consumers are not delivering; stop here
            if i >= 2:  # the first two posts are warm-up
                latencies += [(t - started) * 1000 for t in times]
                missing += len(sockets) - len(times)
                if times:
                    to_last.append((max(times) - started) * 1000)
            await asyncio.sleep(0.3)
    for task in listeners:
        task.cancel()
    await asyncio.gather(*[ws.close() for ws in sockets], return_exceptions=True)
    return {
        "connected_followers": len(sockets),
        "latency_ms": summary(latencies),
        "until_last_follower_ms": summary(to_last),
        "missed_deliveries": missing,
    }


def run(bench: Bench) -> dict[str, Any]:
    result = asyncio.run(_session(bench))
    log(f"realtime {result}")
    return result

"""What the async write path (chirp.direct_writes) saves in Lambda, per 1,000 requests of the seed scenario's mix.

Measured in-process on the embedded backend (the Lambda-billed part, no HTTP): the handler time of like, retweet
and follow on the Lambda path (tweets / users functions on API Gateway proxy events, authorizer cached as on AWS),
and the actions consumer's time per intent for the same writes on the async path (batches of the wiring table's
batch size). The mix comes from bench/capacity/scenarios/seed.yaml (activity per daily user); the share of requests
that becomes direct is the planner's input.

    .venv/bin/python bench/direct_writes.py [--writes 600] [--out bench/results/direct-writes.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "bench" / "capacity" / "scenarios" / "seed.yaml"
DIRECT_ACTIVITIES = ("likes", "retweets", "follows")  # mark-read is not in the scenario's activity
REQUEST_ACTIVITIES = ("tweets", "retweets", "likes", "follows", "timeline_views", "profile_views", "searches")


def mix() -> dict[str, float]:
    activity = yaml.safe_load(SEED.read_text())["activity"]
    total = sum(float(activity[a]) for a in REQUEST_ACTIVITIES)
    return {a: float(activity[a]) / total for a in REQUEST_ACTIVITIES}


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "mean": round(statistics.fmean(ordered), 3),
        "p50": round(ordered[len(ordered) // 2], 3),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3),
        "n": len(ordered),
    }


def measure(writes: int) -> dict[str, Any]:
    from chirp import wiring
    from chirp.config import Settings, get_settings
    from chirp.container import build_embedded, set_container
    from chirp.direct_writes import DIRECT_WRITES, intent_event
    from chirp.local.events import rest_event
    from chirp.local.functions import invoke
    from chirp.model import now_ms
    from chirp.services.tweets import NewTweet
    from chirp.tokens import Principal

    get_settings.cache_clear()
    data_dir = Path(tempfile.mkdtemp(prefix="chirp-direct-"))
    settings = Settings(data_dir=data_dir, jwt_keys="bench:" + "k" * 48, ws_management_url="http://127.0.0.1:9/x")
    container = build_embedded(settings)
    set_container(container)

    class _NoPush:
        def push(self, connection_id: str, message: dict[str, object]) -> bool:
            return True

        def push_many(self, connection_ids: Any, message: dict[str, object]) -> set[str]:
            return set()

    container.stores.pusher = _NoPush()  # type: ignore[assignment]
    users: list[Principal] = []
    for i in range(60):
        name = f"b{i}{uuid.uuid4().hex[:6]}"
        out = container.auth.signup(
            username=name, email=f"{name}@bench.test", password="password-123", display_name=None
        )
        users.append(Principal(user_id=int(out["user_id"]), username=name))
    tweets = [
        int(container.tweets.create(users[i % 10], NewTweet(content=f"bench {i}"))["tweet_id"]) for i in range(80)
    ]

    def event(method: str, path: str, resource: str, user: Principal) -> dict[str, Any]:
        return rest_event(
            method=method,
            resource=resource,
            path=path,
            query=None,
            headers={"Content-Type": "application/json"},
            body=None,
            authorizer={"principalId": str(user.user_id), "user_id": str(user.user_id), "username": user.username},
        )

    def pairs(offset: int) -> list[tuple[Principal, int]]:
        """Distinct (user, tweet) pairs: every write changes something, as real likes do."""
        return [(users[10 + (i % 50)], tweets[offset + i // 50]) for i in range(writes)]

    # Lambda path: the function handles the request.
    lambda_ms: dict[str, list[float]] = {"like": [], "retweet": [], "follow": []}
    for op, offset in (("like", 0), ("retweet", 0)):
        for user, tweet_id in pairs(offset):
            path = f"/api/v1/tweets/{tweet_id}/{op}"
            started = time.perf_counter()
            result = invoke("tweets", event("POST", path, f"/api/v1/tweets/{{tweet_id}}/{op}", user))
            lambda_ms[op].append((time.perf_counter() - started) * 1000)
            assert result["statusCode"] == 200, result
    follow_pairs = [(users[a], users[b]) for a in range(10, 60) for b in range(10, 60) if a != b][:writes]
    for follower, followee in follow_pairs[: writes // 2]:
        path = f"/api/v1/users/{followee.username}/follow"
        started = time.perf_counter()
        result = invoke("users", event("POST", path, "/api/v1/users/{username}/follow", follower))
        lambda_ms["follow"].append((time.perf_counter() - started) * 1000)
        assert result["statusCode"] == 200, result

    # Async path: the consumer applies the same writes (other tweets / pairs), a batch at a time.
    batch = wiring.function("actions").stream.batch_size  # type: ignore[union-attr]
    consumer_ms: dict[str, float] = {}
    for op, subjects in (
        ("like", [(u, str(t)) for u, t in pairs(writes // 50 + 1)]),
        ("retweet", [(u, str(t)) for u, t in pairs(writes // 50 + 1)]),
        ("follow", [(f, e.username) for f, e in follow_pairs[writes // 2 :]]),
    ):
        intents = [
            intent_event(
                DIRECT_WRITES[op],
                subject=subject,
                actor_id=str(user.user_id),
                actor_username=user.username,
                request_id=str(uuid.uuid4()),
                at_ms=now_ms(),
            )
            for user, subject in subjects
        ]
        total = 0.0
        for start in range(0, len(intents), batch):
            chunk = intents[start : start + batch]
            started = time.perf_counter()
            outcomes = container.actions.on_events(chunk)
            total += (time.perf_counter() - started) * 1000
            assert not any(outcomes), outcomes
        consumer_ms[op] = total / len(intents)
    return {
        "lambda_ms": {op: _ms(samples) for op, samples in lambda_ms.items()},
        "consumer_ms_per_intent": {op: round(ms, 3) for op, ms in consumer_ms.items()},
        "consumer_batch_size": batch,
    }


def per_thousand(figures: dict[str, Any], shares: dict[str, float]) -> dict[str, Any]:
    """Per 1,000 requests of the mix: invocations and Lambda ms the direct path takes out of the request path, and
    what the actions consumer adds back (one invocation per full batch; its per-intent time)."""
    op_of = {"likes": "like", "retweets": "retweet", "follows": "follow"}
    direct = {a: 1000 * shares[a] for a in DIRECT_ACTIVITIES}
    removed_ms = sum(n * figures["lambda_ms"][op_of[a]]["mean"] for a, n in direct.items())
    added_ms = sum(n * figures["consumer_ms_per_intent"][op_of[a]] for a, n in direct.items())
    requests = sum(direct.values())
    added_invocations = requests / figures["consumer_batch_size"]
    return {
        "direct_share": round(requests / 1000, 4),
        "direct_requests": {a: round(n, 1) for a, n in direct.items()},
        "api_invocations_removed": round(requests, 1),
        "consumer_invocations_added_full_batches": round(added_invocations, 1),
        "net_invocations_removed": round(requests - added_invocations, 1),
        "lambda_ms_removed_from_request_path": round(removed_ms, 1),
        "consumer_ms_added": round(added_ms, 1),
        "net_lambda_ms_removed": round(removed_ms - added_ms, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=600, help="writes per operation and path")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ChirpBench")
    shares = mix()
    figures = measure(args.writes)
    result = {
        "backend": "embedded (in-process; the Lambda-billed part, no HTTP)",
        "scenario": str(SEED.relative_to(REPO)),
        "mix": {a: round(s, 4) for a, s in shares.items()},
        **figures,
        "per_1000_mixed_requests": per_thousand(figures, shares),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "shared"))
    main()

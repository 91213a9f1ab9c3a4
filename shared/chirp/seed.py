"""Demo data for a running stack, through the public API only: users with a power-law (Zipf-like) follower graph,
tweets with hashtags, mentions and replies, and some likes. Seeded, so runs are repeatable."""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from typing import Any

WORDS = (
    "serverless lambda kinesis redis cassandra timeline fanout latency python coffee launch weekend music football "
    "election space rocket garden recipe travel photo sunrise benchmark cache search trend"
).split()
TAGS = ["python", "aws", "serverless", "coffee", "music", "football", "space", "travel", "ai", "chirp"]
PASSWORD = "chirp-demo-password"


class Api:
    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read() or b"null")


def _token(api: Api, name: str) -> str:
    created = api.call(
        "POST",
        "/auth/signup",
        {
            "username": name,
            "email": f"{name}@demo.chirp",
            "password": PASSWORD,
            "display_name": name.replace("_", " ").title(),
        },
    )
    if "token" in created:
        return str(created["token"])
    return str(api.call("POST", "/auth/login", {"username": name, "password": PASSWORD})["token"])


def seed(base_url: str, *, users: int, tweets: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    api = Api(base_url)
    names = [f"demo_{i:03d}" for i in range(users)]
    tokens = {name: _token(api, name) for name in names}
    follows = 0
    for follower in names:
        # Zipf-like popularity: low-numbered accounts are followed by many.
        for _ in range(rng.randint(3, max(4, users // 4))):
            followee = names[min(users - 1, int(rng.paretovariate(1.2)) - 1)]
            if followee != follower:
                result = api.call("POST", f"/users/{followee}/follow", token=tokens[follower])
                follows += bool(result and result.get("following"))
    posted: list[str] = []
    for _ in range(tweets):
        author = names[min(users - 1, int(rng.paretovariate(1.0)) - 1)] if rng.random() < 0.5 else rng.choice(names)
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12)))
        text += " " + " ".join(f"#{rng.choice(TAGS)}" for _ in range(rng.randint(0, 2)))
        if rng.random() < 0.2:
            text += f" @{rng.choice(names)}"
        body: dict[str, Any] = {"content": text.strip()}
        if posted and rng.random() < 0.15:
            body["reply_to"] = rng.choice(posted)
        result = api.call("POST", "/tweets", body, token=tokens[author])
        if result and "tweet_id" in result:
            posted.append(result["tweet_id"])
    likes = 0
    for tweet_id in rng.sample(posted, min(len(posted), tweets // 2)):
        result = api.call("POST", f"/tweets/{tweet_id}/like", token=tokens[rng.choice(names)])
        likes += bool(result and result.get("liked_by_user"))
    return {"users": users, "follows": follows, "tweets": len(posted), "likes": likes}

"""A seeded, concurrent, randomized workload against a running stack, and a checker that proves Chirp's invariants
once the stream has settled. Each simulated user runs in its own thread and acts sequentially, so the model of what
each user did (their follows, likes, retweets and live tweets) is exact; the checker compares the API with it."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from support.runtime import Client, LocalStack


@dataclass
class Model:
    tweets: dict[str, dict[str, Any]] = field(default_factory=dict)  # live tweets: id -> {author, marker, reply_to}
    deleted: dict[str, str] = field(default_factory=dict)  # id -> marker
    follows: set[tuple[str, str]] = field(default_factory=set)  # (follower, followee) usernames
    likes: set[tuple[str, str]] = field(default_factory=set)  # (username, tweet id)
    retweets: set[tuple[str, str]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    operations: int = 0
    errors: list[str] = field(default_factory=list)


def run_workload(stack: LocalStack, *, users: int, operations_per_user: int, seed: int) -> tuple[Model, list[Client]]:
    run = uuid.uuid4().hex[:6]
    clients = [stack.user(f"w{run}{i}") for i in range(users)]
    model = Model()
    with ThreadPoolExecutor(max_workers=users) as pool:
        for i, client in enumerate(clients):
            pool.submit(_user_loop, client, clients, model, random.Random(seed * 1000 + i), operations_per_user)
    return model, clients


def _user_loop(me: Client, everyone: list[Client], model: Model, rng: random.Random, count: int) -> None:
    for _ in range(count):
        try:
            _one_operation(me, everyone, model, rng)
        except Exception as exc:  # recorded: the checker fails on any
            with model.lock:
                model.errors.append(f"{me.username}: {exc!r}")


def _expect(response: Any, *statuses: int) -> Any:
    if response.status_code not in statuses:
        raise AssertionError(
            f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text[:200]}"
        )
    return response.json()


def _one_operation(me: Client, everyone: list[Client], model: Model, rng: random.Random) -> None:
    with model.lock:
        model.operations += 1
        live = list(model.tweets)
    other = rng.choice(everyone)
    op = rng.choices(
        ["post", "reply", "follow", "unfollow", "like", "unlike", "retweet", "unretweet", "delete"],
        weights=[20, 10, 14, 5, 18, 6, 8, 4, 5],
    )[0]
    if op in ("reply", "like", "unlike", "retweet", "unretweet") and not live:
        op = "post"
    if op in ("post", "reply"):
        marker = f"m{uuid.uuid4().hex[:12]}"
        tag = rng.choice(["alpha", "beta", "gamma"])
        body: dict[str, Any] = {"content": f"{marker} #{tag} words"}
        parent = rng.choice(live) if op == "reply" else None
        if parent:
            body["reply_to"] = parent
        response = me.post("/tweets", body, headers={"Idempotency-Key": marker})
        if parent and response.status_code == 404:
            return  # the parent was deleted meanwhile
        tweet = _expect(response, 201)
        with model.lock:
            model.tweets[tweet["tweet_id"]] = {"author": me.username, "marker": marker, "reply_to": parent, "tag": tag}
    elif op in ("follow", "unfollow"):
        if other.username == me.username:
            return
        if op == "follow":
            _expect(me.post(f"/users/{other.username}/follow"), 200)
            with model.lock:
                model.follows.add((me.username, other.username))
        else:
            _expect(me.delete(f"/users/{other.username}/follow"), 200)
            with model.lock:
                model.follows.discard((me.username, other.username))
    elif op in ("like", "unlike", "retweet", "unretweet"):
        tweet_id = rng.choice(live)
        kind = "like" if "like" in op else "retweet"
        on = not op.startswith("un")
        response = me.post(f"/tweets/{tweet_id}/{kind}") if on else me.delete(f"/tweets/{tweet_id}/{kind}")
        if response.status_code == 404:
            return  # deleted meanwhile
        _expect(response, 200)
        target = model.likes if kind == "like" else model.retweets
        with model.lock:
            (target.add if on else target.discard)((me.username, tweet_id))
    elif op == "delete":
        with model.lock:
            mine = [t for t, v in model.tweets.items() if v["author"] == me.username]
        if not mine:
            return
        tweet_id = rng.choice(mine)
        _expect(me.delete(f"/tweets/{tweet_id}"), 200)
        with model.lock:
            model.deleted[tweet_id] = model.tweets.pop(tweet_id)["marker"]


def _all_pages(client: Client, path: str, key: str = "tweets", **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = _expect(client.get(path, cursor=cursor, count=100, **params), 200)
        items += page[key]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def check(stack: LocalStack, model: Model, clients: list[Client], *, settle_s: float = 20.0) -> dict[str, int]:
    """Proves the invariants; raises AssertionError naming the first violation. Returns what was checked."""
    assert not model.errors, model.errors[:5]
    by_name = {c.username: c for c in clients}
    viewer = clients[0]
    checked: dict[str, int] = defaultdict(int)
    # Drop likes/retweets of deleted tweets: they went with the tweet.
    likes = {(u, t) for u, t in model.likes if t in model.tweets}
    retweets = {(u, t) for u, t in model.retweets if t in model.tweets}
    for tweet_id in model.tweets:
        tweet = _expect(viewer.get(f"/tweets/{tweet_id}"), 200)
        assert tweet["likes_count"] == sum(1 for _, t in likes if t == tweet_id), f"likes of {tweet_id}"
        assert tweet["retweets_count"] == sum(1 for _, t in retweets if t == tweet_id), f"retweets of {tweet_id}"
        live_replies = sorted(t for t, v in model.tweets.items() if v["reply_to"] == tweet_id)
        thread = [t["tweet_id"] for t in _all_pages(viewer, f"/tweets/{tweet_id}/replies")]
        assert sorted(thread) == live_replies, f"thread of {tweet_id}"
        assert tweet["replies_count"] == len(live_replies), f"replies_count of {tweet_id}"
        checked["tweets"] += 1
    for tweet_id in model.deleted:
        assert viewer.get(f"/tweets/{tweet_id}").status_code == 404
    for name, client in by_name.items():
        profile = _expect(viewer.get(f"/users/{name}"), 200)
        assert profile["follower_count"] == sum(1 for _, f in model.follows if f == name), f"followers of {name}"
        assert profile["following_count"] == sum(1 for f, _ in model.follows if f == name), f"following of {name}"
        assert profile["tweet_count"] == sum(1 for v in model.tweets.values() if v["author"] == name)
        followees = {f for u, f in model.follows if u == name} | {name}
        expected = sorted((t for t, v in model.tweets.items() if v["author"] in followees), key=int, reverse=True)
        deadline = time.monotonic() + settle_s
        while True:
            timeline = [t["tweet_id"] for t in _all_pages(client, "/timeline/home")]
            if timeline == expected or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert timeline == expected, f"home timeline of {name}: {len(timeline)} vs {len(expected)} expected"
        checked["timelines"] += 1
    for tweet_id, info in model.tweets.items():
        _settled(
            lambda m=info["marker"], t=tweet_id: (
                [x["tweet_id"] for x in _expect(viewer.get("/search", q=m), 200)["tweets"]] == [t]
            ),
            settle_s,
            f"search for live tweet {tweet_id}",
        )
        checked["searchable"] += 1
    for tweet_id, marker in model.deleted.items():
        _settled(
            lambda m=marker: _expect(viewer.get("/search", q=m), 200)["tweets"] == [],
            settle_s,
            f"search still finds deleted {tweet_id}",
        )
        checked["unsearchable"] += 1
    live_tags = {v["tag"] for v in model.tweets.values()}
    for trend in _expect(viewer.get("/trends", count=30), 200)["trends"]:
        if trend["hashtag"] in {"alpha", "beta", "gamma"}:
            assert trend["hashtag"] in live_tags, f"trend {trend['hashtag']} has no live tweet"
            assert trend["tweet_count"] <= sum(1 for v in model.tweets.values() if v["tag"] == trend["hashtag"])
            checked["trends"] += 1
    return dict(checked)


def _settled(check_fn: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check_fn():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.2)

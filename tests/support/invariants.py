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

from chirp.services.trends import MAX_TREND_TWEETS_PER_AUTHOR
from support.runtime import Client, LocalStack


def _run_tags() -> list[str]:
    """Hashtags only this run uses, so that the trends hold exactly what the model knows of them."""
    run = uuid.uuid4().hex[:6]
    return [f"{name}{run}" for name in ("alpha", "beta", "gamma")]


@dataclass
class Model:
    tweets: dict[str, dict[str, Any]] = field(default_factory=dict)  # live tweets: id -> {author, marker, reply_to}
    deleted: dict[str, str] = field(default_factory=dict)  # id -> marker
    tags: list[str] = field(default_factory=_run_tags)
    posted: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # author -> [(id, tag)] in posting order
    not_found: list[str] = field(default_factory=list)  # "like 123": a 404 the checker must explain by a delete
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
        tag = rng.choice(model.tags)
        body: dict[str, Any] = {"content": f"{marker} #{tag} words"}
        parent = rng.choice(live) if op == "reply" else None
        if parent:
            body["reply_to"] = parent
        response = me.post("/tweets", body, headers={"Idempotency-Key": marker})
        if parent and response.status_code == 404:
            with model.lock:  # legitimate only if the parent was deleted meanwhile: the checker verifies it
                model.not_found.append(f"reply {parent}")
            return
        tweet = _expect(response, 201)
        with model.lock:
            model.tweets[tweet["tweet_id"]] = {"author": me.username, "marker": marker, "reply_to": parent, "tag": tag}
            model.posted.setdefault(me.username, []).append((tweet["tweet_id"], tag))
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
            with model.lock:  # legitimate only if the tweet was deleted meanwhile: the checker verifies it
                model.not_found.append(f"{op} {tweet_id}")
            return
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
    # A 404 on like/unlike/retweet/unretweet/reply is a race with a delete only if the model saw that delete.
    unexplained = [nf for nf in model.not_found if nf.split()[1] not in model.deleted]
    assert not unexplained, f"404 for tweets the workload never deleted: {unexplained[:5]}"
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
        # A live tweet retweeted by a followee (or the reader) is shown too, and every tweet at most once: a
        # retweet entry is left out where the timeline holds its original or another retweet of it.
        shared = {t for u, t in retweets if u in followees} - set(expected)
        deadline = time.monotonic() + settle_s
        while True:
            items = _all_pages(client, "/timeline/home")
            shown = [t["retweet_of"]["tweet_id"] if t.get("retweet_of") else t["tweet_id"] for t in items]
            timeline = [t["tweet_id"] for t in items if not t.get("retweet_of")]
            settled = timeline == expected and sorted(shown) == sorted(set(expected) | shared)
            if settled or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert timeline == expected, f"home timeline of {name}: {len(timeline)} vs {len(expected)} expected"
        assert sorted(shown) == sorted(set(expected) | shared), f"retweets in the home timeline of {name}"
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
    bounds = trend_bounds(model)
    counts: dict[str, int] = {}

    def trends_within_bounds() -> bool:
        counts.clear()
        for trend in _expect(viewer.get("/trends", count=30), 200)["trends"]:
            counts[trend["hashtag"]] = trend["tweet_count"]
        return all(low <= counts.get(tag, 0) <= high for tag, (low, high) in bounds.items())

    assert any(low > 0 for low, _ in bounds.values()) or not model.posted, f"vacuous trend bounds {bounds}"
    deadline = time.monotonic() + settle_s
    while not trends_within_bounds() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert trends_within_bounds(), f"trends {counts} outside the model's bounds (low, high) {bounds}"
    checked["trends"] = sum(1 for low, _ in bounds.values() if low > 0)
    return dict(checked)


def trend_bounds(model: Model) -> dict[str, tuple[int, int]]:
    """For each of the run's hashtags, the fewest and the most tweets the trends may count (the trender's rules: an
    author counts once per hashtag per window, with the first of their tweets with it that is live when processed,
    and only within their first MAX_TREND_TWEETS_PER_AUTHOR tweets; a deleted tweet's count goes with it).
    At most: the authors with a live tweet with the tag. At least: the authors none of whose tweets with the tag
    was deleted and whose first one is within their budget (it was counted and stayed)."""
    bounds: dict[str, tuple[int, int]] = {}
    for tag in model.tags:
        low = high = 0
        for posts in model.posted.values():
            mine = [(i, tweet_id) for i, (tweet_id, t) in enumerate(posts) if t == tag]
            if not mine:
                continue
            live = [tweet_id in model.tweets for _, tweet_id in mine]
            high += any(live)
            low += all(live) and mine[0][0] < MAX_TREND_TWEETS_PER_AUTHOR
        bounds[tag] = (low, high)
    return bounds


def _settled(check_fn: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check_fn():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.2)

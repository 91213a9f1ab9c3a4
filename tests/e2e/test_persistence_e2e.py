"""Durability: data survives a clean restart and a SIGKILL of the runtime (on the embedded backend, and on the
servers backend with the shared stand-ins, which keep running); on the servers backend as `make run BACKEND=servers`
runs it, everything also survives a restart of the stand-in servers themselves."""

from __future__ import annotations

import fcntl
import io
import json
import signal
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from PIL import Image

from support.runtime import Client, LocalStack, eventually


def test_everything_acknowledged_survives_restart_and_sigkill(fresh_data_dir: Path, stack_env: dict[str, str]) -> None:
    stack = LocalStack(fresh_data_dir, stack_env).start()
    try:
        alice, bob = stack.user("alice"), stack.user("bob")
        bob.follow("alice")
        first = alice.tweet("before the restart #durable")
        liked = bob.post(f"/tweets/{first['tweet_id']}/like").json()
        assert liked["likes_count"] == 1
        eventually(lambda: bob.get("/search", q="#durable").json()["tweets"])
    finally:
        stack.stop(signal.SIGTERM)

    stack.start()
    try:
        bob = stack.client(bob.token)
        assert [t["tweet_id"] for t in bob.home()["tweets"]] == [first["tweet_id"]]  # rebuilt from durable data
        assert bob.get(f"/tweets/{first['tweet_id']}").json()["liked_by_user"] is True
        second = stack.client(alice.token).tweet("acknowledged then killed")
    finally:
        stack.stop(signal.SIGKILL)

    stack.start()
    try:
        bob = stack.client(bob.token)
        expected = ["acknowledged then killed", "before the restart #durable"]
        eventually(lambda: [t["content"] for t in bob.home()["tweets"]] == expected)  # the stream resumes
        assert bob.get("/users/alice").json()["tweet_count"] == 2
        # the stream picks up where its checkpoints were: the post made before the kill is searchable
        eventually(
            lambda: [t["tweet_id"] for t in bob.get("/search", q="killed").json()["tweets"]] == [second["tweet_id"]]
        )
    finally:
        stack.stop()


# The servers backend as `make run BACKEND=servers` runs it: the runtime starts its own stand-ins (--start-servers),
# their data under <data dir>/servers, and stops them when it stops; a restart starts them again on that data.
SERVERS_READY_S = 300.0  # six servers start before the runtime answers: ~45 s on a quiet machine, more on a busy one


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (29, 155, 240)).save(out, format="PNG")
    return out.getvalue()


PNG = _png()


class ServersStack(LocalStack):
    """A LocalStack that waits longer for its first health check (its stand-ins start first)."""

    def start(self) -> ServersStack:
        try:
            super().start()
        except RuntimeError:
            if self.process is None or self.process.poll() is not None:
                raise  # it died: the log tail is in the error
            eventually(lambda: _healthy(self), timeout=SERVERS_READY_S, interval=0.5)
        return self


def _healthy(stack: LocalStack) -> bool:
    try:
        return httpx.get(f"{stack.api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _servers_exited(servers_dir: Path, timeout: float = 60.0) -> None:
    """The stand-ins hold a lock on their directory until the last of them has exited (chirp.local.servers.harness)."""
    with (servers_dir / ".lock").open("a") as lock:

        def free() -> bool:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            fcntl.flock(lock, fcntl.LOCK_UN)
            return True

        eventually(free, timeout=timeout, interval=0.2)


def _media(stack: LocalStack, url: str) -> bytes:
    """A media object's bytes, read from the S3 stand-in the runtime started (no CDN serves the bucket locally): its
    URL is in the line the runtime prints when its servers are up; the bucket is servers_env's for namespace chirp."""
    started = [line for line in stack.log.read_text().splitlines() if line.startswith('{"servers": ')]
    moto = json.loads(started[-1])["servers"]["moto"]
    s3 = boto3.client(
        "s3", endpoint_url=moto, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    key = "media/" + url.rsplit("/media/", 1)[1]
    return bytes(s3.get_object(Bucket="chirp-media", Key=key)["Body"].read())


def _state(stack: LocalStack, alice: Client, bob: Client, tweet_id: str) -> dict[str, Any]:
    """What each store holds, read through the API: records (users, tweets, likes, notifications), the graph
    (follows), the cache (home timeline, trends), the search index (tweets and users); and the media bucket."""
    tweet = bob.get(f"/tweets/{tweet_id}").json()
    trends = bob.get("/trends", count=30).json()["trends"]
    profile = bob.get("/users/alice").json()
    return {
        "tweet": {k: tweet[k] for k in ("content", "username", "hashtags", "likes_count", "liked_by_user")},
        "media": _media(stack, tweet["media_urls"][0]),
        "following": [u["username"] for u in bob.get("/users/bob/following").json()["users"]],
        "profile": {k: v for k, v in profile.items() if k.endswith("_count") or k == "followed_by_me"},
        "home": [t["tweet_id"] for t in bob.home()["tweets"]],
        "search": [t["tweet_id"] for t in bob.get("/search", q="#durable").json()["tweets"]],
        "user_search": [u["username"] for u in bob.get("/search/users", q="ali").json()["users"]],
        "trend": [t["tweet_count"] for t in trends if t["hashtag"] == "durable"],
        "notifications": sorted(n["type"] for n in alice.get("/notifications").json()["notifications"]),
    }


def _logs_in(stack: LocalStack) -> bool:
    login = httpx.post(f"{stack.api}/auth/login", json={"username": "alice", "password": "password-123"})
    return login.status_code == 200 and bool(login.json()["token"])


@pytest.mark.timeout(2 * SERVERS_READY_S + 300)
def test_servers_backend_keeps_everything_when_runtime_and_servers_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    stack = ServersStack(data, {"CHIRP_BACKEND": "servers", "CHIRP_SERVERS_START": "1"}).start()
    try:
        alice, bob = stack.user("alice"), stack.user("bob")
        bob.follow("alice")
        ticket = alice.post("/media", {"content_type": "image/png", "size": len(PNG)}).json()
        upload = ticket["upload"]
        stored = httpx.post(upload["url"], data=upload["fields"], files={"file": ("p.png", PNG, "image/png")})
        assert stored.status_code in (200, 204), stored.text
        eventually(lambda: alice.get(f"/media/{ticket['media_id']}").json()["status"] == "ready", timeout=60)
        first = alice.tweet("before the restart #durable", media_ids=[ticket["media_id"]])
        # the processed rendition (the upload itself is gone): it must come back byte for byte
        rendition = _media(stack, first["media_urls"][0])
        assert Image.open(io.BytesIO(rendition)).size == (64, 48)
        assert bob.post(f"/tweets/{first['tweet_id']}/like").json()["likes_count"] == 1
        expected = {
            "tweet": {
                "content": "before the restart #durable",
                "username": "alice",
                "hashtags": ["durable"],
                "likes_count": 1,
                "liked_by_user": True,
            },
            "media": rendition,
            "following": ["alice"],
            "profile": {"follower_count": 1, "following_count": 0, "tweet_count": 1, "followed_by_me": True},
            "home": [first["tweet_id"]],
            "search": [first["tweet_id"]],
            "user_search": ["alice"],
            "trend": [1],
            "notifications": ["follow", "like"],
        }
        # everything is in the stores (the stream's consumers have run) before anything stops
        deadline = time.monotonic() + 30
        while (state := _state(stack, alice, bob, first["tweet_id"])) != expected and time.monotonic() < deadline:
            time.sleep(0.5)
        assert state == expected
        assert _logs_in(stack)
    finally:
        stack.stop(signal.SIGTERM)
    _servers_exited(data / "servers")  # all stopped: the next start has nothing but the data directory

    stack.start()
    try:
        alice, bob = stack.client(alice.token), stack.client(bob.token)  # the tokens of the first run still work
        assert _state(stack, alice, bob, first["tweet_id"]) == expected
        assert _logs_in(stack)
        # the stream and the mappings' checkpoints still agree: a new post is fanned out and indexed
        second = alice.tweet("after the restart #durable")
        eventually(lambda: [t["tweet_id"] for t in bob.home()["tweets"]] == [second["tweet_id"], first["tweet_id"]])
        eventually(lambda: len(bob.get("/search", q="#durable").json()["tweets"]) == 2, timeout=10)
    finally:
        stack.stop(signal.SIGTERM)
    _servers_exited(data / "servers")

"""Durability of the embedded backend: data survives a clean restart and a SIGKILL; timelines are rebuilt."""

import signal
from pathlib import Path

from support.runtime import LocalStack, eventually


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

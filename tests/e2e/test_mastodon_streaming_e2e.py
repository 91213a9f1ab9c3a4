"""Mastodon.py streams from a running Chirp over its WebSocket transport: it finds the streaming base in the instance
document, opens <base>/api/v1/streaming with a Chirp token in the Authorization header, subscribes to its user
stream and a hashtag stream by message, and receives live updates (a followee's post, a stranger's tagged post) and
a delete — the same fan-out that feeds Chirp's own clients."""

from __future__ import annotations

import queue
import uuid
from typing import Any

import pytest
from mastodon import Mastodon, StreamListener

from support.runtime import LocalStack

pytestmark = pytest.mark.e2e
WAIT_S = 20.0


class Collected(StreamListener):
    """Every event with the stream it came on; Mastodon's error events too (they say a request was handled)."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, Any, Any]] = queue.Queue()

    def on_any_event(self, name: str, data: Any = None, for_stream: Any = None) -> None:
        self.events.put((name, data, for_stream))

    def on_websocket_error(self, error: Any, for_stream: Any = None) -> None:
        self.events.put(("error", error, for_stream))

    def next(self, name: str) -> tuple[Any, Any]:
        while True:
            kind, data, stream = self.events.get(timeout=WAIT_S)
            if kind == name:
                return data, stream


def uname(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def test_mastodon_py_streams_updates_hashtags_and_deletes(runtime: LocalStack) -> None:
    alice, bob, carol = runtime.user(uname("a")), runtime.user(uname("b")), runtime.user(uname("c"))
    bob.follow(alice.username)
    tag = f"t{uuid.uuid4().hex[:8]}"
    api = Mastodon(access_token=bob.token, api_base_url=runtime.mastodon_url)
    listener = Collected()
    handle = api.stream_open_websocket(listener=listener)  # type: ignore[no-untyped-call]
    try:
        api.stream_user(listener, websocket_handle=handle)
        api.stream_hashtag(tag, listener, websocket_handle=handle)
        # The gateway handles one connection's messages in order: the refusal of this one means both
        # subscriptions above are in place.
        handle.subscribe("public:remote")
        error, _ = listener.next("error")
        assert "Unknown stream type" in str(error)

        posted = alice.tweet("live to Mastodon.py")
        status, stream = listener.next("update")
        assert str(status.id) == posted["tweet_id"] and stream == ["user"]
        assert status.account.username == alice.username and "live to Mastodon.py" in status.content

        tagged = carol.tweet(f"a stranger says #{tag}")  # bob does not follow carol
        status, stream = listener.next("update")
        assert str(status.id) == tagged["tweet_id"] and stream == ["hashtag", tag]

        assert alice.delete(f"/tweets/{posted['tweet_id']}").status_code == 200
        deleted, stream = listener.next("delete")
        assert str(deleted) == posted["tweet_id"] and stream == ["user"]
    finally:
        handle.close()

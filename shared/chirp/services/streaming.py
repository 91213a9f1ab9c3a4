"""Mastodon's streaming protocol (https://docs.joinmastodon.org/methods/streaming/#websocket) over Chirp's WebSocket
API: which connections speak it, the streams they ask for (``?stream=`` at connect, then ``subscribe`` /
``unsubscribe`` messages) and the events they receive, ``{"event", "stream", "payload": "<JSON text>"}``.

A connection speaks Chirp's own protocol when it authenticated with Chirp's ``?token=`` query parameter (what
Chirp's clients send); otherwise (Mastodon's ``?access_token=``, or the ``Authorization`` header that Mastodon.py
sends) it speaks Mastodon's. Payloads are rendered with the Mastodon surface's entities (``chirp.mastodon``), once
per push and only when some Mastodon connection listens."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from chirp.ports import TAG_STREAMS, USER_STREAMS, MastodonStream, UserStream
from chirp.text import normalize_hashtag

EventName = Literal["update", "notification", "delete"]
STREAMS: tuple[MastodonStream, ...] = (*USER_STREAMS, *TAG_STREAMS)
_TAG_RE = re.compile(r"\w{1,100}")  # what a tweet's hashtag can be (chirp.text)


def speaks_mastodon(query: Mapping[str, str] | None) -> bool:
    return not (query or {}).get("token")


@dataclass(frozen=True, slots=True)
class Subscription:
    stream: MastodonStream
    tag: str | None = None  # a hashtag stream's tag, normalized (chirp.text: what tweets' hashtags are matched by)

    @property
    def names(self) -> list[str]:
        """The event's ``stream`` field: the stream, then its tag."""
        return [self.stream] if self.tag is None else [self.stream, self.tag]


class StreamingError(Exception):
    """A request Mastodon's server answers with ``{"error": ..., "status": 400}``."""

    def reply(self) -> dict[str, Any]:
        return {"error": str(self), "status": 400}


def subscription(stream: object, tag: object = None) -> Subscription:
    """The stream a client named (``tag`` for a hashtag stream), or StreamingError."""
    if stream not in STREAMS:
        raise StreamingError(f"Unknown stream type; supported: {', '.join(STREAMS)}")
    name = stream
    if name not in TAG_STREAMS:
        return Subscription(name)
    normalized = normalize_hashtag(tag.strip()) if isinstance(tag, str) else ""
    if not normalized:
        raise StreamingError("No tag for stream provided")
    if not _TAG_RE.fullmatch(normalized):
        raise StreamingError("A tag is letters, digits and underscores")
    return Subscription(name, normalized)


def connect_subscriptions(query: Mapping[str, str] | None) -> list[Subscription]:
    """What ``?stream=`` asks for at connect (none: the client subscribes with messages)."""
    query = query or {}
    if not query.get("stream"):
        return []
    return [subscription(query["stream"], query.get("tag"))]


@dataclass(frozen=True, slots=True)
class ClientRequest:
    subscribe: bool
    subscription: Subscription


def client_request(message: Mapping[str, Any]) -> ClientRequest | None:
    """A ``subscribe`` / ``unsubscribe`` message (None: not a Mastodon request); StreamingError when it is one but
    names no stream Chirp has."""
    kind = message.get("type")
    if kind not in ("subscribe", "unsubscribe"):
        return None
    return ClientRequest(kind == "subscribe", subscription(message.get("stream"), message.get("tag")))


@dataclass(slots=True)
class StreamEvent:
    """One event for Mastodon connections: its payload is rendered at most once (``render`` may read stores), in the
    pushing thread, and only if someone listens. ``streams``: the user streams that carry it; ``tags``: hashtags
    whose streams carry it too."""

    event: EventName
    render: Callable[[], str]
    streams: tuple[UserStream, ...] = ("user",)
    tags: Sequence[str] = ()
    _payload: str | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def payload(self) -> str:
        with self._lock:
            if self._payload is None:
                self._payload = self.render()
            return self._payload

    def message(self, names: list[str]) -> dict[str, object]:
        return {"event": self.event, "stream": names, "payload": self.payload()}


def json_payload(entity: Mapping[str, Any]) -> str:
    """Mastodon sends the payload as JSON text inside the JSON message."""
    return json.dumps(entity, separators=(",", ":"), ensure_ascii=False)

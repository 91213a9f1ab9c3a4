"""WebSocket connections and real-time push. Online followers of ordinary authors are found from the follower
batches of the fan-out; online followers of celebrities subscribe to them when they connect (O(1) lookup per tweet),
and when an author they follow becomes a celebrity (the fan-out consumer's CELEBRITY_CHANGED walk).

A connection speaks Chirp's protocol or Mastodon's streaming protocol (chirp.services.streaming): one lookup finds
a push's audience in both, Chirp's clients receive Chirp's message and Mastodon's the event rendered for the stream
they subscribed to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from chirp import api_models as api
from chirp.mastodon import entities
from chirp.ports import USER_STREAMS, Listeners
from chirp.services.feed import celebrity_followees
from chirp.services.stores import Stores
from chirp.services.streaming import (
    StreamEvent,
    StreamingError,
    Subscription,
    client_request,
    connect_subscriptions,
    json_payload,
)
from chirp.services.views import TweetHydrator

PUSH_BATCHES = 8  # audiences pushed at once (each pusher call is concurrent within itself)
# One push: the connections and the message they all receive.
Group = tuple[list[str], dict[str, object] | StreamEvent, list[str]]


class RealtimeService:
    def __init__(self, stores: Stores, *, celebrity_threshold: int, mastodon_url: str = "") -> None:
        self._s = stores
        self._threshold = celebrity_threshold
        self._mastodon_url = mastodon_url  # the Mastodon surface's base URL: entities' links point there

    # -- Mastodon events ---------------------------------------------------------------------------------------
    def update_event(self, tweet: api.Tweet) -> StreamEvent:
        """A new status, on the user streams of the author and followers and on its hashtags' streams."""

        def render() -> str:
            original = tweet.get("retweet_of")  # a retweet entry: Mastodon's reblog wraps the original
            reblog = entities.status(original, base_url=self._mastodon_url) if original else None
            return json_payload(entities.status(tweet, base_url=self._mastodon_url, reblog=reblog))

        return StreamEvent("update", render, tags=tweet["hashtags"])

    def delete_event(self, tweet_id: int, hashtags: Sequence[str]) -> StreamEvent:
        """A deleted status: Mastodon's payload is the bare id."""
        return StreamEvent("delete", lambda: str(tweet_id), tags=hashtags)

    def notification_event(self, note: api.Notification, recipient_id: int) -> StreamEvent:
        """A notification (with the status it is about, as the recipient sees it), on ``user`` and
        ``user:notification``."""

        def render() -> str:
            about = TweetHydrator(self._s).by_ids(recipient_id, [int(note["tweet_id"])]) if note["tweet_id"] else []
            status = entities.status(about[0], base_url=self._mastodon_url) if about else None
            return json_payload(entities.notification(note, base_url=self._mastodon_url, status=status))

        return StreamEvent("notification", render, streams=USER_STREAMS)

    def connect(self, connection_id: str, user_id: int, *, mastodon: Mapping[str, str] | None = None) -> None:
        """A Chirp connection hears its user's home events at once; a Mastodon one (``mastodon``: its connect's
        query string) the streams of its ``?stream=`` and later subscriptions. StreamingError for a stream Chirp
        does not have."""
        if mastodon is None:
            self._s.connections.register(connection_id, user_id)
            self._subscribe_celebrities(connection_id, user_id)
            return
        subscriptions = connect_subscriptions(mastodon)  # refused before it is registered
        self._s.connections.register(connection_id, user_id, mastodon=True)
        for subscription in subscriptions:
            self._join(connection_id, user_id, subscription)

    def _subscribe_celebrities(self, connection_id: str, user_id: int) -> None:
        celebrities = celebrity_followees(self._s, user_id, self._threshold)  # the home read's cached list
        if celebrities:
            self._s.connections.subscribe(connection_id, celebrities)

    def mastodon_message(self, connection_id: str, user_id: int, message: Mapping[str, Any]) -> bool:
        """A Mastodon client's ``subscribe`` / ``unsubscribe``: True when it was one (handled, or answered with
        Mastodon's error event); False when the message is not Mastodon's."""
        try:
            request = client_request(message)
            if request is None:
                return False
            if request.subscribe:
                if not self._join(connection_id, user_id, request.subscription):
                    raise StreamingError("This connection speaks Chirp's protocol (it connected with ?token=)")
            else:
                self._leave(connection_id, user_id, request.subscription)
        except StreamingError as exc:
            self.send(connection_id, exc.reply())
        return True

    def _join(self, connection_id: str, user_id: int, subscription: Subscription) -> bool:
        joined = self._s.connections.subscribe_stream(connection_id, subscription.stream, subscription.tag)
        if joined and subscription.stream == "user":  # home updates: celebrities' tweets reach it by subscription
            self._subscribe_celebrities(connection_id, user_id)
        return joined

    def _leave(self, connection_id: str, user_id: int, subscription: Subscription) -> None:
        self._s.connections.unsubscribe_stream(connection_id, subscription.stream, subscription.tag)
        if subscription.stream == "user":
            celebrities = celebrity_followees(self._s, user_id, self._threshold)
            if celebrities:
                self._s.connections.unsubscribe(connection_id, celebrities)

    def disconnect(self, connection_id: str) -> None:
        self._s.connections.unregister(connection_id)

    def subscribe_user(self, user_id: int, celebrity_ids: Sequence[int]) -> None:
        for connection_id in self._s.connections.connections_of([user_id]).get(user_id, []):
            self._s.connections.subscribe(connection_id, celebrity_ids)

    def unsubscribe_user(self, user_id: int, celebrity_ids: Sequence[int]) -> None:
        for connection_id in self._s.connections.connections_of([user_id]).get(user_id, []):
            self._s.connections.unsubscribe(connection_id, celebrity_ids)

    def subscribe_followers(self, celebrity_id: int, follower_ids: Sequence[int]) -> None:
        """Online followers of an author that just became a celebrity: its tweets now reach them by subscription."""
        for connection_ids in self._s.connections.connections_of(follower_ids).values():
            for connection_id in connection_ids:
                self._s.connections.subscribe(connection_id, [celebrity_id])

    def send(self, connection_id: str, message: dict[str, Any]) -> bool:
        """Push to one connection; a connection that is gone is unregistered."""
        if self._s.pusher.push(connection_id, message):
            return True
        self._s.connections.unregister(connection_id)
        return False

    def push_to_users(
        self, user_ids: Sequence[int], message: dict[str, Any] | None, *, mastodon: StreamEvent | None = None
    ) -> int:
        return self.start_push_to_users(user_ids, message, mastodon=mastodon).result()

    def start_push_to_users(
        self, user_ids: Sequence[int], message: dict[str, Any] | None, *, mastodon: StreamEvent | None = None
    ) -> Future[int]:
        """Look up the users' connections now and push to them in the background: the fan-out consumer starts the
        pushes of a batch, writes its timelines meanwhile, then waits (the batch is done when both are). Chirp's
        connections get ``message`` (None: nothing), Mastodon's ``mastodon`` on the streams that carry it."""
        listeners = self._s.connections.listeners_of(user_ids)
        return self._start_send_all(self._groups(listeners, message, mastodon))

    def push_to_subscribers(
        self, celebrity_id: int, message: dict[str, Any] | None, *, mastodon: StreamEvent | None = None
    ) -> int:
        return self.start_push_to_subscribers(celebrity_id, message, mastodon=mastodon).result()

    def start_push_to_subscribers(
        self, celebrity_id: int, message: dict[str, Any] | None, *, mastodon: StreamEvent | None = None
    ) -> Future[int]:
        listeners = self._s.connections.celebrity_listeners(celebrity_id)
        return self._start_send_all(self._groups(listeners, message, mastodon))

    def start_push_to_tags(self, event: StreamEvent) -> Future[int]:
        """The event to the Mastodon connections following any of its hashtags (``stream: ["hashtag", tag]``)."""
        groups: list[Group] = []
        if event.tags:
            for tag, listeners in self._s.connections.tag_listeners(event.tags).items():
                for stream, ids in listeners.mastodon.items():
                    groups.append((ids, event, [stream, tag]))
        return self._start_send_all(groups)

    @staticmethod
    def _groups(listeners: Listeners, message: dict[str, Any] | None, mastodon: StreamEvent | None) -> list[Group]:
        groups: list[Group] = []
        if message is not None and listeners.chirp:
            groups.append((listeners.chirp, message, []))
        if mastodon is not None:
            for stream in mastodon.streams:
                if ids := listeners.mastodon.get(stream):
                    groups.append((ids, mastodon, [stream]))
        return groups

    def _start_send_all(self, groups: list[Group]) -> Future[int]:
        """The pusher sends to a whole audience concurrently (each push is one HTTP call to the management API);
        the returned future holds the number delivered. Connections that are gone are unregistered."""
        if not groups:
            done: Future[int] = Future()
            done.set_result(0)
            return done
        return _push_pool().submit(self._send_all, groups)

    def _send_all(self, groups: list[Group]) -> int:
        delivered = 0
        for connection_ids, message, names in groups:
            body = message.message(names) if isinstance(message, StreamEvent) else message
            gone = self._s.pusher.push_many(connection_ids, body)
            for connection_id in gone:
                self._s.connections.unregister(connection_id)
            delivered += len(connection_ids) - len(gone)
        return delivered


@lru_cache(maxsize=1)
def _push_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=PUSH_BATCHES, thread_name_prefix="push")

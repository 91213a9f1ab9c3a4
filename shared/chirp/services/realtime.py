"""WebSocket connections and real-time push. Online followers of ordinary authors are found from the follower
batches of the fan-out; online followers of celebrities subscribe to them when they connect (O(1) lookup per tweet),
and when an author they follow becomes a celebrity (the fan-out consumer's CELEBRITY_CHANGED walk)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from chirp.services.feed import celebrity_followees
from chirp.services.stores import Stores

PUSH_BATCHES = 8  # audiences pushed at once (each pusher call is concurrent within itself)


class RealtimeService:
    def __init__(self, stores: Stores, *, celebrity_threshold: int) -> None:
        self._s = stores
        self._threshold = celebrity_threshold

    def connect(self, connection_id: str, user_id: int) -> None:
        self._s.connections.register(connection_id, user_id)
        celebrities = celebrity_followees(self._s, user_id, self._threshold)  # the home read's cached list
        if celebrities:
            self._s.connections.subscribe(connection_id, celebrities)

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

    def push_to_users(self, user_ids: Sequence[int], message: dict[str, Any]) -> int:
        return self.start_push_to_users(user_ids, message).result()

    def start_push_to_users(self, user_ids: Sequence[int], message: dict[str, Any]) -> Future[int]:
        """Look up the users' connections now and push to them in the background: the fan-out consumer starts the
        pushes of a batch, writes its timelines meanwhile, then waits (the batch is done when both are)."""
        connection_ids = [c for ids in self._s.connections.connections_of(user_ids).values() for c in ids]
        return self._start_send_all(connection_ids, message)

    def push_to_subscribers(self, celebrity_id: int, message: dict[str, Any]) -> int:
        return self.start_push_to_subscribers(celebrity_id, message).result()

    def start_push_to_subscribers(self, celebrity_id: int, message: dict[str, Any]) -> Future[int]:
        return self._start_send_all(self._s.connections.subscribers(celebrity_id), message)

    def _start_send_all(self, connection_ids: Sequence[str], message: dict[str, Any]) -> Future[int]:
        """The pusher sends to a whole audience concurrently (each push is one HTTP call to the management API);
        the returned future holds the number delivered. Connections that are gone are unregistered."""
        if not connection_ids:
            done: Future[int] = Future()
            done.set_result(0)
            return done
        return _push_pool().submit(self._send_all, list(connection_ids), message)

    def _send_all(self, connection_ids: list[str], message: dict[str, Any]) -> int:
        gone = self._s.pusher.push_many(connection_ids, message)
        for connection_id in gone:
            self._s.connections.unregister(connection_id)
        return len(connection_ids) - len(gone)


@lru_cache(maxsize=1)
def _push_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=PUSH_BATCHES, thread_name_prefix="push")

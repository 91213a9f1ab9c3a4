"""WebSocket connections and real-time push. Online followers of ordinary authors are found from the follower pages
of the fan-out; online followers of celebrities subscribe to them when they connect (O(1) lookup per tweet)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from chirp.services.stores import Stores

PUSH_CONCURRENCY = 32


class RealtimeService:
    def __init__(self, stores: Stores, *, celebrity_threshold: int) -> None:
        self._s = stores
        self._threshold = celebrity_threshold

    def connect(self, connection_id: str, user_id: int) -> None:
        self._s.connections.register(connection_id, user_id)
        celebrities = self._s.graph.followees_with_min_followers(user_id, self._threshold, limit=5000)
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

    def send(self, connection_id: str, message: dict[str, Any]) -> bool:
        """Push to one connection; a connection that is gone is unregistered."""
        if self._s.pusher.push(connection_id, message):
            return True
        self._s.connections.unregister(connection_id)
        return False

    def push_to_users(self, user_ids: Sequence[int], message: dict[str, Any]) -> int:
        connection_ids = [c for ids in self._s.connections.connections_of(user_ids).values() for c in ids]
        return self._send_all(connection_ids, message)

    def push_to_subscribers(self, celebrity_id: int, message: dict[str, Any]) -> int:
        return self._send_all(self._s.connections.subscribers(celebrity_id), message)

    def _send_all(self, connection_ids: Sequence[str], message: dict[str, Any]) -> int:
        """Each push is one HTTP call to the management API: a large audience is pushed concurrently."""
        if len(connection_ids) <= 2:
            return sum(self.send(c, message) for c in connection_ids)
        return sum(_push_pool().map(lambda c: self.send(c, message), connection_ids))


@lru_cache(maxsize=1)
def _push_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=PUSH_CONCURRENCY, thread_name_prefix="push")

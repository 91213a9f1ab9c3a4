"""WebSocket connections and real-time push. Online followers of ordinary authors are found from the follower pages
of the fan-out; online followers of celebrities subscribe to them when they connect (O(1) lookup per tweet)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chirp.services.stores import Stores


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
        delivered = 0
        for connection_ids in self._s.connections.connections_of(user_ids).values():
            for connection_id in connection_ids:
                delivered += self.send(connection_id, message)
        return delivered

    def push_to_subscribers(self, celebrity_id: int, message: dict[str, Any]) -> int:
        return sum(self.send(connection_id, message) for connection_id in self._s.connections.subscribers(celebrity_id))

"""Fakes (not mocks) for the edges a unit test cannot run for real."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence


class RecordingPusher:
    """A Pusher that keeps every message per connection; connections in ``gone`` behave like API Gateway's 410."""

    def __init__(self) -> None:
        self.sent: dict[str, list[dict[str, object]]] = defaultdict(list)
        self.gone: set[str] = set()
        self._lock = threading.Lock()

    def push(self, connection_id: str, message: dict[str, object]) -> bool:
        with self._lock:
            if connection_id in self.gone:
                return False
            self.sent[connection_id].append(message)
            return True

    def push_many(self, connection_ids: Sequence[str], message: dict[str, object]) -> set[str]:
        return {c for c in connection_ids if not self.push(c, message)}

    def of_type(self, connection_id: str, kind: str) -> list[dict[str, object]]:
        return [m for m in self.sent.get(connection_id, []) if m.get("type") == kind]

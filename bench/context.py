"""What every workload gets: the stack under test, the loaded data set, the run's scale and a logger."""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property

import httpx
from data import Dataset
from stack import BenchStack

from chirp.model import UserRecord


@dataclass
class Bench:
    stack: BenchStack
    data: Dataset
    quick: bool
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    _clients: dict[int, httpx.Client] = field(default_factory=dict)

    @property
    def backend(self) -> str:
        return self.stack.backend

    def scale(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    @cached_property
    def users(self) -> dict[int, UserRecord]:
        return self.data.by_id

    def client(self, user_id: int) -> httpx.Client:
        """A keep-alive HTTP client authenticated as ``user_id`` (token minted with the runtime's key)."""
        if user_id not in self._clients:
            user = self.users[user_id]
            self._clients[user_id] = self.stack.client(user.user_id, user.username)
        return self._clients[user_id]

    def warm_token(self, user_id: int) -> None:
        """One cheap authenticated request so the gateway's authorizer cache holds this token (as for an active
        client); the timed request then measures the route, not the first-token authorizer call."""
        user = self.users[user_id]
        self.client(user_id).get(f"/users/{user.username}")

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

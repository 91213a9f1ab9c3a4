"""The servers backend's Keyspaces for one contract module: one backend (and keyspace) per module, connected on
first use by a servers test, as the app's role; the stand-in's superuser provisions the keyspace and drops it when
the module is done. (An embedded-only run connects to nothing.)"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from chirp.adapters.keyspaces import KeyspacesBackend
from servers.fixtures import drop_keyspace, keyspaces_backend


class HeldKeyspace:
    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._endpoint: Any = None
        self._backend: KeyspacesBackend | None = None

    def backend(self, server_set: Any) -> KeyspacesBackend:
        """The module's backend, connected (and its keyspace provisioned) on first use."""
        if self._backend is None:
            self._endpoint = server_set.endpoint("cassandra")
            self._backend = keyspaces_backend(self._endpoint, f"{self._prefix}_{uuid.uuid4().hex[:12]}")
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            drop_keyspace(self._endpoint, self._backend.keyspace)
            self._backend = None


def held_keyspace(prefix: str) -> Iterator[HeldKeyspace]:
    """The body of a module-scoped fixture: ``yield from held_keyspace("contract")``."""
    held = HeldKeyspace(prefix)
    try:
        yield held
    finally:
        held.close()

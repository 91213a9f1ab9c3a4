"""Contract tests: one suite per port, run against every adapter of that port — the embedded adapter and the
production adapter on a real stand-in (chirp.local.servers). A module asks for ``backend`` and builds its store
with it."""

from __future__ import annotations

from typing import Any

import pytest

from servers.fixtures import servers  # noqa: F401  (the session fixture that starts the real servers)

BACKENDS = ["embedded", "servers"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server_set(backend: str, request: pytest.FixtureRequest) -> Any:
    """The running servers, or None for the embedded backend (so embedded-only runs start nothing)."""
    return request.getfixturevalue("servers") if backend == "servers" else None

"""Pytest fixture ``servers``: the real stand-in servers, started once per test session.

Use it from any conftest (one ``ServerSet`` per session however many conftests import it)::

    from servers.fixtures import servers  # noqa: F401   (tests/ without __init__.py: tests/ is on sys.path)

``$CHIRP_SERVERS`` (comma-separated, e.g. ``redis,cassandra``) limits which servers start; default: all of them.
The set is stopped at the end of the session, whatever the tests did; its last report (endpoints, start
seconds, RSS) stays in ``last_report`` for the terminal summary (see conftest.py beside this file).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from .harness import ALL_SERVERS, ServerSet

_lock = threading.Lock()
_shared: ServerSet | None = None
_users = 0
last_report: dict[str, Any] | None = None


def requested_servers() -> list[str]:
    """The servers to start: ``$CHIRP_SERVERS`` (comma-separated) or all."""
    raw = os.environ.get("CHIRP_SERVERS", "").strip()
    if not raw or raw == "all":
        return list(ALL_SERVERS)
    return [name.strip() for name in raw.split(",") if name.strip()]


def acquire() -> ServerSet:
    """Start the shared set (first caller) or join it; pair every call with ``release()``."""
    global _shared, _users
    with _lock:
        if _shared is None:
            candidate = ServerSet()
            candidate.start(requested_servers())  # raises (after stopping what it started) on failure
            _shared = candidate
        _users += 1
        return _shared


def release() -> None:
    """Leave the shared set; the last user stops it."""
    global _shared, _users, last_report
    with _lock:
        _users -= 1
        if _users <= 0 and _shared is not None:
            last_report = _shared.report()
            _shared.stop()
            _shared, _users = None, 0


@pytest.fixture(scope="session")
def servers() -> Iterator[ServerSet]:
    """All stand-in servers (or ``$CHIRP_SERVERS``) on loopback, ready; stopped at the end of the session."""
    server_set = acquire()
    try:
        yield server_set
    finally:
        release()

"""End-to-end fixtures: real local runtimes (subprocesses), one per backend — the embedded default and the
production adapters on the stand-in servers — shared by the e2e tests of one session. Every e2e test runs on both."""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chirp.local.servers_env import servers_environment
from servers.fixtures import servers  # noqa: F401  (session fixture: the stand-in servers)
from support.runtime import LocalStack

_redis_dbs = iter(range(1, 16))


def _stack_env(request: pytest.FixtureRequest, backend: str, extra: dict[str, str]) -> dict[str, str]:
    if backend == "embedded":
        return extra
    server_set: Any = request.getfixturevalue("servers")
    namespace = f"e2e{uuid.uuid4().hex[:8]}"
    return {**servers_environment(server_set.endpoints, namespace=namespace, redis_db=next(_redis_dbs)), **extra}


@pytest.fixture(scope="session", params=["embedded", "servers"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def runtime(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    env = _stack_env(request, backend, {"CHIRP_TWEET_RATE_LIMIT": "40"})
    stack = LocalStack(tmp_path_factory.mktemp(f"e2e-{backend}") / "data", env).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def celebrity_runtime(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    """Celebrity threshold of 3 followers: exercises merge on read and celebrity subscriptions."""
    env = _stack_env(request, backend, {"CHIRP_CELEBRITY_THRESHOLD": "3"})
    stack = LocalStack(tmp_path_factory.mktemp(f"e2e-celeb-{backend}") / "data", env).start()
    yield stack
    stack.stop()


@pytest.fixture
def stack_env(backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment of a fresh, private stack on the current backend (for restart tests)."""
    return _stack_env(request, backend, {})


@pytest.fixture
def fresh_data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"

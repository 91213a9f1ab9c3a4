"""End-to-end fixtures: real local runtimes (subprocesses), one per backend — the embedded default, the production
adapters on the stand-in servers, and the same with the MSK variant's stream ("kafka": the Kafka stand-in instead of
Kinesis) — shared by the e2e tests of one session. Every e2e test runs on all three."""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chirp.local.servers_env import servers_environment
from servers.fixtures import servers  # noqa: F401  (session fixture: the stand-in servers)
from support.runtime import LocalStack

_redis_dbs = iter(range(1, 16))


def _stack_env(request: pytest.FixtureRequest, backend: str, extra: dict[str, str]) -> dict[str, str]:
    if backend == "embedded":
        return extra
    server_set: Any = request.getfixturevalue("servers")
    endpoints = dict(server_set.endpoints)
    if backend == "kafka":  # joins the shared set (one CA, stopped with it); Kinesis stays for the other stacks
        endpoints = {n: ep for n, ep in server_set.start(["kafka"]).items() if n != "kinesis"}
    namespace = f"e2e{uuid.uuid4().hex[:8]}"
    return {**servers_environment(endpoints, namespace=namespace, redis_db=next(_redis_dbs)), **extra}


@pytest.fixture(scope="session", params=["embedded", "servers", "kafka"])
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


@pytest.fixture(scope="session")
def async_runtime(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    """The async write path: likes, retweets, follows and read markers go from the gateway straight onto the
    stream (chirp.direct_writes), answered 202; the actions consumer applies them."""
    env = _stack_env(request, backend, {"CHIRP_WRITE_PATH": "async"})
    stack = LocalStack(tmp_path_factory.mktemp(f"e2e-async-{backend}") / "data", env).start()
    # The first signup on a cold stack opens every store connection: not within a test's 5-second client timeout.
    name = f"warm{uuid.uuid4().hex[:8]}"
    body = {"username": name, "email": f"{name}@e2e.test", "password": "password-123"}
    assert httpx.post(f"{stack.api}/auth/signup", json=body, timeout=120).status_code == 201
    yield stack
    stack.stop()


@pytest.fixture
def stack_env(backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment of a fresh, private stack on the current backend (for restart tests)."""
    return _stack_env(request, backend, {})


@pytest.fixture
def fresh_data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"

"""End-to-end fixtures: real local runtimes (subprocesses) shared by the e2e tests of one session."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.runtime import LocalStack


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = LocalStack(tmp_path_factory.mktemp("e2e") / "data", {"CHIRP_TWEET_RATE_LIMIT": "40"}).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def celebrity_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Celebrity threshold of 3 followers: exercises merge on read and celebrity subscriptions."""
    stack = LocalStack(tmp_path_factory.mktemp("e2e-celeb") / "data", {"CHIRP_CELEBRITY_THRESHOLD": "3"}).start()
    yield stack
    stack.stop()


@pytest.fixture
def fresh_data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"

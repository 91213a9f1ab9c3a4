"""Shared fixtures: an embedded in-process stack per test (service and handler tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from chirp.container import Container, set_container
from support.stack import make_container


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Container]:
    container = make_container(tmp_path / "data")
    yield container
    set_container(None)


@pytest.fixture
def celebrity_stack(tmp_path: Path) -> Iterator[Container]:
    """A stack whose celebrity threshold is 2 followers, to exercise merge-on-read."""
    container = make_container(tmp_path / "celeb", celebrity_threshold=2)
    yield container
    set_container(None)


# Property tests: no per-example deadline (CI machines are shared and timings vary); examples stay random.
settings.register_profile("chirp", deadline=None, print_blob=True)
settings.load_profile("chirp")

"""A serving process moves what its first invocation loaded out of the cycle collector's sight (``gc.freeze``), once
per function: later full collections walk only what requests created since."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from chirp import warm_heap


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    settled = set(warm_heap._settled)
    warm_heap._settled.clear()
    yield
    warm_heap._settled.clear()
    warm_heap._settled.update(settled)


def test_the_first_invocation_of_a_function_freezes_what_is_alive() -> None:
    assert gc.get_freeze_count() == 0
    kept = [object() for _ in range(10)] + [[i] for i in range(1000)]
    warm_heap.after_invocation("timeline")
    assert gc.get_freeze_count() >= len(kept) - 10  # the lists (plain objects are not tracked)
    gc.unfreeze()


def test_later_invocations_of_the_same_function_do_not_freeze_again() -> None:
    warm_heap.after_invocation("timeline")
    gc.unfreeze()
    warm_heap.after_invocation("timeline")
    assert gc.get_freeze_count() == 0
    warm_heap.after_invocation("tweets")  # another function in the same process (the local runtime)
    assert gc.get_freeze_count() > 0
    gc.unfreeze()

"""Invariants under concurrency, at a small size (make soak runs it big): after a seeded randomized workload of
concurrent users settles, counts equal the distinct rows, timelines hold exactly the live tweets of followees,
deleted tweets are gone from threads and search, follower counts equal the graph, search equals the tweet store."""

from support.invariants import check, run_workload
from support.runtime import LocalStack


def test_invariants_hold_after_a_concurrent_random_workload(runtime: LocalStack) -> None:
    model, clients = run_workload(runtime, users=6, operations_per_user=25, seed=20261124)
    assert model.operations == 150
    checked = check(runtime, model, clients)
    assert checked["tweets"] == len(model.tweets) and checked["timelines"] == 6
    assert checked["unsearchable"] == len(model.deleted)

"""Node loss on the Cassandra ring (three nodes, keyspace at replication factor 3, the product's Keyspaces adapters at
LOCAL_QUORUM): one node is SIGKILLed mid-workload — users (a lightweight transaction on the username), tweets,
likes and reads of what was just written, through chirp's adapters connected to every node.

Asserted: every operation either succeeds or fails fast with StoreUnavailable (what the HTTP layer answers with
503 + Retry-After; anything else would be a 500); with the node down, operations keep succeeding (a long run of
consecutive successes: two of three replicas are a quorum); nothing a write acknowledged is lost — every
acknowledged user, tweet and like is read back at LOCAL_QUORUM with the node still down, and again after it has
come back (hints replayed to it).

Measured, not asserted: the client-side outage window after the kill, the time to steady state (the first of the
consecutive successes), the restarted node's start, printed and written to test-artifacts/cassandra-node-loss.json.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cluster.node_loss import Outcomes, run_until_stopped
from cluster.store_fixtures import ARTIFACTS, cassandra_ring, record_figures, ring_backend
from contract.test_records_contract import fresh_user, tweet

from chirp.adapters.keyspaces import KeyspacesBackend
from chirp.adapters.keyspaces.connection import REQUEST_TIMEOUT_S
from chirp.local.servers.cassandra_ring import DATACENTER, REPLICATION_FACTOR, CassandraRing

__all__ = ["cassandra_ring"]

ACKED_BEFORE_KILL = 30  # operations acknowledged before the kill
CONSECUTIVE_SUCCESSES = 60  # in a row with the node down: steady state on two replicas
WORKLOAD_LIMIT_S = 90.0
# A failed operation must come back, not hang: within the driver's request timeout for each of its sequential round
# trips (creating a user makes three: the username claim, the email claim, the row; a like two), plus 2 s. A bound on
# "fails fast", not a performance figure; one deadline per operation would be tighter (not built yet).
SEQUENTIAL_ROUND_TRIPS = 3
FAIL_FAST_S = SEQUENTIAL_ROUND_TRIPS * REQUEST_TIMEOUT_S + 2.0
VICTIM = 0  # 127.0.0.1: the first contact point, which also holds the driver's control connection


@dataclass
class Workload(Outcomes):
    users: list[Any] = field(default_factory=list)  # acknowledged UserRecords
    tweets: list[Any] = field(default_factory=list)  # acknowledged TweetRecords
    likes: list[tuple[int, int]] = field(default_factory=list)  # acknowledged (tweet_id, user_id)


def run_workload(kb: KeyspacesBackend, work: Workload, stop: threading.Event) -> None:
    def create_user() -> None:
        user = fresh_user()
        kb.users.create(user)  # LWT (IF NOT EXISTS) on the username: Paxos at LOCAL_SERIAL
        work.users.append(user)

    def create_tweet() -> None:
        author = work.users[-1].user_id if work.users else 1
        record = tweet(author=author, content=f"ring {uuid.uuid4().hex}")
        kb.tweets.create(record)
        work.tweets.append(record)

    def like() -> None:
        if work.tweets and work.users:
            pair = (work.tweets[-1].tweet_id, work.users[-1].user_id)
            kb.engagement.add_like(pair[0], pair[1], 1)
            work.likes.append(pair)

    def read_back() -> None:
        if work.tweets:
            latest = work.tweets[-1]
            assert kb.tweets.get(latest.tweet_id) == latest, "an acknowledged tweet read back differently"

    operations: tuple[tuple[str, Callable[[], None]], ...] = (
        ("user", create_user),
        ("tweet", create_tweet),
        ("like", like),
        ("read", read_back),
    )
    run_until_stopped(work, operations, stop)


def assert_nothing_lost(kb: KeyspacesBackend, work: Workload, when: str) -> None:
    tweets = kb.tweets.get_many([t.tweet_id for t in work.tweets])
    missing = [t.tweet_id for t in work.tweets if tweets.get(t.tweet_id) != t]
    assert not missing, f"{when}: {len(missing)} of {len(work.tweets)} acknowledged tweets lost: {missing[:5]}"
    users = kb.users.get_many([u.user_id for u in work.users])
    lost_users = [u.user_id for u in work.users if u.user_id not in users]
    assert not lost_users, f"{when}: {len(lost_users)} acknowledged users lost"
    for user in work.users[:: max(1, len(work.users) // 20)]:  # the username index (LWT-written) too, sampled
        found = kb.users.get_by_username(user.username)
        assert found is not None and found.user_id == user.user_id, f"{when}: username {user.username} lost"
    for tweet_id, user_id in work.likes:
        assert kb.engagement.liked_by(user_id, [tweet_id]) == {tweet_id}, f"{when}: like {tweet_id}/{user_id} lost"


def test_a_node_killed_mid_workload_loses_nothing_acknowledged(cassandra_ring: CassandraRing) -> None:
    ring = cassandra_ring
    kb = ring_backend(ring)  # a connection of its own to the ring's keyspace (provisioned RF 3 by the CDK's rules)
    keyspace = kb.keyspace
    try:
        # What the product runs here: three replicas in the ring's data center, quorum reads and writes.
        replication = kb.session.execute(
            "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s", (keyspace,)
        ).one()
        assert replication.replication[DATACENTER] == str(REPLICATION_FACTOR), replication
        assert len(kb.cluster.metadata.all_hosts()) == REPLICATION_FACTOR

        work, stop = Workload(), threading.Event()
        worker = threading.Thread(target=run_workload, args=(kb, work, stop), daemon=True)
        worker.start()
        deadline = time.monotonic() + WORKLOAD_LIMIT_S
        while len(work.successes_after(0)) < ACKED_BEFORE_KILL and not work.unexpected:
            assert time.monotonic() < deadline, "the workload made no progress before the kill"
            time.sleep(0.02)
        killed_at = time.monotonic()
        ring.kill(VICTIM)
        while not work.unexpected and time.monotonic() < deadline:
            if work.consecutive_successes(killed_at)[0] >= CONSECUTIVE_SUCCESSES:
                break
            time.sleep(0.05)
        stop.set()
        worker.join(FAIL_FAST_S + 5)

        assert not work.unexpected, (
            f"an operation failed with something other than StoreUnavailable: {work.unexpected!r}"
        )
        assert not worker.is_alive()
        failures = [o for o in work.outcomes if o[3] != "ok"]
        slow = [f for f in failures if f[1] > FAIL_FAST_S]
        assert not slow, f"failed operations that did not fail fast: {slow[:5]}"
        run, steady_from = work.consecutive_successes(killed_at)
        assert run >= CONSECUTIVE_SUCCESSES, (
            f"with one node of three down, operations did not keep succeeding ({run} in a row at the end; "
            f"failures after the kill: {[f for f in failures if f[0] > killed_at][-5:]})"
        )
        assert not ring.nodes[VICTIM].alive

        # Nothing acknowledged is lost: read at LOCAL_QUORUM with the node still down, then again once it is back.
        assert_nothing_lost(kb, work, "with a node down")
        restart_s = ring.restart(VICTIM)
        rejoined_s = wait_until_up(kb, ring.nodes[VICTIM].address)
        assert_nothing_lost(kb, work, "after the node came back")

        after_kill = [o for o in work.outcomes if o[0] > killed_at]
        failed_after = [o for o in after_kill if o[3] != "ok"]
        figures = {
            "victim": ring.nodes[VICTIM].address,
            "acknowledged": {"users": len(work.users), "tweets": len(work.tweets), "likes": len(work.likes)},
            "operations_after_kill": len(after_kill),
            "failed_after_kill": len(failed_after),
            "failed_by_kind": sorted({f"{o[2]}: {o[3].split(':')[0]}" for o in failed_after}),
            "outage_window_s": round(max(o[0] + o[1] for o in failed_after) - killed_at, 2) if failed_after else 0.0,
            "steady_state_after_s": round((steady_from or killed_at) - killed_at, 2),
            "slowest_operation_after_kill_s": round(max((o[1] for o in after_kill), default=0.0), 3),
            "node_restart_listening_s": restart_s,
            "node_rejoined_driver_s": rejoined_s,
        }
        record_figures("cassandra-node-loss", figures)
        (ARTIFACTS / "cassandra-node-loss.json").write_text(json.dumps(figures, indent=2) + "\n")
    finally:
        kb.close()
        if not ring.nodes[VICTIM].alive:  # the test failed before the restart: leave the ring whole for the next
            ring.restart(VICTIM)


def wait_until_up(kb: KeyspacesBackend, address: str, timeout_s: float = 60.0) -> float:
    """Seconds until the adapter's driver sees the restarted node up again (it then routes to it)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if any(h.address == address and h.is_up for h in kb.cluster.metadata.all_hosts()):
            return round(time.monotonic() - started, 2)
        time.sleep(0.25)
    raise AssertionError(f"the driver did not see {address} up again in {timeout_s:.0f}s")

"""Node loss on a Redis Cluster of 3 primaries + 3 replicas: one primary is SIGKILLed mid-workload (timeline fan-out
to followers on every shard, tombstones, timeline reads, all through chirp's adapters on connect(cluster=True)).

Asserted: the killed primary's replica is promoted; every request during the failover either succeeds or fails
fast with StoreUnavailable (what the HTTP layer answers with 503 + Retry-After; anything else would be a 500);
requests succeed again once the replica serves the slots; and nothing a write acknowledged is lost — every fan-out
that returned is in every follower's timeline and every acknowledged tombstone is there. Replication is
asynchronous, so the adapters wait (WAIT) for a replica before acknowledging those writes in cluster mode.

Measured, not asserted: the seconds from the kill to the replica's promotion and the client's outage window,
printed and written to test-artifacts/redis-node-loss.json."""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cluster.redis_fixtures import cluster_client

from chirp.adapters.redis_cache.limits import RedisIdempotencyStore
from chirp.adapters.redis_cache.timelines import RedisTimelineStore
from chirp.adapters.redis_cache.tweet_cache import RedisTweetCache
from chirp.ids import CHIRP_EPOCH_MS, TIME_SHIFT
from chirp.local.servers.redis_cluster import RedisClusterSet, redis_cluster_set
from chirp.model import now_ms
from chirp.ports import StoreUnavailable

ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "redis-node-loss.json"
FOLLOWERS = 150  # spread over all 16,384 slots: every fan-out writes to every shard
ACKED_BEFORE_KILL = 30
SUCCESSES_AFTER_PROMOTION = 30
WORKLOAD_LIMIT_S = 60.0
# A failed request must come back within the client's own timeouts (1 s connect, 2 s socket) and its few retries,
# not hang: this bounds "fails fast", it is not a performance figure.
FAIL_FAST_S = 5.0
# Once the replica serves the slots, the other nodes learn it by gossip within a few node timeouts' fractions; a
# client that refreshes its slot map succeeds again by then (one that does not keeps failing: the check below).
GOSSIP_SLACK_S = 3.0


@dataclass
class Workload:
    acked_tweets: list[int] = field(default_factory=list)
    acked_tombstones: list[int] = field(default_factory=list)
    failures: list[tuple[float, float, str]] = field(default_factory=list)  # (at, seconds, what)
    successes: list[float] = field(default_factory=list)  # when each operation returned
    slowest: list[tuple[float, str, str]] = field(default_factory=list)  # (seconds, what, outcome), every operation
    unexpected: list[BaseException] = field(default_factory=list)


def snowflake(sequence: int) -> int:
    return ((now_ms() - CHIRP_EPOCH_MS) << TIME_SHIFT) | (sequence % (1 << TIME_SHIFT))


def run_workload(cluster: RedisClusterSet, users: list[int], work: Workload, stop: threading.Event) -> None:
    client = cluster_client(cluster)
    timelines = RedisTimelineStore(client, cluster=True, cap=10_000, ttl_s=3600)
    cache = RedisTweetCache(client, cluster=True)
    sequence = 0
    try:
        while not stop.is_set():
            sequence += 1
            tweet_id, deleted_id = snowflake(2 * sequence), snowflake(2 * sequence + 1)
            operations = (
                ("fan-out", lambda t=tweet_id: work.acked_tweets.append(t) if _fan_out(timelines, users, t) else None),
                ("tombstone", lambda d=deleted_id: (cache.tweet_deleted([d]), work.acked_tombstones.append(d))),
                ("read", lambda s=sequence: timelines.page(users[s % len(users)], before=None, after=None, limit=5)),
            )
            for what, operation in operations:
                started = time.monotonic()
                try:
                    operation()
                    work.successes.append(time.monotonic())
                    work.slowest.append((time.monotonic() - started, what, "ok"))
                except StoreUnavailable as exc:
                    work.failures.append((started, time.monotonic() - started, what))
                    work.slowest.append((time.monotonic() - started, what, str(exc)[:120]))
                    time.sleep(0.05)  # as a client honouring Retry-After would, briefly
    except BaseException as exc:  # anything but StoreUnavailable fails the test, in the main thread
        work.unexpected.append(exc)
    finally:
        client.close()


def _fan_out(timelines: RedisTimelineStore, users: list[int], tweet_id: int) -> bool:
    written = timelines.add_if_exists(users, tweet_id)
    assert written == len(users), f"fan-out acknowledged {written} of {len(users)} timelines"
    return True


def test_a_primary_killed_mid_workload_fails_over_and_loses_nothing_acknowledged(tmp_path: Path) -> None:
    with redis_cluster_set(tmp_path / "cluster", primaries=3, replicas=1) as cluster:
        setup = cluster_client(cluster)
        users = random.sample(range(10**17, 10**18), FOLLOWERS)
        timelines = RedisTimelineStore(setup, cluster=True, cap=10_000, ttl_s=3600)
        for user in users:
            timelines.build(user, [])
        victim = cluster.primaries()[0]
        replica = cluster.replica_of(victim)
        assert any(setup.get_node_from_key(timelines._key(u)).port == victim for u in users)  # the victim is hit

        work, stop = Workload(), threading.Event()
        worker = threading.Thread(target=run_workload, args=(cluster, users, work, stop), daemon=True)
        worker.start()
        deadline = time.monotonic() + WORKLOAD_LIMIT_S
        while len(work.acked_tweets) < ACKED_BEFORE_KILL and not work.unexpected and time.monotonic() < deadline:
            time.sleep(0.01)
        killed_at = time.monotonic()
        cluster.kill(victim)
        promotion_s = cluster.wait_promoted(replica)
        promoted_at = time.monotonic()
        while (
            sum(1 for t in work.successes if t > promoted_at) < SUCCESSES_AFTER_PROMOTION
            and not work.unexpected
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        stop.set()
        worker.join(30)

        assert not work.unexpected, f"a request failed with something other than StoreUnavailable: {work.unexpected!r}"
        assert not worker.is_alive()
        states = {s.port: s for s in cluster.cluster_nodes(replica)}
        assert states[replica].role == "master" and states[replica].slots > 0
        assert states[victim].failed
        slow = [f for f in work.failures if f[1] > FAIL_FAST_S]
        assert not slow, f"failed requests that did not fail fast: {slow[:5]}"
        # A pipeline caught by the kill retries its failed commands one by one (redis-py) and may wait the failover
        # out; none may hang beyond it.
        hung = [op for op in work.slowest if op[0] > promotion_s + FAIL_FAST_S]
        assert not hung, f"requests that hung past the failover: {hung[:5]}"
        after = [t for t in work.successes if t > promoted_at]
        assert len(after) >= SUCCESSES_AFTER_PROMOTION, "requests did not succeed again after the promotion"
        late_failures = [f for f in work.failures if f[0] > promoted_at + GOSSIP_SLACK_S]
        assert not late_failures, (
            f"{len(late_failures)} requests failing {GOSSIP_SLACK_S} s after the promotion: {late_failures[:5]}"
        )

        # Nothing acknowledged is lost: read back through a fresh client (slot map from the promoted cluster).
        reader = cluster_client(cluster)
        check = RedisTimelineStore(reader, cluster=True, cap=10_000, ttl_s=3600)
        acked = set(work.acked_tweets)
        pages = check.page_many(users, before=None, after=None, limit=100_000)
        missing = {u: acked - set(page or []) for u, page in pages.items() if acked - set(page or [])}
        assert not missing, f"acknowledged fan-out writes lost in {len(missing)} timelines: {list(missing.items())[:3]}"
        tombstones = RedisTweetCache(reader, cluster=True).deleted(work.acked_tombstones)
        assert tombstones == set(work.acked_tombstones), "acknowledged tombstones lost"

        failure_times = [f[0] for f in work.failures]
        outage_s = (
            min(t for t in work.successes if t > max(failure_times)) - min(failure_times) if failure_times else 0.0
        )
        cluster.restart(victim)  # it rejoins as the new primary's replica
        assert cluster.cluster_nodes(replica)[0] is not None and victim in cluster.synced_replicas()
        figures = {
            "topology": "3 primaries + 3 replicas, TLS + AUTH, cluster-node-timeout 2000 ms",
            "kill_to_promotion_s": round(promotion_s, 2),
            "client_outage_s": round(outage_s, 2),
            "failed_requests": len(work.failures),
            "slowest_failure_s": round(max((f[1] for f in work.failures), default=0.0), 3),
            "slowest_request_s": {
                what: round(max(op[0] for op in work.slowest if op[1] == what), 3)
                for what in ("fan-out", "tombstone", "read")
            },
            "acknowledged_fan_outs": len(work.acked_tweets),
            "acknowledged_tombstones": len(work.acked_tombstones),
            "followers_per_fan_out": FOLLOWERS,
            "kill_after_s": round(killed_at - min(work.successes), 2),
        }
        print(f"\nredis node loss: {json.dumps(figures)}")
        ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
        ARTIFACT.write_text(json.dumps(figures, indent=2) + "\n")
        reader.close()
        setup.close()


def test_a_write_is_acknowledged_only_once_a_replica_has_it(tmp_path: Path) -> None:
    """The adapters' writes are not acknowledged until a replica has them (WAIT): with a replica stalled they are
    refused (StoreUnavailable: 503 + Retry-After; the caller retries) instead of being acknowledged by the primary
    alone and lost if it dies before its replica has them."""
    with redis_cluster_set(tmp_path / "cluster", primaries=3, replicas=1) as cluster:
        client = cluster_client(cluster)
        timelines = RedisTimelineStore(client, cluster=True, cap=100, ttl_s=3600)
        cache = RedisTweetCache(client, cluster=True)
        stalled_primary = cluster.primaries()[0]

        def on(port: int, pattern: str) -> str:
            return next(k for i in range(10_000) if client.get_node_from_key(k := pattern.format(i)).port == port)

        # A stalled replica: the adapters' writes are refused, not acknowledged.
        user = int(on(stalled_primary, "tl:{{{}}}")[4:-1])
        tweet = int(on(stalled_primary, "tw:{{{}}}")[4:-1])
        timelines.build(user, [])
        stalled = cluster.replica_of(stalled_primary)
        idempotency = RedisIdempotencyStore(client)
        writes = {
            "fan-out": lambda: timelines.add_if_exists([user], snowflake(1)),
            "tombstone": lambda: cache.tweet_deleted([tweet]),
            "idempotency claim": lambda: idempotency.claim(on(stalled_primary, "idempotency:{}")[12:], "f", 60),
        }
        acknowledged = []
        for what, write in writes.items():
            cluster.pause(stalled)  # one write per stall: shorter than the node timeout, so never flagged failed
            try:
                write()
                acknowledged.append(what)
            except StoreUnavailable:
                pass
            finally:
                cluster.resume(stalled)
            cluster.wait_healthy(stalled)  # not flagged failed, link up: the next stall starts from a clean state
        assert not acknowledged, f"acknowledged while no replica had them: {acknowledged}"
        timelines.add_if_exists([user], snowflake(2))  # the replica is back: acknowledged again

        # (Why this matters: a write the primary alone acknowledged is lost when the primary dies before its replica
        # has it. That was shown once with a plain SET while the replica's link was cut; it depends on timing, so it
        # is not a test here.)
        client.close()

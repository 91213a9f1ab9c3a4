"""Node loss on the OpenSearch cluster (three nodes, one JVM each; Chirp's indices with the shards and replicas of
``Settings.opensearch_shards``/``opensearch_replicas``: 3 and 1): one node, the elected cluster manager (not the node
the client talks to), is SIGKILLed mid-workload — tweets indexed in bulk and searched, through chirp's
OpenSearch adapter.

Asserted: every operation either succeeds or fails fast with StoreUnavailable (503 + Retry-After at the HTTP layer;
anything else would be a 500); with the node down, indexing and search keep succeeding (a long run of consecutive
successes: every shard still has a copy, a replica promoted where the primary was lost); and search returns every
acknowledged document afterwards, with the node still down.

Measured, not asserted: the client-side outage window, the time to steady state, searches during the failover that
missed acknowledged documents, and the time until the restarted node has rejoined the cluster, printed and written to
test-artifacts/opensearch-node-loss.json."""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from cluster.node_loss import Outcomes, run_until_stopped
from cluster.store_fixtures import ARTIFACTS, opensearch_cluster, record_figures

from chirp.adapters.opensearch_index import OpenSearchIndex
from chirp.config import Settings
from chirp.ids import new_id
from chirp.local.servers.harness import Endpoint, opensearch_client
from chirp.local.servers.opensearch_cluster import OpenSearchCluster
from chirp.model import TweetRecord, now_ms
from chirp.query import parse_query
from servers.fixtures import opensearch_index

__all__ = ["opensearch_cluster"]

ACKED_BEFORE_KILL = 20  # bulk requests acknowledged before the kill
CONSECUTIVE_SUCCESSES = 40  # in a row with the node down: steady state on the remaining copies
WORKLOAD_LIMIT_S = 120.0
BATCH = 5  # tweets per bulk request
TIMEOUT_S = 10.0  # the adapter's request timeout here (production: Settings.store_timeout_s)
# A failed request must come back within the client's timeout and its one retry, not hang: this bounds "fails
# fast", it is not a performance figure.
FAIL_FAST_S = 2 * TIMEOUT_S + 2.0
VISIBLE_AFTER_S = 3.0  # a document acknowledged this long ago is past the 500 ms refresh interval


@dataclass(kw_only=True)
class Workload(Outcomes):
    token: str
    acked: list[tuple[float, int]] = field(default_factory=list)  # (acknowledged at, tweet id)
    partial_searches: list[tuple[float, int]] = field(default_factory=list)  # (at, acknowledged ids missing)


def all_hits(index: OpenSearchIndex, token: str) -> set[int]:
    """Every tweet id the adapter's search finds for ``token``, paging newest first."""
    found: set[int] = set()
    before: int | None = None
    while True:
        hits = index.search(parse_query(token), limit=500, before=before, order="recent")
        found |= {h.tweet_id for h in hits}
        if len(hits) < 500:
            return found
        before = hits[-1].tweet_id


def run_workload(index: OpenSearchIndex, work: Workload, stop: threading.Event) -> None:
    def index_batch() -> None:
        tweets = [
            TweetRecord(
                tweet_id=new_id(), user_id=1, username="alice", content=f"{work.token} n{i}", created_at_ms=now_ms()
            )
            for i in range(BATCH)
        ]
        index.index_tweets(tweets)
        acked_at = time.monotonic()
        work.acked.extend((acked_at, t.tweet_id) for t in tweets)

    def search() -> None:
        started = time.monotonic()
        expected = {tweet_id for at, tweet_id in work.acked if at < started - VISIBLE_AFTER_S}
        missing = expected - all_hits(index, work.token)
        if missing:  # a search answered from some shards only (recorded: see the module docstring)
            work.partial_searches.append((started, len(missing)))

    run_until_stopped(work, (("index", index_batch), ("search", search)), stop)


def shards_started(ep: Endpoint, pattern: str, timeout_s: float = 120.0) -> list[dict[str, Any]]:
    client = opensearch_client(ep, admin=True)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            shards: list[dict[str, Any]] = client.cat.shards(index=pattern, format="json")
            if shards and all(s["state"] == "STARTED" for s in shards):
                return shards
            assert time.monotonic() < deadline, f"shards of {pattern} not all started: {shards}"
            time.sleep(0.5)
    finally:
        client.close()


def wait_nodes(ep: Endpoint, nodes: int, timeout_s: float = 120.0) -> float:
    """Seconds until the cluster has ``nodes`` nodes: a killed node removed, or a restarted one back (its shard
    copies then recover from the others; waiting for green as well cost 6-58 s here, depending on the load)."""
    started = time.monotonic()
    client = opensearch_client(ep, admin=True)
    try:
        while time.monotonic() - started < timeout_s:
            try:
                if client.cluster.health()["number_of_nodes"] == nodes:
                    return round(time.monotonic() - started, 2)
            except Exception:
                pass
            time.sleep(0.5)
    finally:
        client.close()
    raise AssertionError(f"the cluster did not have {nodes} nodes after {timeout_s:.0f}s")


def test_a_node_killed_mid_workload_loses_no_acknowledged_document(opensearch_cluster: OpenSearchCluster) -> None:
    cluster = opensearch_cluster
    # The victim is the elected cluster manager (its loss also means an election); the client talks to another node
    # (an Amazon OpenSearch domain's endpoint balances over its nodes; here it is one surviving node's address).
    manager = cluster.cluster_manager()
    victim = next(n for n in cluster.nodes if n.name == manager)
    entry = next(n for n in cluster.nodes if n is not victim)
    ep = Endpoint(**{**cluster.endpoint.__dict__, "url": entry.url, "port": entry.http_port})
    settings = Settings(opensearch_shards=3, opensearch_replicas=1)
    prefix = f"nl{secrets.token_hex(5)}-tweets"
    index = opensearch_index(
        ep, prefix=prefix, shards=settings.opensearch_shards, replicas=settings.opensearch_replicas, timeout_s=TIMEOUT_S
    )
    index.ensure_setup()
    shards = shards_started(ep, f"{prefix}-2*")
    assert sorted(s["prirep"] for s in shards) == ["p", "p", "p", "r", "r", "r"]
    assert any(s["node"] == victim.name and s["prirep"] == "p" for s in shards), "the victim holds no primary"

    work, stop = Workload(token=f"nodeloss{secrets.token_hex(6)}"), threading.Event()
    worker = threading.Thread(target=run_workload, args=(index, work, stop), daemon=True)
    worker.start()
    deadline = time.monotonic() + WORKLOAD_LIMIT_S
    try:
        while len([o for o in work.outcomes if o[2] == "index" and o[3] == "ok"]) < ACKED_BEFORE_KILL:
            assert not work.unexpected and time.monotonic() < deadline, "the workload made no progress before the kill"
            time.sleep(0.02)
        killed_at = time.monotonic()
        cluster.kill(victim.index)
        noticed_s = wait_nodes(ep, len(cluster.nodes) - 1)  # the survivors have removed it (a new manager elected)
        noticed_at = killed_at + noticed_s
        while not work.unexpected and time.monotonic() < deadline:
            if work.consecutive_successes(noticed_at)[0] >= CONSECUTIVE_SUCCESSES:
                break
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(FAIL_FAST_S + 5)

    assert not work.unexpected, f"an operation failed with other than StoreUnavailable: {work.unexpected!r}"
    assert not worker.is_alive()
    failures = [o for o in work.outcomes if o[3] != "ok"]
    slow = [f for f in failures if f[1] > FAIL_FAST_S]
    assert not slow, f"failed operations that did not fail fast: {slow[:5]}"
    # Counted from when the cluster knows the node is gone: the steady state is the one without it.
    run, _ = work.consecutive_successes(noticed_at)
    steady_from = work.consecutive_successes(killed_at)[1]
    assert run >= CONSECUTIVE_SUCCESSES, (
        f"with one node of three down, indexing and search did not keep succeeding ({run} in a row at the end; "
        f"failures after the kill: {[f for f in failures if f[0] > killed_at][-5:]})"
    )
    assert not victim.alive

    # Every acknowledged document is found by search with the node still down (its shards' other copies).
    index.refresh()
    acked = {tweet_id for _at, tweet_id in work.acked}
    found = all_hits(index, work.token)
    missing = acked - found
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged documents not found after the node loss"
    assert index.tweet_count() >= len(acked)

    restart_s = cluster.restart(victim.index)
    rejoined_s = wait_nodes(ep, len(cluster.nodes))
    new_manager = cluster.cluster_manager(via=ep)
    after_kill = [o for o in work.outcomes if o[0] > killed_at]
    failed_after = [o for o in after_kill if o[3] != "ok"]
    figures = {
        "victim": victim.name,
        "victim_was_cluster_manager": True,
        "cluster_manager_after": new_manager,
        "node_removed_after_s": noticed_s,
        "acknowledged_documents": len(acked),
        "operations_after_kill": len(after_kill),
        "failed_after_kill": len(failed_after),
        "failed_by_kind": sorted({f"{o[2]}: {o[3][:60]}" for o in failed_after}),
        "outage_window_s": round(max(o[0] + o[1] for o in failed_after) - killed_at, 2) if failed_after else 0.0,
        "steady_state_after_s": round((steady_from or killed_at) - killed_at, 2),
        "slowest_operation_after_kill_s": round(max((o[1] for o in after_kill), default=0.0), 3),
        "searches_missing_acknowledged_during_failover": [
            (round(at - killed_at, 2), n) for at, n in work.partial_searches
        ],
        "node_restart_listening_s": restart_s,
        "node_rejoined_cluster_s": rejoined_s,
    }
    record_figures("opensearch-node-loss", figures)
    (ARTIFACTS / "opensearch-node-loss.json").write_text(json.dumps(figures, indent=2) + "\n")
    index.close()

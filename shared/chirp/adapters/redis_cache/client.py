"""Redis connections (standalone or cluster mode) and the mapping of connection failures to StoreUnavailable.

ElastiCache with in-transit encryption and an AUTH token: the URL is ``rediss://`` (TLS, certificate and host name
verified) and the token is the default user's password, passed here as a plain value (the container reads it from
Secrets Manager; nothing in this module reads secrets or logs them). Each call builds an independent client, so a
function may hold one for the primary endpoint and one for the reader endpoint."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol
from urllib.parse import urlsplit

import redis
from redis.cluster import ClusterNode, LoadBalancingStrategy, RedisCluster
from redis.exceptions import ClusterDownError, NoScriptError, RedisClusterException, SlotNotCoveredError

from chirp.ports import StoreUnavailable


class RedisLike(Protocol):
    """What the adapters call on a client: the commands both ``redis.Redis`` and ``RedisCluster`` have, so one adapter
    runs standalone and in cluster mode. Replies are Any (redis-py types them as sync-or-async unions); the
    adapters convert each one where they read it."""

    def pipeline(self, transaction: bool = ..., shard_hint: Any = ...) -> Any: ...
    def register_script(self, script: str) -> Any: ...
    def script_load(self, script: str) -> Any: ...
    def execute_command(self, *args: Any, **options: Any) -> Any: ...
    def exists(self, *names: str) -> Any: ...
    def get(self, name: str) -> Any: ...
    def set(self, name: str, value: Any, ex: Any = ..., px: Any = ..., nx: bool = ..., xx: bool = ...) -> Any: ...
    def delete(self, *names: str) -> Any: ...
    def smembers(self, name: str) -> Any: ...
    def hsetnx(self, name: str, key: str, value: str) -> Any: ...
    def hgetall(self, name: str) -> Any: ...
    def zrange(self, name: str, start: Any, end: Any, desc: bool = ..., *args: Any, **kwargs: Any) -> Any: ...
    def zscore(self, name: str, value: str) -> Any: ...
    def flushdb(self, asynchronous: bool = ..., **kwargs: Any) -> Any: ...
    def close(self) -> None: ...


def connect(
    url: str,
    *,
    cluster: bool = False,
    password: str | None = None,
    ca_file: str | None = None,
    replica_reads: bool = False,
) -> RedisLike:
    """A client with short timeouts: during an outage requests fail fast instead of hanging.

    ``rediss://`` URLs use TLS with the certificate chain and host name verified, against ``ca_file`` when given,
    else the default trust store (ElastiCache's certificates chain to public Amazon roots). ``password`` is the AUTH
    token; it is only ever sent over TLS. ``cluster`` takes the configuration endpoint of a cluster-mode group;
    ``replica_reads`` (cluster mode) spreads reads over the replicas, for reads that may be slightly stale. In
    standalone mode the reader endpoint is simply another ``url``.
    """
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme not in ("redis", "rediss"):
        raise ValueError(f"redis URL must be redis:// or rediss://, not {scheme}://")
    if parts.password is not None:  # URLs end up in settings dumps and logs; the token must not
        raise ValueError("pass the Redis password as password=, not in the URL")
    tls = scheme == "rediss"
    if password and not tls:
        raise ValueError("a Redis password is only sent over TLS: use a rediss:// URL")
    options: dict[str, Any] = {
        "socket_timeout": 2.0,
        "socket_connect_timeout": 1.0,
        "decode_responses": True,
    }
    if password:
        options["password"] = password
    if tls:
        options.update(ssl_cert_reqs="required", ssl_check_hostname=True)
        if ca_file:
            options["ssl_ca_certs"] = ca_file
    if cluster:
        if replica_reads:
            options["load_balancing_strategy"] = LoadBalancingStrategy.ROUND_ROBIN_REPLICAS
        # TLS comes from the rediss:// scheme; each discovered node gets the same TLS and AUTH options.
        return RedisCluster.from_url(url, **options)
    if tls:
        options["ssl_min_version"] = ssl.TLSVersion.TLSv1_2  # (RedisCluster does not pass this option on)
    return redis.Redis.from_url(url, retry_on_timeout=False, health_check_interval=15, **options)


_OUTAGES = (redis.ConnectionError, redis.TimeoutError, ClusterDownError, SlotNotCoveredError)


@contextmanager
def available() -> Iterator[None]:
    """Connection failures, timeouts, refused authentication (a ConnectionError) and a cluster that is down or has
    lost a slot's nodes are outages; other errors (a cross-slot command, a script error) are bugs and propagate."""
    try:
        yield
    except _OUTAGES as exc:
        raise StoreUnavailable(f"redis: {exc}") from exc
    except RedisClusterException as exc:
        if not isinstance(exc.__cause__, _OUTAGES):  # "cannot be connected": no node reachable on rediscovery
            raise
        raise StoreUnavailable(f"redis: {exc}") from exc


# How long a write waits for its shard's replica to acknowledge it (WAIT) before it is reported unavailable: long
# enough for a busy replica. Paid in full only when a replica is connected but stalled, or by a shard that has none
# (then remembered for NO_REPLICA_RECHECK_S, so its writes do not wait).
REPLICA_WAIT_MS = 1000
NO_REPLICA_RECHECK_S = 10.0
_without_replica: dict[str, float] = {}  # node name -> until when it is taken to have no replica connected


def wait_for_replicas(client: RedisLike, pipe: Any, keys: Iterable[str]) -> list[ClusterNode]:
    """Cluster mode: append ``WAIT 1`` to ``pipe`` for each primary that ``keys`` live on (a ClusterPipeline sends
    each WAIT on the connection that carried that node's writes, which WAIT needs). Replication is asynchronous: a
    primary lost right after acknowledging a write takes the write with it unless a replica has it. Pass the WAIT
    replies, the pipeline's last ones, to ``check_replicated``. (The client's slot map cannot tell which shards have
    replicas: CLUSTER SLOTS leaves out a replica that has not replicated a write yet.)"""
    if not isinstance(client, RedisCluster):  # the cluster code path on a standalone client (benchmarks)
        return []
    cluster: Any = client  # redis-py leaves get_node_from_key untyped
    now = time.monotonic()
    nodes: dict[str, ClusterNode] = {}
    for key in keys:
        node = cluster.get_node_from_key(key)
        if _without_replica.get(node.name, 0.0) < now:
            nodes.setdefault(node.name, node)
    for node in nodes.values():
        pipe.execute_command("WAIT", 1, REPLICA_WAIT_MS, target_nodes=node)
    return list(nodes.values())


def check_replicated(client: RedisLike, nodes: Sequence[ClusterNode], acks: Sequence[Any]) -> None:
    """A write is acknowledged once a replica has it, or when its shard has no replica that could be promoted (none
    in the topology, or all flagged failed). A shard with a replica that did not acknowledge in time (stalled, or
    its link down for a moment: it may still take over without the write) is an outage for this write: the caller
    retries it (every write waited on here is idempotent)."""
    for node, acked in zip(nodes, acks, strict=True):
        if int(acked) >= 1:
            continue
        if _promotable_replicas(str(client.execute_command("CLUSTER", "NODES", target_nodes=node))):
            raise StoreUnavailable(f"redis: a write to {node.name} was not acknowledged by a replica in time")
        _without_replica[node.name] = time.monotonic() + NO_REPLICA_RECHECK_S


def _promotable_replicas(cluster_nodes: str) -> int:
    """How many replicas of the answering node (``myself``) are not flagged failed, from its CLUSTER NODES."""
    lines = [line.split() for line in cluster_nodes.splitlines() if line.strip()]
    me = next(parts[0] for parts in lines if "myself" in parts[2].split(","))
    return sum(1 for parts in lines if parts[3] == me and "fail" not in parts[2].split(","))


def call_acknowledged(client: RedisLike, script: Any, key: str, args: Sequence[object]) -> Any:
    """One call of a single-key ``script`` (from ``register_script``). In cluster mode it is acknowledged only once a
    replica has its effects (EVALSHA and WAIT in one pipeline; a node without the script, restarted or promoted, gets
    it loaded and the call runs again, so the script must be idempotent); standalone, the plain call."""
    if not isinstance(client, RedisCluster):
        return script(keys=[key], args=list(args))
    cluster: Any = client  # redis-py leaves RedisCluster.pipeline untyped
    for attempt in range(2):
        pipe = cluster.pipeline(transaction=False)
        pipe.execute_command("EVALSHA", script.sha, 1, key, *args)
        nodes = wait_for_replicas(client, pipe, [key])
        try:
            replies = pipe.execute()
        except NoScriptError:
            if attempt:
                raise
            cluster.script_load(script.script)
            continue
        check_replicated(client, nodes, replies[1:])
        return replies[0]
    raise AssertionError("unreachable")

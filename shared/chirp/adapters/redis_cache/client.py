"""Redis connections (standalone or cluster mode) and the mapping of connection failures to StoreUnavailable.

ElastiCache with in-transit encryption and an AUTH token: the URL is ``rediss://`` (TLS, certificate and host name
verified) and the token is the default user's password, passed here as a plain value (the container reads it from
Secrets Manager; nothing in this module reads secrets or logs them). Each call builds an independent client, so a
function may hold one for the primary endpoint and one for the reader endpoint."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.cluster import LoadBalancingStrategy, RedisCluster
from redis.exceptions import ClusterDownError, RedisClusterException, SlotNotCoveredError

from chirp.ports import StoreUnavailable

RedisLike = Any  # redis.Redis | RedisCluster: both expose the same command methods


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

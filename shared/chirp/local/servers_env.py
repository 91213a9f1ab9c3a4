"""The environment that points Chirp at the stand-in servers (tests/servers/harness.py): one place that maps a
started server's endpoint to the CHIRP_* settings the production adapters read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class EndpointLike(Protocol):
    host: str
    port: int
    url: str


def servers_environment(endpoints: Mapping[str, Any], *, namespace: str = "chirp", redis_db: int = 0) -> dict[str, str]:
    """``namespace`` and ``redis_db`` keep several stacks apart on the same servers (keyspace, stream, bucket, index
    prefix, Redis database)."""
    env = {
        "CHIRP_BACKEND": "servers",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    if "redis" in endpoints:
        env["CHIRP_REDIS_URL"] = f"redis://{endpoints['redis'].host}:{endpoints['redis'].port}/{redis_db}"
    if "cassandra" in endpoints:
        env["CHIRP_CASSANDRA_HOSTS"] = endpoints["cassandra"].host
        env["CHIRP_CASSANDRA_PORT"] = str(endpoints["cassandra"].port)
        env["CHIRP_CASSANDRA_KEYSPACE"] = namespace
    if "gremlin" in endpoints:
        env["CHIRP_NEPTUNE_URL"] = endpoints["gremlin"].url
    if "opensearch" in endpoints:
        env["CHIRP_OPENSEARCH_URL"] = endpoints["opensearch"].url
        env["CHIRP_OPENSEARCH_INDEX_PREFIX"] = f"{namespace}-tweets"
    if "moto" in endpoints:
        env["CHIRP_S3_ENDPOINT_URL"] = endpoints["moto"].url
        env["CHIRP_MEDIA_BUCKET"] = f"{namespace}-media"
    if "kinesis" in endpoints:
        env["CHIRP_KINESIS_ENDPOINT_URL"] = endpoints["kinesis"].url
        env["CHIRP_STREAM_NAME"] = f"{namespace}-events"
    return env

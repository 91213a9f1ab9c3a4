"""Creates, on the stand-in servers, what the CDK app creates on AWS: the Kinesis stream, the media bucket, the
OpenSearch templates. Idempotent; used by the local runtime in servers mode only."""

from __future__ import annotations

import time
from typing import Any

from chirp.config import Settings
from chirp.container import Container, aws_client


def provision(container: Container, settings: Settings) -> None:
    if settings.stream_kind == "kinesis":  # a Kafka topic is created as the broker's administrator (servers_env)
        kinesis = aws_client("kinesis", settings)
        ensure_stream(kinesis, settings.stream_name, settings.stream_shards)
    s3 = aws_client("s3", settings)
    if settings.media_bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=settings.media_bucket)
    provision_stores(container)


def provision_stores(container: Container) -> None:
    """The search templates (the keyspace and tables are made by servers_env.provision_keyspace, as the stand-in's
    administrator)."""
    search: Any = container.stores.search
    if hasattr(search, "ensure_setup"):
        search.ensure_setup()


def ensure_stream(kinesis: Any, name: str, shards: int) -> None:
    if name not in kinesis.list_streams().get("StreamNames", []):
        kinesis.create_stream(StreamName=name, ShardCount=shards)
    deadline = time.monotonic() + 30
    while kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise TimeoutError(f"stream {name} did not become ACTIVE")
        time.sleep(0.1)

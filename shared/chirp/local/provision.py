"""Creates, on the stand-in servers, what the CDK app creates on AWS: the Kinesis stream, the media bucket, the
Keyspaces schema and the OpenSearch templates. Idempotent; used by the local runtime in servers mode only."""

from __future__ import annotations

import time
from typing import Any

from chirp.config import Settings
from chirp.container import Container, _aws_client


def provision(container: Container, settings: Settings) -> None:
    kinesis = _aws_client("kinesis", settings, settings.kinesis_endpoint_url)
    ensure_stream(kinesis, settings.stream_name, settings.stream_shards)
    s3 = _aws_client("s3", settings, settings.s3_endpoint_url)
    if settings.media_bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=settings.media_bucket)
    records: Any = container.stores.users
    backend = getattr(records, "backend", None)
    if backend is not None and hasattr(backend, "create_schema"):
        backend.create_schema()
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

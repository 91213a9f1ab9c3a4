"""An in-process embedded stack for service and handler tests: a container on a temp dir, users, and a synchronous
drain of the stream through the real consumer Lambda handlers (Kinesis-shaped batches, checkpoints)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chirp import wiring
from chirp.config import Settings, get_settings
from chirp.container import Container, build_embedded, set_container
from chirp.local import events
from chirp.local.event_source import open_event_source
from chirp.local.functions import invoke
from chirp.tokens import Principal
from support.fakes import RecordingPusher

JWT_KEYS = "k1:" + "s" * 40


def make_container(data_dir: Path, **overrides: Any) -> Container:
    get_settings.cache_clear()
    settings = Settings(
        data_dir=data_dir, jwt_keys=JWT_KEYS, ws_management_url="http://127.0.0.1:9/unused", **overrides
    )
    container = build_embedded(settings)
    container.stores.pusher = RecordingPusher()
    set_container(container)
    return container


def pusher(container: Container) -> RecordingPusher:
    p = container.stores.pusher
    assert isinstance(p, RecordingPusher)
    return p


def signup(container: Container, username: str) -> Principal:
    result = container.auth.signup(
        username=username, email=f"{username}@example.com", password="password-123", display_name=None
    )
    return Principal(user_id=int(result["user_id"]), username=username)


def drain(container: Container, consumers: list[str] | None = None) -> int:
    """Deliver every pending stream record to the consumers, as the event source mapping would. Returns the number
    of records delivered. Raises if a consumer reports a failure (tests want to see it)."""
    source = open_event_source(container)
    delivered = 0
    for fn in wiring.stream_consumers():
        if consumers is not None and fn.name not in consumers:
            continue
        for shard in range(source.shards):
            while True:
                after = source.checkpoint(fn.name, shard)
                records = source.read(shard, after=after, limit=100)
                if not records:
                    break
                batch = events.kinesis_event(
                    [
                        events.KinesisInput(
                            events.sequence_number(r.seq), r.partition_key, r.data.encode(), r.arrival_ms / 1000
                        )
                        for r in records
                    ]
                )
                result = invoke(fn.name, batch)
                assert result == {"batchItemFailures": []}, f"{fn.name} failed: {result}"
                source.set_checkpoint(fn.name, shard, records[-1].seq)
                delivered += len(records)
    return delivered

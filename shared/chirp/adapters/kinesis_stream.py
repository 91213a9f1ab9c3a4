"""The event stream on Kinesis: put_records with the author as partition key (one author's events stay ordered on
one shard), retrying only the entries Kinesis rejected. Only the producer: reading shards is the event source
mapping's job (Lambda's on AWS; ``chirp.local.event_source`` in the local runtime)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chirp.model import Event
from chirp.ports import StoreUnavailable, raw_bytes

MAX_RECORDS_PER_CALL = 500


class KinesisEventStream:
    def __init__(self, client: Any, stream_name: str, *, attempts: int = 4) -> None:
        self._kinesis = client
        self._stream = stream_name
        self._attempts = attempts
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def publish_raw(self, partition_key: str, data: str) -> None:
        """Put one record back exactly as it was (dead-letter replay)."""
        self._put([{"Data": raw_bytes(data), "PartitionKey": partition_key}])

    def publish(self, events: Sequence[Event]) -> None:
        for start in range(0, len(events), MAX_RECORDS_PER_CALL):
            self._put(
                [
                    {"Data": e.model_dump_json().encode(), "PartitionKey": e.partition_key}
                    for e in events[start : start + MAX_RECORDS_PER_CALL]
                ]
            )
        for listener in list(self._listeners):
            listener()

    def _put(self, entries: list[dict[str, Any]]) -> None:
        pending = entries
        for attempt in range(self._attempts):
            try:
                response = self._kinesis.put_records(StreamName=self._stream, Records=pending)
            except (ClientError, BotoCoreError) as exc:
                if attempt == self._attempts - 1:
                    raise StoreUnavailable(f"kinesis: {exc}") from exc
            else:
                if not response.get("FailedRecordCount"):
                    return
                pending = [
                    entry for entry, result in zip(pending, response["Records"], strict=True) if result.get("ErrorCode")
                ]
            time.sleep(0.05 * 2**attempt)
        raise StoreUnavailable(f"kinesis: {len(pending)} records still rejected after {self._attempts} attempts")

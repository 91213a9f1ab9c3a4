"""The stream consumer edge on Lambda's MSK event shape (records grouped by "topic-partition", base64 values): the
same handlers, the same partial-failure semantics as on Kinesis, failures named the Kafka way ({"partition":
"topic-partition", "offset"}), and the local mapping's poller reading those identifiers back. Also the MSK IAM token
the Kafka adapter authenticates with."""

from __future__ import annotations

import base64
import datetime
from collections.abc import Sequence
from urllib.parse import parse_qs, urlparse

import pytest

from chirp.local import events
from chirp.local.context import LocalLambdaContext
from chirp.local.poller import _failed
from chirp.model import Event, EventType
from chirp.ports import StoreUnavailable
from chirp.stream_consumer import consume, consume_batch

TOPIC = "chirp-events"


def msk_batch(*payloads: bytes, partition: int = 1, first_offset: int = 10) -> dict[str, object]:
    return events.kafka_event(
        [
            events.KafkaInput(TOPIC, partition, first_offset + i, f"pk-{i}".encode(), data, 1_700_000_000_000)
            for i, data in enumerate(payloads)
        ]
    )


def event(n: int) -> bytes:
    return Event.new(EventType.USER_CREATED, "pk", {"n": n}).model_dump_json().encode()


def failure(offset: int, partition: int = 1) -> dict[str, object]:
    return {"itemIdentifier": {"partition": f"{TOPIC}-{partition}", "offset": offset}}


def test_each_record_is_handled_and_failures_are_named_by_partition_and_offset() -> None:
    seen: list[int] = []

    def handle(e: Event) -> None:
        seen.append(e.data["n"])
        if e.data["n"] == 2:
            raise ValueError("bad record")

    result = consume(msk_batch(event(1), event(2), b"not json", event(4)), LocalLambdaContext("indexer"), handle)
    assert seen == [1, 2, 4]
    assert result["batchItemFailures"] == [failure(11), failure(12)]


def test_records_of_several_partitions_are_all_handled() -> None:
    batch = msk_batch(event(1), partition=0)
    batch["records"].update(msk_batch(event(2), event(3), partition=1)["records"])  # type: ignore[attr-defined]
    seen: list[int] = []
    result = consume(batch, LocalLambdaContext("indexer"), lambda e: seen.append(e.data["n"]))
    assert sorted(seen) == [1, 2, 3]
    assert result == {"batchItemFailures": []}


def test_a_store_outage_fails_the_whole_msk_invocation() -> None:
    def handle(e: Event) -> None:
        raise StoreUnavailable("opensearch down")

    with pytest.raises(StoreUnavailable):
        consume(msk_batch(event(1)), LocalLambdaContext("indexer"), handle)


def test_batch_consumers_get_one_call_and_per_record_failures() -> None:
    seen: list[list[int]] = []

    def handle(batch_events: Sequence[Event]) -> list[BaseException | None]:
        seen.append([e.data["n"] for e in batch_events])
        return [ValueError("bad") if e.data["n"] == 3 else None for e in batch_events]

    result = consume_batch(msk_batch(event(1), b"\xff", event(3)), LocalLambdaContext("fanout"), handle)
    assert seen == [[1, 3]]
    assert result["batchItemFailures"] == [failure(11), failure(12)]


def test_the_poller_maps_kafka_failures_back_to_positions() -> None:
    by_id = {f"{TOPIC}-1@{offset}": offset + 1 for offset in (10, 11, 12)}
    assert _failed({"batchItemFailures": [failure(11)]}, by_id) == {12}
    # an identifier naming no record of the batch fails the whole batch (as Lambda treats an invalid response)
    assert _failed({"batchItemFailures": [failure(99)]}, by_id) == {11}


def test_the_msk_iam_token_is_a_sigv4_presigned_kafka_connect_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from chirp.adapters.kafka_stream import iam_token

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    token, expiry_s = iam_token("eu-west-1")
    url = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    assert parsed.scheme == "https"
    assert parsed.netloc == "kafka.eu-west-1.amazonaws.com"
    assert query["Action"] == ["kafka-cluster:Connect"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")
    assert query["X-Amz-Credential"][0].endswith("/eu-west-1/kafka-cluster/aws4_request")
    assert len(query["X-Amz-Signature"][0]) == 64
    now = datetime.datetime.now(datetime.UTC).timestamp()
    assert now < expiry_s <= now + 3600

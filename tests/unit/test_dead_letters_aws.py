"""Dead letters on AWS, against moto (S3 + Kinesis, in process): the bucket holds Lambda's invocation records (its
S3 on-failure destination: the SQS record's metadata plus ``payload``, the whole invocation event as JSON text) and
the consumers' quarantine objects in the same format; ``chirp dlq list --bucket`` shows both, ``replay`` puts the
exact records back on the Kinesis stream and marks the letters replayed.

The Lambda objects are built from the documented shape (Lambda developer guide, "Retain discarded batch records for
a Kinesis Data Streams event source": invocation record example; S3 destinations add ``payload``; key
``aws/lambda/<mapping uuid>/<shard id>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>``)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chirp import cli
from chirp.adapters.s3_dead_letters import S3DeadLetters, parse_invocation_record
from chirp.config import get_settings
from chirp.local import events
from chirp.local.context import LocalLambdaContext
from chirp.model import Event, EventType
from chirp.object_consumer import consume_objects, is_object_notification, s3_event
from chirp.ports import QUARANTINED
from chirp.stream_consumer import consume_batch

BUCKET = "chirp-dead-letters"
STREAM = "chirp-events"
REGION = "us-east-1"
STREAM_ARN = f"arn:aws:kinesis:{REGION}:123456789012:stream/{STREAM}"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:ChirpApi-Functionsindexer-AbC123"
BINARY = b"\xff\xfe\x00binary\x80" + bytes(range(256))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "CHIRP_BACKEND": "embedded",
        "CHIRP_DATA_DIR": str(tmp_path),
        "CHIRP_STREAM_NAME": STREAM,
        "CHIRP_DEAD_LETTER_BUCKET": "",
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        kinesis = boto3.client("kinesis", region_name=REGION)
        kinesis.create_stream(StreamName=STREAM, ShardCount=1)
        yield s3
    get_settings.cache_clear()


def kinesis_record(seq: str, key: str, data: bytes, arrival_s: float = 1_764_496_684.835) -> dict[str, Any]:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": key,
            "sequenceNumber": seq,
            "data": base64.b64encode(data).decode(),
            "approximateArrivalTimestamp": arrival_s,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000001:{seq}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/indexer-role",
        "awsRegion": REGION,
        "eventSourceARN": STREAM_ARN,
    }


def lambda_invocation_record(records: list[dict[str, Any]]) -> dict[str, Any]:
    """What Lambda writes to an S3 on-failure destination for a discarded Kinesis batch."""
    return {
        "requestContext": {
            "requestId": "c9b8fa9f-5a7f-xmpl-af9c-0c604cde93a5",
            "functionArn": FUNCTION_ARN,
            "condition": "RecordAgeExceeded",
            "approximateInvokeCount": 1,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-11-30T10:38:06.021Z",
        "KinesisBatchInfo": {
            "shardId": "shardId-000000000001",
            "startSequenceNumber": records[0]["kinesis"]["sequenceNumber"],
            "endSequenceNumber": records[-1]["kinesis"]["sequenceNumber"],
            "approximateArrivalOfFirstRecord": "2026-11-30T09:38:04.835Z",
            "approximateArrivalOfLastRecord": "2026-11-30T09:38:05.580Z",
            "batchSize": len(records),
            "streamArn": STREAM_ARN,
        },
        "payload": json.dumps({"Records": records}),
    }


def put_lambda_object(s3: Any, records: list[dict[str, Any]]) -> str:
    key = f"aws/lambda/{uuid.uuid4()}/shardId-000000000001/2026/11/30/2026-11-30T10.38.06-{uuid.uuid4()}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(lambda_invocation_record(records)).encode())
    return key


def stream_records() -> list[tuple[str, bytes]]:
    kinesis = boto3.client("kinesis", region_name=REGION)
    shard = kinesis.list_shards(StreamName=STREAM)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    page = kinesis.get_records(ShardIterator=iterator["ShardIterator"], Limit=100)
    return [(r["PartitionKey"], bytes(r["Data"])) for r in page["Records"]]


def test_lambda_invocation_records_are_read_whole(aws: Any) -> None:
    """Given an object Lambda wrote for a discarded batch of two records (one of them binary)
    When the adapter reads the bucket
    Then one letter holds both records byte for byte, with partition keys, positions, reason and function."""
    good = Event.new(EventType.USER_CREATED, "42", {"n": 1}).model_dump_json().encode()
    key = put_lambda_object(aws, [kinesis_record("4960001", "42", good), kinesis_record("4960002", "7", BINARY)])
    [letter] = S3DeadLetters(aws, BUCKET).list()
    assert (letter.id, letter.reason, letter.consumer) == (key, "RecordAgeExceeded", "ChirpApi-Functionsindexer-AbC123")
    assert [(r.partition_key, r.data.encode("utf-8", "surrogateescape")) for r in letter.records] == [
        ("42", good),
        ("7", BINARY),
    ]
    assert [(r.shard, r.sequence_number) for r in letter.records] == [(1, "4960001"), (1, "4960002")]
    assert letter.source == STREAM_ARN
    assert letter.failed_at_ms == int(datetime(2026, 11, 30, 10, 38, 6, 21_000, tzinfo=UTC).timestamp() * 1000)


def test_a_record_without_payload_is_refused_not_replayed_as_nothing() -> None:
    """Given an SQS-style invocation record (shard pointers only)
    When it is parsed
    Then it is refused: its records are not in it."""
    record = lambda_invocation_record([kinesis_record("1", "k", b"x")])
    del record["payload"]
    with pytest.raises(ValueError, match="no payload"):
        parse_invocation_record(record, letter_id="aws/lambda/x")


def test_the_edge_quarantines_in_lambdas_format(aws: Any) -> None:
    """Given the consumer edge with the S3 store and a record that fails every attempt
    When the batch is consumed
    Then the poison is not reported as a failure (the shard moves on) and the bucket holds, under quarantine/, an
    invocation record of Lambda's shape whose payload has the record's exact bytes and partition key."""
    store = S3DeadLetters(aws, BUCKET)
    ok = Event.new(EventType.USER_CREATED, "1", {"n": 1}).model_dump_json().encode()
    event = events.kinesis_event(
        [
            events.KinesisInput(events.sequence_number(1), "1", ok, 1_764_496_684.0),
            events.KinesisInput(events.sequence_number(2), "9", BINARY, 1_764_496_685.0),
        ]
    )
    result = consume_batch(event, LocalLambdaContext("indexer"), lambda es: [None] * len(es), dead_letters=store)
    assert result == {"batchItemFailures": []}
    [item] = aws.list_objects_v2(Bucket=BUCKET, Prefix="quarantine/indexer/")["Contents"]
    doc = json.loads(aws.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())
    assert {"requestContext", "responseContext", "version", "timestamp", "KinesisBatchInfo", "payload"} <= set(doc)
    assert doc["requestContext"]["condition"] == QUARANTINED
    assert doc["requestContext"]["functionArn"].endswith(":function:chirp-indexer")
    assert doc["KinesisBatchInfo"]["batchSize"] == 1
    [raw] = json.loads(doc["payload"])["Records"]
    assert base64.b64decode(raw["kinesis"]["data"]) == BINARY and raw["kinesis"]["partitionKey"] == "9"
    [letter] = store.list()
    assert letter.consumer == "indexer" and letter.error.startswith("failed 1 time(s): ")


def test_chirp_dlq_lists_and_replays_both_kinds_exactly(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Given a Lambda invocation record (two records) and a quarantine object (one binary record) in the bucket
    When `chirp dlq list --bucket` and then `chirp dlq replay --bucket --stream` run
    Then list shows the three records; replay puts exactly those bytes with their partition keys on the stream,
    once each, and tags both letters replayed, so a second list is empty and a second replay puts nothing."""
    first = Event.new(EventType.USER_CREATED, "42", {"n": 1}).model_dump_json().encode()
    put_lambda_object(aws, [kinesis_record("4960001", "42", first), kinesis_record("4960002", "7", b"second")])
    event = events.kinesis_event([events.KinesisInput(events.sequence_number(3), "9", BINARY, 1_764_496_685.0)])
    consume_batch(event, LocalLambdaContext("trender"), lambda es: [], dead_letters=S3DeadLetters(aws, BUCKET))

    assert cli.main(["dlq", "list", "--bucket", BUCKET, "--stream", STREAM]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted((r["consumer"], r["reason"], r["partition_key"]) for r in rows) == [
        ("ChirpApi-Functionsindexer-AbC123", "RecordAgeExceeded", "42"),
        ("ChirpApi-Functionsindexer-AbC123", "RecordAgeExceeded", "7"),
        ("trender", QUARANTINED, "9"),
    ]

    assert cli.main(["dlq", "replay", "--bucket", BUCKET, "--stream", STREAM]) == 0
    assert sorted(stream_records()) == sorted([("42", first), ("7", b"second"), ("9", BINARY)])
    assert S3DeadLetters(aws, BUCKET).list() == []
    assert len(S3DeadLetters(aws, BUCKET).list(include_replayed=True)) == 2
    capsys.readouterr()
    assert cli.main(["dlq", "replay", "--bucket", BUCKET, "--stream", STREAM]) == 0
    assert len(stream_records()) == 3
    assert "replayed 0 record(s)" in capsys.readouterr().out


def test_replay_keeps_an_object_consumers_letter_off_the_stream(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Given the media processor gave up on an upload (its S3 notification quarantined in the bucket)
    When `chirp dlq replay` runs
    Then nothing goes on the stream (an S3 notification is no stream event, and the refused upload was deleted):
    the letter is kept and said to be kept."""

    def fails(_key: str) -> None:
        raise RuntimeError("not an image")

    consume_objects(
        s3_event("chirp-media", "uploads/1/x.jpg", 10),
        LocalLambdaContext("media_processor"),
        fails,
        lambda _key, _why: None,
        dead_letters=S3DeadLetters(aws, BUCKET),
        attempts=1,
        name="media_processor",
    )
    [letter] = S3DeadLetters(aws, BUCKET).list()
    assert is_object_notification(letter.records[0].data)
    assert not is_object_notification(Event.new(EventType.USER_CREATED, "1", {}).model_dump_json())
    assert cli.main(["dlq", "replay", "--bucket", BUCKET, "--stream", STREAM]) == 0
    assert stream_records() == []
    assert "kept 1 object notification(s)" in capsys.readouterr().out
    assert len(S3DeadLetters(aws, BUCKET).list()) == 1

"""Dead letters on AWS: the S3 bucket that is every stream event source mapping's on-failure destination and the
consumers' quarantine, one format for both.

Lambda writes an invocation record per discarded batch under ``aws/lambda/<mapping uuid>/<shard>/YYYY/MM/DD/...``:
the metadata its SQS destination also gets (``requestContext`` with the function ARN and the ``condition``,
``responseContext``, ``version``, ``timestamp``, ``KinesisBatchInfo`` with the shard and sequence range) plus, for
S3 destinations only, ``payload``: the whole invocation event as JSON text (``{"Records": [...]}`` with every record's
partition key and base64 data; for Kafka ``{"records": {"topic-partition": [...]}}``). A consumer that quarantines a
poison record writes the same document under ``quarantine/<consumer>/...``, with a ``quarantine`` member naming the
consumer and the error. Replayed letters are tagged, not deleted (the bucket's lifecycle expires them later)."""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chirp.ports import DeadLetter, StoreUnavailable, StreamRecord, from_raw, raw_bytes

LAMBDA_PREFIX = "aws/lambda/"
QUARANTINE_PREFIX = "quarantine/"
REPLAYED_TAG = "chirp-replayed"


class S3DeadLetters:
    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def put(self, letter: DeadLetter) -> str:
        now = datetime.fromtimestamp(letter.failed_at_ms / 1000, UTC)
        key = f"{QUARANTINE_PREFIX}{letter.consumer}/{now:%Y/%m/%d/%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}"
        body = json.dumps(invocation_record(letter)).encode()
        try:
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/json")
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailable(f"s3 dead letters: {exc}") from exc
        return key

    def list(self, *, include_replayed: bool = False) -> list[DeadLetter]:
        letters: list[DeadLetter] = []
        for prefix in (LAMBDA_PREFIX, QUARANTINE_PREFIX):
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    letter = self.fetch(item["Key"])
                    if include_replayed or not letter.replayed:
                        letters.append(letter)
        return sorted(letters, key=lambda letter: (letter.failed_at_ms, letter.id))

    def fetch(self, letter_id: str) -> DeadLetter:
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=letter_id)["Body"].read()
            tags = self._s3.get_object_tagging(Bucket=self._bucket, Key=letter_id)["TagSet"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise KeyError(letter_id) from exc
            raise
        letter = parse_invocation_record(json.loads(body), letter_id=letter_id)
        replayed = any(t["Key"] == REPLAYED_TAG and t["Value"] == "true" for t in tags)
        return dataclasses.replace(letter, replayed=replayed)

    def mark_replayed(self, letter_id: str) -> None:
        """Tag the letter (the bucket's lifecycle expires tagged letters; cdk StreamStack)."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        tags = [{"Key": REPLAYED_TAG, "Value": "true"}, {"Key": f"{REPLAYED_TAG}-at", "Value": stamp}]
        self._s3.put_object_tagging(Bucket=self._bucket, Key=letter_id, Tagging={"TagSet": tags})


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _shard_id(shard: int) -> str:
    return f"shardId-{shard:012d}"


def invocation_record(letter: DeadLetter) -> dict[str, Any]:
    """The document Lambda writes to an S3 on-failure destination for a Kinesis batch, for ``letter``'s records."""
    records = letter.records
    first, last = records[0], records[-1]
    sequence = [r.sequence_number or str(r.seq) for r in records]
    event = {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": r.partition_key,
                    "sequenceNumber": seq,
                    "data": base64.b64encode(raw_bytes(r.data)).decode(),
                    "approximateArrivalTimestamp": r.arrival_ms / 1000,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{_shard_id(r.shard)}:{seq}",
                "eventName": "aws:kinesis:record",
                "eventSourceARN": letter.source,
            }
            for r, seq in zip(records, sequence, strict=True)
        ]
    }
    return {
        "requestContext": {
            "requestId": letter.request_id,
            "functionArn": letter.function_arn,
            "condition": letter.reason,
            "approximateInvokeCount": 1,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Handled"},
        "version": "1.0",
        "timestamp": _iso(letter.failed_at_ms),
        "KinesisBatchInfo": {
            "shardId": _shard_id(first.shard),
            "startSequenceNumber": sequence[0],
            "endSequenceNumber": sequence[-1],
            "approximateArrivalOfFirstRecord": _iso(first.arrival_ms),
            "approximateArrivalOfLastRecord": _iso(last.arrival_ms),
            "batchSize": len(records),
            "streamArn": letter.source,
        },
        "payload": json.dumps(event),
        "quarantine": {"consumer": letter.consumer, "error": letter.error},
    }


def parse_invocation_record(doc: dict[str, Any], *, letter_id: str = "") -> DeadLetter:
    """A dead letter from an invocation record (Lambda's, or a quarantine's). Without ``payload`` (an SQS-style
    record) the records are not in it: refuse rather than return an empty letter that would replay nothing."""
    if "payload" not in doc:
        name = letter_id or "invocation record"
        raise ValueError(f"{name}: no payload (only shard pointers): the records are not in it")
    request = doc.get("requestContext", {})
    batch = doc.get("KinesisBatchInfo") or doc.get("KafkaBatchInfo") or {}
    event = json.loads(doc["payload"])
    function_arn = str(request.get("functionArn", ""))
    quarantine = doc.get("quarantine") or {}
    return DeadLetter(
        consumer=str(quarantine.get("consumer") or function_arn.rsplit(":", 1)[-1]),
        reason=str(request.get("condition", "")),
        error=str(quarantine.get("error") or doc.get("responseContext", {}).get("functionError", "")),
        failed_at_ms=_ms(doc["timestamp"]),
        records=tuple(_kinesis_records(event) if "Records" in event else _kafka_records(event)),
        id=letter_id,
        source=str(batch.get("streamArn", "")),
        function_arn=function_arn,
        request_id=str(request.get("requestId", "")),
    )


def _kinesis_records(event: dict[str, Any]) -> list[StreamRecord]:
    out = []
    for raw in event["Records"]:
        kinesis = raw["kinesis"]
        shard = str(raw.get("eventID", "shardId-0:")).split(":", 1)[0].removeprefix("shardId-")
        out.append(
            StreamRecord(
                seq=int(kinesis["sequenceNumber"]),
                shard=int(shard) if shard.isdigit() else 0,
                partition_key=kinesis["partitionKey"],
                data=from_raw(base64.b64decode(kinesis["data"])),
                arrival_ms=int(float(kinesis.get("approximateArrivalTimestamp", 0)) * 1000),
                sequence_number=kinesis["sequenceNumber"],
            )
        )
    return out


def _kafka_records(event: dict[str, Any]) -> list[StreamRecord]:
    """Kafka invocation events group records by topic-partition; the key is the partition key."""
    return [
        StreamRecord(
            seq=int(r["offset"]),
            shard=int(r["partition"]),
            partition_key=from_raw(base64.b64decode(r.get("key") or "")),
            data=from_raw(base64.b64decode(r.get("value") or "")),
            arrival_ms=int(r.get("timestamp", 0)),
            sequence_number=str(r["offset"]),
        )
        for batch in event.get("records", {}).values()
        for r in batch
    ]

"""Builders for the event shapes API Gateway (REST proxy, WebSocket, Lambda authorizers) and Kinesis and MSK event
source mappings hand to Lambda. The local runtime, the sample events in events/ and the tests all use them."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

REGION = "us-east-1"
ACCOUNT = "000000000000"
REST_API_ID = "chirplocal"
WS_API_ID = "chirpws"
STAGE = "local"
STREAM_NAME = "chirp-events"
STREAM_ARN = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{STREAM_NAME}"


def _multi(values: Mapping[str, str] | None) -> dict[str, list[str]] | None:
    return {k: [v] for k, v in values.items()} if values else None


def rest_event(
    *,
    method: str,
    resource: str,
    path: str,
    path_parameters: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    body: str | None = None,
    authorizer: Mapping[str, Any] | None = None,
    source_ip: str = "127.0.0.1",
    domain: str = "127.0.0.1",
) -> dict[str, Any]:
    """An API Gateway REST API Lambda proxy integration event."""
    now = time.time()
    request_id = str(uuid.uuid4())
    hdrs = dict(headers or {})
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": hdrs or None,
        "multiValueHeaders": _multi(hdrs),
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": _multi(query),
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": resource,
            "httpMethod": method,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/{STAGE}{path}",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": STAGE,
            "domainPrefix": domain.split(".")[0],
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {"sourceIp": source_ip, "userAgent": hdrs.get("User-Agent") or hdrs.get("user-agent")},
            "domainName": domain,
            "apiId": REST_API_ID,
            "authorizer": dict(authorizer) if authorizer else None,
        },
        "body": body,
        "isBase64Encoded": False,
    }


def method_arn(api_id: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/{STAGE}/{method}{path}"


def token_authorizer_event(authorization: str | None, *, method: str, resource: str) -> dict[str, Any]:
    return {
        "type": "TOKEN",
        "authorizationToken": authorization or "",
        "methodArn": method_arn(REST_API_ID, method, resource),
    }


def request_authorizer_event(query: Mapping[str, str], headers: Mapping[str, str]) -> dict[str, Any]:
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{WS_API_ID}/{STAGE}/$connect",
        "headers": dict(headers),
        "queryStringParameters": dict(query),
        "requestContext": {"routeKey": "$connect", "eventType": "CONNECT", "apiId": WS_API_ID, "stage": STAGE},
    }


def websocket_event(
    *,
    route_key: str,
    connection_id: str,
    body: str | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    authorizer: Mapping[str, Any] | None = None,
    domain: str = "127.0.0.1",
) -> dict[str, Any]:
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route_key, "MESSAGE")
    now = time.time()
    event: dict[str, Any] = {
        "requestContext": {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "messageDirection": "IN",
            "stage": STAGE,
            "connectedAt": int(now * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": "127.0.0.1"},
            "requestId": str(uuid.uuid4()),
            "domainName": domain,
            "connectionId": connection_id,
            "apiId": WS_API_ID,
            "authorizer": dict(authorizer) if authorizer else None,
        },
        "isBase64Encoded": False,
    }
    if event_type == "CONNECT":
        event["headers"] = dict(headers or {})
        event["multiValueHeaders"] = _multi(headers)
        event["queryStringParameters"] = dict(query) if query else None
        event["multiValueQueryStringParameters"] = _multi(query)
    if event_type == "MESSAGE":
        event["body"] = body
        event["requestContext"]["messageId"] = uuid.uuid4().hex[:16]
    return event


@dataclass(frozen=True, slots=True)
class KinesisInput:
    sequence_number: str
    partition_key: str
    data: bytes
    arrival_s: float
    shard_id: str = "shardId-000000000000"


def kinesis_event(records: Sequence[KinesisInput], *, stream_arn: str = STREAM_ARN) -> dict[str, Any]:
    """A Kinesis event source mapping batch."""
    return {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": r.partition_key,
                    "sequenceNumber": r.sequence_number,
                    "data": base64.b64encode(r.data).decode(),
                    "approximateArrivalTimestamp": r.arrival_s,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{r.shard_id}:{r.sequence_number}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/chirp-consumer",
                "awsRegion": REGION,
                "eventSourceARN": stream_arn,
            }
            for r in records
        ]
    }


MSK_CLUSTER_ARN = f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/chirp-events/00000000-0000-0000-0000-000000000000-s1"


@dataclass(frozen=True, slots=True)
class KafkaInput:
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    timestamp_ms: int


def kafka_event(
    records: Sequence[KafkaInput], *, cluster_arn: str = MSK_CLUSTER_ARN, bootstrap: str = "127.0.0.1:9098"
) -> dict[str, Any]:
    """An Amazon MSK event source mapping batch: records grouped by "topic-partition", key and value base64."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        grouped.setdefault(f"{r.topic}-{r.partition}", []).append(
            {
                "topic": r.topic,
                "partition": r.partition,
                "offset": r.offset,
                "timestamp": r.timestamp_ms,
                "timestampType": "CREATE_TIME",
                "key": base64.b64encode(r.key).decode(),
                "value": base64.b64encode(r.value).decode(),
                "headers": [],
            }
        )
    return {
        "eventSource": "aws:kafka",
        "eventSourceArn": cluster_arn,
        "bootstrapServers": bootstrap,
        "records": grouped,
    }


def sequence_number(seq: int) -> str:
    """Kinesis sequence numbers are decimal strings that grow within a shard."""
    return f"4960{seq:052d}"


def parse_sequence_number(value: str) -> int:
    return int(value[4:])

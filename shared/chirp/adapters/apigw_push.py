"""Push to WebSocket clients through the API Gateway management API (``@connections``) with boto3. The local
runtime serves the same endpoint, so this adapter runs unchanged on a laptop and on AWS."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


class ApiGatewayPusher:
    def __init__(self, endpoint_url: str, *, region: str | None = None) -> None:
        self._client: Any = boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=endpoint_url,
            region_name=region or "us-east-1",
            config=Config(
                retries={"max_attempts": 2, "mode": "standard"},
                connect_timeout=2,
                read_timeout=5,
                max_pool_connections=50,
            ),
        )

    def push(self, connection_id: str, message: dict[str, object]) -> bool:
        try:
            self._client.post_to_connection(
                ConnectionId=connection_id, Data=json.dumps(message, separators=(",", ":")).encode()
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("GoneException", "410"):
                return False
            raise
        return True

"""Push to WebSocket clients through the API Gateway management API (``@connections``). The local runtime serves the
same endpoint, so this adapter runs unchanged on a laptop and on AWS.

One message to one connection is boto3's ``post_to_connection``. One message to many connections (fan-out's online
followers) is ``push_many``: the same signed ``POST /@connections/{id}`` requests, sent concurrently from one event
loop over a keep-alive connection pool (aiohttp), each signed with botocore's SigV4 signer (service execute-api,
the function role's credentials). botocore's client costs ~0.6 ms of CPU per call in request building, signing
hooks and urllib3; this costs ~0.1 ms, so 1,000 online followers take a fraction of a Lambda's CPU instead of all
of it, and the requests' network latency overlaps instead of adding up."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import aiohttp
import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import ClientError
from yarl import URL

MAX_IN_FLIGHT = 64
ATTEMPTS = 3  # a throttled (429) or failed (5xx, network) push is tried again, with back-off
RETRYABLE = frozenset({429, 500, 502, 503, 504})


class PushFailed(Exception):
    """Some pushes failed for another reason than a connection that is gone, even after retries."""


class ApiGatewayPusher:
    def __init__(self, endpoint_url: str, *, region: str | None = None) -> None:
        self._endpoint = endpoint_url.rstrip("/")
        self._region = region or "us-east-1"
        self._session = boto3.session.Session()
        self._client: Any = self._session.client(
            "apigatewaymanagementapi",
            endpoint_url=endpoint_url,
            region_name=self._region,
            config=Config(
                retries={"max_attempts": 2, "mode": "standard"},
                connect_timeout=2,
                read_timeout=5,
                max_pool_connections=50,
            ),
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: aiohttp.ClientSession | None = None
        self._lock = threading.Lock()

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

    def push_many(self, connection_ids: Sequence[str], message: dict[str, object]) -> set[str]:
        if not connection_ids:
            return set()
        body = json.dumps(message, separators=(",", ":")).encode()
        loop = self._event_loop()
        return asyncio.run_coroutine_threadsafe(self._push_all(list(connection_ids), body), loop).result()

    def close(self) -> None:
        """Close the connection pool and stop the event loop (at exit: nothing is left open)."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None:
            return
        if self._http is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._http.close(), loop).result(timeout=2)
            self._http = None
        loop.call_soon_threadsafe(loop.stop)

    # -- the event loop ----------------------------------------------------------------------------------------
    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, daemon=True, name="push-loop").start()
                self._loop = loop
                atexit.register(self.close)
            return self._loop

    async def _push_all(self, connection_ids: list[str], body: bytes) -> set[str]:
        if self._http is None:  # created on the loop that uses it
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=MAX_IN_FLIGHT, ttl_dns_cache=300),
                timeout=aiohttp.ClientTimeout(total=5, connect=2),
                auto_decompress=False,
            )
        credentials = self._session.get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials is not None else None
        slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        gone: set[str] = set()
        failures: list[str] = []

        async def one(connection_id: str) -> None:
            async with slots:
                status = await self._post(connection_id, body, frozen)
            if status == 410:
                gone.add(connection_id)
            elif not 200 <= status < 300:
                failures.append(f"{connection_id}: HTTP {status}")

        await asyncio.gather(*(one(c) for c in connection_ids))
        if failures:
            raise PushFailed(f"{len(failures)} of {len(connection_ids)} pushes failed, e.g. {failures[0]}")
        return gone

    async def _post(self, connection_id: str, body: bytes, credentials: Any) -> int:
        url = f"{self._endpoint}/@connections/{quote(connection_id, safe='')}"
        status = 0
        for attempt in range(ATTEMPTS):
            headers = {"Content-Type": "application/json"}
            if credentials is not None:
                request = AWSRequest(method="POST", url=url, data=body, headers=headers)
                SigV4Auth(credentials, "execute-api", self._region).add_auth(request)
                headers = dict(request.headers.items())
            assert self._http is not None
            try:
                async with self._http.post(URL(url, encoded=True), data=body, headers=headers) as response:
                    status = response.status
                    await response.read()
            except (aiohttp.ClientError, TimeoutError):
                status = 503  # the network: as retryable as a 503
            if status not in RETRYABLE:
                return status
            await asyncio.sleep(0.05 * 2**attempt)
        return status

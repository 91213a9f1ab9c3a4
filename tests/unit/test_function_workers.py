"""The servers backend's API functions run in worker processes, one invocation at a time each, as Lambda runs them:
a request that finds every worker busy gets another worker (up to the limit, beyond it waits), a worker that dies
while idle never costs a request, and one that dies mid-invocation fails only that invocation (a 502 at the
gateway) and is replaced. The workers here run the embedded backend: the pool does not care which stores they use."""

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from chirp.local import events
from chirp.local.rest_gateway import RestGateway
from chirp.local.workers import FunctionError, FunctionWorkers

POLL_S = 2  # a long poll with nothing to return: an invocation that holds its worker this long


@pytest.fixture(autouse=True)
def embedded_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIRP_BACKEND", "embedded")  # inherited by the workers
    monkeypatch.setenv("CHIRP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CHIRP_WS_MANAGEMENT_URL", "http://127.0.0.1:9/local")  # nothing here pushes


def _poll(user_id: int, timeout_s: int = POLL_S) -> dict[str, Any]:
    return events.rest_event(
        method="GET",
        resource="/api/v1/timeline/poll",
        path="/api/v1/timeline/poll",
        query={"timeout": str(timeout_s)},
        authorizer={"principalId": str(user_id), "user_id": str(user_id), "username": f"user{user_id}"},
    )


def _health() -> dict[str, Any]:
    return events.rest_event(method="GET", resource="/api/v1/health", path="/api/v1/health")


async def _with_workers(warm: int, limit: int, scenario: Any) -> Any:
    workers = FunctionWorkers(warm=warm, limit=limit)
    await workers.start()
    try:
        return await scenario(workers)
    finally:
        await workers.stop()


def test_a_function_runs_in_a_worker_process_not_the_gateways() -> None:
    async def scenario(workers: FunctionWorkers) -> tuple[dict[str, Any], list[int]]:
        return await workers.invoke("health", _health()), workers.pids

    result, pids = asyncio.run(_with_workers(1, 4, scenario))
    assert result["statusCode"] == 200, result
    assert len(pids) == 1 and os.getpid() not in pids


def test_concurrent_invocations_get_workers_of_their_own_up_to_the_limit() -> None:
    async def scenario(workers: FunctionWorkers) -> tuple[list[dict[str, Any]], list[int]]:
        results = await asyncio.gather(*(workers.invoke("timeline", _poll(n)) for n in (1, 2)))
        return list(results), workers.pids

    results, pids = asyncio.run(_with_workers(1, 4, scenario))
    assert [r["statusCode"] for r in results] == [200, 200]
    assert json.loads(results[0]["body"])["tweets"] == []
    assert len(pids) == 2  # the second poll did not wait for the first one's worker

    results, pids = asyncio.run(_with_workers(1, 1, scenario))
    assert [r["statusCode"] for r in results] == [200, 200]  # at the limit, the second one waited its turn
    assert len(pids) == 1


def test_a_worker_that_died_while_idle_costs_no_request() -> None:
    async def scenario(workers: FunctionWorkers) -> tuple[dict[str, Any], list[int], list[int]]:
        before = workers.pids
        os.kill(before[0], signal.SIGKILL)  # and the request follows at once: it may find the socket still open
        return await workers.invoke("health", _health()), before, workers.pids

    result, before, after = asyncio.run(_with_workers(1, 4, scenario))
    assert result["statusCode"] == 200
    assert len(after) == 1 and after != before


def test_a_worker_that_dies_mid_invocation_fails_that_invocation_only() -> None:
    async def scenario(workers: FunctionWorkers) -> tuple[BaseException | None, dict[str, Any], list[int]]:
        (pid,) = workers.pids
        polling = asyncio.create_task(workers.invoke("timeline", _poll(1, timeout_s=20)))
        await asyncio.sleep(1.0)  # the poll is in the worker
        os.kill(pid, signal.SIGKILL)
        failure: BaseException | None = None
        try:
            await polling
        except FunctionError as exc:
            failure = exc
        return failure, await workers.invoke("health", _health()), [pid, *workers.pids]

    failure, after, pids = asyncio.run(_with_workers(1, 4, scenario))
    assert isinstance(failure, FunctionError) and "exited during the invocation" in str(failure)
    assert after["statusCode"] == 200
    assert len(pids) == 2 and pids[0] != pids[1]  # a new worker served the next request


def test_a_function_error_reaches_the_caller_and_the_worker_serves_on() -> None:
    async def scenario(workers: FunctionWorkers) -> tuple[BaseException | None, dict[str, Any], list[int]]:
        before = workers.pids
        failure: BaseException | None = None
        try:
            await workers.invoke("no-such-function", _health())
        except FunctionError as exc:
            failure = exc
        return failure, await workers.invoke("health", _health()), [*before, *workers.pids]

    failure, after, pids = asyncio.run(_with_workers(1, 4, scenario))
    assert isinstance(failure, FunctionError) and "no-such-function" in str(failure)
    assert after["statusCode"] == 200
    assert pids[0] == pids[1]


def test_the_gateway_answers_502_json_when_the_function_fails() -> None:
    """API Gateway's answer to a crashed or raising Lambda function: 502, here in Chirp's error shape."""

    async def crashed(function: str, event: dict[str, Any]) -> Any:
        raise FunctionError(f"{function}: its process exited during the invocation")

    async def scenario() -> tuple[int, dict[str, Any]]:
        gateway = RestGateway(crashed, objects=None, media=None, web_root=None, client_config={}, max_body_bytes=1024)
        async with TestClient(TestServer(gateway.app())) as client:
            response = await client.get("/api/v1/health")
            return response.status, await response.json()

    status, body = asyncio.run(scenario())
    assert status == 502
    assert body["error"]["code"] == "bad_gateway"

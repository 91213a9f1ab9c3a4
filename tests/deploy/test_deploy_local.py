"""Deploy the CDK app for real to a local AWS emulator and drive the deployed endpoints.

``cdk bootstrap`` + ``cdk deploy --all`` run against ministack (``AWS_ENDPOINT_URL``) with context backend=local:
Keyspaces, Neptune, ElastiCache and OpenSearch are left out and the functions are pointed at the real stand-in
servers (Cassandra, Gremlin Server, Redis, OpenSearch); S3, Kinesis, Secrets Manager, Lambda and both API
Gateway data planes are ministack's own. Then a smoke scenario goes through the deployed REST and WebSocket APIs:
sign up, follow, timeline, post, WebSocket push, fan-out into the home timeline, search.

What the emulator cannot check (see tests/deploy/README.md) is recorded in the terminal summary, never faked.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import websockets

from chirp.config import Settings
from servers.harness import ServerSet

from .conftest import REPORT
from .support import (
    ACCOUNT,
    DUMMY_CREDENTIALS,
    REGION,
    Cdk,
    Ministack,
    context_args,
    free_port,
    ministack_python,
    resource_counts,
    stack_names,
)

pytestmark = pytest.mark.timeout(900)

PREFIX = "Chirp"
STAGE = "prod"
GAPS = [
    "no Lambda isolation: functions run as local processes of ministack's CPython 3.11 (x86_64), not the "
    "python3.12 arm64 runtime, so the layer is built for that interpreter (context layer_python)",
    "no IAM enforcement: roles, grants and managed policies are created but never evaluated",
    "Kinesis event source mappings retry without bisect_batch_on_error or partial-batch semantics",
    "stack outputs and stage callback URLs name AWS host names; the test derives the local execute-api URLs",
    "AWS::WAFv2::WebACLAssociation is unknown to its CloudFormation: deployed with context waf=false",
    "no VPC, Keyspaces, Neptune, ElastiCache or OpenSearch Service: backend=local leaves them out",
    "ChirpWeb not deployed: the BucketDeployment custom resource runs /opt/awscli/aws, and the local executor does "
    "not mount layers at /opt",
    "ChirpObservability not deployed: its CloudFormation refuses metric-math alarms (AWS::CloudWatch::Alarm Metrics)",
    "GenerateSecretString.ExcludePunctuation is ignored (the JWT secret also names ExcludeCharacters ',')",
]
# Deployed: everything the REST/WebSocket paths need. Web and Observability are synthesized (and counted) only.
DEPLOYED = ("Data", "Content", "Stream", "Api")


@dataclass
class Deployment:
    ministack: Ministack
    rest_url: str  # .../_aws/execute-api/<id>/<stage>  (routes under /api/v1)
    ws_url: str
    outputs: dict[str, dict[str, str]]
    assembly: Path


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def _provision_stand_ins(env: dict[str, str]) -> None:
    """What the CDK app owns on AWS but leaves out with backend=local: the keyspace and tables (AWS::Cassandra::*)
    and the search index templates, created once on the stand-ins so that cold starts only find them."""
    from chirp.adapters.keyspaces import KeyspacesBackend
    from chirp.adapters.opensearch_index import OpenSearchIndex

    settings = Settings(**{k.removeprefix("CHIRP_").lower(): v for k, v in env.items() if k.startswith("CHIRP_")})
    records = KeyspacesBackend.connect(settings, ensure_schema=True)
    records.close()
    index: Any = OpenSearchIndex(settings.opensearch_url, prefix=settings.opensearch_index_prefix)
    if hasattr(index, "ensure_setup"):
        index.ensure_setup()


@pytest.fixture(scope="module")
def deployment(servers: ServerSet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    work = tmp_path_factory.mktemp("deploy")
    timings: dict[str, float] = {}
    REPORT.update({"timings": timings, "gaps": GAPS})

    began = time.monotonic()
    python = ministack_python()
    timings["ministack venv (cached after first)"] = time.monotonic() - began

    # A private Redis (the shared one's databases are taken by the e2e tests); the expensive servers are shared.
    own = ServerSet()
    redis = own.start(["redis"])["redis"]
    eps = servers.endpoints
    namespace = f"deploy{uuid.uuid4().hex[:8]}"
    endpoints = {
        "redis_url": f"redis://{redis.host}:{redis.port}/0",
        "cassandra_hosts": f"{eps['cassandra'].host}:{eps['cassandra'].port}",
        "cassandra_keyspace": namespace,
        "neptune_url": eps["gremlin"].url,
        "opensearch_url": eps["opensearch"].url,
        "opensearch_index_prefix": f"{namespace}-tweets",
    }
    began = time.monotonic()
    _provision_stand_ins(
        {
            "CHIRP_BACKEND": "servers",
            "CHIRP_CASSANDRA_HOSTS": eps["cassandra"].host,
            "CHIRP_CASSANDRA_PORT": str(eps["cassandra"].port),
            "CHIRP_CASSANDRA_KEYSPACE": namespace,
            "CHIRP_OPENSEARCH_URL": eps["opensearch"].url,
            "CHIRP_OPENSEARCH_INDEX_PREFIX": f"{namespace}-tweets",
        }
    )
    timings["schema on the stand-ins"] = time.monotonic() - began

    ministack = Ministack(python=python, port=free_port(), log=work / "ministack.log")
    try:
        ministack.start()
        timings["ministack start"] = ministack.started_in_s
        endpoints["execute_api_url"] = ministack.execute_api_url()
        context = {
            "backend": "local",
            "prefix": PREFIX,
            "stage_name": STAGE,
            "waf": "false",
            "layer_python": str(python),
            "local_endpoints": endpoints,
        }
        cdk = Cdk(endpoint=ministack.url, log_dir=work)
        assembly = work / "cdk.out"
        timings["cdk synth"] = cdk("synth", "--quiet", "-o", str(assembly), *context_args(context)).seconds
        timings["cdk bootstrap"] = cdk("bootstrap", f"aws://{ACCOUNT}/{REGION}", "--app", str(assembly)).seconds
        outputs_file = work / "outputs.json"
        deploy = cdk(
            "deploy",
            *(f"{PREFIX}{part}" for part in DEPLOYED),
            "--app",
            str(assembly),
            "--require-approval",
            "never",
            "--concurrency",
            "4",
            "--outputs-file",
            str(outputs_file),
        )
        timings[f"cdk deploy ({len(DEPLOYED)} stacks)"] = deploy.seconds
        REPORT["resources"] = resource_counts(assembly, stack_names(assembly))
        outputs: dict[str, dict[str, str]] = json.loads(outputs_file.read_text())

        rest_id = _only(a["id"] for a in _client("apigateway", ministack.url).get_rest_apis()["items"])
        ws_id = _only(
            a["ApiId"]
            for a in _client("apigatewayv2", ministack.url).get_apis()["Items"]
            if a["ProtocolType"] == "WEBSOCKET"
        )
        base = ministack.execute_api_url()
        yield Deployment(
            ministack=ministack,
            rest_url=f"{base}/{rest_id}/{STAGE}",
            ws_url=f"ws://127.0.0.1:{ministack.port}/_aws/execute-api/{ws_id}/{STAGE}",
            outputs=outputs,
            assembly=assembly,
        )
    except BaseException:
        print("---- ministack log (tail) ----\n" + ministack.tail(120))
        raise
    finally:
        ministack.stop()
        own.stop()


def _only(values: Any) -> str:
    found = list(values)
    assert len(found) == 1, found
    return str(found[0])


def test_outputs_name_aws_hosts_for_the_deployed_apis(deployment: Deployment) -> None:
    """Given the deployed stacks
    When their outputs are read
    Then the REST and WebSocket URLs carry the deployed API ids (on AWS host names: an emulator gap, so the
    smoke test derives the local URLs from the same ids)."""
    api = deployment.outputs[f"{PREFIX}Api"]
    rest_id = deployment.rest_url.split("/")[-2]
    ws_id = deployment.ws_url.split("/")[-2]
    assert api["RestApiUrl"].startswith(f"https://{rest_id}.execute-api.")
    assert api["WebSocketUrl"].startswith(f"wss://{ws_id}.execute-api.")
    parts = (*DEPLOYED, "Web", "Observability")
    assert set(REPORT["resources"]) == {f"{PREFIX}{part}" for part in parts}
    assert set(deployment.outputs) == {f"{PREFIX}{part}" for part in DEPLOYED}


def test_smoke_scenario_through_the_deployed_endpoints(deployment: Deployment) -> None:
    """Given the app deployed to the emulator
    When two users sign up, one follows the other and the other tweets
    Then the follower's WebSocket gets the tweet, it lands in the home timeline by fan-out, and search finds it."""
    try:
        _smoke(deployment)
    except BaseException:
        print("---- function logs (tail) ----\n" + _function_logs(deployment.ministack.url))
        print("---- ministack log (tail) ----\n" + deployment.ministack.tail(60))
        raise


def _smoke(deployment: Deployment) -> None:
    api = deployment.rest_url + "/api/v1"
    word = f"zq{uuid.uuid4().hex[:10]}"
    timings = REPORT["timings"]
    with httpx.Client(timeout=30.0) as http:
        health = http.get(f"{api}/health")
        assert health.status_code == 200, health.text
        denied = http.get(f"{api}/timeline/home")
        assert denied.status_code == 401, (denied.status_code, denied.text)

        began = time.monotonic()
        alice = _signup(http, api, "alice")
        bob = _signup(http, api, "bob")
        timings["smoke: two signups (cold starts)"] = time.monotonic() - began
        bob_headers = {"Authorization": f"Bearer {bob['token']}"}
        alice_headers = {"Authorization": f"Bearer {alice['token']}"}

        followed = http.post(f"{api}/users/{alice['username']}/follow", headers=bob_headers)
        assert followed.status_code in (200, 201), followed.text
        home = http.get(f"{api}/timeline/home", headers=bob_headers)
        assert home.status_code == 200, home.text
        assert home.json()["tweets"] == []  # the materialized timeline now exists and is empty

        async def scenario() -> tuple[dict[str, Any], dict[str, Any], float]:
            async with websockets.connect(f"{deployment.ws_url}?token={bob['token']}", open_timeout=30) as ws:
                await ws.send(json.dumps({"action": "ping"}))
                pong = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
                posted = await asyncio.to_thread(
                    http.post, f"{api}/tweets", json={"content": f"hello #deploy {word}"}, headers=alice_headers
                )
                assert posted.status_code == 201, posted.text
                sent = time.monotonic()
                while True:
                    message = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
                    if message.get("type") == "new_tweet":
                        return pong, {"tweet": posted.json(), "push": message}, time.monotonic() - sent

        pong, result, push_s = asyncio.run(scenario())
        timings["smoke: tweet -> WebSocket push"] = push_s
        assert pong == {"type": "pong"}
        tweet = result["tweet"]
        assert result["push"]["tweet"]["tweet_id"] == tweet["tweet_id"]
        assert result["push"]["tweet"]["content"] == f"hello #deploy {word}"

        began = time.monotonic()
        timeline = _eventually(
            lambda: http.get(f"{api}/timeline/home", headers=bob_headers).json()["tweets"], lambda ts: bool(ts)
        )
        timings["smoke: fan-out into home timeline"] = time.monotonic() - began
        assert [t["tweet_id"] for t in timeline] == [tweet["tweet_id"]]

        began = time.monotonic()
        found = _eventually(
            lambda: http.get(f"{api}/search", params={"q": word}, headers=bob_headers).json()["tweets"],
            lambda ts: bool(ts),
        )
        timings["smoke: indexed and searchable"] = time.monotonic() - began
        assert [t["tweet_id"] for t in found] == [tweet["tweet_id"]]


def _function_logs(endpoint: str, limit: int = 60) -> str:
    """The functions' recent log lines (ministack keeps them in CloudWatch Logs), for a failure's report."""
    logs = _client("logs", endpoint)
    lines: list[str] = []
    for group in logs.describe_log_groups().get("logGroups", []):
        events = logs.filter_log_events(logGroupName=group["logGroupName"], limit=limit).get("events", [])
        lines += [f"{group['logGroupName']}: {e['message'].rstrip()}" for e in events]
    return "\n".join(lines[-limit * 3 :])


def _signup(http: httpx.Client, api: str, name: str) -> dict[str, Any]:
    username = f"{name}{uuid.uuid4().hex[:6]}"
    response = http.post(
        f"{api}/auth/signup",
        json={"username": username, "email": f"{username}@example.com", "password": "correct horse battery"},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["username"] == username and body["token"]
    return body


def _eventually(read: Any, ok: Any, timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.3)

"""Deploy the CDK app for real to a local AWS emulator and drive the deployed endpoints.

``cdk bootstrap`` + ``cdk deploy --all`` run against ministack (``AWS_ENDPOINT_URL``) with context backend=local:
Keyspaces, Neptune, ElastiCache and OpenSearch are left out and the functions are pointed at the real stand-in
servers (Cassandra, Gremlin Server, Redis, OpenSearch); S3, Kinesis, Secrets Manager, Lambda and both API
Gateway data planes are ministack's own. Then a smoke scenario goes through the deployed REST and WebSocket APIs:
sign up, follow, timeline, post, WebSocket push, fan-out into the home timeline, search, retweet fan-out, and an
image upload processed by the deployed media_processor (S3 notification) before a tweet shows it.

What the emulator cannot check (see tests/deploy/README.md) is recorded in the terminal summary, never faked.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from chirp.local.servers.harness import ServerSet

from .conftest import REPORT
from .local_deploy import DEPLOYED, PREFIX, Deployment, deploy
from .support import resource_counts, stack_names

pytestmark = pytest.mark.timeout(900)

GAPS = [
    "no Lambda isolation: functions run as local processes of ministack's CPython (3.12 like Lambda's when the "
    "machine has it, but x86_64, not arm64), so the layer is built for that interpreter (context layer_python)",
    "no Init Duration in the emulator's reports: bench/cold_start.py measures each function's init instead",
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


@pytest.fixture(scope="module")
def deployment(servers: ServerSet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    timings: dict[str, float] = {}
    REPORT.update({"timings": timings, "gaps": GAPS})
    deployed = deploy(servers, tmp_path_factory.mktemp("deploy"), timings=timings)
    try:
        REPORT["resources"] = resource_counts(deployed.assembly, stack_names(deployed.assembly))
        yield deployed
    finally:
        deployed.close()


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
        print("---- function logs (tail) ----\n" + _function_logs(deployment.session))
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

        liked = http.post(f"{api}/tweets/{tweet['tweet_id']}/like", headers=bob_headers)
        assert liked.status_code == 200 and liked.json()["likes_count"] == 1, liked.text
        began = time.monotonic()
        notified = _eventually(
            lambda: http.get(f"{api}/notifications", headers=alice_headers).json(),
            lambda body: len(body["notifications"]) == 2,
        )
        timings["smoke: like + follow notifications"] = time.monotonic() - began
        assert sorted(n["type"] for n in notified["notifications"]) == ["follow", "like"]
        assert notified["unread_count"] == 2

        # Retweet fan-out: carol follows bob (not alice); bob's retweet reaches her home as its own entry.
        carol = _signup(http, api, "carol")
        carol_headers = {"Authorization": f"Bearer {carol['token']}"}
        followed = http.post(f"{api}/users/{bob['username']}/follow", headers=carol_headers)
        assert followed.status_code in (200, 201), followed.text
        assert http.get(f"{api}/timeline/home", headers=carol_headers).json()["tweets"] == []
        retweeted = http.post(f"{api}/tweets/{tweet['tweet_id']}/retweet", headers=bob_headers)
        assert retweeted.status_code == 200 and retweeted.json()["retweeted_by_user"], retweeted.text
        began = time.monotonic()
        carols = _eventually(
            lambda: http.get(f"{api}/timeline/home", headers=carol_headers).json()["tweets"], lambda ts: bool(ts)
        )
        timings["smoke: retweet fan-out into home timeline"] = time.monotonic() - began
        assert [(t["username"], t["retweet_of"]["tweet_id"]) for t in carols] == [(bob["username"], tweet["tweet_id"])]

        trending = _eventually(
            lambda: http.get(f"{api}/trends", headers=bob_headers).json()["trends"],
            lambda ts: any(t["hashtag"] == "deploy" for t in ts),
        )
        assert [t["tweet_count"] for t in trending if t["hashtag"] == "deploy"] == [1]

        # Media: the upload's S3 notification runs the deployed media_processor; the tweet shows the processed image.
        png = _png()
        ticket = http.post(f"{api}/media", json={"content_type": "image/png", "size": len(png)}, headers=alice_headers)
        assert ticket.status_code == 201, ticket.text
        media_id = ticket.json()["media_id"]
        upload = ticket.json()["upload"]
        assert upload["method"] == "POST"  # S3 presigned POST on the emulator's S3
        stored = httpx.post(upload["url"], data=upload["fields"], files={"file": ("f", png, "image/png")})
        assert stored.status_code in (200, 204), stored.text
        began = time.monotonic()
        media = _eventually(
            lambda: http.get(f"{api}/media/{media_id}", headers=alice_headers).json(),
            lambda m: m.get("status") != "pending",
        )
        timings["smoke: upload -> processed by media_processor"] = time.monotonic() - began
        assert media["status"] == "ready", media
        pictured = http.post(
            f"{api}/tweets", json={"content": "a picture", "media_ids": [media_id]}, headers=alice_headers
        )
        assert pictured.status_code == 201, pictured.text
        [shown] = pictured.json()["media"]
        assert (shown["type"], shown["width"], shown["height"]) == ("image", 64, 48)
        assert shown["thumbnail_url"] and shown["url"] != shown["thumbnail_url"]


def _png() -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (64, 48), (29, 155, 240)).save(out, format="PNG")
    return out.getvalue()


def _function_logs(session: Any, limit: int = 60) -> str:
    """The functions' recent log lines (ministack keeps them in CloudWatch Logs), for a failure's report."""
    logs = session.client("logs")
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

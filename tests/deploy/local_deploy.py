"""The CDK app deployed to a local AWS emulator (ministack), its functions pointed at the stand-in servers with the
credentials those demand, stored in the emulator's Secrets Manager exactly as the data stack stores them on AWS.

Used by the deploy test and by ``make deploy-local`` / ``make destroy-local``:

    python tests/deploy/local_deploy.py up [--web-port 8080]   # start, deploy, print URLs, serve the web client
    python tests/deploy/local_deploy.py down                   # cdk destroy on the emulator, stop everything

boto3 clients come from localstack-client, so the same code reaches a LocalStack edge (LOCALSTACK_HOST or
AWS_ENDPOINT_URL) for a user who has LocalStack's auth token.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if __name__ == "__main__":  # run as a script: make tests/ and shared/ importable like pytest does
    sys.path[:0] = [str(HERE.parent), str(HERE.parents[1] / "shared")]

from chirp.config import Settings  # noqa: E402
from chirp.local.servers import harness  # noqa: E402
from chirp.local.servers.harness import Endpoint, ServerSet  # noqa: E402
from chirp.local.servers_env import provision_keyspace  # noqa: E402
from chirp.wiring import client_config  # noqa: E402
from deploy.support import (  # noqa: E402
    ACCOUNT,
    DUMMY_CREDENTIALS,
    REGION,
    REPO_ROOT,
    Cdk,
    Ministack,
    context_args,
    free_port,
    ministack_python,
)

PREFIX = "Chirp"
STAGE = "prod"
# Deployed: everything the REST/WebSocket paths need. Web and Observability are synthesized (and counted) only.
DEPLOYED = ("Data", "Content", "Stream", "Api")
STAND_INS = ("cassandra", "gremlin", "opensearch")  # shared by deployments; each deployment has its own Redis
STATE_DIR = REPO_ROOT / ".chirp" / "deploy-local"


@dataclass
class Deployment:
    ministack: Ministack
    session: Any  # localstack-client session on the emulator
    rest_url: str  # .../_aws/execute-api/<id>/<stage>  (routes under /api/v1)
    ws_url: str
    outputs: dict[str, dict[str, str]]
    assembly: Path
    cdk: Cdk
    own: ServerSet  # the private Redis
    context: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.ministack.stop()
        self.own.stop()


def emulator_session(port: int) -> Any:
    """boto3 clients for the emulator's edge through localstack-client."""
    from localstack_client.session import Session

    return Session(
        localstack_host=f"127.0.0.1:{port}",
        region_name=REGION,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def stand_in_endpoints(session: Any, servers: ServerSet, redis: Endpoint, namespace: str, work: Path) -> dict[str, str]:
    """local_endpoints for the CDK app: the stand-ins' addresses, and their credentials as secrets in the emulator's
    Secrets Manager, named by ARN as the data stack names the real ones on AWS."""
    eps = servers.endpoints
    secrets = session.client("secretsmanager")

    def secret(name: str, value: str) -> str:
        return str(secrets.create_secret(Name=f"{namespace}/{name}", SecretString=value)["ARN"])

    def login(ep: Endpoint) -> str:
        return json.dumps({"username": ep.extra["username"], "password": ep.extra["password"]})

    # One bundle for every store: the private Redis has a CA of its own.
    bundle = work / "stand-in-ca.pem"
    cas = dict.fromkeys(str(ep.extra["ca_file"]) for ep in (*eps.values(), redis) if ep.extra.get("ca_file"))
    bundle.write_text("".join(Path(ca).read_text() for ca in cas))
    return {
        "redis_url": f"rediss://{redis.host}:{redis.port}/0",
        "redis_auth_secret_arn": secret("redis-auth", str(redis.extra["password"])),
        "cassandra_hosts": f"{eps['cassandra'].host}:{eps['cassandra'].port}",
        "cassandra_keyspace": namespace,
        "cassandra_credentials_secret_arn": secret("keyspaces", login(eps["cassandra"])),
        "neptune_url": eps["gremlin"].url,
        "neptune_iam_auth": "true",
        "opensearch_url": eps["opensearch"].url,
        "opensearch_index_prefix": f"{namespace}-tweets",
        "opensearch_auth": "basic",
        "opensearch_credentials_secret_arn": secret("opensearch", login(eps["opensearch"])),
        "tls_ca_bundle": str(bundle),
    }


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    previous = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def provision_stand_ins(endpoints: dict[str, str], ministack: Ministack) -> None:
    """What the CDK app owns on AWS but leaves out with backend=local: the search index templates (the keyspace and
    tables, AWS::Cassandra::* on AWS, are made by provision_keyspace), created once on the stand-ins so that cold
    starts only find them. Built through the container with the settings and secrets the deployed functions get."""
    from chirp.container import build_servers
    from chirp.local.provision import provision_stores

    env = {
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": ministack.url,
        "AWS_REGION": REGION,
        **DUMMY_CREDENTIALS,
    }
    with _environment(env):
        settings = Settings(backend="servers", **endpoints)  # type: ignore[arg-type]
        provision_stores(build_servers(settings))


def deploy(
    servers: ServerSet, work: Path, *, timings: dict[str, float], cors_origins: tuple[str, ...] = ()
) -> Deployment:
    """Start ministack and a private Redis, store the credentials, provision, bootstrap and deploy."""
    began = time.monotonic()
    python = ministack_python()
    timings["ministack venv (cached after first)"] = time.monotonic() - began
    servers.start(STAND_INS)
    # The emulator runs functions with its account id as access key and its own secret (like a role's session):
    # the Neptune stand-in accepts those signatures, as IAM accepts a function role's.
    harness.grant_sigv4_principal(servers["gremlin"], ACCOUNT, DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    own = ServerSet()
    redis = own.start(["redis"])["redis"]
    namespace = f"deploy{uuid.uuid4().hex[:8]}"
    ministack = Ministack(python=python, port=free_port(), log=work / "ministack.log")
    try:
        ministack.start()
        timings["ministack start"] = ministack.started_in_s
        session = emulator_session(ministack.port)
        endpoints = stand_in_endpoints(session, servers, redis, namespace, work)
        began = time.monotonic()
        provision_keyspace(servers["cassandra"], namespace)
        provision_stand_ins(endpoints, ministack)
        timings["schema on the stand-ins"] = time.monotonic() - began
        context: dict[str, Any] = {
            "backend": "local",
            "prefix": PREFIX,
            "stage_name": STAGE,
            "waf": "false",
            "enhanced_fan_out": "false",  # the emulator has no AWS::Kinesis::StreamConsumer
            "layer_python": str(python),
            "local_endpoints": {**endpoints, "execute_api_url": ministack.execute_api_url()},
        }
        if cors_origins:
            context["cors_origins"] = ",".join(cors_origins)
        cdk = Cdk(endpoint=ministack.url, log_dir=work)
        assembly = work / "cdk.out"
        timings["cdk synth"] = cdk("synth", "--quiet", "-o", str(assembly), *context_args(context)).seconds
        timings["cdk bootstrap"] = cdk("bootstrap", f"aws://{ACCOUNT}/{REGION}", "--app", str(assembly)).seconds
        outputs_file = work / "outputs.json"
        stacks = [f"{PREFIX}{part}" for part in DEPLOYED]
        run = cdk("deploy", *stacks, "--app", str(assembly), "--require-approval", "never", "--concurrency", "4",
                  "--outputs-file", str(outputs_file))  # fmt: skip
        timings[f"cdk deploy ({len(DEPLOYED)} stacks)"] = run.seconds
        rest_apis = session.client("apigateway").get_rest_apis()["items"]  # Chirp's and the Mastodon surface's
        rest_id = _only(a["id"] for a in rest_apis if a["name"].endswith("-rest"))
        ws_id = _only(
            a["ApiId"] for a in session.client("apigatewayv2").get_apis()["Items"] if a["ProtocolType"] == "WEBSOCKET"
        )
        return Deployment(
            ministack=ministack,
            session=session,
            rest_url=f"{ministack.execute_api_url()}/{rest_id}/{STAGE}",
            ws_url=f"ws://127.0.0.1:{ministack.port}/_aws/execute-api/{ws_id}/{STAGE}",
            outputs=json.loads(outputs_file.read_text()),
            assembly=assembly,
            cdk=cdk,
            own=own,
            context=context,
        )
    except BaseException:
        print("---- ministack log (tail) ----\n" + ministack.tail(120))
        ministack.stop()
        own.stop()
        raise


def _only(values: Any) -> str:
    found = list(values)
    assert len(found) == 1, found
    return str(found[0])


# -- make deploy-local / destroy-local --------------------------------------------------------------------------------


def _serve_web(port: int, config: dict[str, str]) -> http.server.ThreadingHTTPServer:
    """The web client (web/) with a config.json naming the deployed APIs."""
    body = json.dumps(config).encode()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/config.json":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), functools.partial(Handler, directory=str(REPO_ROOT / "web"))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def up(web_port: int) -> int:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    work = STATE_DIR / time.strftime("%Y%m%d-%H%M%S")
    work.mkdir()
    timings: dict[str, float] = {}
    servers = ServerSet(base_dir=STATE_DIR / "servers")
    web_origin = f"http://127.0.0.1:{web_port}"
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        deployed = deploy(servers, work, timings=timings, cors_origins=(web_origin,))
    except BaseException:
        servers.stop()
        raise
    try:
        api_url = f"{deployed.rest_url}/api/v1"
        web = _serve_web(web_port, client_config(api_url=api_url, ws_url=deployed.ws_url, media_url=""))
        state = {
            "pid": os.getpid(),
            "ministack_port": deployed.ministack.port,
            "work": str(work),
            "assembly": str(deployed.assembly),
            "rest_url": api_url,
            "ws_url": deployed.ws_url,
            "web_url": web_origin,
        }
        (STATE_DIR / "state.json").write_text(json.dumps(state, indent=2) + "\n")
        for step, seconds in timings.items():
            print(f"{step:<36} {seconds:>6.1f} s")
        print(f"\nREST API:   {api_url}\nWebSocket:  {deployed.ws_url}\nWeb client: {web_origin}\n")
        print("Stop with Ctrl-C here, or `make destroy-local` from another terminal.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while not stop.wait(1.0):
                pass
        web.shutdown()
    finally:
        deployed.close()
        servers.stop()
        (STATE_DIR / "state.json").unlink(missing_ok=True)
    return 0


def down() -> int:
    state_file = STATE_DIR / "state.json"
    if not state_file.exists():
        print("no local deployment is running (no .chirp/deploy-local/state.json)")
        return 0
    state = json.loads(state_file.read_text())
    cdk = Cdk(endpoint=f"http://127.0.0.1:{state['ministack_port']}", log_dir=Path(state["work"]))
    stacks = [f"{PREFIX}{part}" for part in reversed(DEPLOYED)]
    cdk("destroy", *stacks, "--app", state["assembly"], "--force")
    print(f"destroyed {', '.join(stacks)}")
    with contextlib.suppress(ProcessLookupError):
        os.kill(int(state["pid"]), signal.SIGTERM)  # `up` stops the emulator and the stand-ins
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("up", help="start the emulator and stand-ins, deploy, serve the web client")
    start.add_argument("--web-port", type=int, default=8080)
    sub.add_parser("down", help="destroy the deployed stacks and stop everything")
    args = parser.parse_args(argv)
    return up(args.web_port) if args.command == "up" else down()


if __name__ == "__main__":
    raise SystemExit(main())

"""Property-based API fuzzing with Schemathesis against the served OpenAPI document, authenticated: all checks
(no 5xx, documented status codes, content types and schemas, valid data accepted, invalid data rejected, stateful
links). A quick pass (~500 requests) runs in make test; make fuzz runs >= 5,000 requests per backend
(CHIRP_FUZZ_EXAMPLES, CHIRP_FUZZ_BACKENDS)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chirp.local.servers_env import servers_environment
from support.runtime import LocalStack

EXAMPLES = int(os.environ.get("CHIRP_FUZZ_EXAMPLES", "20"))
BACKENDS = os.environ.get("CHIRP_FUZZ_BACKENDS", "embedded").split(",")


@pytest.fixture(params=BACKENDS)
def fuzz_stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LocalStack]:
    env: dict[str, str] = {
        "CHIRP_TWEET_RATE_LIMIT": "100000",
        "CHIRP_LOGIN_LIMIT_PER_USER": "100000",
        "CHIRP_LOGIN_LIMIT_PER_IP": "100000",
    }
    if request.param == "servers":
        server_set: Any = request.getfixturevalue("servers")
        env |= servers_environment(server_set.endpoints, namespace=f"fuzz{uuid.uuid4().hex[:6]}", redis_db=15)
    stack = LocalStack(tmp_path / "data", env).start()
    yield stack
    stack.stop()


def test_the_api_conforms_to_its_openapi_document(fuzz_stack: LocalStack, tmp_path: Path) -> None:
    owner = fuzz_stack.user("fuzz_owner")
    other = fuzz_stack.user("fuzz_other")  # path usernames name someone else: following yourself is a 403
    tweet = owner.tweet("a tweet for the fuzzer to find #fuzz")
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f'base-url = "{fuzz_stack.url}"\n'
        f'headers = {{ Authorization = "Bearer {owner.token}" }}\n'
        # The long-poll may hold a request for its documented 20 s before answering.
        "checks.max_response_time = 25.0\n"
        "[parameters]\n"
        f'"path.username" = "{other.username}"\n'
        f'"path.tweet_id" = "{tweet["tweet_id"]}"\n'
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(config),
            "run",
            f"{fuzz_stack.api}/openapi.json",
            "--checks",
            "all",
            "-n",
            str(EXAMPLES),
            "--seed",
            "20261124",
            "--max-failures",
            "20",
            "--request-timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=1500,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / f"schemathesis-{fuzz_stack.env.get('CHIRP_BACKEND', 'embedded')}.txt").write_text(output)
    generated = re.search(r"(\d+) generated", output)
    assert result.returncode == 0, output[-6000:]
    assert generated and int(generated.group(1)) >= 25 * EXAMPLES * 0.8, output[-2000:]
    assert "Authentication failed" not in output, output[-2000:]

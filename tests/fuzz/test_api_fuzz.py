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


def _schemathesis(stack: LocalStack, work: Path, label: str, config: str, *args: str) -> tuple[str, int]:
    """One Schemathesis run with every check; returns its output (also kept in test-artifacts/) and how many test
    cases it generated. Fails on any check failure."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "schemathesis.toml").write_text(config)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(work / "schemathesis.toml"),
            "run",
            f"{stack.api}/openapi.json",
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
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=1500,
        cwd=work,
    )
    output = result.stdout + result.stderr
    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / f"schemathesis-{stack.env.get('CHIRP_BACKEND', 'embedded')}-{label}.txt").write_text(output)
    assert result.returncode == 0, output[-6000:]
    assert "Authentication failed" not in output, output[-2000:]
    generated = re.search(r"(\d+) generated", output)
    assert generated, output[-2000:]
    return output, int(generated.group(1))


def test_the_api_conforms_to_its_openapi_document(fuzz_stack: LocalStack, tmp_path: Path) -> None:
    """Two passes. The first pins the path parameters to a real user and tweet, so that every operation can succeed
    and the stateful links go deep; the second fuzzes the path parameters themselves (usernames and tweet ids: any
    string, malformed or unknown) on every operation that has one. Together at least 25 cases per operation-example
    (>= 5,000 at make fuzz's 200 examples)."""
    owner = fuzz_stack.user("fuzz_owner")
    other = fuzz_stack.user("fuzz_other")  # path usernames name someone else: following yourself is a 403
    tweet = owner.tweet("a tweet for the fuzzer to find #fuzz")
    common = (
        f'base-url = "{fuzz_stack.url}"\n'
        f'headers = {{ Authorization = "Bearer {owner.token}" }}\n'
        # The long-poll may hold a request for its documented 20 s before answering.
        "checks.max_response_time = 25.0\n"
        # A body over the size cap is refused before it is parsed: 413 is that refusal (documented on every body).
        "checks.negative_data_rejection.expected-statuses = "
        '["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]\n'
        # The document's 422 for create_tweet: the same Idempotency-Key with a different body (no schema can say
        # which keys were used before), so valid data may meet it there.
        "[[operations]]\n"
        'include-operation-id = "create_tweet"\n'
        "checks.positive_data_acceptance.expected-statuses = "
        '["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]\n'
        # The size limit depends on the content type (images 15 MB, videos 512 MB): one schema for the body cannot
        # say which, so a valid-looking size above an image's limit meets the documented 400.
        "[[operations]]\n"
        'include-operation-id = "create_upload"\n'
        "checks.positive_data_acceptance.expected-statuses = "
        '["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]\n'
    )
    # Blocks and mutes name a third user: a block of the pinned user would make every follow of them a 403.
    shunned = fuzz_stack.user("fuzz_shunned")
    pinned = common + "".join(
        f'[[operations]]\ninclude-operation-id = "{op}"\nparameters = {{ "path.username" = "{shunned.username}" }}\n'
        for op in ("block_user", "unblock_user", "mute_user", "unmute_user")
    )
    pinned += f'[parameters]\n"path.username" = "{other.username}"\n"path.tweet_id" = "{tweet["tweet_id"]}"\n'
    # Pinned path parameters override the ids the stateful links carry: "retweet the tweet just created" retweets the
    # pinned tweet, which the fuzzer itself deletes at some point, so "created resource not found" would only
    # report that. The second pass (unpinned) keeps the check.
    _, deep = _schemathesis(
        fuzz_stack, tmp_path / "pinned", "pinned", pinned, "--exclude-checks", "ensure_resource_availability"
    )
    _, paths = _schemathesis(fuzz_stack, tmp_path / "paths", "paths", common, "--include-path-regex", r"\{")
    print(f"schemathesis: {deep} cases with pinned paths, {paths} with fuzzed paths")
    assert deep + paths >= 25 * EXAMPLES, f"only {deep} + {paths} cases generated"
    assert paths >= 5 * EXAMPLES, f"only {paths} cases fuzzed the path parameters"

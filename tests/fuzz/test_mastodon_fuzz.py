"""Schemathesis fuzzes the Mastodon surface of a running Chirp with the surface's own OpenAPI document
(chirp.mastodon.openapi), signed in with an OAuth token of every scope: no 5xx, documented status codes and content
types, whatever the parameters. Path parameters are pinned to a real account and status in one pass and fuzzed in
the other."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.runtime import LocalStack

from .test_api_fuzz import EXAMPLES

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance"


@pytest.fixture
def mastodon_stack(tmp_path: Path) -> Iterator[LocalStack]:
    env = {
        "CHIRP_TWEET_RATE_LIMIT": "100000",
        "CHIRP_LOGIN_LIMIT_PER_USER": "100000",
        "CHIRP_LOGIN_LIMIT_PER_IP": "100000",
    }
    stack = LocalStack(tmp_path / "data", env).start()
    yield stack
    stack.stop()


def _token(stack: LocalStack, username: str) -> str:
    app = httpx.post(
        f"{stack.mastodon_url}/api/v1/apps", data={"client_name": "fuzz", "scopes": "read write follow push"}
    ).json()
    granted = httpx.post(
        f"{stack.mastodon_url}/oauth/token",
        data={"grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
              "username": username, "password": "password-123", "scope": "read write follow push"},
    )  # fmt: skip
    assert granted.status_code == 200, granted.text
    return str(granted.json()["access_token"])


def _run(stack: LocalStack, work: Path, config: str, *args: str) -> int:
    work.mkdir(parents=True, exist_ok=True)
    (work / "schemathesis.toml").write_text(config)
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(work / "schemathesis.toml"), "run",
         f"{stack.mastodon_url}/openapi.json", "--checks", CHECKS, "-n", str(EXAMPLES), "--seed", "20261130",
         "--max-failures", "20", "--request-timeout", "30", *args],
        capture_output=True, text=True, timeout=1500, cwd=work,
    )  # fmt: skip
    output = result.stdout + result.stderr
    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / f"schemathesis-mastodon-{work.name}.txt").write_text(output)
    assert result.returncode == 0, output[-6000:]
    generated = re.search(r"(\d+) generated", output)
    assert generated, output[-2000:]
    return int(generated.group(1))


def test_the_mastodon_surface_survives_its_fuzzer(mastodon_stack: LocalStack, tmp_path: Path) -> None:
    owner = mastodon_stack.user("fuzz_owner")
    other = mastodon_stack.user("fuzz_other")
    status = owner.tweet("a status for the fuzzer #fuzz")
    token = _token(mastodon_stack, "fuzz_owner")
    common = f'base-url = "{mastodon_stack.mastodon_url}"\nheaders = {{ Authorization = "Bearer {token}" }}\n'
    pinned = common + (
        f'[parameters]\n"path.account_id" = "{other.user_id}"\n"path.status_id" = "{status["tweet_id"]}"\n'
        '"path.hashtag" = "fuzz"\n'
    )
    deep = _run(mastodon_stack, tmp_path / "pinned", pinned)
    paths = _run(mastodon_stack, tmp_path / "paths", common, "--include-path-regex", r"\{")
    print(f"schemathesis (Mastodon surface): {deep} cases with pinned paths, {paths} with fuzzed paths")
    assert deep + paths >= 10 * EXAMPLES

"""Nothing secret reaches the logs: a full scenario runs with every logger at DEBUG (the functions' level and the root
logger, so the libraries' wire logging is on too), then the runtime's log is searched for the passwords, the issued
tokens, the signing key and, on the servers backend, the stand-in stores' credentials. The search counts only if the
request path's DEBUG lines were really captured: the test first proves they are in the log."""

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.runtime import LocalStack, eventually, receive

# The operations the scenario drives through the REST edge; each must leave a DEBUG "request" line.
EXERCISED = {
    ("POST", "/api/v1/auth/signup"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/users/{username}/follow"),
    ("POST", "/api/v1/tweets"),
    ("GET", "/api/v1/search"),
}


def _store_credentials(backend: str, request: pytest.FixtureRequest) -> list[str]:
    """The stand-ins' passwords (the functions read them from Secrets Manager at a cold start)."""
    if backend == "embedded":
        return []
    server_set: Any = request.getfixturevalue("servers")
    found = []
    for endpoint in server_set.endpoints.values():
        for key, value in endpoint.extra.items():
            if "password" in key and isinstance(value, str) and len(value) >= 8:
                found.append(value)
    assert found, "the stand-ins hold no credentials to look for"
    return found


def _debug_lines(log: str) -> tuple[Counter[str], set[tuple[str, str]], int]:
    """(DEBUG lines per logger of the root logger's format, the REST requests logged at DEBUG by the functions'
    JSON logger, the functions' other DEBUG lines)."""
    # Chirp's own loggers set their level themselves (and propagate to the root handler): only the others show
    # the root logger's level.
    libraries: Counter[str] = Counter(
        name for name in re.findall(r" DEBUG (\S+) ", log) if name != "chirp" and not name.startswith("chirp.")
    )
    requests: set[tuple[str, str]] = set()
    other = 0
    for line in log.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("level") != "DEBUG":
            continue
        if record.get("message") == "request":
            requests.add((record["method"], record["resource"]))
        else:
            other += 1
    return libraries, requests, other


def test_logs_hold_no_passwords_tokens_or_keys(
    tmp_path: Path, stack_env: dict[str, str], backend: str, request: pytest.FixtureRequest
) -> None:
    stack = LocalStack(tmp_path / "data", {**stack_env, "POWERTOOLS_LOG_LEVEL": "DEBUG"}).start()
    try:
        # A first request connects the stores (a cold start, slow on the servers backend): not with signup's 5 s.
        assert stack.client().post("/auth/login", {"username": "nobody_logs", "password": "x" * 12}).status_code == 401
        alice = stack.user("alice_logs", password="alice-secret-pw-1")
        bob = stack.user("bob_logs", password="bob-secret-pw-22")
        bob.follow("alice_logs")
        login = stack.client().post("/auth/login", {"username": "alice_logs", "password": "alice-secret-pw-1"})
        assert login.status_code == 200
        stack.client().post("/auth/login", {"username": "alice_logs", "password": "wrong-secret-pw-333"})
        forged = alice.token[:-6] + ("AAAAAA" if not alice.token.endswith("AAAAAA") else "BBBBBB")
        assert stack.client(forged).get("/timeline/home").status_code == 401  # the authorizer's refusal path
        with bob.socket() as ws:  # the token travels in the query string of $connect
            alice.tweet("a logged scenario #logs")
            receive(ws, "new_tweet")
        eventually(lambda: bob.get("/search", q="#logs").json()["tweets"])
        assert httpx.get(f"{stack.api}/health").status_code == 200
        secrets = [
            "alice-secret-pw-1",
            "bob-secret-pw-22",
            "wrong-secret-pw-333",
            alice.token,
            bob.token,
            forged,
            login.json()["token"],
            (stack.data_dir / "jwt.key").read_text().strip(),
            *_store_credentials(backend, request),
        ]
    finally:
        stack.stop()
    log = stack.log.read_text()
    libraries, requests, other = _debug_lines(log)
    # The search below means something only if DEBUG really was on for the request path and the libraries:
    assert requests >= EXERCISED, f"DEBUG request lines missing for {sorted(EXERCISED - requests)}"
    assert other > 0, "no other DEBUG line of the functions (the authorizer's refusal, the consumers' events)"
    assert sum(libraries.values()) > 0, "no library logged at DEBUG: the root logger is not at DEBUG"
    for secret in secrets:
        assert secret not in log
        assert secret.split(".")[-1] not in log  # not even a token's signature
    _per_request_lines_hold_names_only(log)


# Keys Powertools' Logger puts on every line of a function (its Lambda context and the correlation id).
POWERTOOLS_KEYS = {
    "level",
    "location",
    "message",
    "timestamp",
    "service",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "correlation_id",
    "xray_trace_id",
}


def _per_request_lines_hold_names_only(log: str) -> None:
    """The one line per request (route, status, latency, correlation id) carries exactly those fields, and the
    correlation id of the tweet's request reaches the stream consumers' lines."""
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    served = [r for r in records if r.get("message") == "served"]
    routes = {r["route"] for r in served}
    assert {"signup", "login", "follow", "create_tweet", "search_tweets"} <= routes, routes
    for line in served:
        assert set(line) - POWERTOOLS_KEYS == {"route", "status", "latency_ms"}, line
        assert isinstance(line["status"], int) and isinstance(line["latency_ms"], float | int)
        assert line["correlation_id"]
    posted = next(r["correlation_id"] for r in served if r["route"] == "create_tweet" and r["status"] == 201)
    consumers = [r for r in records if r.get("message") in ("event", "batch") and r.get("correlation_id")]
    assert any(posted in r["correlation_id"].split(",") for r in consumers), "the tweet's id in no consumer line"

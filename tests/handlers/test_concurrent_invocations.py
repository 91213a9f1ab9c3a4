"""Concurrent invocations in one process read only their own request. Lambda runs one invocation per process at a
time, but the local runtime runs the same handler modules for concurrent requests in threads, and Powertools keeps
the current event on the router class: one request could read another's principal, headers or body (found when a
concurrent post in the consumer-crash fault test got another post's Idempotency-Key: a 422)."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from chirp.container import Container
from chirp.http import RestApp
from chirp.local.functions import invoke, load_handler
from chirp.local.samples import render
from support.stack import signup

EVENTS = Path(__file__).resolve().parents[2] / "events"


def _post_events(stack: Container, username: str, posts: int) -> list[tuple[dict[str, Any], str]]:
    principal = signup(stack, username)
    values = {"user_id": str(principal.user_id), "username": username, "token": stack.tokens.issue(principal)}
    template = json.loads((EVENTS / "tweets/create_tweet.json").read_text())
    cases = []
    for n in range(posts):
        event = render(template, values | {"tweet_id": "1"})
        content = f"from {username} number {n}"
        event["body"] = json.dumps({"content": content})
        event["headers"] = {**(event.get("headers") or {}), "Idempotency-Key": uuid.uuid4().hex}
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
        cases.append((event, content))
    return cases


def test_concurrent_requests_each_see_only_their_own_event(stack: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given 16 users, each posting 8 tweets with their own token, body and Idempotency-Key
    When the 128 posts are invoked concurrently, 8 at a time, through the same handler module, with a body that
    takes a moment to parse (as under load: other threads run meanwhile)
    Then every post is by its own author, with its own content (no 409 or 422 for a key paired with another
    request's body)."""
    cases = [case for i in range(16) for case in _post_events(stack, f"conc{i}", 8)]
    parse = RestApp.body

    def slow_body(self: RestApp, model: Any) -> Any:
        parsed = parse(self, model)
        time.sleep(0.002)
        return parsed

    monkeypatch.setattr(RestApp, "body", slow_body)
    load_handler("tweets")  # the runtime imports every handler at start, before any request

    def run(case: tuple[dict[str, Any], str]) -> tuple[int, dict[str, Any], str]:
        event, content = case
        result = invoke("tweets", event)
        return result["statusCode"], json.loads(result["body"]), content

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(run, cases))
    wrong = [
        (status, body, content) for status, body, content in outcomes if status != 201 or body["content"] != content
    ]
    assert wrong == [], wrong[:3]
    assert all(body["username"] == content.split()[1] for _, body, content in outcomes)

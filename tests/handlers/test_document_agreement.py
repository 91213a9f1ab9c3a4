"""The server and its OpenAPI document agree at the edges Schemathesis found them apart: a search ``q`` of one control
character (allowed by the document, refused by the server), an empty search ``cursor`` or ``type`` (refused by the
document's pattern or enum, accepted by the server) and an ``Idempotency-Key`` the document allowed but the server
refused. The
document's patterns are checked against the server's own predicates on every code point, and each edge value goes
through the real handler."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from chirp.container import Container
from chirp.http import IDEMPOTENCY_KEY_MAX, IDEMPOTENCY_KEY_PATTERN
from chirp.local.functions import invoke
from chirp.local.samples import render
from chirp.openapi import openapi_document
from chirp.text import VISIBLE_CHAR_PATTERN, has_visible_char
from support.stack import signup

EVENTS = Path(__file__).resolve().parents[2] / "events"
# ECMA-262's \s (the regex dialect JSON Schema names): WhiteSpace and LineTerminator.
ECMA_BLANKS = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
ECMA_BLANKS += "\u2028\u2029\u202f\u205f\u3000\ufeff"


def _parameter(operation: str, name: str) -> dict[str, Any]:
    for methods in openapi_document()["paths"].values():
        for op in methods.values():
            if op.get("operationId") == operation:
                return next(p for p in op["parameters"] if p["name"] == name)
    raise AssertionError(f"{operation} has no parameter {name}")


def test_the_document_states_the_servers_patterns() -> None:
    q = _parameter("search_tweets", "q")["schema"]
    assert q["pattern"] == VISIBLE_CHAR_PATTERN and q["minLength"] == 1
    key = _parameter("create_tweet", "Idempotency-Key")["schema"]
    assert key["pattern"] == IDEMPOTENCY_KEY_PATTERN and key["maxLength"] == IDEMPOTENCY_KEY_MAX
    assert _parameter("search_tweets", "cursor")["schema"]["pattern"].startswith("^")  # "" does not match


def test_the_visible_character_pattern_is_the_servers_predicate_on_every_code_point() -> None:
    pattern = re.compile(VISIBLE_CHAR_PATTERN)
    disagree = [hex(c) for c in range(sys.maxunicode + 1) if bool(pattern.search(chr(c))) != has_visible_char(chr(c))]
    assert disagree == []
    assert not any(has_visible_char(c) for c in ECMA_BLANKS)  # nor does the ECMA dialect let a blank through


@pytest.fixture
def values(stack: Container) -> dict[str, str]:
    me = signup(stack, "agreement")
    return {"user_id": str(me.user_id), "username": me.username, "token": stack.tokens.issue(me), "tweet_id": "1"}


def _search(values: dict[str, str], **query: str) -> dict[str, Any]:
    event = render(json.loads((EVENTS / "search/search_tweets.json").read_text()), values)
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    result: dict[str, Any] = invoke("search", event)
    return result


@pytest.mark.parametrize("q", ["\x01", "\x7f", "\x85", " ", "\t", "\ufeff", "\u3000 \x00", "\u200b", "\u2060\u00ad"])
def test_a_search_of_only_blanks_or_invisible_characters_is_a_400(values: dict[str, str], q: str) -> None:
    assert not re.search(VISIBLE_CHAR_PATTERN, q)  # the document refuses it too
    result = _search(values, q=q)
    assert result["statusCode"] == 400, result["body"]
    assert json.loads(result["body"])["error"]["code"] == "invalid_query"


@pytest.mark.parametrize("q", ["a", "!", "\x01a", "\u200ba", "\U0001f426"])
def test_a_search_with_a_visible_character_is_answered(values: dict[str, str], q: str) -> None:
    assert re.search(VISIBLE_CHAR_PATTERN, q)
    result = _search(values, q=q)
    assert result["statusCode"] == 200, result["body"]


@pytest.mark.parametrize("cursor", ["", "0", "-1", "abc", "01"])
def test_a_search_cursor_outside_the_id_pattern_is_a_400(values: dict[str, str], cursor: str) -> None:
    result = _search(values, q="word", cursor=cursor)
    assert result["statusCode"] == 400, result["body"]
    assert _search(values, q="word", cursor="12")["statusCode"] == 200


@pytest.mark.parametrize("kind", ["", "Recent", "best"])
def test_a_search_type_outside_the_enum_is_a_400(values: dict[str, str], kind: str) -> None:
    result = _search(values, q="word", type=kind)
    assert result["statusCode"] == 400, result["body"]
    assert _search(values, q="word", type="top")["statusCode"] == 200


def _post(values: dict[str, str], key: str, content: str) -> dict[str, Any]:
    event = render(json.loads((EVENTS / "tweets/create_tweet.json").read_text()), values)
    event["body"] = json.dumps({"content": content})
    event["headers"] = {**(event.get("headers") or {}), "Idempotency-Key": key}
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    result: dict[str, Any] = invoke("tweets", event)
    return result


@pytest.mark.parametrize(
    "key", ["a", "a b", "~!", "x" * IDEMPOTENCY_KEY_MAX, " padded ", "0123456789abcdef-ABCDEF_=+/"], ids=repr
)
def test_an_idempotency_key_the_document_allows_is_accepted(values: dict[str, str], key: str) -> None:
    assert re.fullmatch(IDEMPOTENCY_KEY_PATTERN.strip("^$"), key) and len(key) <= IDEMPOTENCY_KEY_MAX
    result = _post(values, key, f"keyed {len(key)} {key!r}")
    assert result["statusCode"] == 201, result["body"]


@pytest.mark.parametrize(
    "key", ["", " ", "\t", "a\tb", "é", "\udce9", "\x7f", "x" * (IDEMPOTENCY_KEY_MAX + 1), "\u00a0"], ids=repr
)
def test_an_idempotency_key_the_document_refuses_is_a_400(values: dict[str, str], key: str) -> None:
    assert not (re.fullmatch(IDEMPOTENCY_KEY_PATTERN.strip("^$"), key) and len(key) <= IDEMPOTENCY_KEY_MAX)
    result = _post(values, key, "refused key")
    assert result["statusCode"] == 400, result["body"]
    assert json.loads(result["body"])["error"]["code"] == "invalid_idempotency_key"

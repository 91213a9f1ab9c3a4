"""Every function runs on its sample events from events/ (placeholders filled with real records) and answers as
API Gateway and the event source mapping expect."""

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from chirp.container import Container
from chirp.local.functions import invoke
from chirp.local.samples import render
from chirp.openapi import openapi_document
from chirp.services.tweets import NewTweet
from support.stack import pusher, signup

EVENTS = Path(__file__).resolve().parents[2] / "events"
EXPECTED_STATUS = {
    "health/health": 200,
    "health/openapi": 200,
    "auth/signup": 201,
    "auth/login": 200,
    "users/get_me": 200,
    "users/update_me": 200,
    "users/delete_me": 200,
    "users/change_password": 200,
    "users/user_likes": 200,
    "users/get_profile": 200,
    "users/follow": 200,
    "users/unfollow": 200,
    "users/followers": 200,
    "users/following": 200,
    "users/user_tweets": 200,
    "users/user_suggestions": 200,
    "users/block_user": 200,
    "users/unblock_user": 200,
    "users/mute_user": 200,
    "users/unmute_user": 200,
    "users/list_blocks": 200,
    "users/list_mutes": 200,
    "tweets/create_tweet": 201,
    "tweets/get_tweet": 200,
    "tweets/delete_tweet": 403,
    "tweets/replies": 200,
    "tweets/like": 200,
    "tweets/unlike": 200,
    "tweets/retweet": 200,
    "tweets/unretweet": 200,
    "tweets/bookmark": 200,
    "tweets/unbookmark": 200,
    "tweets/bookmarks": 200,
    "timeline/home": 200,
    "timeline/poll": 200,
    "search/search_tweets": 200,
    "search/search_users": 200,
    "trends/trends": 200,
    "notifications/list_notifications": 200,
    "notifications/mark_read": 200,
    "media/create_upload": 201,
    "media/get_media": 200,
    "media/set_alt_text": 200,
    "media/complete_upload": 409,  # the sample's media is an image: nothing to complete
    "realtime/connect": 200,
    "realtime/default_ping": 200,
    "realtime/disconnect": 200,
}
SAMPLES = sorted(p.relative_to(EVENTS) for p in EVENTS.rglob("*.json"))


def _values(stack: Container) -> dict[str, str]:
    me, other = signup(stack, "sampler"), signup(stack, "other_user")
    tweet = stack.tweets.create(other, NewTweet(content="a tweet the sampler did not write"))
    return {
        "user_id": str(me.user_id),
        "username": me.username,
        "other_username": other.username,
        "tweet_id": tweet["tweet_id"],
        "media_id": stack.media.create_upload(me, content_type="image/png", size=1024)["media_id"],
        "token": stack.tokens.issue(me),
    }


@pytest.mark.parametrize("sample", SAMPLES, ids=str)
def test_sample_event_runs(stack: Container, sample: Path) -> None:
    event = render(json.loads((EVENTS / sample).read_text()), _values(stack))
    name = f"{sample.parent}/{sample.stem}"
    if name == "auth/login":  # the login sample logs in the user the signup sample creates
        stack.auth.signup(
            username="sample_user", email="sample@example.com", password="sample-password", display_name=None
        )
    result: Any = invoke(str(sample.parent), event)
    if sample.parent.name == "authorizer":
        assert result["principalId"] == event_values_user_id(event)
        assert result["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        assert result["context"]["username"] == "sampler"
    elif sample.parent.name == "media_processor":  # S3 invokes asynchronously: no batch response
        assert result == {"objects": 1}
    elif "Records" in event:
        assert result == {"batchItemFailures": []}
    elif sample.parent.name == "mastodon":  # Mastodon's shapes (tests/handlers/test_mastodon_api.py checks them)
        assert result["statusCode"] < 500, result.get("body")
        if result["statusCode"] >= 400:
            assert isinstance(json.loads(result["body"])["error"], str)
    else:
        assert result["statusCode"] == EXPECTED_STATUS[name], result.get("body")
        if "body" in result and result["statusCode"] >= 400:
            assert set(json.loads(result["body"])["error"]) == {"code", "message"}
        if sample.parent.name != "realtime":
            _documented_response(sample.stem, result).validate(json.loads(result["body"]))
    if name == "realtime/default_ping":
        assert pusher(stack).sent["sampleConnA="] == [{"type": "pong"}]


@cache
def _strict_document() -> dict[str, Any]:
    """The OpenAPI document with every object closed (no property it does not name): a key the handler returns
    but the document leaves out fails too, not only a missing or mistyped one."""
    document = copy.deepcopy(openapi_document())

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node:
                node.setdefault("additionalProperties", False)
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(document["components"])
    return document


def _documented_response(operation: str, result: dict[str, Any]) -> Draft202012Validator:
    """A validator of the body the document gives for this operation and the status the handler answered."""
    document = _strict_document()
    for methods in document["paths"].values():
        for op in methods.values():
            if op["operationId"] == operation:
                response = op["responses"][str(result["statusCode"])]
                schema = response["content"]["application/json"]["schema"]
                return Draft202012Validator({**schema, "components": document["components"]})
    raise AssertionError(f"no operation {operation} in the document")


def test_a_body_the_document_does_not_describe_is_caught() -> None:
    tweet = {"tweet_id": "1", "user_id": "2", "username": "a", "content": "b", "created_at": "2026-01-01T00:00:00Z"}
    tweet |= {"likes_count": 0, "retweets_count": 0, "replies_count": 0, "media_urls": [], "media": [], "hashtags": []}
    tweet |= {"mentions": [], "urls": []}
    tweet |= {"liked_by_user": False, "retweeted_by_user": False}
    tweet |= {"display_name": "A"}
    validator = _documented_response("get_tweet", {"statusCode": 200})
    assert validator.is_valid(tweet)
    assert validator.is_valid({**tweet, "reply_to": "7"})
    assert not validator.is_valid({**tweet, "reply_to": None}), "no value is an absent key on the wire, never null"
    assert not validator.is_valid({**tweet, "undocumented": 1})
    assert not validator.is_valid({**tweet, "tweet_id": 1})
    assert not validator.is_valid({k: v for k, v in tweet.items() if k != "urls"})


def event_values_user_id(event: dict[str, Any]) -> str:
    from chirp.container import get_container

    token = event.get("authorizationToken", "").removeprefix("Bearer ") or event["queryStringParameters"]["token"]
    return str(get_container().tokens.verify(token).user_id)


def test_the_authorizer_refuses_a_bad_token(stack: Container) -> None:
    event = render(json.loads((EVENTS / "authorizer/token.json").read_text()), {"token": "forged"})
    with pytest.raises(Exception, match="Unauthorized"):
        invoke("authorizer", event)


def test_a_protected_route_without_authorizer_context_is_401(stack: Container) -> None:
    event = json.loads((EVENTS / "timeline/home.json").read_text())
    event["requestContext"]["authorizer"] = None
    result = invoke("timeline", event)
    assert result["statusCode"] == 401


@pytest.mark.parametrize("body", ["{", "[]", '{"content": 5}', '{"content": "x", "reply_to": "abc"}', "null"])
def test_malformed_bodies_are_400_json(stack: Container, body: str) -> None:
    event = render(json.loads((EVENTS / "tweets/create_tweet.json").read_text()), _values(stack))
    event["body"] = body
    result = invoke("tweets", event)
    assert result["statusCode"] == 400
    assert json.loads(result["body"])["error"]["code"] in ("malformed_json", "validation_error")


def test_a_poison_record_is_quarantined_whole_and_not_retried(stack: Container) -> None:
    """A record no handler can take does not block its shard (the mapping retries failed batches without a count):
    the edge keeps it whole in the dead-letter store and reports no failure."""
    values = _values(stack)
    event = render(json.loads((EVENTS / "fanout/kinesis_tweet_created.json").read_text()), values)
    good = event["Records"][0]
    poison = json.loads(json.dumps(good))
    poison["kinesis"]["data"] = "bm90IGpzb24="  # "not json"
    poison["kinesis"]["sequenceNumber"] = "49600000000000000000000000000000000000000000000000000000002"
    event["Records"] = [good, poison]
    result = invoke("fanout", event)
    assert result == {"batchItemFailures": []}
    [letter] = stack.dead_letters.list()
    [record] = letter.records
    assert (letter.consumer, record.data) == ("fanout", "not json")
    assert record.partition_key == poison["kinesis"]["partitionKey"]
    assert record.sequence_number == poison["kinesis"]["sequenceNumber"]


def test_the_websocket_authorizer_allows_the_connect_route(stack: Container) -> None:
    """API Gateway checks a WebSocket authorizer's policy against .../stage/$connect (no method part)."""
    event = render(json.loads((EVENTS / "authorizer/request.json").read_text()), _values(stack))
    policy = invoke("authorizer", event)
    resources = policy["policyDocument"]["Statement"][0]["Resource"]
    # Exactly the route being connected (Powertools' WebSocket response); nothing wider.
    assert resources == ["arn:aws:execute-api:us-east-1:000000000000:chirpws/local/$connect"]
    assert resources == [event["methodArn"]]


def test_cors_answers_only_the_configured_origins(stack: Container) -> None:
    event = json.loads((EVENTS / "health/health.json").read_text())
    event["headers"]["Origin"] = "http://127.0.0.1:3000"
    event["multiValueHeaders"]["Origin"] = ["http://127.0.0.1:3000"]
    allowed = invoke("health", event)
    assert allowed["multiValueHeaders"]["Access-Control-Allow-Origin"] == ["http://127.0.0.1:3000"]
    event["headers"]["Origin"] = "https://evil.example"
    event["multiValueHeaders"]["Origin"] = ["https://evil.example"]
    refused = invoke("health", event)
    assert "Access-Control-Allow-Origin" not in (refused.get("multiValueHeaders") or {})
    assert "Access-Control-Allow-Origin" not in (refused.get("headers") or {})

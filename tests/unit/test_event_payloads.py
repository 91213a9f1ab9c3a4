"""Typed event data keeps the wire as it was: records already in a stream (written by the dict-building producers
before the payload models) decode into the models, and the models publish byte-for-byte the same data."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from chirp.container import Container
from chirp.local.samples import render
from chirp.model import (
    CelebrityChanged,
    EngagementChanged,
    Event,
    EventType,
    FollowerChunk,
    Payload,
    TweetChanged,
    TweetData,
    TweetRecord,
    UserCreated,
    UserFollowed,
    UserUnfollowed,
)
from chirp.stream_consumer import decode_record

EVENTS = Path(__file__).resolve().parents[2] / "events"
TWEET = TweetRecord(
    tweet_id=7_000_000_000_000_000_001,
    user_id=42,
    username="ada",
    content="hi #chirp @bob",
    created_at_ms=1_795_478_400_000,
    hashtags=["chirp"],
    mentions=["bob"],
    reply_to=7_000_000_000_000_000_000,
    reply_to_user_id=43,
)
# The data each event type carried before the models, as the services built it (dataclasses.asdict for tweets).
OLD_TWEET: dict[str, Any] = {
    "tweet_id": TWEET.tweet_id,
    "user_id": 42,
    "username": "ada",
    "content": "hi #chirp @bob",
    "created_at_ms": 1_795_478_400_000,
    "hashtags": ["chirp"],
    "mentions": ["bob"],
    "urls": [],
    "media_urls": [],
    "reply_to": 7_000_000_000_000_000_000,
    "reply_to_user_id": 43,
    "quote_tweet": None,
    "quote_user_id": None,
}
OLD: list[tuple[EventType, dict[str, Any], Payload]] = [
    (
        EventType.USER_CREATED,
        {"user_id": 42, "username": "ada", "display_name": "Ada", "created_at_ms": 5},
        UserCreated(user_id=42, username="ada", display_name="Ada", created_at_ms=5),
    ),
    (EventType.TWEET_CREATED, {"tweet": OLD_TWEET}, TweetChanged(tweet=TweetData.of(TWEET))),
    (EventType.TWEET_DELETED, {"tweet": OLD_TWEET}, TweetChanged(tweet=TweetData.of(TWEET))),
    (
        EventType.TWEET_LIKED,
        {"tweet_id": 9, "author_id": 42, "actor_id": 43, "actor_username": "bob"},
        EngagementChanged(tweet_id=9, author_id=42, actor_id=43, actor_username="bob"),
    ),
    (
        EventType.USER_FOLLOWED,
        {"follower_id": 43, "follower_username": "bob", "followee_id": 42},
        UserFollowed(follower_id=43, follower_username="bob", followee_id=42),
    ),
    (
        EventType.USER_UNFOLLOWED,
        {"follower_id": 43, "followee_id": 42},
        UserUnfollowed(follower_id=43, followee_id=42),
    ),
    (
        EventType.CELEBRITY_CHANGED,
        {"user_id": 42, "celebrity": True},
        CelebrityChanged(user_id=42, celebrity=True),
    ),
    (
        EventType.FOLLOWER_CHUNK,
        {"op": "add", "author_id": 42, "followers": [1, 2], "tweet": OLD_TWEET},
        FollowerChunk(op="add", author_id=42, followers=[1, 2], tweet=TweetData.of(TWEET)),
    ),
    (
        EventType.FOLLOWER_CHUNK,
        {"op": "celebrity", "author_id": 42, "followers": [1, 2]},
        FollowerChunk(op="celebrity", author_id=42, followers=[1, 2]),
    ),
]


def _old_record(type_: EventType, data: dict[str, Any]) -> str:
    """A Kinesis record's data as the old producers wrote it (the envelope had no correlation id then)."""
    envelope = {"event_id": "e1", "type": type_.value, "occurred_at_ms": 1, "partition_key": "42", "data": data}
    return base64.b64encode(json.dumps(envelope, separators=(",", ":")).encode()).decode()


@pytest.mark.parametrize(("type_", "data", "payload"), OLD, ids=[f"{t.value}-{i}" for i, (t, _, _) in enumerate(OLD)])
def test_old_records_decode_and_new_ones_carry_the_same_data(
    type_: EventType, data: dict[str, Any], payload: Payload
) -> None:
    event = decode_record(_old_record(type_, data))
    assert type(payload).read(event) == payload
    published = payload.event(type_, 42)
    expected = {**data, "tweet": _with_media(data["tweet"])} if "tweet" in data else data
    assert json.dumps(published.data) == json.dumps(expected)  # same keys, same order, same values


def _with_media(tweet: dict[str, Any]) -> dict[str, Any]:
    """A tweet as published since issue 17: its media objects follow media_urls (empty for a tweet without)."""
    fields = list(tweet.items())
    at = [key for key, _ in fields].index("media_urls") + 1
    return dict([*fields[:at], ("media", []), *fields[at:]])


def test_the_committed_kinesis_sample_decodes_into_the_tweet_it_carries() -> None:
    sample = json.loads((EVENTS / "fanout/kinesis_tweet_created.json").read_text())
    values = {"tweet_id": "123", "user_id": "42", "username": "ada", "other_username": "bob"}
    (record,) = render(sample, values)["Records"]
    tweet = TweetChanged.read(decode_record(record["kinesis"]["data"])).tweet.record()
    assert (tweet.tweet_id, tweet.user_id, tweet.username) == (123, 42, "ada")  # ids as strings become ints
    assert tweet.mentions == ["bob"] and tweet.reply_to is None


def test_a_payload_is_read_only_from_the_events_it_belongs_to() -> None:
    liked = Event.new(EventType.TWEET_LIKED, 1, {"tweet_id": 9, "author_id": 42, "actor_id": 43, "actor_username": "b"})
    with pytest.raises(TypeError):
        TweetChanged.read(liked)
    with pytest.raises(TypeError):
        UserCreated(user_id=1, username="a", display_name="a", created_at_ms=1).event(EventType.TWEET_CREATED, 1)


def test_malformed_data_is_refused() -> None:
    with pytest.raises(ValidationError):
        EngagementChanged.read(Event.new(EventType.TWEET_LIKED, 1, {"tweet_id": "x", "author_id": 42}))
    with pytest.raises(ValidationError):  # a share of an audience to add a tweet to, without the tweet
        FollowerChunk(op="add", author_id=42, followers=[1])


def test_a_consumer_fails_only_the_malformed_record(stack: Container) -> None:
    good = decode_record(_old_record(EventType.TWEET_CREATED, {"tweet": {**OLD_TWEET, "hashtags": []}}))
    bad = decode_record(_old_record(EventType.TWEET_CREATED, {"tweet": {**OLD_TWEET, "tweet_id": "not an id"}}))
    for consume in (stack.trends.on_events, stack.delivery.on_events):
        first, second = consume([good, bad])
        assert first is None and isinstance(second, ValidationError)

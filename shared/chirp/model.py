"""Domain records shared by services and adapters, and the events that travel on the stream."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class UserRecord:
    user_id: int
    username: str
    email: str
    display_name: str
    password_hash: str
    created_at_ms: int
    bio: str = ""

    @property
    def username_key(self) -> str:
        return self.username.lower()


@dataclass(slots=True)
class TweetRecord:
    tweet_id: int
    user_id: int
    username: str
    content: str
    created_at_ms: int
    hashtags: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    media_urls: list[str] = field(default_factory=list)
    reply_to: int | None = None
    reply_to_user_id: int | None = None
    quote_tweet: int | None = None
    quote_user_id: int | None = None


@dataclass(slots=True, frozen=True)
class TweetCounts:
    likes: int = 0
    retweets: int = 0
    replies: int = 0


class NotificationType(StrEnum):
    MENTION = "mention"
    LIKE = "like"
    RETWEET = "retweet"
    REPLY = "reply"
    QUOTE = "quote"
    FOLLOW = "follow"


@dataclass(slots=True)
class NotificationRecord:
    notification_id: int
    user_id: int
    type: NotificationType
    actor_id: int
    actor_username: str
    tweet_id: int | None
    created_at_ms: int
    dedupe_key: str
    read: bool = False


@dataclass(slots=True)
class MediaRecord:
    media_id: str
    owner_id: int
    content_type: str
    size: int
    key: str
    created_at_ms: int


@dataclass(slots=True, frozen=True)
class UploadTicket:
    url: str
    method: str
    headers: dict[str, str]
    fields: dict[str, str]
    expires_in: int


@dataclass(slots=True, frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_epoch: int
    retry_after: int


@dataclass(slots=True, frozen=True)
class SearchHit:
    tweet_id: int
    text_score: float


@dataclass(slots=True, frozen=True)
class TrendScore:
    hashtag: str
    score: float
    tweet_count: int


T = TypeVar("T")


@dataclass(slots=True, frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


class EventType(StrEnum):
    USER_CREATED = "user_created"
    TWEET_CREATED = "tweet_created"
    TWEET_DELETED = "tweet_deleted"
    TWEET_LIKED = "tweet_liked"
    TWEET_UNLIKED = "tweet_unliked"
    TWEET_RETWEETED = "tweet_retweeted"
    TWEET_UNRETWEETED = "tweet_unretweeted"
    USER_FOLLOWED = "user_followed"
    USER_UNFOLLOWED = "user_unfollowed"
    # Published by the fan-out path itself, for the fan-out consumer only (other consumers ignore them):
    CELEBRITY_CHANGED = "celebrity_changed"  # {"user_id", "celebrity"}: an author crossed the threshold
    FOLLOWER_CHUNK = "follower_chunk"  # {"op", "author_id", "followers", "tweet"?}: a share of a large audience


class Event(BaseModel):
    """The envelope of every stream record. ``partition_key`` keeps one author's events in order on one shard."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    type: EventType
    occurred_at_ms: int
    partition_key: str
    data: dict[str, Any]

    @classmethod
    def new(cls, type_: EventType, partition_key: int | str, data: dict[str, Any]) -> Event:
        return cls(
            event_id=uuid.uuid4().hex, type=type_, occurred_at_ms=now_ms(), partition_key=str(partition_key), data=data
        )

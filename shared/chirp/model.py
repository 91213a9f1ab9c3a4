"""Domain records shared by services and adapters, and the events that travel on the stream."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chirp.observability.metrics import correlation_id


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
    avatar_media_id: str = ""  # the user's uploaded image shown as their avatar ("" for none)
    place: str | None = None  # an ISO 3166-1 alpha-2 code (chirp.places) for localized trends; None: worldwide
    # Bumped by a password change: tokens carry the version they were issued under, and an older one is refused.
    token_version: int = 0

    @property
    def username_key(self) -> str:
        return self.username.lower()


@dataclass(slots=True, frozen=True)
class AuthorCard:
    """What a tweet shows of its author beyond the username: hydrated from the user (cached), never copied into
    tweet rows, so a profile edit shows on every tweet at once."""

    user_id: int
    display_name: str
    avatar_media_id: str = ""

    @classmethod
    def of(cls, user: UserRecord) -> AuthorCard:
        return cls(user_id=user.user_id, display_name=user.display_name, avatar_media_id=user.avatar_media_id)


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
    # The processed media as the tweet shows them (api_models.MediaItem objects, chirp.services.media), frozen at
    # posting: url, thumbnail_url, type, width, height, duration_ms, dominant_color, alt_text.
    media: list[dict[str, Any]] = field(default_factory=list)
    reply_to: int | None = None
    reply_to_user_id: int | None = None
    quote_tweet: int | None = None
    quote_user_id: int | None = None

    @property
    def retweet_of(self) -> int | None:
        """The original, when this record is a retweet entry (Mastodon's reblog: its own id, in the retweeter's
        name and time). Stored as a quote with no text (a text a person posts is never empty): no column of its own
        in either store family."""
        return self.quote_tweet if not self.content and self.quote_tweet is not None else None


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
    key: str  # the upload's object key; processing deletes it (images) or moves it (videos) to rendition_key
    created_at_ms: int
    # Processing (chirp.services.media): "pending" until the upload was checked and its renditions made; records
    # from before processing existed have no status and are served as uploaded ("ready").
    status: str = "ready"
    reason: str = ""  # why processing failed, for the client (GET /media/{id})
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    dominant_color: str = ""  # "#rrggbb": the placeholder shown while the image loads
    alt_text: str = ""
    rendition_key: str = ""  # what the tweet shows (size-limited image; the video itself)
    thumbnail_key: str = ""
    tweet_id: int | None = None  # set once posted: the alt text is frozen from then on


@dataclass(slots=True, frozen=True)
class MediaProcessing:
    """The outcome of processing one upload, written to its media record."""

    status: str  # "ready" | "failed"
    reason: str = ""
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    dominant_color: str = ""
    rendition_key: str = ""
    thumbnail_key: str = ""


@dataclass(slots=True, frozen=True)
class UploadTicket:
    url: str
    method: str
    headers: dict[str, str]
    fields: dict[str, str]
    expires_in: int


@dataclass(slots=True, frozen=True)
class MultipartTicket:
    """A multipart upload begun for the client: one presigned PUT URL per part (part N is bytes
    [(N-1)*part_size, N*part_size) of the file); the client completes it with each part's ETag."""

    upload_id: str
    part_size: int
    part_urls: list[str]
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


Relation = Literal["blocks", "mutes"]  # one user's safety edge to another (the graph's, beside "follows")


@dataclass(slots=True, frozen=True)
class SafetySets:
    """One user's blocks and mutes, both ways: whom they block, who blocks them, whom they mute, who mutes them (read
    when they post: live pushes skip those who muted them)."""

    blocking: frozenset[int] = frozenset()
    blocked_by: frozenset[int] = frozenset()
    muting: frozenset[int] = frozenset()
    muted_by: frozenset[int] = frozenset()

    @property
    def hidden(self) -> frozenset[int]:
        """Accounts hidden from this user everywhere (a block, either way)."""
        return self.blocking | self.blocked_by

    @property
    def hidden_home(self) -> frozenset[int]:
        """Accounts hidden from this user's home timeline and notifications: blocks either way, and mutes."""
        return self.blocking | self.blocked_by | self.muting


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
    # {"user_id", "username", "stage"?}: the account is gone from the API; consumers erase what is left of it, in
    # batches (a big account re-publishes the event with the stage it reached, like FOLLOWER_CHUNK).
    ACCOUNT_DELETED = "account_deleted"
    PROFILE_UPDATED = "profile_updated"  # UserCreated's data, after a display-name change (user search re-indexes)
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
    # Intents, put on the stream by API Gateway itself (write path "async", chirp.direct_writes), for the actions
    # consumer only: {"actor_id", "actor_username", "on", and "tweet_id" | "followee_username" | "up_to"}, ids as
    # strings. Applying one publishes the facts above (TWEET_LIKED, USER_FOLLOWED, ...) as the Lambda path does.
    LIKE_REQUESTED = "like_requested"
    RETWEET_REQUESTED = "retweet_requested"
    FOLLOW_REQUESTED = "follow_requested"
    READ_REQUESTED = "read_requested"


class Payload(BaseModel):
    """The typed ``data`` of a stream event: ``read`` parses an event's data as the model of its type, and ``event``
    wraps one in an envelope, so publishers and consumers share one shape per type and mypy checks both. On the
    wire the data stays the plain JSON object it always was. Lax on purpose: ids that arrive as strings (JSON from
    other producers) are ints here, and keys a newer producer adds are ignored."""

    model_config = ConfigDict(frozen=True)
    TYPES: ClassVar[frozenset[EventType]]
    """The event types whose data has this shape."""

    @classmethod
    def read(cls, event: Event) -> Self:
        if event.type not in cls.TYPES:
            raise TypeError(f"a {event.type} event does not carry {cls.__name__}")
        return cls.model_validate(event.data)

    def event(self, type_: EventType, partition_key: int | str) -> Event:
        if type_ not in self.TYPES:
            raise TypeError(f"a {type_} event does not carry {type(self).__name__}")
        return Event.new(type_, partition_key, self.model_dump(mode="json"))


class TweetData(BaseModel):
    """A tweet as events carry it: every field of ``TweetRecord``."""

    model_config = ConfigDict(frozen=True)

    tweet_id: int
    user_id: int
    username: str
    content: str
    created_at_ms: int
    hashtags: list[str] = []
    mentions: list[str] = []
    urls: list[str] = []
    media_urls: list[str] = []
    media: list[dict[str, Any]] = []
    reply_to: int | None = None
    reply_to_user_id: int | None = None
    quote_tweet: int | None = None
    quote_user_id: int | None = None

    @classmethod
    def of(cls, tweet: TweetRecord) -> TweetData:
        return cls.model_validate(tweet, from_attributes=True)

    def record(self) -> TweetRecord:
        return TweetRecord(**self.model_dump())


class UserCreated(Payload):
    TYPES = frozenset({EventType.USER_CREATED, EventType.PROFILE_UPDATED})
    user_id: int
    username: str
    display_name: str
    created_at_ms: int


class AccountDeleted(Payload):
    """An account was deleted (its user row and username are gone): erase its tweets, likes, follows, bookmarks,
    media and notifications. ``stage`` names the step a continuation resumes at (None: the first delivery)."""

    TYPES = frozenset({EventType.ACCOUNT_DELETED})
    user_id: int
    username: str
    avatar_media_id: str = ""  # the avatar whose square crops go too (the user row is gone by then)
    stage: str | None = Field(default=None, exclude_if=lambda stage: stage is None)


class TweetChanged(Payload):
    TYPES = frozenset({EventType.TWEET_CREATED, EventType.TWEET_DELETED})
    tweet: TweetData


class EngagementChanged(Payload):
    TYPES = frozenset(
        {EventType.TWEET_LIKED, EventType.TWEET_UNLIKED, EventType.TWEET_RETWEETED, EventType.TWEET_UNRETWEETED}
    )
    tweet_id: int
    author_id: int
    actor_id: int
    actor_username: str


class UserFollowed(Payload):
    TYPES = frozenset({EventType.USER_FOLLOWED})
    follower_id: int
    follower_username: str
    followee_id: int


class UserUnfollowed(Payload):
    TYPES = frozenset({EventType.USER_UNFOLLOWED})
    follower_id: int
    followee_id: int


class CelebrityChanged(Payload):
    TYPES = frozenset({EventType.CELEBRITY_CHANGED})
    user_id: int
    celebrity: bool


ChunkOp = Literal["add", "remove", "celebrity"]


class FollowerChunk(Payload):
    """A share of a large audience: "add" (or "remove") ``tweet`` to (from) these followers' timelines, or
    "celebrity": the author crossed the threshold, re-sort these followers' subscriptions."""

    TYPES = frozenset({EventType.FOLLOWER_CHUNK})
    op: ChunkOp
    author_id: int
    followers: list[int]
    tweet: TweetData | None = Field(default=None, exclude_if=lambda tweet: tweet is None)  # absent for "celebrity"

    @model_validator(mode="after")
    def _tweet_unless_celebrity(self) -> Self:
        if (self.tweet is None) != (self.op == "celebrity"):
            raise ValueError('a follower chunk carries a tweet, except a "celebrity" one')
        return self


class EngagementRequested(Payload):
    """An intent accepted straight onto the stream (chirp.direct_writes): set the actor's like or retweet."""

    TYPES = frozenset({EventType.LIKE_REQUESTED, EventType.RETWEET_REQUESTED})
    actor_id: int
    actor_username: str
    on: bool
    tweet_id: int


class FollowRequested(Payload):
    TYPES = frozenset({EventType.FOLLOW_REQUESTED})
    actor_id: int
    actor_username: str
    on: bool
    followee_username: str


class ReadRequested(Payload):
    TYPES = frozenset({EventType.READ_REQUESTED})
    actor_id: int
    actor_username: str
    up_to: int | None = None


class Event(BaseModel):
    """The envelope of every stream record. ``partition_key`` keeps one author's events in order on one shard."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    type: EventType
    occurred_at_ms: int
    partition_key: str
    data: dict[str, Any]
    # The request that caused it (the REST API Gateway request id), followed into every consumer's logs. Optional on
    # the wire: records written before it existed, or by the gateway's direct writes, have none.
    correlation_id: str = ""

    @classmethod
    def new(cls, type_: EventType, partition_key: int | str, data: dict[str, Any]) -> Event:
        return cls(
            event_id=uuid.uuid4().hex,
            type=type_,
            occurred_at_ms=now_ms(),
            partition_key=str(partition_key),
            data=data,
            correlation_id=correlation_id(),
        )

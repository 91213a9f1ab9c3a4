"""The interfaces between services and stores. Embedded adapters (SQLite, in-process) and production adapters
(Keyspaces, ElastiCache, Neptune, OpenSearch, S3, Kinesis, API Gateway management) implement the same ports, and
one contract test suite runs against every adapter of a port."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from chirp.model import (
    Event,
    MediaRecord,
    NotificationRecord,
    Page,
    RateDecision,
    SearchHit,
    TrendScore,
    TweetCounts,
    TweetRecord,
    UploadTicket,
    UserRecord,
)
from chirp.query import SearchQuery


class DuplicateKey(Exception):
    """A create found its key already present (username, email, id)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class StoreUnavailable(Exception):
    """A backing store could not be reached; services turn it into 503 + Retry-After."""


class UserStore(Protocol):
    def create(self, user: UserRecord) -> None:
        """Insert a user; raises DuplicateKey('username'|'email') when either is taken (case-insensitive)."""

    def get(self, user_id: int) -> UserRecord | None: ...
    def get_many(self, user_ids: Sequence[int]) -> dict[int, UserRecord]: ...
    def get_by_username(self, username: str) -> UserRecord | None: ...


class TweetStore(Protocol):
    def create(self, tweet: TweetRecord) -> None:
        """Insert a tweet and its per-author and per-thread index rows; DuplicateKey('tweet_id') if the id exists."""

    def get(self, tweet_id: int) -> TweetRecord | None: ...
    def get_many(self, tweet_ids: Sequence[int]) -> dict[int, TweetRecord]: ...
    def delete(self, tweet: TweetRecord) -> bool: ...
    def author_tweet_ids(self, author_id: int, *, before: int | None, limit: int) -> list[int]:
        """Newest first, ids strictly below ``before``."""

    def recent_ids_by_authors(
        self, author_ids: Sequence[int], *, limit: int, before: int | None = None, after: int | None = None
    ) -> list[int]:
        """The newest ``limit`` tweet ids by any of the authors with after < id < before, newest first."""

    def reply_ids(self, parent_id: int, *, after: int | None, limit: int) -> list[int]:
        """Replies to a tweet, oldest first, ids strictly above ``after``."""

    def count_by_author(self, author_id: int) -> int: ...


class EngagementStore(Protocol):
    def add_like(self, tweet_id: int, user_id: int, at_ms: int) -> bool:
        """True when this user's like is new (and the count went up by exactly one)."""

    def remove_like(self, tweet_id: int, user_id: int) -> bool: ...
    def add_retweet(self, tweet_id: int, user_id: int, at_ms: int) -> bool: ...
    def remove_retweet(self, tweet_id: int, user_id: int) -> bool: ...
    def liked_by(self, user_id: int, tweet_ids: Sequence[int]) -> set[int]: ...
    def retweeted_by(self, user_id: int, tweet_ids: Sequence[int]) -> set[int]: ...
    def adjust_replies(self, tweet_id: int, delta: int) -> None: ...
    def counts(self, tweet_ids: Sequence[int]) -> dict[int, TweetCounts]: ...
    def forget_tweet(self, tweet_id: int) -> None:
        """Drop every like, retweet and counter of a deleted tweet."""


class GraphStore(Protocol):
    def follow(self, follower_id: int, followee_id: int, at_ms: int) -> bool:
        """True when the edge is new."""

    def unfollow(self, follower_id: int, followee_id: int) -> bool: ...
    def following_among(self, follower_id: int, candidates: Sequence[int]) -> set[int]:
        """The subset of ``candidates`` that ``follower_id`` follows."""

    def followers_page(self, user_id: int, *, cursor: str | None, limit: int) -> Page[int]:
        """Newest follow first; the cursor is opaque."""

    def following_page(self, user_id: int, *, cursor: str | None, limit: int) -> Page[int]: ...
    def following_ids(self, user_id: int, *, limit: int) -> list[int]: ...
    def counts(self, user_id: int) -> tuple[int, int]:
        """(followers, following), exact."""

    def follower_counts(self, user_ids: Sequence[int]) -> dict[int, int]: ...
    def followees_with_min_followers(self, user_id: int, min_followers: int, *, limit: int) -> list[int]:
        """Accounts ``user_id`` follows that have at least ``min_followers`` followers (celebrities)."""


class TimelineStore(Protocol):
    """Materialized home timelines: capped, ordered sets of tweet ids per user. A timeline that does not exist was
    never built or expired because its owner was inactive; fan-out writes only to timelines that exist."""

    def exists(self, user_id: int) -> bool: ...
    def build(self, user_id: int, tweet_ids: Sequence[int]) -> None:
        """Create (or extend) the timeline with these ids, trim to the cap, mark it as existing and active."""

    def add_if_exists(self, user_ids: Sequence[int], tweet_id: int) -> int:
        """Fan-out one tweet to many timelines; only existing timelines are written. Returns how many were."""

    def merge(self, user_id: int, tweet_ids: Sequence[int]) -> None:
        """Add ids to an existing timeline (no-op if it does not exist) and trim."""

    def remove(self, user_ids: Sequence[int], tweet_ids: Sequence[int]) -> None: ...
    def page(self, user_id: int, *, before: int | None, after: int | None, limit: int) -> list[int] | None:
        """Newest first, after < id < before; None when the timeline does not exist. Reading keeps it alive."""

    def oldest(self, user_id: int) -> int | None: ...


class ConnectionRegistry(Protocol):
    def register(self, connection_id: str, user_id: int) -> None: ...
    def unregister(self, connection_id: str) -> int | None:
        """Remove a connection and its celebrity subscriptions; returns the owner."""

    def connections_of(self, user_ids: Sequence[int]) -> dict[int, list[str]]: ...
    def subscribe(self, connection_id: str, celebrity_ids: Sequence[int]) -> None: ...
    def unsubscribe(self, connection_id: str, celebrity_ids: Sequence[int]) -> None: ...
    def subscribers(self, celebrity_id: int) -> list[str]: ...


class Pusher(Protocol):
    def push(self, connection_id: str, message: dict[str, object]) -> bool:
        """Send a JSON message; False when the connection is gone."""


class EventStream(Protocol):
    def publish(self, events: Sequence[Event]) -> None: ...


class SearchIndex(Protocol):
    def index_tweets(self, tweets: Sequence[TweetRecord]) -> None:
        """Idempotent: indexing the same tweet twice leaves one document."""

    def delete_tweets(self, tweet_ids: Sequence[int]) -> None: ...
    def search(self, query: SearchQuery, *, limit: int, before: int | None, order: str) -> list[SearchHit]:
        """``order`` is 'recent' (id desc, ids below ``before``; scores optional) or 'relevance' (text score
        desc)."""

    def index_users(self, users: Sequence[UserRecord]) -> None: ...
    def search_users(self, prefix: str, *, limit: int) -> list[int]: ...
    def tweet_count(self) -> int: ...


class TrendStore(Protocol):
    def claim(self, key: str, ttl_s: int) -> bool:
        """Set-if-absent with expiry; True for the first claimant (spam and duplicate suppression)."""

    def add(self, hashtag: str, tweet_id: int, weight: float, at_ms: int) -> None: ...
    def remove_tweet(self, tweet_id: int) -> None: ...
    def top(self, *, now_ms: int, limit: int, window_s: int, half_life_s: float) -> list[TrendScore]: ...


class RateLimiter(Protocol):
    def hit(self, key: str, *, limit: int, window_s: int, now_ms: int) -> RateDecision: ...


class IdempotencyStore(Protocol):
    def get(self, key: str) -> str | None: ...
    def put_if_absent(self, key: str, value: str, ttl_s: int) -> bool: ...
    def put(self, key: str, value: str, ttl_s: int) -> None: ...
    def delete(self, key: str) -> None: ...


class NotificationStore(Protocol):
    def add(self, notification: NotificationRecord) -> bool:
        """False when a notification with the same (user_id, dedupe_key) exists."""

    def page(self, user_id: int, *, before: int | None, limit: int) -> list[NotificationRecord]: ...
    def mark_read(self, user_id: int, *, up_to: int | None) -> int: ...
    def unread_count(self, user_id: int) -> int: ...


class MediaCatalog(Protocol):
    def create(self, media: MediaRecord) -> None: ...
    def get_many(self, media_ids: Sequence[str]) -> dict[str, MediaRecord]: ...


class ObjectStore(Protocol):
    def presign_upload(self, key: str, *, content_type: str, size: int, expires_s: int) -> UploadTicket: ...
    def head(self, key: str) -> tuple[int, str] | None:
        """(size, content_type) of a stored object, or None."""

    def public_url(self, key: str) -> str: ...


Listener = Callable[[], None]

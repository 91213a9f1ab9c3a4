"""The set of ports a service layer is built on; the container fills it with one adapter family."""

from __future__ import annotations

from dataclasses import dataclass

from chirp.ports import (
    ConnectionRegistry,
    EngagementStore,
    EventStream,
    GraphStore,
    IdempotencyStore,
    MediaCatalog,
    NotificationStore,
    ObjectStore,
    Pusher,
    RateLimiter,
    SearchIndex,
    TimelineStore,
    TrendStore,
    TweetCache,
    TweetStore,
    UserStore,
)


@dataclass(slots=True)
class Stores:
    users: UserStore
    tweets: TweetStore
    engagement: EngagementStore
    graph: GraphStore
    timelines: TimelineStore
    author_timelines: TimelineStore  # celebrities' own recent tweets, merged on read (same rules, keyed by author)
    connections: ConnectionRegistry
    pusher: Pusher
    stream: EventStream
    search: SearchIndex
    trends: TrendStore
    rate_limits: RateLimiter
    idempotency: IdempotencyStore
    notifications: NotificationStore
    media: MediaCatalog
    objects: ObjectStore
    tweet_cache: TweetCache
    media_url_base: str = ""  # the media CDN's base URL: public media URLs need no object store client

"""Builds the services with the adapter family the configuration asks for. The only module that imports adapters."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

from chirp.config import Settings, get_settings
from chirp.ports import Pusher
from chirp.services.auth import AuthService
from chirp.services.delivery import DeliveryService
from chirp.services.feed import FeedManager
from chirp.services.indexing import IndexingService
from chirp.services.media import MediaService
from chirp.services.notifications import NotificationService
from chirp.services.realtime import RealtimeService
from chirp.services.search import SearchService
from chirp.services.social import SocialService
from chirp.services.stores import Stores
from chirp.services.trends import TrendsService
from chirp.services.tweets import TweetService
from chirp.tokens import TokenCodec


@dataclass
class Container:
    settings: Settings
    stores: Stores
    tokens: TokenCodec

    @cached_property
    def feed(self) -> FeedManager:
        return FeedManager(self.stores, self.settings)

    @cached_property
    def realtime(self) -> RealtimeService:
        return RealtimeService(self.stores, celebrity_threshold=self.settings.celebrity_threshold)

    @cached_property
    def auth(self) -> AuthService:
        return AuthService(self.stores, self.tokens)

    @cached_property
    def tweets(self) -> TweetService:
        return TweetService(self.stores, self.settings, self.feed)

    @cached_property
    def social(self) -> SocialService:
        return SocialService(self.stores, self.feed, self.realtime)

    @cached_property
    def search(self) -> SearchService:
        return SearchService(self.stores, self.social)

    @cached_property
    def trends(self) -> TrendsService:
        return TrendsService(self.stores, self.settings)

    @cached_property
    def notifications(self) -> NotificationService:
        return NotificationService(self.stores, self.realtime)

    @cached_property
    def delivery(self) -> DeliveryService:
        return DeliveryService(self.stores, self.feed, self.realtime)

    @cached_property
    def indexing(self) -> IndexingService:
        return IndexingService(self.stores)

    @cached_property
    def media(self) -> MediaService:
        return MediaService(self.stores, self.settings)


def _pusher(settings: Settings) -> Pusher:
    from chirp.adapters.apigw_push import ApiGatewayPusher

    if not settings.ws_management_url:
        raise ValueError("CHIRP_WS_MANAGEMENT_URL is required (the WebSocket API's @connections endpoint)")
    return ApiGatewayPusher(settings.ws_management_url)


def build_embedded(settings: Settings) -> Container:
    from chirp.adapters.embedded.graph import SqliteGraphStore
    from chirp.adapters.embedded.memory import (
        MemoryConnectionRegistry,
        MemoryRateLimiter,
        MemoryTimelineStore,
        MemoryTrendStore,
    )
    from chirp.adapters.embedded.objects import FileObjectStore
    from chirp.adapters.embedded.records import (
        RecordsDatabase,
        SqliteEngagementStore,
        SqliteIdempotencyStore,
        SqliteMediaCatalog,
        SqliteNotificationStore,
        SqliteTweetStore,
        SqliteUserStore,
    )
    from chirp.adapters.embedded.search import SqliteSearchIndex
    from chirp.adapters.embedded.stream import SqliteEventStream

    data = settings.data_dir
    records = RecordsDatabase(data / "records.db")
    tokens = TokenCodec.from_spec(settings.jwt_keys, settings.token_ttl_s, data_dir=data)
    objects = FileObjectStore(
        data / "objects",
        secret=tokens.secret_for_uploads(),
        upload_base_url=f"{settings.public_url}/_upload",
        public_base_url=settings.media_url_base,
    )
    stores = Stores(
        users=SqliteUserStore(records),
        tweets=SqliteTweetStore(records),
        engagement=SqliteEngagementStore(records),
        graph=SqliteGraphStore(data / "graph.db"),
        timelines=MemoryTimelineStore(cap=settings.timeline_cap, ttl_s=settings.active_days * 86400),
        connections=MemoryConnectionRegistry(),
        pusher=_pusher(settings),
        stream=SqliteEventStream(data / "stream.db", shards=settings.stream_shards),
        search=SqliteSearchIndex(data / "search.db"),
        trends=MemoryTrendStore(),
        rate_limits=MemoryRateLimiter(),
        idempotency=SqliteIdempotencyStore(records),
        notifications=SqliteNotificationStore(records),
        media=SqliteMediaCatalog(records),
        objects=objects,
    )
    return Container(settings=settings, stores=stores, tokens=tokens)


_container: Container | None = None
_lock = threading.Lock()


def get_container() -> Container:
    """The process-wide container, built once (at a Lambda's cold start, or once per local runtime)."""
    global _container
    if _container is None:
        with _lock:
            if _container is None:
                settings = get_settings()
                if settings.backend != "embedded":
                    raise ValueError(f"backend {settings.backend!r} is not available in this build")
                _container = build_embedded(settings)
    return _container


def set_container(container: Container | None) -> None:
    """Install a container (tests, the local runtime)."""
    global _container
    _container = container

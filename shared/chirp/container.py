"""Builds the services with the adapter family the configuration asks for. The only module that imports adapters."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

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

    @cached_property
    def tokens(self) -> TokenCodec:
        """Built on first use: only the functions that sign or check tokens need the keys. On AWS the keys must be
        configured (the code directory is read-only, so there is no local key file to fall back to)."""
        local_dir = None if self.settings.backend == "aws" else self.settings.data_dir
        return TokenCodec.from_spec(self.settings.jwt_keys, self.settings.token_ttl_s, data_dir=local_dir)

    @cached_property
    def feed(self) -> FeedManager:
        return FeedManager(self.stores, self.settings)

    @cached_property
    def realtime(self) -> RealtimeService:
        return RealtimeService(self.stores, celebrity_threshold=self.settings.celebrity_threshold)

    @cached_property
    def auth(self) -> AuthService:
        return AuthService(self.stores, self.tokens, self.settings)

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


class _UnconfiguredPusher:
    """For deployed functions that push nothing: the CDK app gives CHIRP_WS_MANAGEMENT_URL only to the functions whose
    wiring ``uses`` has "ws_management", and the others must still start."""

    def push(self, connection_id: str, message: dict[str, object]) -> bool:
        raise ValueError("CHIRP_WS_MANAGEMENT_URL is required (the WebSocket API's @connections endpoint)")


def _pusher(settings: Settings) -> Pusher:
    from chirp.adapters.apigw_push import ApiGatewayPusher

    if not settings.ws_management_url:
        if settings.backend == "embedded":
            raise ValueError("CHIRP_WS_MANAGEMENT_URL is required (the WebSocket API's @connections endpoint)")
        return _UnconfiguredPusher()
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
    container = Container(settings=settings, stores=stores)
    container.__dict__["tokens"] = tokens  # the same codec that keys the upload URLs
    return container


def _aws_client(service: str, settings: Settings, endpoint_url: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5, max_pool_connections=50
    )
    client: Any = boto3.client(  # type: ignore[call-overload]
        service, region_name=settings.aws_region, endpoint_url=endpoint_url or None, config=config
    )
    return client


def build_servers(settings: Settings) -> Container:
    """Production adapters: Keyspaces (CQL), ElastiCache (Redis), Neptune (Gremlin), OpenSearch, S3, Kinesis and the
    API Gateway management API — on AWS, or on their stand-ins on loopback."""
    from chirp.adapters.keyspaces import KeyspacesBackend
    from chirp.adapters.kinesis_stream import KinesisEventStream
    from chirp.adapters.neptune import NeptuneGraphStore
    from chirp.adapters.opensearch_index import OpenSearchIndex
    from chirp.adapters.redis_cache.client import connect as redis_connect
    from chirp.adapters.redis_cache.connections import RedisConnectionRegistry
    from chirp.adapters.redis_cache.limits import RedisIdempotencyStore, RedisRateLimiter
    from chirp.adapters.redis_cache.timelines import RedisTimelineStore
    from chirp.adapters.redis_cache.trends import RedisTrendStore
    from chirp.adapters.s3_objects import S3ObjectStore

    # Each function connects only to what it uses (on AWS a function gets the endpoints of its own resources
    # only): the Keyspaces session opens on first use, not at cold start.
    records: Any = Deferred(lambda: KeyspacesBackend.connect(settings))
    redis = redis_connect(settings.redis_url, cluster=settings.redis_cluster)
    stores = Stores(
        users=Deferred(lambda: records.users),
        tweets=Deferred(lambda: records.tweets),
        engagement=Deferred(lambda: records.engagement),
        graph=NeptuneGraphStore(settings.neptune_url, timeout_s=settings.store_timeout_s),
        timelines=RedisTimelineStore(
            redis, cap=settings.timeline_cap, ttl_s=settings.active_days * 86400, cluster=settings.redis_cluster
        ),
        connections=RedisConnectionRegistry(redis),
        pusher=_pusher(settings),
        stream=KinesisEventStream(
            _aws_client("kinesis", settings, settings.kinesis_endpoint_url), settings.stream_name
        ),
        search=OpenSearchIndex(
            settings.opensearch_url, prefix=settings.opensearch_index_prefix, timeout_s=settings.store_timeout_s
        ),
        trends=RedisTrendStore(redis),
        rate_limits=RedisRateLimiter(redis),
        idempotency=RedisIdempotencyStore(redis),
        notifications=Deferred(lambda: records.notifications),
        media=Deferred(lambda: records.media),
        objects=S3ObjectStore(
            _aws_client("s3", settings, settings.s3_endpoint_url),
            bucket=settings.media_bucket,
            public_base_url=settings.media_url_base,
        ),
    )
    return Container(settings=settings, stores=stores)


class Deferred:
    """Stands for an adapter that is built on first use (thread-safe), then forwards every attribute to it."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._target: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        target = self._target
        if target is None:
            with self._lock:
                if self._target is None:
                    self._target = self._factory()
                target = self._target
        return getattr(target, name)


def build(settings: Settings) -> Container:
    return build_embedded(settings) if settings.backend == "embedded" else build_servers(settings)


_container: Container | None = None
_lock = threading.Lock()


def get_container() -> Container:
    """The process-wide container, built once (at a Lambda's cold start, or once per local runtime)."""
    global _container
    if _container is None:
        with _lock:
            if _container is None:
                _container = build(get_settings())
    return _container


def set_container(container: Container | None) -> None:
    """Install a container (tests, the local runtime)."""
    global _container
    _container = container

"""Builds the services with the adapter family the configuration asks for. The only module that imports adapters."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, Literal, NoReturn, TypeVar, cast, get_args, overload

from chirp import wiring
from chirp.config import Settings, get_settings
from chirp.observability.timing import timed_stores, unwrap
from chirp.ports import (
    ConnectionRegistry,
    DeadLetterStore,
    EventStream,
    GraphStore,
    IdempotencyStore,
    ObjectStore,
    Pusher,
    RateLimiter,
    SearchIndex,
    TimelineStore,
    TrendStore,
    TweetCache,
)
from chirp.services.stores import Stores
from chirp.wiring import Resource

if TYPE_CHECKING:  # services are imported on first use: a function loads only the ones it runs
    from pathlib import Path

    from mypy_boto3_kinesis.client import KinesisClient
    from mypy_boto3_s3.client import S3Client

    from chirp.adapters.embedded.objects import FileObjectStore
    from chirp.adapters.embedded.stream import SqliteEventStream
    from chirp.adapters.keyspaces import KeyspacesBackend
    from chirp.adapters.redis_cache.client import RedisLike
    from chirp.adapters.s3_objects import S3ObjectStore
    from chirp.mastodon.oauth import OAuthService
    from chirp.mastodon.service import MastodonService
    from chirp.services.actions import ActionsService
    from chirp.services.auth import AuthService
    from chirp.services.blocks import BlockService
    from chirp.services.delivery import DeliveryService
    from chirp.services.erasure import AccountEraser
    from chirp.services.feed import FeedManager
    from chirp.services.indexing import IndexingService
    from chirp.services.media import MediaService
    from chirp.services.notifications import NotificationService
    from chirp.services.profiles import ProfileService
    from chirp.services.realtime import RealtimeService
    from chirp.services.safety import Safety
    from chirp.services.search import SearchService
    from chirp.services.social import SocialService
    from chirp.services.trends import TrendsService
    from chirp.services.tweets import TweetService
    from chirp.tokens import TokenCodec

T = TypeVar("T")


@dataclass
class Container:
    settings: Settings
    stores: Stores

    @cached_property
    def tokens(self) -> TokenCodec:
        """Built on first use: only the functions that sign or check tokens need the keys. On AWS the keys must be
        configured (the code directory is read-only, so there is no local key file to fall back to)."""
        from chirp.tokens import TokenCodec

        local_dir = None if self.settings.backend == "aws" else self.settings.data_dir
        return TokenCodec.from_spec(self.secrets.jwt_keys(), self.settings.token_ttl_s, data_dir=local_dir)

    @cached_property
    def secrets(self) -> SecretReader:
        return SecretReader(self.settings)

    @cached_property
    def feed(self) -> FeedManager:
        from chirp.services.feed import FeedManager

        return FeedManager(self.stores, self.settings)

    @cached_property
    def realtime(self) -> RealtimeService:
        from chirp.services.realtime import RealtimeService

        return RealtimeService(
            self.stores,
            celebrity_threshold=self.settings.celebrity_threshold,
            mastodon_url=self.settings.mastodon_url,
        )

    @cached_property
    def auth(self) -> AuthService:
        from chirp.services.auth import AuthService

        return AuthService(self.stores, self.tokens, self.settings)

    @cached_property
    def tweets(self) -> TweetService:
        from chirp.services.tweets import TweetService

        return TweetService(self.stores, self.settings, self.feed)

    @cached_property
    def social(self) -> SocialService:
        from chirp.services.social import SocialService

        return SocialService(self.stores, self.feed, self.realtime)

    @cached_property
    def safety(self) -> Safety:
        from chirp.services.safety import Safety

        return Safety(self.stores)

    @cached_property
    def blocks(self) -> BlockService:
        from chirp.services.blocks import BlockService

        return BlockService(self.stores, self.social)

    @cached_property
    def search(self) -> SearchService:
        from chirp.services.search import SearchService

        return SearchService(self.stores, self.social)

    @cached_property
    def trends(self) -> TrendsService:
        from chirp.services.trends import TrendsService

        return TrendsService(self.stores, self.settings)

    @cached_property
    def notifications(self) -> NotificationService:
        from chirp.services.notifications import NotificationService

        return NotificationService(self.stores, self.realtime)

    @cached_property
    def delivery(self) -> DeliveryService:
        from chirp.services.delivery import DeliveryService

        return DeliveryService(self.stores, self.feed, self.realtime)

    @cached_property
    def actions(self) -> ActionsService:
        from chirp.services.actions import ActionsService

        return ActionsService(self.stores, self.tweets, self.social)

    @cached_property
    def eraser(self) -> AccountEraser:
        from chirp.services.erasure import AccountEraser

        return AccountEraser(self.stores, self.tweets, self.feed, self.realtime)

    @cached_property
    def profiles(self) -> ProfileService:
        from chirp.services.profiles import ProfileService

        return ProfileService(self.stores, self.auth, self.media, self.social, self.tweets)

    @cached_property
    def indexing(self) -> IndexingService:
        from chirp.services.indexing import IndexingService

        return IndexingService(self.stores)

    @cached_property
    def dead_letters(self) -> DeadLetterStore:
        return dead_letter_store(self.settings)

    @cached_property
    def media(self) -> MediaService:
        from chirp.services.media import MediaService

        return MediaService(self.stores, self.settings)

    @cached_property
    def mastodon(self) -> MastodonService:
        """The Mastodon-compatible surface: Chirp's services rendered in Mastodon's shapes."""
        from chirp.mastodon.service import MastodonService

        return MastodonService(
            self.stores,
            self.settings,
            tweets=self.tweets,
            social=self.social,
            feed=self.feed,
            notifications=self.notifications,
            search=self.search,
            trends=self.trends,
            media=self.media,
            profiles=self.profiles,
            blocks=self.blocks,
        )

    @cached_property
    def oauth(self) -> OAuthService:
        from chirp.mastodon.oauth import OAuthService

        return OAuthService(self.tokens, self.auth, self.stores.idempotency)


class _UnconfiguredPusher:
    """For deployed functions that push nothing: the CDK app gives CHIRP_WS_MANAGEMENT_URL only to the functions whose
    wiring ``uses`` has "ws_management", and the others must still start."""

    def push(self, connection_id: str, message: dict[str, object]) -> bool:
        raise ValueError("CHIRP_WS_MANAGEMENT_URL is required (the WebSocket API's @connections endpoint)")

    def push_many(self, connection_ids: Sequence[str], message: dict[str, object]) -> set[str]:
        return {c for c in connection_ids if not self.push(c, message)}


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
    from chirp.adapters.embedded.tweet_cache import MemoryTweetCache
    from chirp.tokens import TokenCodec

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
        author_timelines=MemoryTimelineStore(cap=settings.timeline_cap, ttl_s=settings.active_days * 86400),
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
        tweet_cache=MemoryTweetCache(),
        media_url_base=settings.media_url_base,
    )
    container = Container(settings=settings, stores=timed_stores(stores))
    container.__dict__["tokens"] = tokens  # the same codec that keys the upload URLs
    return container


def _aws_client(service: str, settings: Settings, endpoint_url: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5, max_pool_connections=50
    )
    client: Any = boto3.client(  # type: ignore[call-overload]
        service,
        region_name=settings.aws_region,
        endpoint_url=endpoint_url or None,
        config=config,
        verify=settings.tls_ca_bundle or None,  # None: botocore's own trust store (AWS)
    )
    return client


@overload
def aws_client(service: Literal["kinesis"], settings: Settings) -> KinesisClient: ...
@overload
def aws_client(service: Literal["s3"], settings: Settings) -> S3Client: ...
def aws_client(service: Literal["kinesis", "s3"], settings: Settings) -> KinesisClient | S3Client:
    """A boto3 client configured as the adapters' (the configured endpoint: a stand-in locally), for the local
    tools that talk to the same services: provisioning and the local event source mapping."""
    endpoint = settings.kinesis_endpoint_url if service == "kinesis" else settings.s3_endpoint_url
    client: KinesisClient | S3Client = _aws_client(service, settings, endpoint)  # the overload says which
    return client


def event_stream(settings: Settings, secrets: SecretReader | None = None) -> EventStream:
    """The configured event stream alone: the dlq command replays onto it without opening the other stores."""
    if settings.backend == "embedded":
        from chirp.adapters.embedded.stream import SqliteEventStream

        return SqliteEventStream(settings.data_dir / "stream.db", shards=settings.stream_shards)
    if settings.stream_kind == "msk":
        from chirp.adapters.kafka_stream import KafkaEventStream

        config = kafka_config(settings, secrets)
        return KafkaEventStream(config, settings.stream_name, timeout_s=settings.store_timeout_s)
    from chirp.adapters.kinesis_stream import KinesisEventStream

    return KinesisEventStream(aws_client("kinesis", settings), settings.stream_name)


def kafka_config(settings: Settings, secrets: SecretReader | None = None) -> dict[str, Any]:
    """librdkafka settings for the configured MSK cluster (or stand-in): the producer's, and the local event source
    mapping's for reading the topic."""
    from chirp.adapters.kafka_stream import client_config

    username = password = ""
    if settings.kafka_auth == "scram":
        reader = secrets or SecretReader(settings)
        username, password = reader.json_fields(settings.kafka_credentials_secret_arn, "username", "password")
    return client_config(
        settings.kafka_bootstrap,
        auth=settings.kafka_auth,
        region=settings.aws_region,
        username=username,
        password=password,
        ca_file=settings.tls_ca_bundle or None,
        timeout_s=settings.store_timeout_s,
    )


def ensure_kafka_topic(config: dict[str, Any], topic: str, *, partitions: int, retention_ms: int) -> None:
    """The stream's topic, created if missing with ``config``'s credentials: the deployment's step (the CDK app's
    custom resource on AWS; the local provisioning as the stand-in's administrator). Idempotent."""
    from chirp.adapters.kafka_stream import ensure_topic

    ensure_topic(config, topic, partitions=partitions, retention_ms=retention_ms)


def dead_letter_store(settings: Settings) -> DeadLetterStore:
    """Where stream consumers keep what they gave up on: with a dead-letter bucket (AWS: the event source mappings'
    S3 on-failure destination) the bucket; else the local runtime's table beside its checkpoints."""
    if settings.dead_letter_bucket:
        from chirp.adapters.s3_dead_letters import S3DeadLetters

        return S3DeadLetters(aws_client("s3", settings), settings.dead_letter_bucket)
    return local_dead_letters(settings.data_dir / f"mapping-{settings.stream_name}.db")


def local_dead_letters(path: Path) -> DeadLetterStore:
    """The local runtime's dead-letter table in the SQLite file ``path`` (beside its mappings' checkpoints)."""
    from chirp.adapters.embedded.dead_letters import SqliteDeadLetters

    return SqliteDeadLetters(path)


def embedded_stream(container: Container) -> SqliteEventStream | None:
    """The embedded stream, whose log the local event source mapping reads in place; None for Kinesis."""
    from chirp.adapters.embedded.stream import SqliteEventStream

    stream = unwrap(container.stores.stream)
    return stream if isinstance(stream, SqliteEventStream) else None


def embedded_objects(container: Container) -> FileObjectStore | None:
    """The embedded object store, whose signed uploads and media the local runtime serves; None for S3."""
    from chirp.adapters.embedded.objects import FileObjectStore

    objects = unwrap(container.stores.objects)
    return objects if isinstance(objects, FileObjectStore) else None


def media_source(container: Container) -> FileObjectStore | S3ObjectStore | None:
    """The store the media live in (embedded files or S3), for the local runtime to stand in for the CDN."""
    from chirp.adapters.embedded.objects import FileObjectStore
    from chirp.adapters.s3_objects import S3ObjectStore

    objects = unwrap(container.stores.objects)
    if isinstance(objects, Deferred):
        objects = objects.resolve()
    return objects if isinstance(objects, FileObjectStore | S3ObjectStore) else None


class _NoSecretBodies(logging.Filter):
    """botocore logs every response body at DEBUG (root logger at DEBUG, or Lambda's log level DEBUG), and a Secrets
    Manager response body is the secret itself: such records are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "SecretString" not in message and "SecretBinary" not in message


_NO_SECRET_BODIES = _NoSecretBodies()


class SecretReader:
    """Reads Secrets Manager secrets by ARN with Powertools' provider: each once per process (a cold start), in the
    secret's own region. Values are returned to the caller only, never logged (not even by botocore at DEBUG)."""

    def __init__(self, settings: Settings) -> None:
        logging.getLogger("botocore.parsers").addFilter(_NO_SECRET_BODIES)  # once: addFilter ignores a repeat
        self._settings = settings
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()

    def text(self, arn: str) -> str:
        with self._lock:
            if arn not in self._values:
                from aws_lambda_powertools.utilities.parameters import SecretsProvider
                from botocore.config import Config

                parts = arn.split(":")
                region = parts[3] if len(parts) > 3 and parts[3] else self._settings.aws_region
                provider = SecretsProvider(boto_config=Config(region_name=region, connect_timeout=2, read_timeout=5))
                value = provider.get(arn, max_age=10**9)
                if not isinstance(value, str) or not value:
                    raise ValueError(f"secret {arn} holds no text")
                self._values[arn] = value
            return self._values[arn]

    def json_fields(self, arn: str, *fields: str) -> tuple[str, ...]:
        try:
            data = json.loads(self.text(arn))
        except json.JSONDecodeError:
            raise ValueError(f"secret {arn} must be JSON with {', '.join(fields)}") from None
        if not isinstance(data, dict) or not all(isinstance(data.get(f), str) and data[f] for f in fields):
            raise ValueError(f"secret {arn} must be JSON with {', '.join(fields)}")
        return tuple(str(data[f]) for f in fields)

    def jwt_keys(self) -> str:
        """``jwt_keys`` as configured, or "kid:secret" from the JSON {"kid", "secret"} the CDK app creates."""
        settings = self._settings
        if settings.jwt_keys or not settings.jwt_secret_arn:
            return settings.jwt_keys
        kid, secret = self.json_fields(settings.jwt_secret_arn, "kid", "secret")
        return f"{kid}:{secret}"


class NotUsed:
    """Stands for a store the running function does not use (its wiring entry does not list the resource): no
    client is built for it, and touching it is a bug in the wiring table, reported as such."""

    def __init__(self, function: str, resource: str) -> None:
        self._message = f"function {function!r} does not use {resource!r} (add it to its wiring entry's uses)"

    def __getattr__(self, name: str) -> NoReturn:
        raise RuntimeError(self._message)


def build_servers(settings: Settings) -> Container:
    """Production adapters: Keyspaces (CQL), ElastiCache (Redis), Neptune (Gremlin), OpenSearch, S3, Kinesis and the
    API Gateway management API — on AWS, or on their stand-ins on loopback.

    A deployed function (CHIRP_FUNCTION) builds only the clients of the resources its wiring entry uses, each on
    first use: a cold start pays for nothing a request may not need. Credentials come from Secrets Manager (read
    once) or from the function's role (SigV4)."""
    uses = _resources_used(settings)
    secrets = SecretReader(settings)
    ca_file = settings.tls_ca_bundle or None

    def part(resource: Resource, factory: Callable[[], T]) -> T:
        """A stand-in built on first use (or refusing use when the wiring entry does not list the resource), typed
        as what it stands for: mypy checks every factory below against the port it fills."""
        return cast(T, Deferred(factory) if resource in uses else NotUsed(settings.function, resource))

    def keyspaces() -> KeyspacesBackend:
        from chirp.adapters.keyspaces import KeyspacesBackend

        username = password = None
        if settings.cassandra_credentials_secret_arn:
            username, password = secrets.json_fields(settings.cassandra_credentials_secret_arn, "username", "password")
        return KeyspacesBackend.connect(settings, username=username, password=password)

    def redis_client(url: str) -> RedisLike:
        from chirp.adapters.redis_cache.client import connect

        password = secrets.text(settings.redis_auth_secret_arn) if settings.redis_auth_secret_arn else None
        return connect(url, cluster=settings.redis_cluster, password=password, ca_file=ca_file)

    records = part("keyspaces", keyspaces)
    redis = part("cache", lambda: redis_client(settings.redis_url))

    def timelines(prefix: str = "tl") -> TimelineStore:
        from chirp.adapters.redis_cache.timelines import RedisTimelineStore

        return RedisTimelineStore(
            redis,
            cap=settings.timeline_cap,
            ttl_s=settings.active_days * 86400,
            cluster=settings.redis_cluster,
            prefix=prefix,
        )

    def graph() -> GraphStore:
        from chirp.adapters.neptune import NeptuneGraphStore

        return NeptuneGraphStore(
            settings.neptune_url,
            reader_url=settings.neptune_reader_url or None,
            timeout_s=settings.store_timeout_s,
            iam_auth=settings.neptune_iam_auth,
            region=settings.aws_region,
            ca_file=ca_file,
        )

    def search() -> SearchIndex:
        from chirp.adapters.opensearch_index import OpenSearchIndex

        username = password = None
        if settings.opensearch_auth == "basic":
            username, password = secrets.json_fields(settings.opensearch_credentials_secret_arn, "username", "password")
        return OpenSearchIndex(
            settings.opensearch_url,
            prefix=settings.opensearch_index_prefix,
            timeout_s=settings.store_timeout_s,
            auth=settings.opensearch_auth,
            username=username,
            password=password,
            region=settings.aws_region,
            ca_file=ca_file,
            shards=settings.opensearch_shards,
            replicas=settings.opensearch_replicas,
        )

    def stream() -> EventStream:
        return event_stream(settings, secrets)

    def objects() -> ObjectStore:
        from chirp.adapters.s3_objects import S3ObjectStore

        return S3ObjectStore(
            _aws_client("s3", settings, settings.s3_endpoint_url),
            bucket=settings.media_bucket,
            public_base_url=settings.media_url_base,
        )

    # The Redis adapters' modules are imported when first used, not at a cold start.
    def connections() -> ConnectionRegistry:
        from chirp.adapters.redis_cache.connections import RedisConnectionRegistry

        return RedisConnectionRegistry(redis)

    def trends() -> TrendStore:
        from chirp.adapters.redis_cache.trends import RedisTrendStore

        return RedisTrendStore(redis)

    def rate_limits() -> RateLimiter:
        from chirp.adapters.redis_cache.limits import RedisRateLimiter

        return RedisRateLimiter(redis)

    def idempotency() -> IdempotencyStore:
        from chirp.adapters.redis_cache.limits import RedisIdempotencyStore

        return RedisIdempotencyStore(redis)

    def tweet_cache() -> TweetCache:
        from chirp.adapters.redis_cache.tweet_cache import RedisTweetCache

        return RedisTweetCache(redis, cluster=settings.redis_cluster)

    stores = Stores(
        users=part("keyspaces", lambda: records.users),
        tweets=part("keyspaces", lambda: records.tweets),
        engagement=part("keyspaces", lambda: records.engagement),
        graph=part("graph", graph),
        timelines=part("cache", timelines),
        author_timelines=part("cache", lambda: timelines("at")),
        connections=part("cache", connections),
        pusher=part("ws_management", lambda: _pusher(settings)) if "ws_management" in uses else _UnconfiguredPusher(),
        stream=part("stream", stream),
        search=part("search", search),
        trends=part("cache", trends),
        rate_limits=part("cache", rate_limits),
        idempotency=part("cache", idempotency),
        notifications=part("keyspaces", lambda: records.notifications),
        media=part("keyspaces", lambda: records.media),
        objects=part("media", objects),
        tweet_cache=part("cache", tweet_cache),
        media_url_base=settings.media_url_base,
    )
    unbuilt = (NotUsed, _UnconfiguredPusher)  # nothing to time
    container = Container(settings=settings, stores=timed_stores(stores, skip=lambda p: isinstance(p, unbuilt)))
    container.__dict__["secrets"] = secrets
    return container


def redis_timelines(
    client: RedisLike, *, cap: int, ttl_s: int, cluster: bool = False, chunk: int = 1000
) -> TimelineStore:
    """The Redis timeline adapter on a client of the caller's: the bench's baselines measure it beside hand-written
    command strategies on a scratch database (``cluster``: its Redis Cluster path, one script call per timeline)."""
    from chirp.adapters.redis_cache.timelines import RedisTimelineStore

    return RedisTimelineStore(client, cap=cap, ttl_s=ttl_s, cluster=cluster, fan_out_chunk=chunk)


def redis_cache_ports(client: RedisLike, settings: Settings) -> dict[str, object]:
    """Every cache port on the Redis adapters over a client of the caller's, by ``Stores`` field: the metrics
    overhead bench puts them beside the embedded records without importing adapters itself."""
    from chirp.adapters.redis_cache import connections, limits, trends, tweet_cache
    from chirp.adapters.redis_cache.timelines import RedisTimelineStore

    ttl = settings.active_days * 86400
    return {
        "timelines": RedisTimelineStore(client, cap=settings.timeline_cap, ttl_s=ttl),
        "author_timelines": RedisTimelineStore(client, cap=settings.timeline_cap, ttl_s=ttl, prefix="at"),
        "tweet_cache": tweet_cache.RedisTweetCache(client),
        "rate_limits": limits.RedisRateLimiter(client),
        "idempotency": limits.RedisIdempotencyStore(client),
        "connections": connections.RedisConnectionRegistry(client),
        "trends": trends.RedisTrendStore(client),
    }


def redis_connect(url: str, *, password: str, ca_file: str) -> RedisLike:
    """A client of the Redis adapter's (TLS + AUTH), for tools that hold a stand-in's credentials."""
    from chirp.adapters.redis_cache.client import connect

    return connect(url, password=password, ca_file=ca_file)


def provision_records(settings: Settings, *, admin_username: str, admin_password: str, app_role: str) -> None:
    """Creates the keyspace and tables as an administrator and grants the app's role its data permissions: what
    the CDK app and IAM do on AWS, for the Cassandra stand-in (the app's own credentials may not run DDL)."""
    from chirp.adapters.keyspaces import provision_schema

    provision_schema(settings, username=admin_username, password=admin_password, grant_to=app_role)


def _resources_used(settings: Settings) -> frozenset[Resource]:
    """The resources of the running function's wiring entry; every resource when no function is named (the local
    runtime runs them all in one process)."""
    if not settings.function:
        return frozenset(get_args(Resource))
    return frozenset(wiring.function(settings.function).uses)


class Deferred(Generic[T]):
    """Stands for an adapter that is built on first use (thread-safe), then forwards every attribute to it."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._target: T | None = None
        self._lock = threading.Lock()

    def resolve(self) -> T:
        """The adapter itself, built now if it was not yet."""
        target = self._target
        if target is None:
            with self._lock:
                if self._target is None:
                    self._target = self._factory()
                target = self._target
        return target

    def __getattr__(self, name: str) -> Any:
        return getattr(self.resolve(), name)


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

"""The one declarative table of functions, routes, triggers and environment.

Both the CDK app and the local runtime read this table; nothing else lists routes. Each function's handler binds
its operations by name, and a test checks that every route here has exactly one bound operation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

API_PREFIX = "/api/v1"
# Responses at least this large are gzip-compressed when the client accepts it: API Gateway's minimumCompressionSize
# on AWS, the local gateway the same way. A 20-tweet page (~10 KB of JSON) shrinks to about a fifth; smaller bodies
# are not worth the CPU.
RESPONSE_COMPRESSION_MIN_BYTES = 1024
Resource = Literal["keyspaces", "cache", "graph", "search", "media", "stream", "ws_management", "jwt"]
# How the fire-and-forget writes (routes with stream_write) are answered, for a whole deployment: "sync" (the default)
# invokes their function, which applies the write and answers with the new exact state and counts; "async" has API
# Gateway (or the local gateway) put an intent event straight on the stream and answer 202 with the optimistic state,
# no Lambda in the request path; the "actions" consumer applies it. The trade: counts in the answer are gone and a
# reader sees its own like/follow in counts, timelines and notifications only once the consumer ran (eventual).
# Read by the CDK app (context write_path) and the local runtime (CHIRP_WRITE_PATH); chirp.direct_writes says how.
WritePath = Literal["sync", "async"]


@dataclass(frozen=True, slots=True)
class Route:
    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str
    operation: str
    auth: bool = True
    stream_write: bool = False  # fire-and-forget: may go straight onto the stream (write_path "async")
    # > 0: a read that signed-out readers may make too, answered for everyone alike and cacheable at the edge
    # (CloudFront on AWS, the local gateway's /_edge stand-in) for this many seconds. A signed-in request to it still
    # gets the viewer's flags and is never cacheable (Cache-Control: private, no-store, like every other answer).
    public_cache_s: int = 0

    @property
    def optional_auth(self) -> bool:
        """Signed-out readers welcome: no API Gateway authorizer; the function checks a token if one is sent."""
        return self.public_cache_s > 0

    @property
    def powertools_rule(self) -> str:
        """The route in Powertools' rule syntax: {name} becomes <name>."""
        return re.sub(r"\{(\w+)\}", r"<\1>", self.path)


@dataclass(frozen=True, slots=True)
class WebSocketRoute:
    route_key: str  # $connect | $disconnect | $default
    authorizer: bool = False


@dataclass(frozen=True, slots=True)
class StreamTrigger:
    batch_size: int = 100
    max_batching_window_s: int = 0
    # -1: a failed batch is retried until its records reach max_record_age_s. A store outage fails whole batches
    # (every attempt counts on AWS), so a finite count would drop records after a long outage; a poison record does
    # not block its shard meanwhile: the consumer edge quarantines it after quarantine_after attempts.
    max_retries: int = -1
    # Below the stream's retention (cdk StreamStack): a batch that outlived the longest outage planned for is written
    # whole to the dead-letter store before the stream would trim it.
    max_record_age_s: int = 6 * 24 * 3600
    bisect_on_error: bool = True
    parallelization_factor: int = 1
    quarantine_after: int = 3  # attempts at a failing record within one invocation before it is quarantined
    # A dedicated enhanced fan-out consumer (its own 2 MB/s per shard, pushed over HTTP/2) for latency-critical
    # consumers; the others share the shard's standard 2 MB/s and 5 reads/s.
    enhanced_fan_out: bool = False
    # Only records of these event types invoke the consumer (Lambda event filtering on AWS); empty: every record.
    event_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    description: str
    routes: tuple[Route, ...] = ()
    ws_routes: tuple[WebSocketRoute, ...] = ()
    stream: StreamTrigger | None = None
    authorizer: bool = False
    uses: tuple[Resource, ...] = ()
    memory_mb: int = 512
    timeout_s: int = 10
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def handler_path(self) -> str:
        return f"functions/{self.name}/handler.py"


def _r(
    method: Literal["GET", "POST", "PUT", "DELETE"],
    path: str,
    operation: str,
    *,
    auth: bool = True,
    stream_write: bool = False,
    public_cache_s: int = 0,
) -> Route:
    return Route(method, API_PREFIX + path, operation, auth, stream_write, public_cache_s)


FUNCTIONS: tuple[Function, ...] = (
    Function(
        "health",
        "Health check and the OpenAPI document",
        routes=(
            _r("GET", "/health", "health", auth=False),
            _r("GET", "/openapi.json", "openapi", auth=False),
        ),
        memory_mb=256,
    ),
    Function(
        "authorizer",
        "Verifies bearer tokens for the REST API (TOKEN) and for WebSocket $connect (REQUEST)",
        authorizer=True,
        uses=("jwt",),
        memory_mb=256,
    ),
    Function(
        "auth",
        "Sign up and log in",
        routes=(
            _r("POST", "/auth/signup", "signup", auth=False),
            _r("POST", "/auth/login", "login", auth=False),
        ),
        uses=("keyspaces", "cache", "stream", "jwt"),
    ),
    Function(
        "users",
        "Profiles, follow graph and user timelines",
        routes=(
            _r("GET", "/users/{username}", "get_profile", public_cache_s=30),
            _r("POST", "/users/{username}/follow", "follow", stream_write=True),
            _r("DELETE", "/users/{username}/follow", "unfollow", stream_write=True),
            _r("GET", "/users/{username}/followers", "followers"),
            _r("GET", "/users/{username}/following", "following"),
            _r("GET", "/users/{username}/tweets", "user_tweets", public_cache_s=10),
        ),
        uses=("keyspaces", "cache", "graph", "stream", "ws_management", "jwt"),
    ),
    Function(
        "tweets",
        "Post, read and delete tweets; threads; likes and retweets",
        routes=(
            _r("POST", "/tweets", "create_tweet"),
            _r("GET", "/tweets/{tweet_id}", "get_tweet", public_cache_s=10),
            _r("DELETE", "/tweets/{tweet_id}", "delete_tweet"),
            _r("GET", "/tweets/{tweet_id}/replies", "replies", public_cache_s=10),
            _r("POST", "/tweets/{tweet_id}/like", "like", stream_write=True),
            _r("DELETE", "/tweets/{tweet_id}/like", "unlike", stream_write=True),
            _r("POST", "/tweets/{tweet_id}/retweet", "retweet", stream_write=True),
            _r("DELETE", "/tweets/{tweet_id}/retweet", "unretweet", stream_write=True),
            _r("POST", "/tweets/{tweet_id}/bookmark", "bookmark"),
            _r("DELETE", "/tweets/{tweet_id}/bookmark", "unbookmark"),
            _r("GET", "/bookmarks", "bookmarks"),
        ),
        uses=("keyspaces", "cache", "graph", "stream", "media", "jwt"),
    ),
    Function(
        "timeline",
        "Home timeline (hybrid fan-out) and the long-poll fallback",
        routes=(
            _r("GET", "/timeline/home", "home"),
            _r("GET", "/timeline/poll", "poll"),
        ),
        uses=("keyspaces", "cache", "graph"),
        timeout_s=29,
    ),
    Function(
        "search",
        "Tweet and user search",
        routes=(
            _r("GET", "/search", "search_tweets", public_cache_s=10),
            _r("GET", "/search/users", "search_users"),
        ),
        uses=("keyspaces", "cache", "graph", "search", "jwt"),
    ),
    Function(
        "trends",
        "Trending hashtags",
        routes=(_r("GET", "/trends", "trends", public_cache_s=30),),
        uses=("cache", "jwt"),
        memory_mb=256,
    ),
    Function(
        "notifications",
        "Notifications and read markers",
        routes=(
            _r("GET", "/notifications", "list_notifications"),
            _r("POST", "/notifications/read", "mark_read", stream_write=True),
        ),
        uses=("keyspaces",),
        memory_mb=256,
    ),
    Function(
        "media",
        "Presigned media uploads",
        routes=(_r("POST", "/media", "create_upload"),),
        uses=("keyspaces", "cache", "media"),
        memory_mb=256,
    ),
    Function(
        "realtime",
        "WebSocket connections: register, unregister, ping",
        ws_routes=(
            WebSocketRoute("$connect", authorizer=True),
            WebSocketRoute("$disconnect"),
            WebSocketRoute("$default"),
        ),
        uses=("cache", "graph", "ws_management"),
        memory_mb=256,
    ),
    Function(
        "fanout",
        "Stream consumer: home-timeline fan-out and real-time push of new tweets",
        # Audiences above one chunk go back on the stream as FOLLOWER_CHUNK events ("stream"), each under its own
        # partition key: up to 10 batches per shard run at once, one author's events still in order.
        # Enhanced fan-out: home timelines and pushes are what users wait for.
        stream=StreamTrigger(batch_size=100, parallelization_factor=10, enhanced_fan_out=True),
        uses=("keyspaces", "cache", "graph", "stream", "ws_management"),
        memory_mb=1024,
        timeout_s=60,
    ),
    Function(
        "indexer",
        "Stream consumer: search index",
        # No batching window: Lambda polls each shard about once a second already, so busy shards still fill
        # batches of up to 500, and a quiet one indexes a tweet within ~1 s (searchable in <= 2 s).
        stream=StreamTrigger(batch_size=500),
        uses=("search", "keyspaces", "cache"),  # cache: the tweet cache's tombstones (is a tweet still there?)
        timeout_s=60,
    ),
    Function(
        "trender",
        "Stream consumer: trending hashtags",
        stream=StreamTrigger(batch_size=500, max_batching_window_s=1),
        uses=("cache", "keyspaces", "graph"),
        timeout_s=60,
    ),
    Function(
        "notifier",
        "Stream consumer: notifications and their real-time push",
        stream=StreamTrigger(batch_size=100, enhanced_fan_out=True),  # pushed notifications are waited for
        uses=("keyspaces", "cache", "ws_management"),
        timeout_s=60,
    ),
    Function(
        "actions",
        "Stream consumer: applies the writes accepted straight onto the stream (likes, retweets, follows, reads)",
        # Only on the async write path do its intent events exist; it ignores every other event. Idempotent: each
        # intent sets a state (liked or not, following or not), so a redelivery or a client's retry changes nothing.
        # Filtered to the intents: on the sync write path there are none, and the consumer is never invoked.
        stream=StreamTrigger(
            batch_size=100,
            event_types=("like_requested", "retweet_requested", "follow_requested", "read_requested"),
        ),
        uses=("keyspaces", "cache", "graph", "stream", "ws_management"),
        timeout_s=60,
    ),
)


def integration(route: Route, write_path: WritePath) -> Literal["lambda", "stream"]:
    """What answers a route: its function, or (fire-and-forget writes on the async write path) the stream."""
    return "stream" if route.stream_write and write_path == "async" else "lambda"


def function(name: str) -> Function:
    for fn in FUNCTIONS:
        if fn.name == name:
            return fn
    raise KeyError(name)


def all_routes() -> list[tuple[Function, Route]]:
    return [(fn, route) for fn in FUNCTIONS for route in fn.routes]


def authorizer_function() -> Function:
    return next(fn for fn in FUNCTIONS if fn.authorizer)


def stream_consumers() -> list[Function]:
    return [fn for fn in FUNCTIONS if fn.stream is not None]


def websocket_function() -> Function:
    return next(fn for fn in FUNCTIONS if fn.ws_routes)


def client_config(*, api_url: str, ws_url: str, media_url: str) -> dict[str, str]:
    """The web client's /config.json, written by the local runtime and by the CDK app alike."""
    return {"api_url": api_url, "ws_url": ws_url, "media_url": media_url}

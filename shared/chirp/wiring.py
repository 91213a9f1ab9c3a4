"""The one declarative table of functions, routes, triggers and environment.

Both the CDK app and the local runtime read this table; nothing else lists routes. Each function's handler binds
its operations by name, and a test checks that every route here has exactly one bound operation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

API_PREFIX = "/api/v1"
Resource = Literal["keyspaces", "cache", "graph", "search", "media", "stream", "ws_management", "jwt"]


@dataclass(frozen=True, slots=True)
class Route:
    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str
    operation: str
    auth: bool = True

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
    max_retries: int = 3
    max_record_age_s: int = 3600
    bisect_on_error: bool = True
    parallelization_factor: int = 1


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


def _r(method: Literal["GET", "POST", "PUT", "DELETE"], path: str, operation: str, *, auth: bool = True) -> Route:
    return Route(method, API_PREFIX + path, operation, auth)


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
            _r("GET", "/users/{username}", "get_profile"),
            _r("POST", "/users/{username}/follow", "follow"),
            _r("DELETE", "/users/{username}/follow", "unfollow"),
            _r("GET", "/users/{username}/followers", "followers"),
            _r("GET", "/users/{username}/following", "following"),
            _r("GET", "/users/{username}/tweets", "user_tweets"),
        ),
        uses=("keyspaces", "cache", "graph", "stream", "ws_management"),
    ),
    Function(
        "tweets",
        "Post, read and delete tweets; threads; likes and retweets",
        routes=(
            _r("POST", "/tweets", "create_tweet"),
            _r("GET", "/tweets/{tweet_id}", "get_tweet"),
            _r("DELETE", "/tweets/{tweet_id}", "delete_tweet"),
            _r("GET", "/tweets/{tweet_id}/replies", "replies"),
            _r("POST", "/tweets/{tweet_id}/like", "like"),
            _r("DELETE", "/tweets/{tweet_id}/like", "unlike"),
            _r("POST", "/tweets/{tweet_id}/retweet", "retweet"),
            _r("DELETE", "/tweets/{tweet_id}/retweet", "unretweet"),
        ),
        uses=("keyspaces", "cache", "graph", "stream", "media"),
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
            _r("GET", "/search", "search_tweets"),
            _r("GET", "/search/users", "search_users"),
        ),
        uses=("keyspaces", "cache", "graph", "search"),
    ),
    Function("trends", "Trending hashtags", routes=(_r("GET", "/trends", "trends"),), uses=("cache",), memory_mb=256),
    Function(
        "notifications",
        "Notifications and read markers",
        routes=(
            _r("GET", "/notifications", "list_notifications"),
            _r("POST", "/notifications/read", "mark_read"),
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
        stream=StreamTrigger(batch_size=100, parallelization_factor=10),
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
        stream=StreamTrigger(batch_size=100),
        uses=("keyspaces", "cache", "ws_management"),
        timeout_s=60,
    ),
)


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

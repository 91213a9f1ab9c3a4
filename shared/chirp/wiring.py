"""The one declarative table of functions, routes, triggers and environment.

Both the CDK app and the local runtime read this table; nothing else lists routes. Each function's handler binds
its operations by name, and a test checks that every route here has exactly one bound operation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

API_PREFIX = "/api/v1"
# Where Mastodon apps open their streaming WebSocket (<streaming base>/api/v1/streaming): the WebSocket API answers
# it (locally the gateway's route, on AWS the streaming domain's API mapping) with the same routes as its root.
MASTODON_STREAMING_PATH = API_PREFIX + "/streaming"
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
# Which REST API a route belongs to: Chirp's own, or the Mastodon-compatible one (chirp.mastodon), which has its own
# base URL (apps expect Mastodon's paths at a host's root, and some of them clash with Chirp's).
Surface = Literal["chirp", "mastodon"]


@dataclass(frozen=True, slots=True)
class Route:
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    operation: str
    auth: bool = True
    stream_write: bool = False  # fire-and-forget: may go straight onto the stream (write_path "async")
    # > 0: a read that signed-out readers may make too, answered for everyone alike and cacheable at the edge
    # (CloudFront on AWS, the local gateway's /_edge stand-in) for this many seconds. A signed-in request to it still
    # gets the viewer's flags and is never cacheable (Cache-Control: private, no-store, like every other answer).
    public_cache_s: int = 0
    surface: Surface = "chirp"
    # The OAuth scope a Mastodon route needs ("read:statuses", "write:follows" ...; granted by it or by its top-level
    # scope, "follow" granting the follows scopes as Mastodon's legacy scope does); "" needs none beyond a token.
    scope: str = ""

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
class ObjectTrigger:
    """Invoked for each object created in the media bucket under ``prefix``: an S3 event notification on AWS
    (asynchronous invocation: Lambda retries twice, then the on-failure destination), the media store's own
    notification locally (the embedded store's listeners; moto's S3 on the servers backend)."""

    prefix: str
    # Attempts at one object within an invocation before it is dead-lettered (a store outage; refused files are
    # not failures: their record says why).
    quarantine_after: int = 3


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    description: str
    routes: tuple[Route, ...] = ()
    ws_routes: tuple[WebSocketRoute, ...] = ()
    stream: StreamTrigger | None = None
    objects: ObjectTrigger | None = None
    authorizer: bool = False
    uses: tuple[Resource, ...] = ()
    memory_mb: int = 512
    timeout_s: int = 10
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def handler_path(self) -> str:
        return f"functions/{self.name}/handler.py"


def _r(
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"],
    path: str,
    operation: str,
    *,
    auth: bool = True,
    stream_write: bool = False,
    public_cache_s: int = 0,
) -> Route:
    return Route(method, API_PREFIX + path, operation, auth, stream_write, public_cache_s)


def _m(method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"], path: str, operation: str, scope: str = "") -> Route:
    """A route of the Mastodon surface, at the root of its own host; no scope: a public route (no token)."""
    return Route(method, path, operation, auth=bool(scope), surface="mastodon", scope=scope)


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
        uses=("jwt", "keyspaces"),  # keyspaces: the account exists and the token is not revoked (token version)
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
            _r("GET", "/users/suggestions", "user_suggestions"),  # before /users/{username}: first match wins
            _r("GET", "/users/me", "get_me"),  # "me" is reserved: no account has that name
            _r("PATCH", "/users/me", "update_me"),
            _r("DELETE", "/users/me", "delete_me"),
            _r("POST", "/users/me/password", "change_password"),
            _r("GET", "/users/{username}", "get_profile", public_cache_s=30),
            _r("GET", "/users/{username}/likes", "user_likes"),
            _r("POST", "/users/{username}/follow", "follow", stream_write=True),
            _r("DELETE", "/users/{username}/follow", "unfollow", stream_write=True),
            _r("GET", "/users/{username}/followers", "followers"),
            _r("GET", "/users/{username}/following", "following"),
            _r("GET", "/users/{username}/tweets", "user_tweets", public_cache_s=10),
            _r("POST", "/users/{username}/block", "block_user"),
            _r("DELETE", "/users/{username}/block", "unblock_user"),
            _r("POST", "/users/{username}/mute", "mute_user"),
            _r("DELETE", "/users/{username}/mute", "unmute_user"),
            _r("GET", "/blocks", "list_blocks"),
            _r("GET", "/mutes", "list_mutes"),
        ),
        # media: an avatar's square crops are made (and its objects read and written) when the profile names it
        uses=("keyspaces", "cache", "graph", "stream", "ws_management", "jwt", "media"),
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
        "Presigned media uploads (videos in parts), their processing state and alt text",
        routes=(
            _r("POST", "/media", "create_upload"),
            _r("POST", "/media/{media_id}/complete", "complete_upload"),
            _r("GET", "/media/{media_id}", "get_media"),
            _r("PUT", "/media/{media_id}", "set_alt_text"),
        ),
        uses=("keyspaces", "cache", "media"),
        memory_mb=256,
    ),
    Function(
        "media_processor",
        "Object-created consumer: checks each upload and makes its renditions (Pillow), or refuses it",
        # Pillow decodes a 12 MP photo into ~36 MB of pixels, and more memory is more CPU on Lambda (~0.3 s an image).
        objects=ObjectTrigger(prefix="uploads/"),
        uses=("keyspaces", "media"),
        memory_mb=1024,
        timeout_s=60,
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
        uses=("keyspaces", "cache", "graph", "ws_management"),  # graph: recipients' blocks and mutes
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
    Function(
        "eraser",
        "Stream consumer: erases what is left of a deleted account, stage by stage (chirp.services.erasure)",
        # Invoked only for account deletions (rare); a big account's stages come back as continuation events, a
        # batch of work each, so one invocation stays well inside the timeout. Idempotent per stage.
        stream=StreamTrigger(batch_size=10, event_types=("account_deleted",)),
        uses=("keyspaces", "cache", "graph", "stream", "ws_management", "media"),  # media: the avatar crops go
        timeout_s=60,
    ),
)


MASTODON_FUNCTION = Function(
    "mastodon",
    "The Mastodon-compatible client API (OAuth, accounts, statuses, timelines, notifications, search, media)",
    routes=(
        _m("GET", "/openapi.json", "openapi"),
        _m("GET", "/api/v1/instance", "instance_v1"),
        _m("GET", "/api/v2/instance", "instance_v2"),
        _m("GET", "/.well-known/oauth-authorization-server", "oauth_server_info"),
        _m("POST", "/api/v1/apps", "create_app"),
        _m("GET", "/oauth/authorize", "authorize_page"),
        _m("POST", "/oauth/authorize", "authorize_submit"),
        _m("POST", "/oauth/token", "oauth_token"),
        _m("POST", "/oauth/revoke", "oauth_revoke"),
        _m("GET", "/api/v1/custom_emojis", "custom_emojis"),
        _m("GET", "/api/v1/trends/tags", "trends_tags"),
        _m("GET", "/api/v1/apps/verify_credentials", "verify_app", "read"),
        _m("GET", "/api/v1/accounts/verify_credentials", "verify_credentials", "read:accounts"),
        _m("PATCH", "/api/v1/accounts/update_credentials", "update_credentials", "write:accounts"),
        _m("GET", "/api/v1/accounts/lookup", "account_lookup", "read:accounts"),
        _m("GET", "/api/v1/accounts/relationships", "relationships", "read:follows"),
        _m("GET", "/api/v1/accounts/{account_id}", "account", "read:accounts"),
        _m("GET", "/api/v1/accounts/{account_id}/statuses", "account_statuses", "read:statuses"),
        _m("GET", "/api/v1/accounts/{account_id}/followers", "account_followers", "read:accounts"),
        _m("GET", "/api/v1/accounts/{account_id}/following", "account_following", "read:accounts"),
        _m("POST", "/api/v1/accounts/{account_id}/follow", "account_follow", "write:follows"),
        _m("POST", "/api/v1/accounts/{account_id}/unfollow", "account_unfollow", "write:follows"),
        _m("POST", "/api/v1/statuses", "create_status", "write:statuses"),
        _m("GET", "/api/v1/statuses/{status_id}", "get_status", "read:statuses"),
        _m("DELETE", "/api/v1/statuses/{status_id}", "delete_status", "write:statuses"),
        _m("GET", "/api/v1/statuses/{status_id}/context", "status_context", "read:statuses"),
        _m("POST", "/api/v1/statuses/{status_id}/favourite", "favourite", "write:favourites"),
        _m("POST", "/api/v1/statuses/{status_id}/unfavourite", "unfavourite", "write:favourites"),
        _m("POST", "/api/v1/statuses/{status_id}/reblog", "reblog", "write:statuses"),
        _m("POST", "/api/v1/statuses/{status_id}/unreblog", "unreblog", "write:statuses"),
        _m("POST", "/api/v1/statuses/{status_id}/bookmark", "bookmark", "write:bookmarks"),
        _m("POST", "/api/v1/statuses/{status_id}/unbookmark", "unbookmark", "write:bookmarks"),
        _m("GET", "/api/v1/bookmarks", "bookmarks", "read:bookmarks"),
        _m("GET", "/api/v1/favourites", "favourites", "read:favourites"),
        _m("POST", "/api/v1/accounts/{account_id}/block", "account_block", "write:blocks"),
        _m("POST", "/api/v1/accounts/{account_id}/unblock", "account_unblock", "write:blocks"),
        _m("POST", "/api/v1/accounts/{account_id}/mute", "account_mute", "write:mutes"),
        _m("POST", "/api/v1/accounts/{account_id}/unmute", "account_unmute", "write:mutes"),
        _m("GET", "/api/v1/blocks", "blocks", "read:blocks"),
        _m("GET", "/api/v1/mutes", "mutes", "read:mutes"),
        _m("GET", "/api/v1/preferences", "preferences", "read:accounts"),
        _m("GET", "/api/v1/announcements", "announcements", "read"),
        _m("GET", "/api/v1/follow_requests", "follow_requests", "read:follows"),
        _m("GET", "/api/v1/conversations", "conversations", "read:statuses"),
        _m("GET", "/api/v1/scheduled_statuses", "scheduled_statuses", "read:statuses"),
        _m("GET", "/api/v1/followed_tags", "followed_tags", "read:follows"),
        _m("GET", "/api/v1/timelines/home", "home_timeline", "read:statuses"),
        _m("GET", "/api/v1/timelines/tag/{hashtag}", "tag_timeline", "read:statuses"),
        _m("GET", "/api/v1/notifications", "notifications", "read:notifications"),
        _m("GET", "/api/v2/search", "search", "read:search"),
        _m("GET", "/api/v1/markers", "get_markers", "read:statuses"),
        _m("POST", "/api/v1/markers", "set_markers", "write:statuses"),
        _m("POST", "/api/v2/media", "upload_media", "write:media"),
        _m("GET", "/api/v1/media/{media_id}", "get_media", "write:media"),
        _m("PUT", "/api/v1/media/{media_id}", "update_media", "write:media"),
        _m("GET", "/api/v1/filters", "filters_v1", "read:filters"),
        _m("GET", "/api/v2/filters", "filters_v2", "read:filters"),
        _m("GET", "/api/v1/lists", "lists", "read:lists"),
    ),
    uses=("keyspaces", "cache", "graph", "search", "media", "stream", "jwt"),
    timeout_s=29,
)
FUNCTIONS = (*FUNCTIONS, MASTODON_FUNCTION)


def integration(route: Route, write_path: WritePath) -> Literal["lambda", "stream"]:
    """What answers a route: its function, or (fire-and-forget writes on the async write path) the stream."""
    return "stream" if route.stream_write and write_path == "async" else "lambda"


def function(name: str) -> Function:
    for fn in FUNCTIONS:
        if fn.name == name:
            return fn
    raise KeyError(name)


def all_routes(surface: Surface = "chirp") -> list[tuple[Function, Route]]:
    """The routes of one REST API: Chirp's own (the default) or the Mastodon surface's."""
    return [(fn, route) for fn in FUNCTIONS for route in fn.routes if route.surface == surface]


def authorizer_function() -> Function:
    return next(fn for fn in FUNCTIONS if fn.authorizer)


def stream_consumers() -> list[Function]:
    return [fn for fn in FUNCTIONS if fn.stream is not None]


def object_consumers() -> list[Function]:
    return [fn for fn in FUNCTIONS if fn.objects is not None]


def websocket_function() -> Function:
    return next(fn for fn in FUNCTIONS if fn.ws_routes)


def client_config(*, api_url: str, ws_url: str, media_url: str, auth_url: str | None = None) -> dict[str, str]:
    """The web client's /config.json, written by the local runtime and by the CDK app alike. ``auth_url``: where
    sign-up and sign-in go (the API edge when the web ACL sits only there, ``waf_scope=edge``); else ``api_url``."""
    return {"api_url": api_url, "auth_url": auth_url or api_url, "ws_url": ws_url, "media_url": media_url}

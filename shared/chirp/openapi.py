"""The OpenAPI 3 document of the REST API, generated from the wiring table (paths, methods, auth) and the request
models, with response schemas described here. ``make generated`` writes it to shared/chirp/openapi.json; a test keeps
the committed copy equal to what this module generates."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from chirp import __version__, wiring
from chirp.api_models import CreateTweetRequest, LoginRequest, MarkReadRequest, MediaUploadRequest, SignupRequest
from chirp.http import IDEMPOTENCY_KEY_MAX, IDEMPOTENCY_KEY_PATTERN, VISIBLE_CHAR_PATTERN
from chirp.ids import ID_PATTERN

_S = "string"
_ID = {"type": _S, "pattern": "^[0-9]{1,19}$"}
_NULL_ID = {"type": [_S, "null"], "pattern": "^[0-9]{1,19}$"}
_IN_ID = {"type": _S, "pattern": ID_PATTERN}
_CURSOR = {"type": [_S, "null"]}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required if required is not None else list(props)}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list_of(name: str, key: str, *, with_more: bool = True) -> dict[str, Any]:
    props: dict[str, Any] = {key: {"type": "array", "items": _ref(name)}}
    if with_more:
        props |= {"next_cursor": _CURSOR, "has_more": {"type": "boolean"}}
    return _obj(props)


SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": _obj({"code": {"type": _S}, "message": {"type": _S}})}),
    "Tweet": _obj(
        {
            "tweet_id": _ID,
            "user_id": _ID,
            "username": {"type": _S},
            "content": {"type": _S},
            "created_at": {"type": _S, "format": "date-time"},
            "likes_count": {"type": "integer", "minimum": 0},
            "retweets_count": {"type": "integer", "minimum": 0},
            "replies_count": {"type": "integer", "minimum": 0},
            "media_urls": {"type": "array", "items": {"type": _S}},
            "hashtags": {"type": "array", "items": {"type": _S}},
            "mentions": {"type": "array", "items": {"type": _S}},
            "urls": {"type": "array", "items": {"type": _S}},
            "reply_to": _NULL_ID,
            "quote_tweet": _NULL_ID,
            "liked_by_user": {"type": "boolean"},
            "retweeted_by_user": {"type": "boolean"},
        }
    ),
    "TweetPage": _list_of("Tweet", "tweets"),
    "UserSummary": _obj(
        {
            "user_id": _ID,
            "username": {"type": _S},
            "display_name": {"type": _S},
            "follower_count": {"type": "integer"},
            "followed_by_me": {"type": "boolean"},
        }
    ),
    "UserPage": _list_of("UserSummary", "users"),
    "UserList": _list_of("UserSummary", "users", with_more=False),
    "Profile": _obj(
        {
            "user_id": _ID,
            "username": {"type": _S},
            "display_name": {"type": _S},
            "bio": {"type": _S},
            "created_at": {"type": _S, "format": "date-time"},
            "follower_count": {"type": "integer"},
            "following_count": {"type": "integer"},
            "tweet_count": {"type": "integer"},
            "followed_by_me": {"type": "boolean"},
            "follows_me": {"type": "boolean"},
        }
    ),
    "Relationship": _obj(
        {"username": {"type": _S}, "following": {"type": "boolean"}, "follower_count": {"type": "integer"}}
    ),
    "Signup": _obj(
        {"user_id": _ID, "username": {"type": _S}, "token": {"type": _S}, "expires_in": {"type": "integer"}}
    ),
    "Login": _obj({"token": {"type": _S}, "expires_in": {"type": "integer"}, "user_id": _ID, "username": {"type": _S}}),
    "Notification": _obj(
        {
            "notification_id": _ID,
            "type": {"type": _S, "enum": ["mention", "like", "retweet", "reply", "quote", "follow"]},
            "actor": _obj({"user_id": _ID, "username": {"type": _S}}),
            "tweet_id": _NULL_ID,
            "created_at": {"type": _S, "format": "date-time"},
            "read": {"type": "boolean"},
        }
    ),
    "NotificationPage": _obj(
        {
            "notifications": {"type": "array", "items": _ref("Notification")},
            "next_cursor": _CURSOR,
            "has_more": {"type": "boolean"},
            "unread_count": {"type": "integer"},
        }
    ),
    "MarkRead": _obj({"marked": {"type": "integer"}, "unread_count": {"type": "integer"}}),
    "Trends": _obj(
        {
            "trends": {
                "type": "array",
                "items": _obj(
                    {"hashtag": {"type": _S}, "score": {"type": "number"}, "tweet_count": {"type": "integer"}}
                ),
            },
            "as_of": {"type": _S, "format": "date-time"},
            "window_s": {"type": "integer"},
        }
    ),
    "SearchResult": _obj(
        {
            "tweets": {"type": "array", "items": _ref("Tweet")},
            "next_cursor": _CURSOR,
            "search_metadata": _obj(
                {
                    "query": {"type": _S},
                    "result_type": {"type": _S},
                    "count": {"type": "integer"},
                    "completed_in": {"type": "number"},
                }
            ),
        }
    ),
    "MediaUpload": _obj(
        {
            "media_id": {"type": _S},
            "media_url": {"type": _S},
            "upload": _obj(
                {
                    "url": {"type": _S},
                    "method": {"type": _S},
                    "headers": {"type": "object", "additionalProperties": {"type": _S}},
                    "fields": {"type": "object", "additionalProperties": {"type": _S}},
                }
            ),
            "expires_in": {"type": "integer"},
        }
    ),
    "Poll": _obj({"tweets": {"type": "array", "items": _ref("Tweet")}, "newest_id": _NULL_ID}),
    "Deleted": _obj({"deleted": {"type": "boolean"}, "tweet_id": {"type": _S}}),
    "Health": _obj({"status": {"type": _S}}),
}

_PAGING = ["cursor", "count"]
_GRAPH_PAGING = ["page_cursor", "count"]
# operation -> (success status, response schema, query parameters, request model)
OPERATIONS: dict[str, tuple[int, str, list[str], type[BaseModel] | None]] = {
    "health": (200, "Health", [], None),
    "openapi": (200, "", [], None),
    "signup": (201, "Signup", [], SignupRequest),
    "login": (200, "Login", [], LoginRequest),
    "get_profile": (200, "Profile", [], None),
    "follow": (200, "Relationship", [], None),
    "unfollow": (200, "Relationship", [], None),
    "followers": (200, "UserPage", _GRAPH_PAGING, None),
    "following": (200, "UserPage", _GRAPH_PAGING, None),
    "user_tweets": (200, "TweetPage", _PAGING, None),
    "create_tweet": (201, "Tweet", [], CreateTweetRequest),
    "get_tweet": (200, "Tweet", [], None),
    "delete_tweet": (200, "Deleted", [], None),
    "replies": (200, "TweetPage", _PAGING, None),
    "like": (200, "Tweet", [], None),
    "unlike": (200, "Tweet", [], None),
    "retweet": (200, "Tweet", [], None),
    "unretweet": (200, "Tweet", [], None),
    "home": (200, "TweetPage", _PAGING, None),
    "poll": (200, "Poll", ["since_id", "timeout", "count"], None),
    "search_tweets": (200, "SearchResult", ["q", "type", "cursor", "count"], None),
    "search_users": (200, "UserList", ["user_q", "count"], None),
    "trends": (200, "Trends", ["trends_count"], None),
    "list_notifications": (200, "NotificationPage", _PAGING, None),
    "mark_read": (200, "MarkRead", [], MarkReadRequest),
    "create_upload": (201, "MediaUpload", [], MediaUploadRequest),
}

_PARAMETERS: dict[str, dict[str, Any]] = {
    "cursor": {"schema": _IN_ID, "description": "next_cursor of the previous page"},
    "page_cursor": {
        "name": "cursor",
        "schema": {"type": _S, "minLength": 1, "maxLength": 200},
        "description": "next_cursor of the previous page (opaque)",
    },
    "count": {"schema": {"type": "integer", "minimum": 1, "maximum": 100}},
    "trends_count": {"name": "count", "schema": {"type": "integer", "minimum": 1, "maximum": 30}},
    "user_q": {
        "name": "q",
        "schema": {"type": _S, "minLength": 1, "maxLength": 50, "pattern": "[^@\\s]"},
        "required": True,
    },
    "since_id": {"schema": _IN_ID},
    "timeout": {"schema": {"type": "integer", "minimum": 0, "maximum": 20}, "description": "seconds to wait"},
    "q": {"schema": {"type": _S, "minLength": 1, "maxLength": 500, "pattern": VISIBLE_CHAR_PATTERN}, "required": True},
    "type": {"schema": {"type": _S, "enum": ["recent", "top"]}},
}
_ERRORS = {
    "400": "invalid input",
    "401": "missing, invalid or expired token",
    "403": "not allowed",
    "404": "not found",
    "409": "conflict",
    "413": "body too large",
    "422": "cannot be applied as asked",
    "429": "rate limited",
    "503": "a backing store is unavailable",
}
# Where an operation gives a status a more specific meaning than _ERRORS does.
_OPERATION_ERRORS: dict[str, dict[str, str]] = {
    "create_tweet": {
        "409": "idempotency_request_in_progress: a request with this Idempotency-Key is still in flight; retry shortly",
        "422": "idempotency_key_reused: this Idempotency-Key was already used for a different request",
    },
}


def _error_responses(route: wiring.Route, has_body: bool) -> dict[str, Any]:
    codes = ["400", "404", "503"]
    if route.auth:
        codes += ["401", "403"]
    if has_body:
        codes += ["413"]
    if route.operation in ("signup", "create_tweet"):
        codes += ["409"]
    if route.operation == "create_tweet":
        codes += ["422"]
    if route.operation in ("create_tweet", "create_upload", "login", "signup"):
        codes += ["429"]
    if route.operation == "login":
        codes += ["401"]
    described = {**_ERRORS, **_OPERATION_ERRORS.get(route.operation, {})}
    return {
        c: {"description": described[c], "content": {"application/json": {"schema": _ref("Error")}}}
        for c in sorted(set(codes))
    }


def _operation(route: wiring.Route, function: str) -> dict[str, Any]:
    status, schema, query, model = OPERATIONS[route.operation]
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": _S}} for name in _path_params(route.path)
    ]
    params += [{"name": name, "in": "query", "required": False, **_PARAMETERS[name]} for name in query]
    for param in params:
        if param["in"] == "path" and param["name"] == "tweet_id":
            param["schema"] = _IN_ID
    if route.operation == "create_tweet":
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {
                    "type": _S,
                    "minLength": 1,
                    "maxLength": IDEMPOTENCY_KEY_MAX,
                    "pattern": IDEMPOTENCY_KEY_PATTERN,
                },
                "description": "Makes the post safe to retry (keys are per user). The same key with the same body "
                "returns the tweet the first request posted; with a different body it is a 422 "
                "(idempotency_key_reused); while the first request is still in flight, a 409 "
                "(idempotency_request_in_progress).",
            }
        )
    body_schema = {"type": "object"} if not schema else _ref(schema)
    op: dict[str, Any] = {
        "operationId": route.operation,
        "tags": [function],
        "parameters": params,
        "responses": {
            str(status): {"description": "success", "content": {"application/json": {"schema": body_schema}}},
            **_error_responses(route, model is not None),
        },
    }
    if model is not None:
        op["requestBody"] = {
            "required": route.operation != "mark_read",
            "content": {"application/json": {"schema": _ref(model.__name__)}},
        }
    if not route.auth:
        op["security"] = []
    return op


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for fn, route in wiring.all_routes():
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, fn.name)
    schemas = dict(SCHEMAS)
    for model in (SignupRequest, LoginRequest, CreateTweetRequest, MediaUploadRequest, MarkReadRequest):
        schemas[model.__name__] = model.model_json_schema()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Chirp API",
            "version": __version__,
            "description": 'A serverless Twitter backend. Errors are {"error": {"code", "message"}}.',
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def render() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


COMMITTED = Path(__file__).with_name("openapi.json")

if __name__ == "__main__":
    COMMITTED.write_text(render())
    print(f"wrote {COMMITTED}")

"""The OpenAPI 3 document of the REST API, generated from the wiring table (paths, methods, auth) and the bodies of
``chirp.api_models`` (requests and responses: the types the handlers parse and return). ``make generated`` writes
it to shared/chirp/openapi.json; a test keeps the committed copy equal to what this module generates."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from chirp import __version__, wiring
from chirp import api_models as m
from chirp.http import IDEMPOTENCY_KEY_MAX, IDEMPOTENCY_KEY_PATTERN
from chirp.ids import ID_PATTERN
from chirp.places import PLACE_PATTERN
from chirp.ports import LIKES_CURSOR_PATTERN
from chirp.text import VISIBLE_CHAR_PATTERN

_S = "string"
_IN_ID = {"type": _S, "pattern": ID_PATTERN}
_REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(model=name)}


_PAGING = ["cursor", "count"]
_GRAPH_PAGING = ["page_cursor", "count"]
# operation -> (success status, response type (None: any object), query parameters, request model)
OPERATIONS: dict[str, tuple[int, type | None, list[str], type[BaseModel] | None]] = {
    "health": (200, m.Health, [], None),
    "openapi": (200, None, [], None),
    "signup": (201, m.Signup, [], m.SignupRequest),
    "login": (200, m.Login, [], m.LoginRequest),
    "get_me": (200, m.Me, [], None),
    "update_me": (200, m.Me, [], m.UpdateProfileRequest),
    "delete_me": (200, m.AccountDeletion, [], m.DeleteAccountRequest),
    "change_password": (200, m.Login, [], m.ChangePasswordRequest),
    "get_profile": (200, m.Profile, [], None),
    "user_likes": (200, m.TweetPage, ["likes_cursor", "count"], None),
    "follow": (200, m.Relationship, [], None),
    "unfollow": (200, m.Relationship, [], None),
    "followers": (200, m.UserPage, _GRAPH_PAGING, None),
    "following": (200, m.UserPage, _GRAPH_PAGING, None),
    "user_tweets": (200, m.TweetPage, _PAGING, None),
    "user_suggestions": (200, m.Suggestions, ["suggestions_count"], None),
    "block_user": (200, m.SafetyState, [], None),
    "unblock_user": (200, m.SafetyState, [], None),
    "mute_user": (200, m.SafetyState, [], None),
    "unmute_user": (200, m.SafetyState, [], None),
    "list_blocks": (200, m.UserList, [], None),
    "list_mutes": (200, m.UserList, [], None),
    "create_tweet": (201, m.Tweet, [], m.CreateTweetRequest),
    "get_tweet": (200, m.Tweet, [], None),
    "delete_tweet": (200, m.Deleted, [], None),
    "replies": (200, m.TweetPage, _PAGING, None),
    "like": (200, m.Tweet, [], None),
    "unlike": (200, m.Tweet, [], None),
    "retweet": (200, m.Tweet, [], None),
    "unretweet": (200, m.Tweet, [], None),
    "bookmark": (200, m.Bookmark, [], None),
    "unbookmark": (200, m.Bookmark, [], None),
    "bookmarks": (200, m.TweetPage, _PAGING, None),
    "home": (200, m.TweetPage, _PAGING, None),
    "poll": (200, m.Poll, ["since_id", "timeout", "count"], None),
    "search_tweets": (200, m.SearchResult, ["q", "type", "cursor", "count"], None),
    "search_users": (200, m.UserList, ["user_q", "count"], None),
    "trends": (200, m.Trends, ["trends_count", "place"], None),
    "list_notifications": (200, m.NotificationPage, _PAGING, None),
    "mark_read": (200, m.MarkRead, [], m.MarkReadRequest),
    "create_upload": (201, m.MediaUpload, [], m.MediaUploadRequest),
    "complete_upload": (200, m.Media, [], m.CompleteUploadRequest),
    "get_media": (200, m.Media, [], None),
    "set_alt_text": (200, m.Media, [], m.MediaAltTextRequest),
}

_PARAMETERS: dict[str, dict[str, Any]] = {
    "cursor": {"schema": _IN_ID, "description": "next_cursor of the previous page"},
    "page_cursor": {
        "name": "cursor",
        "schema": {"type": _S, "minLength": 1, "maxLength": 200},
        "description": "next_cursor of the previous page (opaque)",
    },
    "count": {"schema": {"type": "integer", "minimum": 1, "maximum": 100}},
    "likes_cursor": {
        "name": "cursor",
        "schema": {"type": _S, "pattern": LIKES_CURSOR_PATTERN},
        "description": "next_cursor of the previous page",
    },
    "trends_count": {"name": "count", "schema": {"type": "integer", "minimum": 1, "maximum": 30}},
    "suggestions_count": {"name": "count", "schema": {"type": "integer", "minimum": 1, "maximum": 50}},
    "place": {
        "schema": {"type": _S, "pattern": PLACE_PATTERN},
        "description": "ISO 3166-1 alpha-2 country code: that place's trends (absent or empty: worldwide)",
    },
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
        "422": "idempotency_key_reused: this Idempotency-Key was already used for a different request",
        "409": "idempotency_request_in_progress: a request with this Idempotency-Key is still in flight; retry shortly;"
        " or media_not_ready: an attached medium is still being processed (GET /media/{id}); retry once ready",
    },
    "set_alt_text": {"409": "media_posted: the alt text cannot change once the media is posted"},
    "complete_upload": {"409": "not_multipart: the media has no upload in parts (or it was completed already)"},
}


def _error_responses(route: wiring.Route, has_body: bool) -> dict[str, Any]:
    codes = ["400", "404", "503"]
    if route.auth:
        codes += ["401", "403"]
    if has_body:
        codes += ["413"]
    if route.operation in ("signup", "create_tweet", "set_alt_text", "complete_upload"):
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
    status, response, query, model = OPERATIONS[route.operation]
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
    body_schema = {"type": "object"} if response is None else _ref(response.__name__)
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
    elif route.optional_auth:  # signed out (no requirement) or with a bearer token (the viewer's flags)
        op["security"] = [{}, {"bearer": []}]
        op["description"] = (
            f"Signed-out readers welcome: the answer is the same for all of them and cacheable for "
            f"{route.public_cache_s} s (Cache-Control: public). With a token it carries the viewer's flags and is "
            "private, no-store."
        )
    return op


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _absent_not_null(schema: dict[str, Any]) -> None:
    """A response field that may have no value is left out rather than sent as null (chirp.http.compact_json): in
    the document it is an optional property of the non-null type."""
    required = schema.get("required", [])
    for name, prop in schema.get("properties", {}).items():
        branches = [b for b in prop.get("anyOf", []) if b != {"type": "null"}]
        if len(branches) < len(prop.get("anyOf", [])):
            del prop["anyOf"]
            prop.update(branches[0] if len(branches) == 1 else {"anyOf": branches})
            if name in required:
                required.remove(name)


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for fn, route in wiring.all_routes():
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, fn.name)
    schemas: dict[str, Any] = {}
    bodies: list[Any] = [m.Error] + [t for _, res, _, req in OPERATIONS.values() for t in (res, req) if t]
    responses = {res for _, res, _, _ in OPERATIONS.values() if res}
    for body in dict.fromkeys(bodies):
        schema = TypeAdapter(body).json_schema(ref_template=_REF)
        nested = schema.pop("$defs", {})
        if body in responses:
            for component in (schema, *nested.values()):
                _absent_not_null(component)
        schemas.update(nested)  # nested objects become components of their own
        schemas[body.__name__] = schema
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

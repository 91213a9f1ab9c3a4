"""The OpenAPI 3 document of the Mastodon surface, generated from the wiring table's Mastodon routes (paths,
methods, the OAuth scope each needs) and the parameters its handlers read. Entities are documented as objects (their
shapes are Mastodon's, https://docs.joinmastodon.org/entities/); errors as Mastodon's ``{"error": "..."}``.
Served at ``/openapi.json`` of the surface; Schemathesis fuzzes the running surface with it."""

from __future__ import annotations

from typing import Any

from chirp import __version__, wiring
from chirp.ids import ID_PATTERN
from chirp.mastodon import scopes
from chirp.mastodon.pagination import MAX_LIMIT

_STR: dict[str, Any] = {"type": "string"}
_ERROR = "#/components/schemas/Error"
_ID: dict[str, Any] = {"type": "string", "pattern": ID_PATTERN}
_PAGING = {
    "max_id": _ID,
    "since_id": _ID,
    "min_id": _ID,
    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
}
_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4")
# operation -> (parameters: name -> schema, required names); GET: the query's, others: the form body's.
PARAMETERS: dict[str, tuple[dict[str, dict[str, Any]], tuple[str, ...]]] = {
    "create_app": (
        {"client_name": {"type": "string", "minLength": 1, "maxLength": 200}, "redirect_uris": _STR, "scopes": _STR,
         "website": _STR},
        ("client_name",),
    ),
    "authorize_page": (
        {"client_id": _STR, "redirect_uri": _STR, "response_type": {"enum": ["code"]}, "scope": _STR, "state": _STR,
         "code_challenge": _STR, "code_challenge_method": {"enum": ["S256", "plain"]}},
        ("client_id", "response_type"),
    ),
    "authorize_submit": (
        {"client_id": _STR, "redirect_uri": _STR, "response_type": {"enum": ["code"]}, "scope": _STR, "state": _STR,
         "code_challenge": _STR, "code_challenge_method": {"enum": ["S256", "plain"]}, "username": _STR,
         "password": _STR},
        ("client_id", "username", "password"),
    ),
    "oauth_token": (
        {"grant_type": {"enum": ["authorization_code", "password", "client_credentials"]}, "client_id": _STR,
         "client_secret": _STR, "username": _STR, "password": _STR, "code": _STR, "redirect_uri": _STR,
         "code_verifier": _STR, "scope": _STR},
        ("grant_type", "client_id"),
    ),
    "oauth_revoke": ({"client_id": _STR, "client_secret": _STR, "token": _STR}, ("client_id", "token")),
    "trends_tags": ({"limit": _PAGING["limit"]}, ()),
    "account_lookup": ({"acct": {"type": "string", "minLength": 1, "maxLength": 100}}, ("acct",)),
    "relationships": ({"id[]": {"type": "array", "items": _ID, "maxItems": 40}}, ()),
    "update_credentials": ({"display_name": _STR, "note": _STR}, ()),
    "account_statuses": (
        {**_PAGING, "pinned": {"type": "boolean"}, "exclude_replies": {"type": "boolean"},
         "only_media": {"type": "boolean"}},
        (),
    ),
    "account_followers": ({"max_id": _STR, "limit": _PAGING["limit"]}, ()),
    "account_following": ({"max_id": _STR, "limit": _PAGING["limit"]}, ()),
    "create_status": (
        {"status": {"type": "string", "minLength": 1, "maxLength": 280}, "in_reply_to_id": _ID,
         "media_ids[]": {"type": "array", "items": _STR, "maxItems": 4}},
        ("status",),
    ),
    "bookmarks": (_PAGING, ()),
    "favourites": ({"max_id": _STR, "limit": _PAGING["limit"]}, ()),
    "home_timeline": (_PAGING, ()),
    "tag_timeline": (_PAGING, ()),
    "notifications": (
        {**_PAGING, "types[]": {"type": "array", "items": {"enum": ["mention", "favourite", "reblog", "follow"]}},
         "exclude_types[]": {"type": "array", "items": {"enum": ["mention", "favourite", "reblog", "follow"]}}},
        (),
    ),
    "search": (
        {"q": {"type": "string", "minLength": 1, "maxLength": 50},
         "type": {"enum": ["accounts", "statuses", "hashtags"]},
         "limit": _PAGING["limit"], "offset": {"type": "integer", "minimum": 0, "maximum": 1000}},
        ("q",),
    ),
    "set_markers": ({"notifications[last_read_id]": _ID}, ()),
    "update_media": ({"description": {"type": "string", "maxLength": 1000}}, ()),
}  # fmt: skip
_STATUSES = {
    "create_app": "200",
    "authorize_submit": "302",
    "upload_media": "202",
}


def document(base_url: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for _, route in wiring.all_routes("mastodon"):
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Chirp's Mastodon-compatible API",
            "version": __version__,
            "description": "Mastodon's client API (https://docs.joinmastodon.org/client/intro/) over Chirp.",
        },
        "servers": [{"url": base_url}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "oauth": {
                    "type": "oauth2",
                    "flows": {
                        "authorizationCode": {
                            "authorizationUrl": f"{base_url}/oauth/authorize",
                            "tokenUrl": f"{base_url}/oauth/token",
                            "scopes": {s: s for s in sorted(scopes.KNOWN)},
                        },
                        "password": {
                            "tokenUrl": f"{base_url}/oauth/token",
                            "scopes": {s: s for s in sorted(scopes.KNOWN)},
                        },
                        "clientCredentials": {"tokenUrl": f"{base_url}/oauth/token", "scopes": {"read": "read"}},
                    },
                },
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": _STR, "error_description": _STR},
                },
            },
        },
    }


def _operation(route: wiring.Route) -> dict[str, Any]:
    fields, required = PARAMETERS.get(route.operation, ({}, ()))
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": _STR} for name in _path_names(route.path)
    ]
    operation: dict[str, Any] = {
        "operationId": route.operation,
        "tags": [route.path.split("/")[3 if route.path.startswith("/api") else 1]],
    }
    if route.method == "GET" or route.operation == "delete_status":
        parameters += [
            {"name": name, "in": "query", "required": name in required, "schema": schema}
            for name, schema in fields.items()
        ]
    elif fields:
        form = (
            {"type": "object", "properties": fields, "required": list(required)}
            if required
            else {"type": "object", "properties": fields}
        )
        operation["requestBody"] = {
            "required": bool(required),
            "content": {"application/x-www-form-urlencoded": {"schema": form}, "application/json": {"schema": form}},
        }
    if route.operation == "upload_media":
        operation["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}, "description": _STR},
                    },
                    "encoding": {"file": {"contentType": ", ".join(_MEDIA_TYPES)}},
                }
            },
        }
    if parameters:
        operation["parameters"] = parameters
    success = _STATUSES.get(route.operation, "200")
    operation["responses"] = {
        success: {"description": "OK", "content": {"application/json": {"schema": {}}}}
        if success != "302"
        else {"description": "To the redirect URI with the code"},
        "default": {
            "description": "An error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
    }
    if route.operation in ("authorize_page", "authorize_submit"):
        operation["responses"]["200"] = {"description": "The sign-in page", "content": {"text/html": {"schema": _STR}}}
        operation["responses"]["401"] = {
            "description": "Wrong username or password (the page again), or an unknown client (an OAuth error)",
            "content": {"text/html": {"schema": _STR}, "application/json": {"schema": {"$ref": _ERROR}}},
        }
    if route.operation in ("upload_media", "get_media"):
        operation["responses"]["200"] = {"description": "Processed", "content": {"application/json": {"schema": {}}}}
        operation["responses"]["202" if route.operation == "upload_media" else "206"] = {
            "description": "Still being processed",
            "content": {"application/json": {"schema": {}}},
        }
    if route.auth:
        operation["security"] = [{"oauth": [route.scope]}, {"bearer": []}]
    return operation


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]

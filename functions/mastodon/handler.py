"""The Mastodon-compatible client API (its own REST API: the paths are Mastodon's, at the root of its host). Each
operation reads its parameters and calls the Mastodon service (``chirp.mastodon.service``: Chirp's services in
Mastodon's shapes) or OAuth (``chirp.mastodon.oauth``)."""

from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import Response

from chirp.container import get_container
from chirp.errors import Unauthorized, ValidationFailed
from chirp.mastodon import consent
from chirp.mastodon.edge import MastodonApp
from chirp.mastodon.oauth import OOB_REDIRECT, OAuthError

app = MastodonApp("mastodon")
EMPTY: list[Any] = []


# -- instance and OAuth (public) ---------------------------------------------------------------------------------
@app.operation("openapi")
def openapi() -> dict[str, Any]:
    from chirp.mastodon.openapi import document

    return document(app.base_url)


@app.operation("instance_v1")
def instance_v1() -> dict[str, Any]:
    return get_container().mastodon.instance_v1()


@app.operation("instance_v2")
def instance_v2() -> dict[str, Any]:
    return get_container().mastodon.instance_v2()


@app.operation("oauth_server_info")
def oauth_server_info() -> dict[str, Any]:
    return get_container().oauth.server_info(app.base_url)


@app.operation("create_app")
def create_app() -> dict[str, Any]:
    oauth = get_container().oauth
    registered = oauth.register(
        name=app.param("client_name") or "",
        redirect_uris=[u for raw in app.param_list("redirect_uris") for u in raw.split()],
        scope=app.param("scopes"),
        website=app.param("website"),
    )
    return oauth.application(registered, with_credentials=True)


@app.operation("verify_app")
def verify_app() -> dict[str, Any]:
    return {"name": "Chirp client", "website": None, "scopes": (app.token_scope() or "read write follow").split()}


@app.operation("oauth_token")
def oauth_token() -> dict[str, Any]:
    oauth = get_container().oauth
    client_id, client_secret = _client_credentials()
    grant_type = app.param("grant_type")
    if grant_type == "password":
        client = oauth.authenticate(client_id, client_secret or "")
        username, password = app.param("username") or "", app.param("password") or ""
        grant = oauth.password_grant(
            client, username=username, password=password, scope=app.param("scope"), source_ip=app.source_ip()
        )
    elif grant_type == "client_credentials":
        client = oauth.authenticate(client_id, client_secret or "")
        grant = oauth.client_credentials_grant(client, scope=app.param("scope"))
    elif grant_type == "authorization_code":
        client = oauth.authenticate(client_id, client_secret)  # a PKCE client may have no secret
        grant = oauth.code_grant(
            client,
            code=app.param("code") or "",
            redirect_uri=app.param("redirect_uri") or OOB_REDIRECT,
            code_verifier=app.param("code_verifier"),
        )
    else:
        raise OAuthError(
            "grant_type must be authorization_code, password or client_credentials", code="unsupported_grant_type"
        )
    return grant.as_json()


@app.operation("oauth_revoke")
def oauth_revoke() -> dict[str, Any]:
    client_id, client_secret = _client_credentials()
    get_container().oauth.authenticate(client_id, client_secret or "")
    if not app.param("token"):
        raise OAuthError("token is required")
    return {}


@app.operation("authorize_page")
def authorize_page() -> Response[str]:
    oauth = get_container().oauth
    params = {name: app.param(name) or "" for name in consent.CARRIED}
    client = oauth.authenticate(params["client_id"], None)
    if params["response_type"] != "code":
        raise OAuthError("response_type must be code", code="unsupported_response_type")
    redirect_uri = params["redirect_uri"] or OOB_REDIRECT
    oauth.check_redirect(client, redirect_uri)
    return app.html(consent.consent_page(client, params, oauth.granted_scope(client, params["scope"] or None)))


@app.operation("authorize_submit")
def authorize_submit() -> Response[str]:
    oauth = get_container().oauth
    params = {name: app.param(name) or "" for name in consent.CARRIED}
    client = oauth.authenticate(params["client_id"], None)
    scope = oauth.granted_scope(client, params["scope"] or None)
    redirect_uri = params["redirect_uri"] or OOB_REDIRECT
    try:
        user = oauth.sign_in(
            username=app.param("username") or "", password=app.param("password") or "", source_ip=app.source_ip()
        )
    except Unauthorized:
        return app.html(consent.consent_page(client, params, scope, error="Wrong username or password."), 401)
    code = oauth.issue_code(
        user,
        client,
        redirect_uri=redirect_uri,
        scope=scope,
        code_challenge=params["code_challenge"] or None,
        code_challenge_method=params["code_challenge_method"] or None,
    )
    if redirect_uri == OOB_REDIRECT:
        return app.html(consent.code_page(code))
    query = urlencode({"code": code, **({"state": params["state"]} if params["state"] else {})})
    separator = "&" if "?" in redirect_uri else "?"
    return app.html("", 302, {"Location": f"{redirect_uri}{separator}{query}"})


def _client_credentials() -> tuple[str | None, str | None]:
    """client_id and client_secret from the body (client_secret_post) or HTTP Basic (client_secret_basic)."""
    import base64
    import binascii

    header = app.header("Authorization") or ""
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("malformed Basic credentials", code="invalid_client") from None
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return app.param("client_id"), app.param("client_secret")


# -- features Chirp lacks: empty but valid ---------------------------------------------------------------------------
@app.operation("custom_emojis")
def custom_emojis() -> list[Any]:
    return EMPTY


@app.operation("filters_v1")
def filters_v1() -> list[Any]:
    return EMPTY


@app.operation("filters_v2")
def filters_v2() -> list[Any]:
    return EMPTY


@app.operation("lists")
def lists() -> list[Any]:
    return EMPTY


@app.operation("trends_tags")
def trends_tags() -> list[dict[str, Any]]:
    return get_container().mastodon.trending_tags(app.paging().limit)


@app.operation("preferences")
def preferences() -> dict[str, Any]:
    app.user()
    return {
        "posting:default:visibility": "public",
        "posting:default:sensitive": False,
        "posting:default:language": None,
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
    }


@app.operation("announcements")
def announcements() -> list[Any]:
    return EMPTY


@app.operation("follow_requests")
def follow_requests() -> list[Any]:
    return EMPTY  # Chirp's accounts are all public: nobody asks to follow


@app.operation("conversations")
def conversations() -> list[Any]:
    return EMPTY  # no direct messages


@app.operation("scheduled_statuses")
def scheduled_statuses() -> list[Any]:
    return EMPTY


@app.operation("followed_tags")
def followed_tags() -> list[Any]:
    return EMPTY


# -- accounts ---------------------------------------------------------------------------------------------------------
@app.operation("verify_credentials")
def verify_credentials() -> dict[str, Any]:
    return get_container().mastodon.verify_credentials(app.user())


@app.operation("update_credentials")
def update_credentials() -> dict[str, Any]:
    return get_container().mastodon.update_credentials(
        app.user(), display_name=app.param("display_name"), note=app.param("note")
    )


@app.operation("account_lookup")
def account_lookup() -> dict[str, Any]:
    acct = app.param("acct")
    if not acct:
        raise ValidationFailed("acct is required")
    return get_container().mastodon.lookup(app.user(), acct)


@app.operation("relationships")
def relationships() -> list[dict[str, Any]]:
    return get_container().mastodon.relationships(app.user(), app.param_list("id"))


@app.operation("account")
def account(account_id: str) -> dict[str, Any]:
    return get_container().mastodon.account(app.user(), account_id)


@app.operation("account_statuses")
def account_statuses(account_id: str) -> Response[str]:
    return app.page(
        get_container().mastodon.account_statuses(
            app.user(),
            account_id,
            app.paging(),
            pinned=app.param_bool("pinned"),
            exclude_replies=app.param_bool("exclude_replies"),
            only_media=app.param_bool("only_media"),
        )
    )


@app.operation("account_followers")
def account_followers(account_id: str) -> Response[str]:
    return app.page(get_container().mastodon.followers(app.user(), account_id, app.paging()))


@app.operation("account_following")
def account_following(account_id: str) -> Response[str]:
    return app.page(get_container().mastodon.followers(app.user(), account_id, app.paging(), following=True))


@app.operation("account_follow")
def account_follow(account_id: str) -> dict[str, Any]:
    return get_container().mastodon.follow(app.user(), account_id, on=True)


@app.operation("account_block")
def account_block(account_id: str) -> dict[str, Any]:
    return get_container().mastodon.safety(app.user(), account_id, "blocks", on=True)


@app.operation("account_unblock")
def account_unblock(account_id: str) -> dict[str, Any]:
    return get_container().mastodon.safety(app.user(), account_id, "blocks", on=False)


@app.operation("account_mute")
def account_mute(account_id: str) -> dict[str, Any]:
    return get_container().mastodon.safety(app.user(), account_id, "mutes", on=True)


@app.operation("account_unmute")
def account_unmute(account_id: str) -> dict[str, Any]:
    return get_container().mastodon.safety(app.user(), account_id, "mutes", on=False)


@app.operation("blocks")
def blocks() -> list[dict[str, Any]]:
    return get_container().mastodon.listed(app.user(), "blocks")


@app.operation("mutes")
def mutes() -> list[dict[str, Any]]:
    return get_container().mastodon.listed(app.user(), "mutes")


@app.operation("account_unfollow")
def account_unfollow(account_id: str) -> dict[str, Any]:
    return get_container().mastodon.follow(app.user(), account_id, on=False)


# -- statuses ---------------------------------------------------------------------------------------------------------
@app.operation("create_status")
def create_status() -> dict[str, Any]:
    if app.param("poll[options]") or app.param("scheduled_at"):
        raise ValidationFailed("polls and scheduled statuses are not supported")
    return get_container().mastodon.create_status(
        app.user(),
        text=app.param("status") or "",
        media_ids=app.param_list("media_ids"),
        in_reply_to_id=app.param("in_reply_to_id"),
        idempotency_key=app.idempotency_key(),
    )


@app.operation("get_status")
def get_status(status_id: str) -> dict[str, Any]:
    return get_container().mastodon.status(app.user(), status_id)


@app.operation("delete_status")
def delete_status(status_id: str) -> dict[str, Any]:
    return get_container().mastodon.delete_status(app.user(), status_id)


@app.operation("status_context")
def status_context(status_id: str) -> dict[str, Any]:
    return get_container().mastodon.context(app.user(), status_id)


@app.operation("favourite")
def favourite(status_id: str) -> dict[str, Any]:
    return get_container().mastodon.favourite(app.user(), status_id, on=True)


@app.operation("unfavourite")
def unfavourite(status_id: str) -> dict[str, Any]:
    return get_container().mastodon.favourite(app.user(), status_id, on=False)


@app.operation("reblog")
def reblog(status_id: str) -> dict[str, Any]:
    return get_container().mastodon.reblog(app.user(), status_id, on=True)


@app.operation("unreblog")
def unreblog(status_id: str) -> dict[str, Any]:
    return get_container().mastodon.reblog(app.user(), status_id, on=False)


@app.operation("bookmark")
def bookmark(status_id: str) -> dict[str, Any]:
    return get_container().mastodon.bookmark(app.user(), status_id, on=True)


@app.operation("unbookmark")
def unbookmark(status_id: str) -> dict[str, Any]:
    return get_container().mastodon.bookmark(app.user(), status_id, on=False)


@app.operation("favourites")
def favourites() -> Response[str]:
    return app.page(get_container().mastodon.favourites(app.user(), app.paging()))


@app.operation("bookmarks")
def bookmarks() -> Response[str]:
    return app.page(get_container().mastodon.bookmarks(app.user(), app.paging()))


# -- timelines, notifications, search, markers, media ---------------------------------------------------------------
@app.operation("home_timeline")
def home_timeline() -> Response[str]:
    return app.page(get_container().mastodon.home(app.user(), app.paging()))


@app.operation("tag_timeline")
def tag_timeline(hashtag: str) -> Response[str]:
    return app.page(get_container().mastodon.tag_timeline(app.user(), hashtag, app.paging()))


@app.operation("notifications")
def notifications() -> Response[str]:
    types, excluded = app.param_list("types"), app.param_list("exclude_types")
    return app.page(
        get_container().mastodon.notifications(app.user(), app.paging(), types=types, exclude_types=excluded)
    )


@app.operation("search")
def search() -> dict[str, Any]:
    paging = app.paging()
    offset = app.param("offset") or "0"
    if not offset.isdigit():
        raise ValidationFailed("offset must be a non-negative integer")
    return get_container().mastodon.search(
        app.user(), app.param("q") or "", kind=app.param("type"), limit=paging.limit, offset=int(offset)
    )


@app.operation("get_markers")
def get_markers() -> dict[str, Any]:
    app.user()
    return {}  # Chirp keeps no reading positions of its own yet (the notifications' read mark is set, not read)


@app.operation("set_markers")
def set_markers() -> dict[str, Any]:
    last_read = app.param("notifications[last_read_id]")
    viewer = app.user()
    return get_container().mastodon.mark_notifications_read(viewer, last_read) if last_read else {}


@app.operation("upload_media")
def upload_media() -> Response[str]:
    upload = app.file("file")
    if upload is None or not upload.data:
        raise ValidationFailed("file is required (multipart/form-data)")
    attachment = get_container().mastodon.upload_media(
        app.user(), data=upload.data, content_type=upload.content_type, description=app.param("description")
    )
    return app.json(attachment, 200 if attachment["url"] else 202)  # 202: still being processed


@app.operation("get_media")
def get_media(media_id: str) -> Response[str]:
    attachment = get_container().mastodon.media(app.user(), media_id)
    return app.json(attachment, 200 if attachment["url"] else 206)  # Mastodon's 206: not processed yet


@app.operation("update_media")
def update_media(media_id: str) -> dict[str, Any]:
    return get_container().mastodon.media(app.user(), media_id, description=app.param("description") or "")


app.bind()
handler = app.handler

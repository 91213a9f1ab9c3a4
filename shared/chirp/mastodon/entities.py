"""Mastodon's entities (https://docs.joinmastodon.org/entities/) rendered from Chirp's API objects.

Pure functions of what Chirp's services already answer (``chirp.api_models``): the REST surface
(``functions/mastodon``) and the streaming protocol both render with these, so a status looks the same wherever a
client meets it. Ids are strings (Mastodon's rule, and Chirp's ids do not fit a JavaScript number either).
``base_url`` is the Mastodon surface's public URL (``Settings.mastodon_url``): profile and tag links point there."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from chirp import api_models as api
from chirp.ids import id_time_ms
from chirp.mastodon.html import content_html
from chirp.services.views import iso
from chirp.text import MAX_TWEET_CODE_POINTS

Entity = dict[str, Any]
MAX_MEDIA_ATTACHMENTS = 4
# Chirp's notification types in Mastodon's words: a reply or a quote is a mention of the one answered.
NOTIFICATION_TYPES: Mapping[str, str] = {
    "mention": "mention",
    "reply": "mention",
    "quote": "mention",
    "like": "favourite",
    "retweet": "reblog",
    "follow": "follow",
}
_MEDIA_ID_RE = re.compile(r"([0-9a-f]{32})\.\w+$")
_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp")


def created_at_of(snowflake: str) -> str:
    """When a Chirp object was made, read from its snowflake id (every id carries its time)."""
    return iso(id_time_ms(int(snowflake)))


def account(
    *,
    user_id: str,
    username: str,
    base_url: str,
    display_name: str = "",
    note: str = "",
    created_at: str | None = None,
    followers_count: int = 0,
    following_count: int = 0,
    statuses_count: int = 0,
    avatar: str | None = None,
) -> Entity:
    """A local Account. Chirp has no headers, custom fields or locked accounts: those are empty / false; without an
    avatar, Mastodon's "missing" image path (clients expect a URL)."""
    url = f"{base_url}/@{username}"
    picture = avatar or f"{base_url}/avatars/original/missing.png"
    return {
        "id": user_id,
        "username": username,
        "acct": username,  # a local account: no @domain part
        "display_name": display_name or username,
        "locked": False,
        "bot": False,
        "discoverable": True,
        "indexable": True,
        "group": False,
        "noindex": False,
        "created_at": created_at or created_at_of(user_id),
        "note": content_html(note, base_url=base_url) if note else "",
        "url": url,
        "uri": url,
        "avatar": picture,
        "avatar_static": picture,
        "header": f"{base_url}/headers/original/missing.png",
        "header_static": f"{base_url}/headers/original/missing.png",
        "followers_count": followers_count,
        "following_count": following_count,
        "statuses_count": statuses_count,
        "last_status_at": None,
        "emojis": [],
        "fields": [],
    }


def account_from_profile(profile: api.Profile, *, base_url: str) -> Entity:
    """The Account of a full Chirp profile (counts and bio known)."""
    return account(
        user_id=profile["user_id"],
        username=profile["username"],
        base_url=base_url,
        display_name=profile["display_name"],
        note=profile["bio"],
        created_at=profile["created_at"],
        followers_count=profile["follower_count"],
        following_count=profile["following_count"],
        statuses_count=profile["tweet_count"],
        avatar=profile["avatar_url"],
    )


def account_from_summary(user: api.UserSummary, *, base_url: str) -> Entity:
    """The Account of a user in a list (followers, search): the counts a summary lacks are 0."""
    return account(
        user_id=user["user_id"],
        username=user["username"],
        base_url=base_url,
        display_name=user["display_name"],
        followers_count=user["follower_count"],
    )


def attachment(item: api.MediaItem) -> Entity:
    """The MediaAttachment of a processed medium (a tweet's, or an upload once ready)."""
    width, height = item["width"], item["height"]
    size: Entity = {"width": width, "height": height, "aspect": round(width / height, 4)} if width and height else {}
    meta: Entity = {"original": size, "small": size} if size else {}
    if item["duration_ms"]:
        meta["original"] = {**size, "duration": item["duration_ms"] / 1000}
    return {
        "id": item["media_id"],
        "type": item["type"],
        "url": item["url"],
        "preview_url": item["thumbnail_url"],
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": item["alt_text"] or None,
        "blurhash": None,
    }


def upload(media: api.Media) -> Entity:
    """The MediaAttachment of an upload: ``url`` null while it is processed (clients poll GET /api/v1/media/:id)."""
    if media["item"] is not None:
        return attachment(media["item"])
    kind = "video" if media["content_type"].startswith("video/") else "image"
    return {
        "id": media["media_id"],
        "type": kind,
        "url": None,
        "preview_url": None,
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": {},
        "description": media["alt_text"] or None,
        "blurhash": None,
    }


def media_attachment(url: str, *, description: str | None = None) -> Entity:
    """A MediaAttachment for a bare media URL (its id: the upload's media id when the URL holds it)."""
    found = _MEDIA_ID_RE.search(url)
    media_id = found.group(1) if found else hashlib.sha256(url.encode()).hexdigest()[:32]
    kind = (
        "image" if url.lower().endswith(_IMAGE_EXTENSIONS) else "video" if url.lower().endswith(".mp4") else "unknown"
    )
    return {
        "id": media_id,
        "type": kind,
        "url": url,
        "preview_url": url,
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": {},
        "description": description,
        "blurhash": None,
    }


def tag(name: str, *, base_url: str, history: Sequence[Mapping[str, str]] = (), following: bool = False) -> Entity:
    """A Tag (hashtag) with its link on this server."""
    return {
        "name": name,
        "url": f"{base_url}/tags/{quote(name)}",
        "history": [dict(h) for h in history],
        "following": following,
    }


def status(
    tweet: api.Tweet,
    *,
    base_url: str,
    author: Entity | None = None,
    mention_ids: Mapping[str, str] | None = None,
    in_reply_to_account_id: str | None = None,
    reblog: Entity | None = None,
    bookmarked: bool = False,
) -> Entity:
    """The Status of a Chirp tweet.

    ``author``: the author's Account when the caller has it (else one made from the tweet's user id and username);
    ``mention_ids``: lower-case username -> user id of the mentioned accounts (unresolved ones are linked in the
    content but left out of ``mentions``, whose entries need an id); ``reblog``: the original's Status when this
    status is a retweet (by default rendered from the tweet's ``retweet_of``: a retweet entry is a reblog)."""
    owner = author or account(
        user_id=tweet["user_id"],
        username=tweet["username"],
        base_url=base_url,
        display_name=tweet["display_name"],
        avatar=tweet["avatar_url"],
    )
    original = tweet.get("retweet_of")
    if reblog is None and original is not None:
        reblog = status(original, base_url=base_url, mention_ids=mention_ids)
    ids = mention_ids or {}
    url = f"{base_url}/@{tweet['username']}/{tweet['tweet_id']}"
    return {
        "id": tweet["tweet_id"],
        "uri": url,
        "url": url,
        "created_at": tweet["created_at"],
        "edited_at": None,
        "account": owner,
        "content": ""  # a reblog has no text of its own: clients show the original's
        if reblog is not None
        else content_html(
            tweet["content"],
            base_url=base_url,
            mentions=tweet["mentions"],
            hashtags=tweet["hashtags"],
            urls=tweet["urls"],
        ),
        "text": None,
        "visibility": "public",
        "sensitive": False,
        "spoiler_text": "",
        "language": None,
        "media_attachments": [attachment(m) for m in tweet["media"]]
        or [media_attachment(u) for u in tweet["media_urls"]],
        "application": None,
        "mentions": [
            {"id": ids[name], "username": name, "acct": name, "url": f"{base_url}/@{name}"}
            for name in tweet["mentions"]
            if name in ids
        ],
        "tags": [tag(name, base_url=base_url) for name in tweet["hashtags"]],
        "emojis": [],
        "reblogs_count": tweet["retweets_count"],
        "favourites_count": tweet["likes_count"],
        "replies_count": tweet["replies_count"],
        "in_reply_to_id": tweet["reply_to"],
        "in_reply_to_account_id": in_reply_to_account_id if tweet["reply_to"] else None,
        "reblog": reblog,
        "poll": None,
        "card": None,
        "quote": None,
        "favourited": tweet["liked_by_user"],
        "reblogged": tweet["retweeted_by_user"],
        "muted": False,
        "bookmarked": bookmarked,
        "pinned": False,
        "filtered": [],
    }


def notification(
    note: api.Notification, *, base_url: str, actor: Entity | None = None, status: Entity | None = None
) -> Entity:
    """The Notification of a Chirp notification: ``actor`` is the Account of who acted (else one made from the
    notification's actor), ``status`` the Status it is about (follows have none)."""
    who = note["actor"]
    return {
        "id": note["notification_id"],
        "type": NOTIFICATION_TYPES.get(str(note["type"]), str(note["type"])),
        "created_at": note["created_at"],
        "group_key": f"ungrouped-{note['notification_id']}",
        "account": actor or account(user_id=who["user_id"], username=who["username"], base_url=base_url),
        "status": status,
    }


def relationship(user_id: str, *, following: bool, followed_by: bool, showing_reblogs: bool = True) -> Entity:
    """A Relationship between the viewer and ``user_id``. Chirp has no blocks, mutes, requests or notes yet."""
    return {
        "id": user_id,
        "following": following,
        "showing_reblogs": showing_reblogs and following,
        "notifying": False,
        "languages": None,
        "followed_by": followed_by,
        "blocking": False,
        "blocked_by": False,
        "muting": False,
        "muting_notifications": False,
        "requested": False,
        "requested_by": False,
        "domain_blocking": False,
        "endorsed": False,
        "note": "",
    }


def limits() -> Entity:
    """Chirp's posting limits in the shape instance v1 and v2 share (configuration.statuses / media_attachments)."""
    return {
        "statuses": {
            "max_characters": MAX_TWEET_CODE_POINTS,
            "max_media_attachments": MAX_MEDIA_ATTACHMENTS,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            "supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4"],
            "image_size_limit": api.MAX_MEDIA,
            "image_matrix_limit": 16_777_216,
            "video_size_limit": api.MAX_MEDIA,
            "video_frame_rate_limit": 60,
            "video_matrix_limit": 2_304_000,
        },
        "polls": {"max_options": 0, "max_characters_per_option": 0, "min_expiration": 0, "max_expiration": 0},
        "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
    }

"""Where a user's avatar is served from: the square crops the media service makes of the user's chosen image
(``MediaService.avatar_renditions``), one object per size, so a reader needs only the user's avatar media id."""

from __future__ import annotations

AVATAR_SIZES = (48, 96, 400)
DEFAULT_SIZE = 96  # what a tweet and a profile show (a 48 px circle on a 2x screen)


def avatar_key(owner_id: int, media_id: str, size: int) -> str:
    """Where ``MediaService.avatar_renditions`` stores a crop (under ``media/``: the CDN serves it)."""
    return f"media/{owner_id}/{media_id}/avatar-{size}"


def avatar_url(media_url_base: str, owner_id: int, media_id: str, size: int = DEFAULT_SIZE) -> str | None:
    """The public URL of the user's avatar at ``size`` px, or None when they have none (``media_id`` ""). Made from
    the media CDN's base URL alone: every function that shows a name shows its avatar, and most of them use no
    object store client (a read of a timeline must not need S3)."""
    return f"{media_url_base}/{avatar_key(owner_id, media_id, size)}" if media_id else None


def avatar_urls(media_url_base: str, owner_id: int, media_id: str) -> dict[str, str]:
    """Every size's URL, keyed by the size in px as text (JSON object keys); empty without an avatar."""
    if not media_id:
        return {}
    return {str(size): f"{media_url_base}/{avatar_key(owner_id, media_id, size)}" for size in AVATAR_SIZES}

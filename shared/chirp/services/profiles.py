"""The signed-in user's own account: reading and editing the profile (display name, bio, avatar, place), a user's
likes tab, and deleting the account.

Tweets show their author's display name and avatar by hydration (the tweet cache's author cards, read from the user
record), never copied into tweet rows: an edit drops the user's card, and every tweet shows the change at once.

Deleting an account re-checks the password, then removes the user row and frees the username and email at once (a
new account may take them straight away, as nothing reserves a deleted name: the old tweets that mention it are
ordinary text), so from that moment the account's tokens are refused, its profile is a 404 and its tweets drop out
of every read (hydration skips authors that do not exist). What is left of it is erased through the stream: the
``account_deleted`` event (chirp.services.erasure)."""

from __future__ import annotations

from chirp import api_models as api
from chirp.errors import Unauthorized, ValidationFailed
from chirp.model import AccountDeleted, EventType, UserCreated, UserRecord
from chirp.places import is_place, normalize_place
from chirp.services.auth import MAX_DISPLAY_NAME, AuthService
from chirp.services.avatars import avatar_url, avatar_urls
from chirp.services.media import MediaService
from chirp.services.social import SocialService
from chirp.services.stores import Stores
from chirp.services.tweets import TweetService
from chirp.services.views import iso
from chirp.text import has_visible_char, normalize
from chirp.tokens import Principal

MAX_BIO = 400  # code points, after trimming (Twitter's 160, Mastodon's 500: between the two)


class ProfileService:
    def __init__(
        self, stores: Stores, auth: AuthService, media: MediaService, social: SocialService, tweets: TweetService
    ) -> None:
        self._s = stores
        self._auth = auth
        self._media = media
        self._social = social
        self._tweets = tweets

    def _account(self, principal: Principal) -> UserRecord:
        """The account routes check the token against the account itself, not only the authorizer's (cached, up to
        its TTL) decision: a deleted account or a revoked token is refused here at once."""
        user = self._s.users.get(principal.user_id)
        if user is None:
            raise Unauthorized("the account no longer exists", code="invalid_token")
        if user.token_version != principal.version:
            raise Unauthorized("the token was revoked by a password change; log in again", code="token_revoked")
        return user

    def me(self, principal: Principal) -> api.Me:
        return self._me_json(self._account(principal))

    def update(
        self,
        principal: Principal,
        *,
        display_name: str | None = None,
        bio: str | None = None,
        place: str | None = None,
        avatar_media_id: str | None = None,
    ) -> api.Me:
        """Only the fields given change (None: unchanged). ``bio`` "" clears it, ``place`` "" is worldwide,
        ``avatar_media_id`` "" removes the avatar; anything else must be the caller's processed image, whose square
        crops the media service makes now (404 another's or an unknown medium, 409 while it is processing)."""
        user = self._account(principal)
        if display_name is not None:
            user.display_name = _display_name(display_name)
        if bio is not None:
            user.bio = _bio(bio)
        if place is not None:
            user.place = _place(place)
        if avatar_media_id is not None:
            media_id = avatar_media_id.strip()
            if media_id:
                self._media.avatar_renditions(principal, media_id)
            user.avatar_media_id = media_id
        self._s.users.update(user)
        # After the write: a failure here is a 503, and the client's retry drops the card then.
        self._s.tweet_cache.author_changed([user.user_id])
        if display_name is not None:  # user search matches display names: the indexer re-indexes the user (a retry
            # of an edit whose publish failed publishes again)
            updated = UserCreated(
                user_id=user.user_id,
                username=user.username,
                display_name=user.display_name,
                created_at_ms=user.created_at_ms,
            )
            self._s.stream.publish([updated.event(EventType.PROFILE_UPDATED, user.user_id)])
        return self._me_json(user)

    def likes(self, viewer: Principal, username: str, *, cursor: str | None, count: int) -> api.TweetPage:
        """The tweets ``username`` liked, newest like first; tweets deleted since (or by authors whose accounts are
        gone) drop out of the page, and the cursor still moves past them."""
        owner = self._social.user(username)
        self._social.safety.refuse_if_blocked(viewer.user_id, owner.user_id)
        page = self._s.engagement.likes_page(owner.user_id, cursor=cursor, limit=count)
        return {
            "tweets": self._tweets.hydrator.by_ids(viewer.user_id, page.items),
            "next_cursor": page.next_cursor,
            "has_more": page.has_more,
        }

    def delete_account(self, principal: Principal, *, password: str) -> api.AccountDeletion:
        """The erasure event goes first, then the row: a failure in between leaves an account that still works and
        an eraser that removes the row itself (either order of the two is idempotent)."""
        user = self._account(principal)
        self._auth.check_password(user, password)
        deleted = AccountDeleted(user_id=user.user_id, username=user.username, avatar_media_id=user.avatar_media_id)
        self._s.stream.publish([deleted.event(EventType.ACCOUNT_DELETED, user.user_id)])
        self._s.users.delete(user)
        self._s.tweet_cache.author_changed([user.user_id])
        return {"username": user.username, "deleted": True}

    def _me_json(self, user: UserRecord) -> api.Me:
        followers, following = self._s.graph.counts(user.user_id)
        return {
            "user_id": str(user.user_id),
            "username": user.username,
            "email": user.email,
            "display_name": user.display_name,
            "bio": user.bio,
            "avatar_media_id": user.avatar_media_id or None,
            "avatar_url": avatar_url(self._s.media_url_base, user.user_id, user.avatar_media_id),
            "avatar_urls": avatar_urls(self._s.media_url_base, user.user_id, user.avatar_media_id),
            "place": user.place,
            "created_at": iso(user.created_at_ms),
            "follower_count": followers,
            "following_count": following,
            "tweet_count": self._s.tweets.count_by_author(user.user_id),
        }


def _display_name(raw: str) -> str:
    name = normalize(raw)
    if not name or len(name) > MAX_DISPLAY_NAME:
        raise ValidationFailed(f"display_name must be 1-{MAX_DISPLAY_NAME} characters", code="invalid_display_name")
    if not has_visible_char(name):
        raise ValidationFailed(
            "display_name has no visible character, only invisible ones", code="display_name_invisible"
        )
    return name


def _bio(raw: str) -> str:
    bio = normalize(raw)
    if len(bio) > MAX_BIO:
        raise ValidationFailed(f"bio is {len(bio)} characters; the limit is {MAX_BIO}", code="invalid_bio")
    if raw and not has_visible_char(bio):  # "" clears it; anything else must show something
        raise ValidationFailed("bio has no visible character, only invisible ones", code="bio_invisible")
    return bio


def _place(raw: str) -> str | None:
    code = normalize_place(raw)
    if code is not None and not is_place(code):
        raise ValidationFailed(f"place {raw!r} is not an ISO 3166-1 alpha-2 country code", code="invalid_place")
    return code

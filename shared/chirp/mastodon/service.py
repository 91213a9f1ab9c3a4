"""The Mastodon surface's operations: each one calls Chirp's services (every behaviour lives there) and renders
their answers as Mastodon entities, looking up in batches what Mastodon's shapes need besides (authors' accounts,
mentioned accounts' ids, the accounts replied to)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from chirp import api_models as api
from chirp.config import Settings
from chirp.errors import NotFound, ValidationFailed
from chirp.ids import parse_id
from chirp.mastodon import entities
from chirp.mastodon.entities import Entity
from chirp.mastodon.pagination import Page, Paging
from chirp.model import Relation, UserRecord
from chirp.services.avatars import avatar_url
from chirp.services.blocks import BlockService
from chirp.services.feed import FeedManager
from chirp.services.media import MediaService, upload_key
from chirp.services.notifications import NotificationService
from chirp.services.profiles import ProfileService
from chirp.services.search import SearchService
from chirp.services.social import SocialService
from chirp.services.stores import Stores
from chirp.services.trends import TrendsService
from chirp.services.tweets import NewTweet, TweetService
from chirp.text import normalize_hashtag
from chirp.tokens import Principal

VERSION = "4.3.0 (compatible; Chirp 0.1.0)"  # Mastodon's API level this surface follows; clients read the first part
MAX_RELATIONSHIPS = 40
MAX_ANCESTORS = 20
MAX_DESCENDANTS = 40
MAX_TRENDS = 20
MAX_SAFETY_SCAN = 1000  # the viewer's blocks (mutes) read for relationships: Chirp's own list cap


class MastodonService:
    def __init__(
        self,
        stores: Stores,
        settings: Settings,
        *,
        tweets: TweetService,
        social: SocialService,
        feed: FeedManager,
        notifications: NotificationService,
        search: SearchService,
        trends: TrendsService,
        media: MediaService,
        profiles: ProfileService,
        blocks: BlockService,
    ) -> None:
        self._s = stores
        self._settings = settings
        self._tweets = tweets
        self._social = social
        self._feed = feed
        self._notifications = notifications
        self._search = search
        self._trends = trends
        self._media = media
        self._profiles = profiles
        self._blocks = blocks
        self.base_url = settings.mastodon_url.rstrip("/")

    # -- instance --------------------------------------------------------------------------------------------------
    def instance_v2(self) -> Entity:
        limits = entities.limits()
        return {
            "domain": _host(self.base_url),
            "title": "Chirp",
            "version": VERSION,
            "source_url": "https://github.com/chirp",
            "description": "A serverless microblogging service speaking Mastodon's client API.",
            "usage": {"users": {"active_month": 0}},
            "thumbnail": {"url": f"{self.base_url}/thumbnail.png"},
            "icon": [],
            "languages": ["en"],
            "configuration": {
                "urls": {"streaming": self._settings.mastodon_streaming_url.rstrip("/"), "status": None},
                "vapid": {"public_key": ""},
                "accounts": limits["accounts"],
                "statuses": limits["statuses"],
                "media_attachments": limits["media_attachments"],
                "polls": limits["polls"],
                "translation": {"enabled": False},
            },
            "registrations": {"enabled": False, "approval_required": False, "message": None, "url": None},
            "api_versions": {"mastodon": 2},
            "contact": {"email": "", "account": None},
            "rules": [],
        }

    def instance_v1(self) -> Entity:
        limits = entities.limits()
        return {
            "uri": _host(self.base_url),
            "title": "Chirp",
            "short_description": "A serverless microblogging service speaking Mastodon's client API.",
            "description": "A serverless microblogging service speaking Mastodon's client API.",
            "email": "",
            "version": VERSION,
            "urls": {"streaming_api": self._settings.mastodon_streaming_url.rstrip("/")},
            "stats": {"user_count": 0, "status_count": 0, "domain_count": 1},
            "thumbnail": None,
            "languages": ["en"],
            "registrations": False,
            "approval_required": False,
            "invites_enabled": False,
            "configuration": {
                "accounts": limits["accounts"],
                "statuses": limits["statuses"],
                "media_attachments": limits["media_attachments"],
                "polls": limits["polls"],
            },
            "contact_account": None,
            "rules": [],
        }

    # -- accounts --------------------------------------------------------------------------------------------------
    def user(self, account_id: str) -> UserRecord:
        """The user an account id names; a malformed or unknown one does not exist (404)."""
        try:
            user = self._s.users.get(parse_id(account_id, field="id"))
        except ValidationFailed:
            user = None
        if user is None:
            raise NotFound("Record not found", code="not_found")
        return user

    def account(self, viewer: Principal | None, account_id: str) -> Entity:
        return self._profile_account(viewer, self.user(account_id).username)

    def lookup(self, viewer: Principal | None, acct: str) -> Entity:
        name, _, domain = acct.strip().lstrip("@").partition("@")
        if domain and domain != _host(self.base_url):
            raise NotFound("Record not found", code="not_found")  # no federation: only local accounts exist
        return self._profile_account(viewer, name)

    def verify_credentials(self, viewer: Principal) -> Entity:
        user = self._social.user(viewer.username)
        found = self._profile_account(viewer, viewer.username)
        found["source"] = {
            "privacy": "public",
            "sensitive": False,
            "language": None,
            "note": user.bio,
            "fields": [],
            "follow_requests_count": 0,
        }
        return found

    def update_credentials(self, viewer: Principal, *, display_name: str | None, note: str | None) -> Entity:
        """The profile fields Chirp has (display name, bio); the rest of Mastodon's form is ignored."""
        self._profiles.update(viewer, display_name=display_name, bio=note)
        return self.verify_credentials(viewer)

    def relationships(self, viewer: Principal, account_ids: Sequence[str]) -> list[Entity]:
        ids = []
        for raw in list(dict.fromkeys(account_ids))[:MAX_RELATIONSHIPS]:
            try:
                ids.append(parse_id(raw, field="id"))
            except ValidationFailed:
                continue  # Mastodon leaves unknown accounts out
        existing = self._s.users.get_many(ids)
        following = self._s.graph.following_among(viewer.user_id, list(existing))
        blocking = set(self._s.graph.relation_ids(viewer.user_id, "blocks", limit=MAX_SAFETY_SCAN))
        muting = set(self._s.graph.relation_ids(viewer.user_id, "mutes", limit=MAX_SAFETY_SCAN))
        found = []
        for u in ids:
            if u not in existing:
                continue
            followed_by = bool(self._s.graph.following_among(u, [viewer.user_id]))
            rendered = entities.relationship(str(u), following=u in following, followed_by=followed_by)
            rendered |= {"blocking": u in blocking, "muting": u in muting, "muting_notifications": u in muting}
            found.append(rendered)
        return found

    def safety(self, viewer: Principal, account_id: str, relation: Relation, *, on: bool) -> Entity:
        """Block or mute (or undo it): Chirp's safety edges, answered as the Relationship after the change."""
        user = self.user(account_id)
        set_relation = self._blocks.set_block if relation == "blocks" else self._blocks.set_mute
        set_relation(viewer, user.username, on=on)
        return self.relationships(viewer, [account_id])[0]

    def listed(self, viewer: Principal, relation: Relation) -> list[Entity]:
        """The accounts the viewer blocks (mutes), newest first (one page: Chirp caps the list)."""
        found = self._blocks.listed(viewer, relation)["users"]
        users = self._s.users.get_many([int(u["user_id"]) for u in found])
        return [
            self._account(users[int(u["user_id"])], u["follower_count"]) for u in found if int(u["user_id"]) in users
        ]

    def favourites(self, viewer: Principal, paging: Paging) -> Page:
        """The viewer's likes, newest like first; the likes page's cursor travels in max_id."""
        page = self._profiles.likes(viewer, viewer.username, cursor=paging.max_id, count=paging.limit)
        return Page(
            items=self.statuses(viewer, page["tweets"]),
            next_max_id=page["next_cursor"] if page["has_more"] else None,
        )

    def follow(self, viewer: Principal, account_id: str, *, on: bool) -> Entity:
        user = self.user(account_id)
        if on:
            self._social.follow(viewer, user.username)
        else:
            self._social.unfollow(viewer, user.username)
        return self.relationships(viewer, [account_id])[0]

    def account_statuses(
        self,
        viewer: Principal,
        account_id: str,
        paging: Paging,
        *,
        pinned: bool = False,
        exclude_replies: bool = False,
        only_media: bool = False,
    ) -> Page:
        """An account's statuses, newest first. Chirp pins nothing (pinned: none); the filters apply to the page
        (a filtered page may hold fewer than ``limit``; its next link still goes on)."""
        user = self.user(account_id)
        if pinned:
            return Page(items=[])
        tweets, next_cursor = self._tweets.by_author(
            viewer, user.user_id, before=_id(paging.max_id, "max_id"), count=paging.limit
        )
        tweets = [
            t
            for t in _newer(tweets, paging)
            if not (exclude_replies and t["reply_to"]) and not (only_media and not (t["media"] or t["media_urls"]))
        ]
        return self._status_page(viewer, tweets, next_cursor)

    def followers(self, viewer: Principal, account_id: str, paging: Paging, *, following: bool = False) -> Page:
        """Followers (or followees) of an account; the graph's cursor travels in max_id."""
        user = self.user(account_id)
        list_of = self._social.following if following else self._social.followers
        page = list_of(viewer, user.username, cursor=paging.max_id, count=paging.limit)
        users = self._s.users.get_many([int(u["user_id"]) for u in page["users"]])
        return Page(
            items=[self._account(users[int(u["user_id"])], u["follower_count"]) for u in page["users"]],
            next_max_id=page["next_cursor"] if page["has_more"] else None,
        )

    # -- statuses --------------------------------------------------------------------------------------------------
    def create_status(
        self,
        viewer: Principal,
        *,
        text: str,
        media_ids: Sequence[str],
        in_reply_to_id: str | None,
        idempotency_key: str | None,
    ) -> Entity:
        reply_to = _id(in_reply_to_id, "in_reply_to_id")
        tweet = self._tweets.create(
            viewer,
            NewTweet(content=text, media_ids=list(media_ids), reply_to=reply_to),
            idempotency_key=idempotency_key,
        )
        return self.statuses(viewer, [tweet])[0]

    def status(self, viewer: Principal | None, status_id: str) -> Entity:
        return self.statuses(viewer, [self._tweets.get(viewer, _path_id(status_id))])[0]

    def delete_status(self, viewer: Principal, status_id: str) -> Entity:
        """Deletes and answers the deleted status with its source text (Mastodon's delete-and-redraft)."""
        tweet = self._tweets.get(viewer, _path_id(status_id))
        self._tweets.delete(viewer, int(tweet["tweet_id"]))
        deleted = self.statuses(viewer, [tweet])[0]
        deleted["text"] = tweet["content"]
        return deleted

    def context(self, viewer: Principal | None, status_id: str) -> Entity:
        """The thread around a status: its ancestors (oldest first) and its direct replies."""
        tweet = self._tweets.get(viewer, _path_id(status_id))
        ancestors: list[api.Tweet] = []
        parent = tweet["reply_to"]
        while parent is not None and len(ancestors) < MAX_ANCESTORS:
            found = self._tweets.hydrator.by_ids(viewer.user_id if viewer else None, [int(parent)])
            if not found:
                break
            ancestors.insert(0, found[0])
            parent = found[0]["reply_to"]
        replies, _ = self._tweets.replies(viewer, int(tweet["tweet_id"]), after=None, count=MAX_DESCENDANTS)
        rendered = self.statuses(viewer, [*ancestors, *replies])
        return {"ancestors": rendered[: len(ancestors)], "descendants": rendered[len(ancestors) :]}

    def favourite(self, viewer: Principal, status_id: str, *, on: bool) -> Entity:
        return self.statuses(viewer, [self._tweets.set_like(viewer, _path_id(status_id), on=on)])[0]

    def reblog(self, viewer: Principal, status_id: str, *, on: bool) -> Entity:
        return self.statuses(viewer, [self._tweets.set_retweet(viewer, _path_id(status_id), on=on)])[0]

    def bookmark(self, viewer: Principal, status_id: str, *, on: bool) -> Entity:
        tweet_id = _path_id(status_id)
        if on:
            self._tweets.bookmark(viewer, tweet_id)
        else:
            self._tweets.unbookmark(viewer, tweet_id)
        found = self.status(viewer, status_id)
        found["bookmarked"] = on
        return found

    def bookmarks(self, viewer: Principal, paging: Paging) -> Page:
        tweets, next_cursor = self._tweets.bookmarks(viewer, before=_id(paging.max_id, "max_id"), count=paging.limit)
        page = self._status_page(viewer, tweets, next_cursor)
        for item in page.items:
            item["bookmarked"] = True
        return page

    # -- timelines -------------------------------------------------------------------------------------------------
    def home(self, viewer: Principal, paging: Paging) -> Page:
        timeline = self._feed.read_home(
            viewer.user_id,
            before=_id(paging.max_id, "max_id"),
            after=_id(paging.newer_than, "min_id"),
            count=paging.limit,
        )
        return self._status_page(viewer, timeline.tweets, timeline.next_cursor)

    def tag_timeline(self, viewer: Principal, hashtag: str, paging: Paging) -> Page:
        name = normalize_hashtag(hashtag)
        if not name or len(name) > 100:
            raise NotFound("Record not found", code="not_found")
        found = self._search.search(
            viewer,
            f"#{name}",
            kind="recent",
            count=paging.limit,
            cursor=str(_id(paging.max_id, "max_id") or "") or None,
        )
        tweets = _newer(found["tweets"], paging)
        next_cursor = int(found["next_cursor"]) if found["next_cursor"] else None
        return self._status_page(viewer, tweets, next_cursor)

    # -- notifications ---------------------------------------------------------------------------------------------
    def notifications(
        self, viewer: Principal, paging: Paging, *, types: Sequence[str] = (), exclude_types: Sequence[str] = ()
    ) -> Page:
        listed = self._notifications.list(viewer, before=_id(paging.max_id, "max_id"), count=paging.limit)
        notes = [n for n in listed["notifications"] if _newer_id(n["notification_id"], paging)]
        if types:
            notes = [n for n in notes if entities.NOTIFICATION_TYPES.get(str(n["type"])) in types]
        if exclude_types:
            notes = [n for n in notes if entities.NOTIFICATION_TYPES.get(str(n["type"])) not in exclude_types]
        tweet_ids = list(dict.fromkeys(int(n["tweet_id"]) for n in notes if n["tweet_id"]))
        rendered = self.statuses(viewer, self._tweets.hydrator.by_ids(viewer.user_id, tweet_ids))
        by_id = {s["id"]: s for s in rendered}
        actors = self._accounts([int(n["actor"]["user_id"]) for n in notes])
        items = []
        for n in notes:
            about = by_id.get(n["tweet_id"]) if n["tweet_id"] else None
            if n["tweet_id"] and about is None:
                continue  # the status is gone (deleted): Mastodon drops such notifications too
            actor = actors.get(int(n["actor"]["user_id"]))
            items.append(entities.notification(n, base_url=self.base_url, actor=actor, status=about))
        return Page(
            items=items,
            next_max_id=listed["next_cursor"] if listed["has_more"] else None,
            prev_min_id=items[0]["id"] if items else None,
        )

    def mark_notifications_read(self, viewer: Principal, last_read_id: str) -> Entity:
        """The notifications marker: Chirp's read mark up to that notification."""
        self._notifications.mark_read(viewer, up_to=_id(last_read_id, "last_read_id"))
        now = api_timestamp()
        return {"notifications": {"last_read_id": last_read_id, "version": 1, "updated_at": now}}

    # -- media -----------------------------------------------------------------------------------------------------
    def upload_media(self, viewer: Principal, *, data: bytes, content_type: str, description: str | None) -> Entity:
        """An upload the client sent whole (``POST /api/v2/media``): Chirp's upload slot, filled through the object
        store as the client's own upload would be, then processed as every upload is (url null until ready)."""
        kind = content_type.split(";")[0].strip().lower()
        created = self._media.create_upload(viewer, content_type=kind, size=len(data))
        media_id = created["media_id"]
        self._s.objects.put(upload_key(viewer.user_id, media_id, kind), data, kind)
        if description:
            self._media.set_alt_text(viewer, media_id, description)
        return entities.upload(self._media.get(viewer, media_id))

    def media(self, viewer: Principal, media_id: str, *, description: str | None = None) -> Entity:
        if description is not None:
            return entities.upload(self._media.set_alt_text(viewer, media_id, description))
        return entities.upload(self._media.get(viewer, media_id))

    # -- search and trends -----------------------------------------------------------------------------------------
    def search(self, viewer: Principal, q: str, *, kind: str | None, limit: int, offset: int) -> Entity:
        accounts: list[Entity] = []
        statuses: list[Entity] = []
        hashtags: list[Entity] = []
        text = q.strip()
        if not text:
            raise ValidationFailed("q is required", code="invalid_query")
        if kind in (None, "accounts") and len(text.lstrip("@")) <= 50 and not offset:
            found = self._search.users(viewer, text, count=limit)["users"]
            users = self._s.users.get_many([int(u["user_id"]) for u in found])
            accounts = [
                self._account(users[int(u["user_id"])], u["follower_count"])
                for u in found
                if int(u["user_id"]) in users
            ]
        if kind in (None, "statuses"):
            result = self._search.search(viewer, text, kind="recent", count=limit, cursor=None)
            statuses = self.statuses(viewer, result["tweets"])
        if kind in (None, "hashtags") and not offset:
            name = normalize_hashtag(text)
            if name and " " not in name:
                hashtags = [entities.tag(name, base_url=self.base_url)]
        return {"accounts": accounts, "statuses": statuses, "hashtags": hashtags}

    def trending_tags(self, limit: int) -> list[Entity]:
        top = self._trends.top(limit=min(limit, MAX_TRENDS))
        day = str(int(time.time()) // 86400 * 86400)
        return [
            entities.tag(
                t["hashtag"],
                base_url=self.base_url,
                history=[{"day": day, "uses": str(t["tweet_count"]), "accounts": str(t["tweet_count"])}],
            )
            for t in top["trends"]
        ]

    # -- rendering in batches --------------------------------------------------------------------------------------
    def statuses(self, viewer: Principal | None, tweets: Sequence[api.Tweet]) -> list[Entity]:
        """Statuses of tweets with their authors' accounts, mention ids and replied-to accounts (a few batched
        reads for the whole page)."""
        originals = [t["retweet_of"] for t in tweets if t.get("retweet_of") is not None]
        everything = [*tweets, *[o for o in originals if o is not None]]
        accounts = self._accounts([int(t["user_id"]) for t in everything])
        mentioned = {name for t in everything for name in t["mentions"]}
        mention_ids = {}
        for name in mentioned:
            user = self._s.users.get_by_username(name)
            if user is not None:
                mention_ids[name] = str(user.user_id)
        parents = {t["reply_to"] for t in everything if t["reply_to"]}
        parent_authors = {
            str(r.tweet_id): str(r.user_id) for r in self._tweets.hydrator.records([int(p) for p in parents if p])
        }

        def render(tweet: api.Tweet) -> Entity:
            original = tweet.get("retweet_of")
            return entities.status(
                tweet,
                base_url=self.base_url,
                author=accounts.get(int(tweet["user_id"])),
                mention_ids=mention_ids,
                in_reply_to_account_id=parent_authors.get(tweet["reply_to"] or ""),
                reblog=render(original) if original is not None else None,
            )

        return [render(t) for t in tweets]

    def _accounts(self, user_ids: Sequence[int]) -> dict[int, Entity]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}
        users = self._s.users.get_many(ids)
        counts = self._s.graph.follower_counts(list(users))
        return {u: self._account(user, counts.get(u, 0)) for u, user in users.items()}

    def _account(self, user: UserRecord, followers: int) -> Entity:
        return entities.account(
            avatar=avatar_url(self._s.media_url_base, user.user_id, user.avatar_media_id),
            user_id=str(user.user_id),
            username=user.username,
            base_url=self.base_url,
            display_name=user.display_name,
            note=user.bio,
            created_at=entities.created_at_of(str(user.user_id)),
            followers_count=followers,
        )

    def _profile_account(self, viewer: Principal | None, username: str) -> Entity:
        return entities.account_from_profile(self._social.profile(viewer, username), base_url=self.base_url)

    def _status_page(self, viewer: Principal | None, tweets: Sequence[api.Tweet], next_cursor: int | None) -> Page:
        items = self.statuses(viewer, tweets)
        return Page(
            items=items,
            next_max_id=str(next_cursor) if next_cursor else None,
            prev_min_id=items[0]["id"] if items else None,
        )


def api_timestamp() -> str:
    from chirp.model import now_ms
    from chirp.services.views import iso

    return iso(now_ms())


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def _id(raw: str | None, name: str) -> int | None:
    return parse_id(raw, field=name) if raw else None


def _path_id(raw: str) -> int:
    try:
        return parse_id(raw, field="id")
    except ValidationFailed:
        raise NotFound("Record not found", code="not_found") from None


def _newer_id(item_id: str, paging: Paging) -> bool:
    floor = _id(paging.newer_than, "min_id")
    return floor is None or int(item_id) > floor


def _newer(tweets: Sequence[api.Tweet], paging: Paging) -> list[api.Tweet]:
    """since_id / min_id on a listing whose service pages only backwards: the newest page, cut at the floor."""
    return [t for t in tweets if _newer_id(t["tweet_id"], paging)]

"""Notifications for mentions, likes, retweets, replies, quotes and follows: created from stream events (idempotent
by a per-user dedupe key), listed with a cursor, marked read, and pushed live to the recipient's connections."""

from __future__ import annotations

from chirp import api_models as api
from chirp.ids import new_id
from chirp.model import (
    EngagementChanged,
    Event,
    EventType,
    NotificationRecord,
    NotificationType,
    TweetChanged,
    UserFollowed,
)
from chirp.services.realtime import RealtimeService
from chirp.services.safety import Safety
from chirp.services.stores import Stores
from chirp.services.views import notification_json
from chirp.tokens import Principal


class NotificationService:
    def __init__(self, stores: Stores, realtime: RealtimeService) -> None:
        self._s = stores
        self._realtime = realtime
        self._safety = Safety(stores)

    def handle(self, event: Event) -> int:
        """Create (and push) the notifications an event implies; returns how many were new. None from an actor
        the recipient blocks, mutes or is blocked by: decided here, when they are made, so that reading them needs
        no cache or graph (the list works through their outages). Those made before a block or mute stay."""
        created = 0
        for n in self._from_event(event):
            if n.user_id == n.actor_id or n.actor_id in self._safety.hidden(n.user_id, home=True):
                continue
            if self._s.notifications.add(n):
                created += 1
                note = notification_json(n)
                self._realtime.push_to_users(
                    [n.user_id],
                    {
                        "type": "notification",
                        "notification": note,
                        "unread_count": self._s.notifications.unread_count(n.user_id),
                    },
                    mastodon=self._realtime.notification_event(note, n.user_id),
                )
        return created

    def _from_event(self, event: Event) -> list[NotificationRecord]:
        at = event.occurred_at_ms

        def make(
            user_id: int, kind: NotificationType, actor_id: int, actor: str, tweet_id: int | None, dedupe: str
        ) -> NotificationRecord:
            return NotificationRecord(
                notification_id=new_id(),
                user_id=user_id,
                type=kind,
                actor_id=actor_id,
                actor_username=actor,
                tweet_id=tweet_id,
                created_at_ms=at,
                dedupe_key=dedupe,
            )

        if event.type == EventType.TWEET_CREATED:
            t = TweetChanged.read(event).tweet
            if t.record().retweet_of is not None:  # a retweet entry: its TWEET_RETWEETED event notifies
                return []
            out: list[NotificationRecord] = []
            notified: set[int] = set()

            def notify(user_id: int, kind: NotificationType) -> None:
                out.append(make(user_id, kind, t.user_id, t.username, t.tweet_id, f"{kind.value}:{t.tweet_id}"))
                notified.add(user_id)

            if t.reply_to_user_id:
                notify(t.reply_to_user_id, NotificationType.REPLY)
            if t.quote_user_id and t.quote_user_id not in notified:
                notify(t.quote_user_id, NotificationType.QUOTE)
            for name in t.mentions[:20]:
                user = self._s.users.get_by_username(name)
                if user is not None and user.user_id not in notified:
                    notify(user.user_id, NotificationType.MENTION)
            return out
        if event.type in (EventType.TWEET_LIKED, EventType.TWEET_RETWEETED):
            kind = NotificationType.LIKE if event.type == EventType.TWEET_LIKED else NotificationType.RETWEET
            e = EngagementChanged.read(event)
            dedupe = f"{kind.value}:{e.actor_id}:{e.tweet_id}"
            return [make(e.author_id, kind, e.actor_id, e.actor_username, e.tweet_id, dedupe)]
        if event.type == EventType.USER_FOLLOWED:
            f = UserFollowed.read(event)
            kind = NotificationType.FOLLOW
            return [make(f.followee_id, kind, f.follower_id, f.follower_username, None, f"follow:{f.follower_id}")]
        return []

    def list(self, viewer: Principal, *, before: int | None, count: int) -> api.NotificationPage:
        items = self._s.notifications.page(viewer.user_id, before=before, limit=count + 1)
        page = items[:count]
        # A deleted account's notifications drop out: one batched user read (the function uses Keyspaces only, so
        # the page never waits on the cache or depends on it).
        actors = self._s.users.get_many(list({n.actor_id for n in page}))
        return {
            "notifications": [notification_json(n) for n in page if n.actor_id in actors],
            "next_cursor": str(page[-1].notification_id) if len(items) > count and page else None,
            "has_more": len(items) > count,
            "unread_count": self._s.notifications.unread_count(viewer.user_id),
        }

    def mark_read(self, viewer: Principal, *, up_to: int | None) -> api.MarkRead:
        marked = self._s.notifications.mark_read(viewer.user_id, up_to=up_to)
        return {"marked": marked, "unread_count": self._s.notifications.unread_count(viewer.user_id)}

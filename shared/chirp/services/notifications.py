"""Notifications for mentions, likes, retweets, replies, quotes and follows: created from stream events (idempotent
by a per-user dedupe key), listed with a cursor, marked read, and pushed live to the recipient's connections."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from chirp.ids import new_id
from chirp.model import Event, EventType, NotificationRecord, NotificationType
from chirp.services.realtime import RealtimeService
from chirp.services.stores import Stores
from chirp.services.tweets import tweet_from_event
from chirp.services.views import notification_json
from chirp.tokens import Principal


class NotificationService:
    def __init__(self, stores: Stores, realtime: RealtimeService) -> None:
        self._s = stores
        self._realtime = realtime

    def handle(self, event: Event) -> int:
        """Create (and push) the notifications an event implies; returns how many were new."""
        created = 0
        for n in self._from_event(event):
            if n.user_id != n.actor_id and self._s.notifications.add(n):
                created += 1
                self._realtime.push_to_users(
                    [n.user_id],
                    {
                        "type": "notification",
                        "notification": notification_json(n),
                        "unread_count": self._s.notifications.unread_count(n.user_id),
                    },
                )
        return created

    def _from_event(self, event: Event) -> list[NotificationRecord]:
        d = event.data
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
            t = asdict(tweet_from_event(d["tweet"]))
            out: list[NotificationRecord] = []
            notified: set[int] = set()
            if t.get("reply_to_user_id"):
                out.append(
                    make(
                        t["reply_to_user_id"],
                        NotificationType.REPLY,
                        t["user_id"],
                        t["username"],
                        t["tweet_id"],
                        f"reply:{t['tweet_id']}",
                    )
                )
                notified.add(t["reply_to_user_id"])
            if t.get("quote_user_id") and t["quote_user_id"] not in notified:
                out.append(
                    make(
                        t["quote_user_id"],
                        NotificationType.QUOTE,
                        t["user_id"],
                        t["username"],
                        t["tweet_id"],
                        f"quote:{t['tweet_id']}",
                    )
                )
                notified.add(t["quote_user_id"])
            for name in t.get("mentions", [])[:20]:
                user = self._s.users.get_by_username(name)
                if user is not None and user.user_id not in notified:
                    out.append(
                        make(
                            user.user_id,
                            NotificationType.MENTION,
                            t["user_id"],
                            t["username"],
                            t["tweet_id"],
                            f"mention:{t['tweet_id']}",
                        )
                    )
                    notified.add(user.user_id)
            return out
        if event.type in (EventType.TWEET_LIKED, EventType.TWEET_RETWEETED):
            kind = NotificationType.LIKE if event.type == EventType.TWEET_LIKED else NotificationType.RETWEET
            return [
                make(
                    d["author_id"],
                    kind,
                    d["actor_id"],
                    d["actor_username"],
                    d["tweet_id"],
                    f"{kind.value}:{d['actor_id']}:{d['tweet_id']}",
                )
            ]
        if event.type == EventType.USER_FOLLOWED:
            return [
                make(
                    d["followee_id"],
                    NotificationType.FOLLOW,
                    d["follower_id"],
                    d["follower_username"],
                    None,
                    f"follow:{d['follower_id']}",
                )
            ]
        return []

    def list(self, viewer: Principal, *, before: int | None, count: int) -> dict[str, Any]:
        items = self._s.notifications.page(viewer.user_id, before=before, limit=count + 1)
        page = items[:count]
        return {
            "notifications": [notification_json(n) for n in page],
            "next_cursor": str(page[-1].notification_id) if len(items) > count and page else None,
            "has_more": len(items) > count,
            "unread_count": self._s.notifications.unread_count(viewer.user_id),
        }

    def mark_read(self, viewer: Principal, *, up_to: int | None) -> dict[str, Any]:
        marked = self._s.notifications.mark_read(viewer.user_id, up_to=up_to)
        return {"marked": marked, "unread_count": self._s.notifications.unread_count(viewer.user_id)}

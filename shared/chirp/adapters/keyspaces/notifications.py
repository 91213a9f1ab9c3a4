"""NotificationStore on Keyspaces: a partition per user (newest first), an LWT dedupe claim per (user, dedupe key),
and unread markers whose partition size is the unread count. All three rows of a notification expire together,
``NOTIFICATION_TTL_S`` after it was added."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from cassandra.cluster import Session  # type: ignore[import-untyped]

from chirp.adapters.keyspaces.connection import Statements, applied, batch, execute, scan
from chirp.model import NotificationRecord, NotificationType, now_ms
from chirp.ports import require_keys
from chirp.schema import MAX_BATCH_STATEMENTS, NOTIFICATION_TTL_S

MAX_ID = 2**63 - 1

CQL: dict[str, str] = {
    "claim": "INSERT INTO {ks}.notification_dedupe (user_id, dedupe_key, notification_id) VALUES (?, ?, ?)"
    " IF NOT EXISTS USING TTL ?",
    "claimed": "SELECT notification_id FROM {ks}.notification_dedupe WHERE user_id = ? AND dedupe_key = ?",
    "exists": "SELECT notification_id FROM {ks}.notifications WHERE user_id = ? AND notification_id = ?",
    "insert": "INSERT INTO {ks}.notifications (user_id, notification_id, ntype, actor_id, actor_username, tweet_id,"
    " created_at_ms, dedupe_key, is_read, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?",
    "mark_unread": "INSERT INTO {ks}.notifications_unread (user_id, notification_id, expires_at_ms) VALUES (?, ?, ?)"
    " USING TTL ?",
    "page": "SELECT user_id, notification_id, ntype, actor_id, actor_username, tweet_id, created_at_ms, dedupe_key,"
    " is_read FROM {ks}.notifications WHERE user_id = ? AND notification_id < ? LIMIT ?",
    "unread_upto": "SELECT notification_id, expires_at_ms FROM {ks}.notifications_unread WHERE user_id = ?"
    " AND notification_id <= ?",
    "unread_all": "SELECT notification_id FROM {ks}.notifications_unread WHERE user_id = ?",
    "set_read": "UPDATE {ks}.notifications USING TTL ? SET is_read = true WHERE user_id = ? AND notification_id = ?",
    "clear_unread": "DELETE FROM {ks}.notifications_unread WHERE user_id = ? AND notification_id = ?",
    "forget": "DELETE FROM {ks}.notifications WHERE user_id = ?",
    "forget_unread": "DELETE FROM {ks}.notifications_unread WHERE user_id = ?",
}

_STATEMENTS_PER_MARK = 2  # set_read + clear_unread, in one logged batch


class KeyspacesNotificationStore:
    def __init__(self, session: Session, keyspace: str) -> None:
        self._session = session
        self._q = Statements(session, keyspace, CQL)

    def add(self, notification: NotificationRecord) -> bool:
        n = notification
        require_keys("dedupe_key", n.dedupe_key)
        expires_at_ms = now_ms() + NOTIFICATION_TTL_S * 1000
        ttl = NOTIFICATION_TTL_S
        if not applied(self._session, self._q["claim"], (n.user_id, n.dedupe_key, n.notification_id, ttl)):
            # Claimed before: by a delivery that completed (nothing to do), or by one that died between the claim
            # and the write (finish it, under the claimed id, so a redelivery never loses the notification).
            claimed = list(execute(self._session, self._q["claimed"], (n.user_id, n.dedupe_key)))
            if not claimed or list(execute(self._session, self._q["exists"], (n.user_id, claimed[0].notification_id))):
                return False
            n = replace(n, notification_id=claimed[0].notification_id)
        row = (
            n.user_id,
            n.notification_id,
            n.type.value,
            n.actor_id,
            n.actor_username,
            n.tweet_id,
            n.created_at_ms,
            n.dedupe_key,
            n.read,
            expires_at_ms,
            ttl,
        )
        writes: list[tuple[Any, Sequence[Any]]] = [(self._q["insert"], row)]
        if not n.read:
            writes.append((self._q["mark_unread"], (n.user_id, n.notification_id, expires_at_ms, ttl)))
        batch(self._session, writes)
        return True

    def page(self, user_id: int, *, before: int | None, limit: int) -> list[NotificationRecord]:
        if limit <= 0:
            return []
        rows = execute(self._session, self._q["page"], (user_id, before if before is not None else MAX_ID, limit))
        return [_notification(row) for row in rows if row.ntype is not None]

    def mark_read(self, user_id: int, *, up_to: int | None) -> int:
        """Marks the unread notifications with ids up to ``up_to`` read; returns how many it marked. Each mark
        re-applies the notification's remaining lifetime (an UPDATE would otherwise get the table's full TTL)."""
        now = now_ms()
        marks: list[tuple[int, int]] = []
        for row in scan(self._session, self._q["unread_upto"], (user_id, up_to if up_to is not None else MAX_ID)):
            remaining_s = (row.expires_at_ms - now) // 1000  # floor: is_read never outlives the rest of the row
            if remaining_s > 0:
                marks.append((row.notification_id, remaining_s))
        per_batch = MAX_BATCH_STATEMENTS // _STATEMENTS_PER_MARK
        for start in range(0, len(marks), per_batch):
            writes: list[tuple[Any, Sequence[Any]]] = []
            for notification_id, remaining_s in marks[start : start + per_batch]:
                writes.append((self._q["set_read"], (remaining_s, user_id, notification_id)))
                writes.append((self._q["clear_unread"], (user_id, notification_id)))
            batch(self._session, writes)
        return len(marks)

    def forget_user(self, user_id: int) -> None:
        """Two partition deletes. The dedupe claims are left to expire: they name nothing readable, and a deleted
        user's id is never minted again."""
        execute(self._session, self._q["forget"], (user_id,))
        execute(self._session, self._q["forget_unread"], (user_id,))

    def unread_count(self, user_id: int) -> int:
        """Exact: the number of unread markers, counted over a paged scan of the user's (TTL-bounded) partition."""
        return sum(1 for _ in scan(self._session, self._q["unread_all"], (user_id,)))


def _notification(row: Any) -> NotificationRecord:
    return NotificationRecord(
        notification_id=row.notification_id,
        user_id=row.user_id,
        type=NotificationType(row.ntype),
        actor_id=row.actor_id,
        actor_username=row.actor_username,
        tweet_id=row.tweet_id,
        created_at_ms=row.created_at_ms,
        dedupe_key=row.dedupe_key,
        read=bool(row.is_read),
    )

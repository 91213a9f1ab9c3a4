"""Embedded store for the durable records that production keeps in Keyspaces: users, tweets, engagement,
notifications, media metadata and idempotency records — one SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from chirp.model import (
    MediaProcessing,
    MediaRecord,
    NotificationRecord,
    NotificationType,
    Page,
    TweetCounts,
    TweetRecord,
    UserRecord,
    now_ms,
)
from chirp.ports import (
    DuplicateKey,
    EngagementChange,
    EngagementKind,
    IdempotencyRecord,
    parse_likes_cursor,
    present_keys,
    require_keys,
)
from chirp.sqlite import Database, chunks, placeholders

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id INTEGER PRIMARY KEY, username TEXT NOT NULL, username_key TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL, password_hash TEXT NOT NULL,
    bio TEXT NOT NULL DEFAULT '', created_at_ms INTEGER NOT NULL, avatar_media_id TEXT NOT NULL DEFAULT '',
    place TEXT, token_version INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS tweets (
    tweet_id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, body TEXT NOT NULL,
    reply_to INTEGER, created_at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tweets_by_author ON tweets(user_id, tweet_id);
CREATE INDEX IF NOT EXISTS tweets_by_parent ON tweets(reply_to, tweet_id) WHERE reply_to IS NOT NULL;
CREATE TABLE IF NOT EXISTS tweet_counts (
    tweet_id INTEGER PRIMARY KEY, likes INTEGER NOT NULL DEFAULT 0, retweets INTEGER NOT NULL DEFAULT 0,
    replies INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS likes (
    tweet_id INTEGER NOT NULL, user_id INTEGER NOT NULL, created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, tweet_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS likes_by_tweet ON likes(tweet_id);
CREATE INDEX IF NOT EXISTS likes_by_user_time ON likes(user_id, created_at_ms, tweet_id);
CREATE TABLE IF NOT EXISTS retweets (
    tweet_id INTEGER NOT NULL, user_id INTEGER NOT NULL, created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, tweet_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS retweets_by_tweet ON retweets(tweet_id);
CREATE TABLE IF NOT EXISTS bookmarks (
    user_id INTEGER NOT NULL, tweet_id INTEGER NOT NULL, created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, tweet_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS notifications (
    notification_id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, type TEXT NOT NULL, actor_id INTEGER NOT NULL,
    actor_username TEXT NOT NULL, tweet_id INTEGER, created_at_ms INTEGER NOT NULL, dedupe_key TEXT NOT NULL,
    read INTEGER NOT NULL DEFAULT 0, UNIQUE (user_id, dedupe_key));
CREATE INDEX IF NOT EXISTS notifications_by_user ON notifications(user_id, notification_id);
CREATE TABLE IF NOT EXISTS media (
    media_id TEXT PRIMARY KEY, owner_id INTEGER NOT NULL, content_type TEXT NOT NULL, size INTEGER NOT NULL,
    object_key TEXT NOT NULL, created_at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS media_by_owner ON media (owner_id);
DROP TABLE IF EXISTS idempotency; -- the record before fingerprints; its rows were valid for a day at most
CREATE TABLE IF NOT EXISTS idempotency_records (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, result TEXT, expires_at_ms INTEGER NOT NULL);
"""

_USER_COLUMNS = (
    "user_id, username, email, display_name, password_hash, created_at_ms, bio, avatar_media_id, place, token_version"
)
# Columns added to a table after files were first written with it: (table, column, definition), added on open.
_ADDED_COLUMNS = (
    ("users", "avatar_media_id", "TEXT NOT NULL DEFAULT ''"),
    ("users", "place", "TEXT"),
    ("users", "token_version", "INTEGER NOT NULL DEFAULT 0"),
)


class RecordsDatabase(Database):
    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)
        for table, column, definition in _ADDED_COLUMNS:
            present = {row[1] for row in self.query(f"PRAGMA table_info({table})")}
            if column not in present:
                self.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


class SqliteUserStore:
    def __init__(self, db: RecordsDatabase) -> None:
        self._db = db

    def create(self, user: UserRecord) -> None:
        require_keys("username and email", user.username, user.email)
        try:
            with self._db.transaction() as conn:
                conn.execute(_INSERT_USER, _user_row(user))
        except sqlite3.IntegrityError as exc:
            taken = self._db.one("SELECT 1 FROM users WHERE username_key = ?", (user.username_key,))
            raise DuplicateKey("username" if taken else "email") from exc

    def bulk_load_users(self, users: Sequence[UserRecord]) -> None:
        """One transaction for the lot (the unique indexes still refuse a duplicate: the whole load rolls back)."""
        for user in users:
            require_keys("username and email", user.username, user.email)
        with self._db.transaction() as conn:
            conn.executemany(_INSERT_USER, [_user_row(u) for u in users])

    def get(self, user_id: int) -> UserRecord | None:
        row = self._db.one(f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = ?", (user_id,))
        return _user(row) if row else None

    def get_many(self, user_ids: Sequence[int]) -> dict[int, UserRecord]:
        found: dict[int, UserRecord] = {}
        for part in chunks(list(dict.fromkeys(user_ids))):
            for row in self._db.query(
                f"SELECT {_USER_COLUMNS} FROM users WHERE user_id IN ({placeholders(len(part))})", part
            ):
                found[row[0]] = _user(row)
        return found

    def get_by_username(self, username: str) -> UserRecord | None:
        if not present_keys([username]):
            return None
        row = self._db.one(f"SELECT {_USER_COLUMNS} FROM users WHERE username_key = ?", (username.lower(),))
        return _user(row) if row else None

    def update(self, user: UserRecord) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE users SET display_name = ?, bio = ?, avatar_media_id = ?, place = ?, password_hash = ?,"
                " token_version = ? WHERE user_id = ?",
                (
                    user.display_name,
                    user.bio,
                    user.avatar_media_id,
                    user.place,
                    user.password_hash,
                    user.token_version,
                    user.user_id,
                ),
            )

    def delete(self, user: UserRecord) -> None:
        """The row holds the username and email claims (unique columns): both go with it."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM users WHERE user_id = ?", (user.user_id,))


_INSERT_USER = (
    "INSERT INTO users (user_id, username, username_key, email, display_name, password_hash, bio, created_at_ms,"
    " avatar_media_id, place, token_version) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)


def _user_row(user: UserRecord) -> tuple[Any, ...]:
    return (
        user.user_id,
        user.username,
        user.username_key,
        user.email.lower(),
        user.display_name,
        user.password_hash,
        user.bio,
        user.created_at_ms,
        user.avatar_media_id,
        user.place,
        user.token_version,
    )


def _user(row: tuple[Any, ...]) -> UserRecord:
    return UserRecord(
        user_id=row[0],
        username=row[1],
        email=row[2],
        display_name=row[3],
        password_hash=row[4],
        created_at_ms=row[5],
        bio=row[6],
        avatar_media_id=row[7],
        place=row[8],
        token_version=row[9],
    )


class SqliteTweetStore:
    def __init__(self, db: RecordsDatabase) -> None:
        self._db = db

    def create(self, tweet: TweetRecord) -> None:
        try:
            with self._db.transaction() as conn:
                conn.execute(_INSERT_TWEET, _tweet_row(tweet))
        except sqlite3.IntegrityError as exc:
            raise DuplicateKey("tweet_id") from exc

    def bulk_load_tweets(self, tweets: Sequence[TweetRecord]) -> None:
        """One transaction for the lot; the per-author and per-thread indexes are SQLite's own."""
        with self._db.transaction() as conn:
            conn.executemany(_INSERT_TWEET, [_tweet_row(t) for t in tweets])

    def get(self, tweet_id: int) -> TweetRecord | None:
        return self.get_many([tweet_id]).get(tweet_id)

    def get_many(self, tweet_ids: Sequence[int]) -> dict[int, TweetRecord]:
        found: dict[int, TweetRecord] = {}
        for part in chunks(list(dict.fromkeys(tweet_ids))):
            for tweet_id, user_id, body, created in self._db.query(
                f"SELECT tweet_id, user_id, body, created_at_ms FROM tweets WHERE tweet_id IN"
                f" ({placeholders(len(part))})",
                part,
            ):
                found[tweet_id] = _tweet(tweet_id, user_id, created, json.loads(body))
        return found

    def delete(self, tweet: TweetRecord) -> bool:
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM tweets WHERE tweet_id = ?", (tweet.tweet_id,)).rowcount == 1

    def author_tweet_ids(self, author_id: int, *, before: int | None, limit: int) -> list[int]:
        return self.recent_ids_by_authors([author_id], limit=limit, before=before)

    def recent_ids_by_authors(
        self, author_ids: Sequence[int], *, limit: int, before: int | None = None, after: int | None = None
    ) -> list[int]:
        ids: list[int] = []
        authors = list(dict.fromkeys(author_ids))
        for part in chunks(authors):
            rows = self._db.query(
                f"SELECT tweet_id FROM tweets WHERE user_id IN ({placeholders(len(part))})"
                " AND tweet_id < ? AND tweet_id > ? ORDER BY tweet_id DESC LIMIT ?",
                [*part, before if before is not None else 2**63 - 1, after if after is not None else 0, limit],
            )
            ids.extend(row[0] for row in rows)
        ids.sort(reverse=True)
        return ids[:limit]

    def reply_ids(self, parent_id: int, *, after: int | None, limit: int) -> list[int]:
        rows = self._db.query(
            "SELECT tweet_id FROM tweets WHERE reply_to = ? AND tweet_id > ? ORDER BY tweet_id ASC LIMIT ?",
            (parent_id, after or 0, limit),
        )
        return [row[0] for row in rows]

    def count_by_author(self, author_id: int) -> int:
        # The tweets the author wrote: a retweet entry (no text, quoting its original) is not counted.
        row = self._db.one(
            "SELECT COUNT(*) FROM tweets WHERE user_id = ? AND json_extract(body, '$.content') != ''", (author_id,)
        )
        return int(row[0]) if row else 0


_KEY_COLUMNS = ("tweet_id", "user_id", "created_at_ms")  # stored as columns; the rest is the JSON body
_INSERT_TWEET = "INSERT INTO tweets (tweet_id, user_id, body, reply_to, created_at_ms) VALUES (?,?,?,?,?)"


def _tweet_row(tweet: TweetRecord) -> tuple[Any, ...]:
    body = json.dumps(_tweet_body(tweet), ensure_ascii=False, separators=(",", ":"))
    return (tweet.tweet_id, tweet.user_id, body, tweet.reply_to, tweet.created_at_ms)


def _tweet_body(tweet: TweetRecord) -> dict[str, Any]:
    return {k: v for k, v in asdict(tweet).items() if k not in _KEY_COLUMNS}


def _tweet(tweet_id: int, user_id: int, created: int, body: dict[str, Any]) -> TweetRecord:
    return TweetRecord(tweet_id=tweet_id, user_id=user_id, created_at_ms=created, **body)


class SqliteEngagementStore:
    def __init__(self, db: RecordsDatabase) -> None:
        self._db = db

    def _add(self, table: str, column: str, tweet_id: int, user_id: int, at_ms: int) -> bool:
        with self._db.transaction() as conn:
            added = (
                conn.execute(
                    f"INSERT OR IGNORE INTO {table} (tweet_id, user_id, created_at_ms) VALUES (?,?,?)",
                    (tweet_id, user_id, at_ms),
                ).rowcount
                == 1
            )
            if added:
                self._bump(conn, tweet_id, column, 1)
            return added

    def _remove(self, table: str, column: str, tweet_id: int, user_id: int) -> bool:
        with self._db.transaction() as conn:
            removed = (
                conn.execute(f"DELETE FROM {table} WHERE tweet_id = ? AND user_id = ?", (tweet_id, user_id)).rowcount
                == 1
            )
            if removed:
                self._bump(conn, tweet_id, column, -1)
            return removed

    @staticmethod
    def _bump(conn: sqlite3.Connection, tweet_id: int, column: str, delta: int) -> None:
        conn.execute(
            f"INSERT INTO tweet_counts (tweet_id, {column}) VALUES (?, ?)"
            f" ON CONFLICT(tweet_id) DO UPDATE SET {column} = {column} + excluded.{column}",
            (tweet_id, delta),
        )

    def set_engagements(self, kind: EngagementKind, tweet_id: int, changes: Sequence[EngagementChange]) -> list[bool]:
        """One transaction: each row in order, then the count moved once by the net change (a failure anywhere rolls
        back the rows with it)."""
        table = f"{kind}s"
        changed: list[bool] = []
        with self._db.transaction() as conn:
            for change in changes:
                if change.on:
                    cursor = conn.execute(
                        f"INSERT OR IGNORE INTO {table} (tweet_id, user_id, created_at_ms) VALUES (?,?,?)",
                        (tweet_id, change.user_id, change.at_ms),
                    )
                else:
                    cursor = conn.execute(
                        f"DELETE FROM {table} WHERE tweet_id = ? AND user_id = ?", (tweet_id, change.user_id)
                    )
                changed.append(cursor.rowcount == 1)
            net = sum((1 if c.on else -1) for c, moved in zip(changes, changed, strict=True) if moved)
            if net:
                self._bump(conn, tweet_id, table, net)
        return changed

    def add_like(self, tweet_id: int, user_id: int, at_ms: int) -> bool:
        return self._add("likes", "likes", tweet_id, user_id, at_ms)

    def remove_like(self, tweet_id: int, user_id: int) -> bool:
        return self._remove("likes", "likes", tweet_id, user_id)

    def add_retweet(self, tweet_id: int, user_id: int, at_ms: int) -> bool:
        return self._add("retweets", "retweets", tweet_id, user_id, at_ms)

    def remove_retweet(self, tweet_id: int, user_id: int) -> bool:
        return self._remove("retweets", "retweets", tweet_id, user_id)

    def _flags(self, table: str, user_id: int, tweet_ids: Sequence[int]) -> set[int]:
        found: set[int] = set()
        for part in chunks(list(tweet_ids)):
            rows = self._db.query(
                f"SELECT tweet_id FROM {table} WHERE user_id = ? AND tweet_id IN ({placeholders(len(part))})",
                [user_id, *part],
            )
            found.update(row[0] for row in rows)
        return found

    def liked_by(self, user_id: int, tweet_ids: Sequence[int]) -> set[int]:
        return self._flags("likes", user_id, tweet_ids)

    def retweeted_by(self, user_id: int, tweet_ids: Sequence[int]) -> set[int]:
        return self._flags("retweets", user_id, tweet_ids)

    def adjust_replies(self, tweet_id: int, delta: int) -> None:
        with self._db.transaction() as conn:
            self._bump(conn, tweet_id, "replies", delta)

    def counts(self, tweet_ids: Sequence[int]) -> dict[int, TweetCounts]:
        found: dict[int, TweetCounts] = {}
        for part in chunks(list(tweet_ids)):
            for tweet_id, likes, retweets, replies in self._db.query(
                f"SELECT tweet_id, likes, retweets, replies FROM tweet_counts WHERE tweet_id IN"
                f" ({placeholders(len(part))})",
                part,
            ):
                found[tweet_id] = TweetCounts(likes=likes, retweets=retweets, replies=replies)
        return found

    def forget_tweet(self, tweet_id: int) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM likes WHERE tweet_id = ?", (tweet_id,))
            conn.execute("DELETE FROM retweets WHERE tweet_id = ?", (tweet_id,))
            conn.execute("DELETE FROM tweet_counts WHERE tweet_id = ?", (tweet_id,))

    def add_bookmark(self, user_id: int, tweet_id: int, at_ms: int) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO bookmarks (user_id, tweet_id, created_at_ms) VALUES (?,?,?)",
                (user_id, tweet_id, at_ms),
            )

    def remove_bookmark(self, user_id: int, tweet_id: int) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM bookmarks WHERE user_id = ? AND tweet_id = ?", (user_id, tweet_id))

    def bookmark_ids(self, user_id: int, *, before: int | None, limit: int) -> list[int]:
        rows = self._db.query(
            "SELECT tweet_id FROM bookmarks WHERE user_id = ? AND tweet_id < ? ORDER BY tweet_id DESC LIMIT ?",
            (user_id, before if before is not None else 2**63 - 1, limit),
        )
        return [row[0] for row in rows]

    def bookmarked_by(self, user_id: int, tweet_ids: Sequence[int]) -> set[int]:
        return self._flags("bookmarks", user_id, tweet_ids)

    def forget_bookmarks(self, user_id: int) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM bookmarks WHERE user_id = ?", (user_id,))

    def forget_likes(self, user_id: int, *, limit: int) -> tuple[list[int], bool]:
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT tweet_id FROM likes WHERE user_id = ? ORDER BY created_at_ms DESC, tweet_id DESC LIMIT ?",
                (user_id, limit + 1),
            ).fetchall()
            taken = [row[0] for row in rows[:limit]]
            for tweet_id in taken:
                conn.execute("DELETE FROM likes WHERE tweet_id = ? AND user_id = ?", (tweet_id, user_id))
                self._bump(conn, tweet_id, "likes", -1)
        return taken, len(rows) > limit

    def likes_page(self, user_id: int, *, cursor: str | None, limit: int) -> Page[int]:
        """Newest like first (ties by tweet id, newest first); the cursor is the last item's
        ``<liked_at_ms>:<tweet_id>``, as on Keyspaces."""
        at, last = parse_likes_cursor(cursor) or (2**63 - 1, 2**63 - 1)
        rows = self._db.query(
            "SELECT created_at_ms, tweet_id FROM likes WHERE user_id = ?"
            " AND (created_at_ms < ? OR (created_at_ms = ? AND tweet_id < ?))"
            " ORDER BY created_at_ms DESC, tweet_id DESC LIMIT ?",
            (user_id, at, at, last, limit + 1),
        )
        page = rows[:limit]
        more = len(rows) > limit and bool(page)
        return Page(items=[row[1] for row in page], next_cursor=f"{page[-1][0]}:{page[-1][1]}" if more else None)

    def bulk_load_likes(self, likes: Sequence[tuple[int, int, int]]) -> None:
        """One transaction: the like rows, then each tweet's count moved once by its number of new likes."""
        per_tweet = Counter(tweet_id for tweet_id, _, _ in likes)
        with self._db.transaction() as conn:
            conn.executemany("INSERT INTO likes (tweet_id, user_id, created_at_ms) VALUES (?,?,?)", likes)
            conn.executemany(
                "INSERT INTO tweet_counts (tweet_id, likes) VALUES (?, ?)"
                " ON CONFLICT(tweet_id) DO UPDATE SET likes = likes + excluded.likes",
                list(per_tweet.items()),
            )


class SqliteNotificationStore:
    def __init__(self, db: RecordsDatabase) -> None:
        self._db = db

    def add(self, notification: NotificationRecord) -> bool:
        n = notification
        require_keys("dedupe_key", n.dedupe_key)
        with self._db.transaction() as conn:
            return (
                conn.execute(
                    "INSERT OR IGNORE INTO notifications (notification_id, user_id, type, actor_id, actor_username,"
                    " tweet_id, created_at_ms, dedupe_key, read) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        n.notification_id,
                        n.user_id,
                        n.type.value,
                        n.actor_id,
                        n.actor_username,
                        n.tweet_id,
                        n.created_at_ms,
                        n.dedupe_key,
                        int(n.read),
                    ),
                ).rowcount
                == 1
            )

    def page(self, user_id: int, *, before: int | None, limit: int) -> list[NotificationRecord]:
        rows = self._db.query(
            "SELECT notification_id, user_id, type, actor_id, actor_username, tweet_id, created_at_ms, dedupe_key,"
            " read FROM notifications WHERE user_id = ? AND notification_id < ? ORDER BY notification_id DESC"
            " LIMIT ?",
            (user_id, before if before is not None else 2**63 - 1, limit),
        )
        return [
            NotificationRecord(
                notification_id=r[0],
                user_id=r[1],
                type=NotificationType(r[2]),
                actor_id=r[3],
                actor_username=r[4],
                tweet_id=r[5],
                created_at_ms=r[6],
                dedupe_key=r[7],
                read=bool(r[8]),
            )
            for r in rows
        ]

    def mark_read(self, user_id: int, *, up_to: int | None) -> int:
        with self._db.transaction() as conn:
            return conn.execute(
                "UPDATE notifications SET read = 1 WHERE user_id = ? AND read = 0 AND notification_id <= ?",
                (user_id, up_to if up_to is not None else 2**63 - 1),
            ).rowcount

    def unread_count(self, user_id: int) -> int:
        row = self._db.one("SELECT COUNT(*) FROM notifications WHERE user_id = ? AND read = 0", (user_id,))
        return int(row[0]) if row else 0

    def forget_user(self, user_id: int) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM notifications WHERE user_id = ?", (user_id,))


# Processing columns, added to a data directory's media table from before processing (ALTER TABLE on open).
_MEDIA_PROCESSING_COLUMNS = {
    "status": "TEXT",
    "reason": "TEXT NOT NULL DEFAULT ''",
    "width": "INTEGER",
    "height": "INTEGER",
    "duration_ms": "INTEGER",
    "dominant_color": "TEXT NOT NULL DEFAULT ''",
    "alt_text": "TEXT NOT NULL DEFAULT ''",
    "rendition_key": "TEXT NOT NULL DEFAULT ''",
    "thumbnail_key": "TEXT NOT NULL DEFAULT ''",
    "tweet_id": "INTEGER",
}
_MEDIA_COLUMNS = "media_id, owner_id, content_type, size, object_key, created_at_ms, " + ", ".join(
    _MEDIA_PROCESSING_COLUMNS
)


class SqliteMediaCatalog:
    def __init__(self, db: RecordsDatabase) -> None:
        self._db = db
        present = {row[1] for row in db.query("PRAGMA table_info(media)")}
        for column, kind in _MEDIA_PROCESSING_COLUMNS.items():
            if column not in present:
                db.execute(f"ALTER TABLE media ADD COLUMN {column} {kind}")

    def create(self, media: MediaRecord) -> None:
        m = media
        require_keys("media_id", m.media_id)
        with self._db.transaction() as conn:
            conn.execute(
                f"INSERT INTO media ({_MEDIA_COLUMNS}) VALUES ({placeholders(16)})",
                (
                    *(m.media_id, m.owner_id, m.content_type, m.size, m.key, m.created_at_ms, m.status, m.reason),
                    *(m.width, m.height, m.duration_ms, m.dominant_color, m.alt_text, m.rendition_key),
                    *(m.thumbnail_key, m.tweet_id),
                ),
            )

    def get_many(self, media_ids: Sequence[str]) -> dict[str, MediaRecord]:
        found: dict[str, MediaRecord] = {}
        for part in chunks(present_keys(media_ids)):
            for row in self._db.query(
                f"SELECT {_MEDIA_COLUMNS} FROM media WHERE media_id IN ({placeholders(len(part))})", part
            ):
                found[row[0]] = MediaRecord(
                    media_id=row[0],
                    owner_id=row[1],
                    content_type=row[2],
                    size=row[3],
                    key=row[4],
                    created_at_ms=row[5],
                    status=row[6] or "ready",  # rows from before processing: served as uploaded
                    reason=row[7],
                    width=row[8],
                    height=row[9],
                    duration_ms=row[10],
                    dominant_color=row[11],
                    alt_text=row[12],
                    rendition_key=row[13],
                    thumbnail_key=row[14],
                    tweet_id=row[15],
                )
        return found

    def set_processing(self, media_id: str, outcome: MediaProcessing) -> None:
        o = outcome
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE media SET status = ?, reason = ?, width = ?, height = ?, duration_ms = ?, dominant_color = ?,"
                " rendition_key = ?, thumbnail_key = ? WHERE media_id = ?",
                (
                    *(o.status, o.reason, o.width, o.height, o.duration_ms, o.dominant_color, o.rendition_key),
                    *(o.thumbnail_key, media_id),
                ),
            )

    def set_alt_text(self, media_id: str, alt_text: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("UPDATE media SET alt_text = ? WHERE media_id = ?", (alt_text, media_id))

    def mark_posted(self, media_ids: Sequence[str], tweet_id: int) -> None:
        with self._db.transaction() as conn:
            conn.executemany("UPDATE media SET tweet_id = ? WHERE media_id = ?", [(tweet_id, m) for m in media_ids])

    def owned_by(self, owner_id: int, *, limit: int) -> list[MediaRecord]:
        rows = self._db.query("SELECT media_id FROM media WHERE owner_id = ? LIMIT ?", (owner_id, limit))
        ids = [row[0] for row in rows]
        found = self.get_many(ids)
        return [found[i] for i in ids if i in found]

    def forget(self, media: Sequence[MediaRecord]) -> None:
        with self._db.transaction() as conn:
            conn.executemany("DELETE FROM media WHERE media_id = ?", [(m.media_id,) for m in media])


class SqliteIdempotencyStore:
    """One row per key; ``result`` is NULL while the claiming request is in flight. Each method is one IMMEDIATE
    transaction, which makes claim-or-read atomic across threads and processes sharing the file."""

    def __init__(self, db: RecordsDatabase) -> None:
        self._db = db

    def claim(self, key: str, fingerprint: str, ttl_s: int) -> IdempotencyRecord | None:
        now = now_ms()
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT fingerprint, result FROM idempotency_records WHERE key = ? AND expires_at_ms > ?", (key, now)
            ).fetchone()
            if row is not None:
                return IdempotencyRecord(fingerprint=str(row[0]), result=None if row[1] is None else str(row[1]))
            conn.execute(  # replaces an expired row of the same key
                "INSERT OR REPLACE INTO idempotency_records (key, fingerprint, result, expires_at_ms) "
                "VALUES (?,?,NULL,?)",
                (key, fingerprint, now + ttl_s * 1000),
            )
            return None

    def complete(self, key: str, fingerprint: str, result: str, ttl_s: int) -> bool:
        now = now_ms()
        with self._db.transaction() as conn:
            updated = conn.execute(
                "UPDATE idempotency_records SET result = ?, expires_at_ms = ? "
                "WHERE key = ? AND fingerprint = ? AND result IS NULL AND expires_at_ms > ?",
                (result, now + ttl_s * 1000, key, fingerprint, now),
            ).rowcount
        return updated == 1

    def release(self, key: str, fingerprint: str) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "DELETE FROM idempotency_records WHERE key = ? AND fingerprint = ? AND result IS NULL",
                (key, fingerprint),
            )

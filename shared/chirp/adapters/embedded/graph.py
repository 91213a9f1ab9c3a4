"""Embedded social graph (production: Neptune): follow edges with exact, transactionally kept counts, and the
block/mute edges beside them (``relations``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from chirp.model import Page, Relation, SafetySets
from chirp.sqlite import Database, chunks, placeholders

SCHEMA = """
CREATE TABLE IF NOT EXISTS follows (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, follower_id INTEGER NOT NULL, followee_id INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL, UNIQUE (follower_id, followee_id));
CREATE INDEX IF NOT EXISTS follows_by_followee ON follows(followee_id, seq);
CREATE INDEX IF NOT EXISTS follows_by_follower ON follows(follower_id, seq);
CREATE TABLE IF NOT EXISTS follow_counts (
    user_id INTEGER PRIMARY KEY, followers INTEGER NOT NULL DEFAULT 0, following INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS relations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, other_id INTEGER NOT NULL, relation TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL, UNIQUE (user_id, relation, other_id));
CREATE INDEX IF NOT EXISTS relations_by_other ON relations(other_id, relation);
"""


class SqliteGraphStore:
    def __init__(self, path: Path) -> None:
        self._db = Database(path, SCHEMA)

    def follow(self, follower_id: int, followee_id: int, at_ms: int) -> bool:
        with self._db.transaction() as conn:
            added = (
                conn.execute(
                    "INSERT OR IGNORE INTO follows (follower_id, followee_id, created_at_ms) VALUES (?,?,?)",
                    (follower_id, followee_id, at_ms),
                ).rowcount
                == 1
            )
            if added:
                self._bump(conn, follower_id, followee_id, 1)
            return added

    def unfollow(self, follower_id: int, followee_id: int) -> bool:
        with self._db.transaction() as conn:
            removed = (
                conn.execute(
                    "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?", (follower_id, followee_id)
                ).rowcount
                == 1
            )
            if removed:
                self._bump(conn, follower_id, followee_id, -1)
            return removed

    @staticmethod
    def _bump(conn: object, follower_id: int, followee_id: int, delta: int) -> None:
        execute = conn.execute  # type: ignore[attr-defined]
        execute(
            "INSERT INTO follow_counts (user_id, following) VALUES (?, ?)"
            " ON CONFLICT(user_id) DO UPDATE SET following = following + excluded.following",
            (follower_id, delta),
        )
        execute(
            "INSERT INTO follow_counts (user_id, followers) VALUES (?, ?)"
            " ON CONFLICT(user_id) DO UPDATE SET followers = followers + excluded.followers",
            (followee_id, delta),
        )

    def bulk_load_follows(self, edges: Sequence[tuple[int, int, int]]) -> None:
        """One transaction: the edges in ``at_ms`` order (pages are ordered by insertion), then each user's counts
        moved once."""
        followers = Counter(followee for _, followee, _ in edges)
        following = Counter(follower for follower, _, _ in edges)
        in_time_order = sorted(edges, key=lambda edge: edge[2])
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO follows (follower_id, followee_id, created_at_ms) VALUES (?,?,?)", in_time_order
            )
            conn.executemany(
                "INSERT INTO follow_counts (user_id, followers, following) VALUES (?,?,?) ON CONFLICT(user_id)"
                " DO UPDATE SET followers = followers + excluded.followers, following = following + excluded.following",
                [(u, followers[u], following[u]) for u in followers.keys() | following.keys()],
            )

    def following_among(self, follower_id: int, candidates: Sequence[int]) -> set[int]:
        found: set[int] = set()
        for part in chunks(list(candidates)):
            rows = self._db.query(
                f"SELECT followee_id FROM follows WHERE follower_id = ? AND followee_id IN ({placeholders(len(part))})",
                [follower_id, *part],
            )
            found.update(r[0] for r in rows)
        return found

    def _page(self, column: str, other: str, user_id: int, cursor: str | None, limit: int) -> Page[int]:
        before = int(cursor) if cursor and cursor.isdigit() else 2**63 - 1
        rows = self._db.query(
            f"SELECT {other}, seq FROM follows WHERE {column} = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            (user_id, before, limit + 1),
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(items=[r[0] for r in rows], next_cursor=str(rows[-1][1]) if more and rows else None)

    def followers_page(self, user_id: int, *, cursor: str | None, limit: int) -> Page[int]:
        return self._page("followee_id", "follower_id", user_id, cursor, limit)

    def follower_ids(self, user_id: int, *, batch_size: int) -> Iterator[list[int]]:
        """Batches in index order (followee_id, seq): a range scan per batch, no sort, each edge once."""
        after = 0
        while True:
            rows = self._db.query(
                "SELECT follower_id, seq FROM follows WHERE followee_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (user_id, after, batch_size),
            )
            if rows:
                yield [r[0] for r in rows]
            if len(rows) < batch_size:
                return
            after = rows[-1][1]

    def following_page(self, user_id: int, *, cursor: str | None, limit: int) -> Page[int]:
        return self._page("follower_id", "followee_id", user_id, cursor, limit)

    def following_ids(self, user_id: int, *, limit: int) -> list[int]:
        rows = self._db.query(
            "SELECT followee_id FROM follows WHERE follower_id = ? ORDER BY seq DESC LIMIT ?", (user_id, limit)
        )
        return [r[0] for r in rows]

    def following_with_follower_counts(self, user_id: int, *, limit: int) -> list[tuple[int, int]]:
        rows = self._db.query(
            "SELECT f.followee_id, COALESCE(c.followers, 0) FROM follows f"
            " LEFT JOIN follow_counts c ON c.user_id = f.followee_id"
            " WHERE f.follower_id = ? ORDER BY f.seq DESC LIMIT ?",
            (user_id, limit),
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    def counts(self, user_id: int) -> tuple[int, int]:
        row = self._db.one("SELECT followers, following FROM follow_counts WHERE user_id = ?", (user_id,))
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def follower_counts(self, user_ids: Sequence[int]) -> dict[int, int]:
        found = dict.fromkeys(user_ids, 0)
        for part in chunks(list(user_ids)):
            for user_id, followers in self._db.query(
                f"SELECT user_id, followers FROM follow_counts WHERE user_id IN ({placeholders(len(part))})", part
            ):
                found[user_id] = followers
        return found

    def followees_with_min_followers(self, user_id: int, min_followers: int, *, limit: int) -> list[int]:
        rows = self._db.query(
            "SELECT f.followee_id FROM follows f JOIN follow_counts c ON c.user_id = f.followee_id"
            " WHERE f.follower_id = ? AND c.followers >= ? ORDER BY f.seq DESC LIMIT ?",
            (user_id, min_followers, limit),
        )
        return [r[0] for r in rows]

    # -- blocks and mutes ----------------------------------------------------------------------------------------
    def add_relation(self, user_id: int, other_id: int, relation: Relation, at_ms: int) -> bool:
        with self._db.transaction() as conn:
            return (
                conn.execute(
                    "INSERT OR IGNORE INTO relations (user_id, other_id, relation, created_at_ms) VALUES (?,?,?,?)",
                    (user_id, other_id, relation, at_ms),
                ).rowcount
                == 1
            )

    def remove_relation(self, user_id: int, other_id: int, relation: Relation) -> bool:
        with self._db.transaction() as conn:
            return (
                conn.execute(
                    "DELETE FROM relations WHERE user_id = ? AND other_id = ? AND relation = ?",
                    (user_id, other_id, relation),
                ).rowcount
                == 1
            )

    def relation_ids(self, user_id: int, relation: Relation, *, limit: int) -> list[int]:
        rows = self._db.query(
            "SELECT other_id FROM relations WHERE user_id = ? AND relation = ?"
            " ORDER BY created_at_ms DESC, other_id DESC LIMIT ?",
            (user_id, relation, limit),
        )
        return [r[0] for r in rows]

    def safety_sets(self, user_id: int, *, limit: int) -> SafetySets:
        def inbound(relation: Relation) -> frozenset[int]:
            rows = self._db.query(
                "SELECT user_id FROM relations WHERE other_id = ? AND relation = ? LIMIT ?", (user_id, relation, limit)
            )
            return frozenset(r[0] for r in rows)

        return SafetySets(
            blocking=frozenset(self.relation_ids(user_id, "blocks", limit=limit)),
            blocked_by=inbound("blocks"),
            muting=frozenset(self.relation_ids(user_id, "mutes", limit=limit)),
            muted_by=inbound("mutes"),
        )

    def suggestions(self, user_id: int, *, sample: int, limit: int) -> list[tuple[int, int]]:
        """One query: the newest ``sample`` followees, whom they follow, minus self, followed and blocked (either
        way), counted."""
        rows = self._db.query(
            "WITH mine AS (SELECT followee_id FROM follows WHERE follower_id = ? ORDER BY seq DESC LIMIT ?)"
            " SELECT f.followee_id, COUNT(*) AS overlap FROM follows f JOIN mine m ON f.follower_id = m.followee_id"
            " WHERE f.followee_id != ?"
            " AND f.followee_id NOT IN (SELECT followee_id FROM follows WHERE follower_id = ?)"
            " AND f.followee_id NOT IN (SELECT other_id FROM relations WHERE user_id = ? AND relation = 'blocks')"
            " AND f.followee_id NOT IN (SELECT user_id FROM relations WHERE other_id = ? AND relation = 'blocks')"
            " GROUP BY f.followee_id ORDER BY overlap DESC, f.followee_id DESC LIMIT ?",
            (user_id, sample, user_id, user_id, user_id, user_id, limit),
        )
        return [(int(r[0]), int(r[1])) for r in rows]

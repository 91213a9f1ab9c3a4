"""EngagementStore on Keyspaces: like and retweet rows guarded by LWT, counts in a counter table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from aws_lambda_powertools import Logger
from cassandra.cluster import Session  # type: ignore[import-untyped]

from chirp.adapters.keyspaces.connection import Statements, applied, execute, read_in, read_many, write_many
from chirp.model import Page, TweetCounts
from chirp.ports import EngagementChange, EngagementKind, parse_likes_cursor

CQL: dict[str, str] = {
    "add_like": "INSERT INTO {ks}.likes (tweet_id, user_id, created_at_ms) VALUES (?, ?, ?) IF NOT EXISTS",
    "remove_like": "DELETE FROM {ks}.likes WHERE tweet_id = ? AND user_id = ? IF EXISTS",
    "has_like": "SELECT tweet_id FROM {ks}.likes WHERE tweet_id IN ? AND user_id = ?",
    "like_time": "SELECT created_at_ms FROM {ks}.likes WHERE tweet_id = ? AND user_id = ?",
    "index_like": "INSERT INTO {ks}.likes_by_user (user_id, liked_at_ms, tweet_id) VALUES (?, ?, ?)",
    "unindex_like": "DELETE FROM {ks}.likes_by_user WHERE user_id = ? AND liked_at_ms = ? AND tweet_id = ?",
    "likes_first": "SELECT liked_at_ms, tweet_id FROM {ks}.likes_by_user WHERE user_id = ? LIMIT ?",
    # A page after the cursor (at, last): the rest of the cursor's millisecond, then the older ones (two single-
    # column slices: multi-column relations are not something every CQL store takes).
    "likes_same_ms": "SELECT liked_at_ms, tweet_id FROM {ks}.likes_by_user WHERE user_id = ? AND liked_at_ms = ?"
    " AND tweet_id < ? LIMIT ?",
    "likes_older": "SELECT liked_at_ms, tweet_id FROM {ks}.likes_by_user WHERE user_id = ? AND liked_at_ms < ? LIMIT ?",
    "forget_bookmarks": "DELETE FROM {ks}.bookmarks WHERE user_id = ?",
    "forget_likes": "DELETE FROM {ks}.likes WHERE tweet_id = ?",
    "add_retweet": "INSERT INTO {ks}.retweets (tweet_id, user_id, created_at_ms) VALUES (?, ?, ?) IF NOT EXISTS",
    "remove_retweet": "DELETE FROM {ks}.retweets WHERE tweet_id = ? AND user_id = ? IF EXISTS",
    "has_retweet": "SELECT tweet_id FROM {ks}.retweets WHERE tweet_id IN ? AND user_id = ?",
    "forget_retweets": "DELETE FROM {ks}.retweets WHERE tweet_id = ?",
    "bump_likes": "UPDATE {ks}.tweet_counts SET likes = likes + ? WHERE tweet_id = ?",
    "bump_retweets": "UPDATE {ks}.tweet_counts SET retweets = retweets + ? WHERE tweet_id = ?",
    "bump_replies": "UPDATE {ks}.tweet_counts SET replies = replies + ? WHERE tweet_id = ?",
    "counts": "SELECT tweet_id, likes, retweets, replies FROM {ks}.tweet_counts WHERE tweet_id IN ?",
    "forget_counts": "DELETE FROM {ks}.tweet_counts WHERE tweet_id = ?",
    # Bookmarks carry no counter: a plain upsert / delete is idempotent, no lightweight transaction needed.
    "add_bookmark": "INSERT INTO {ks}.bookmarks (user_id, tweet_id, created_at_ms) VALUES (?, ?, ?)",
    "remove_bookmark": "DELETE FROM {ks}.bookmarks WHERE user_id = ? AND tweet_id = ?",
    "bookmark_page": "SELECT tweet_id FROM {ks}.bookmarks WHERE user_id = ? AND tweet_id < ? LIMIT ?",
    "has_bookmark": "SELECT tweet_id FROM {ks}.bookmarks WHERE user_id = ? AND tweet_id = ?",
}
# The bulk path's like rows: without the lightweight-transaction guard (as DSBulk or cqlsh COPY write).
CQL["bulk_add_like"] = CQL["add_like"].replace(" IF NOT EXISTS", "")
LIKES_PAGE_MAX = 1000
logger = Logger(service="chirp")
Applied = list[tuple[EngagementChange, int | None]]  # a call's changes that applied, each with a removed like's time


class KeyspacesEngagementStore:
    def __init__(self, session: Session, keyspace: str) -> None:
        self._session = session
        self._q = Statements(session, keyspace, CQL)

    def _add(self, kind: str, tweet_id: int, user_id: int, at_ms: int) -> bool:
        """The counter moves only when the LWT applied: exactly once per distinct (tweet, user)."""
        if not applied(self._session, self._q[f"add_{kind}"], (tweet_id, user_id, at_ms)):
            return False
        execute(self._session, self._q[f"bump_{kind}s"], (1, tweet_id))
        return True

    def _remove(self, kind: str, tweet_id: int, user_id: int) -> bool:
        if not applied(self._session, self._q[f"remove_{kind}"], (tweet_id, user_id)):
            return False
        execute(self._session, self._q[f"bump_{kind}s"], (-1, tweet_id))
        return True

    def set_engagements(self, kind: EngagementKind, tweet_id: int, changes: Sequence[EngagementChange]) -> list[bool]:
        """Each row by its LWT, in order (a like's per-user row with it), then one counter UPDATE by the net change.

        Why a coalesced count stays right at least once: a redelivered change finds its row already set (the LWT
        does not apply), so it counts nothing twice; and when a row or the counter write fails, the rows this call
        changed are set back (newest first, each by its LWT) before it raises, so the consumer fails these intents
        and their retry applies and counts them afresh. The rows are the truth and only this call knows which of
        them are uncounted, so it mends them itself rather than leave a retry to guess (a recount of the tweet's
        partition would race the other shards' batches counting the same tweet). What remains: a process killed
        between the rows and the counter write (a Lambda timeout) leaves them uncounted — the window the Lambda
        path has between its LWT and its +1, here as long as one tweet's changes in a batch — and a counter write
        that timed out yet applied counts again on the retry (no Keyspaces counter write is idempotent)."""
        done: Applied = []
        changed: list[bool] = []
        try:
            for change in changes:
                changed.append(self._set_row(kind, tweet_id, change, done))
            net = sum(1 if change.on else -1 for change, _ in done)
            if net:
                execute(self._session, self._q[f"bump_{kind}s"], (net, tweet_id))
        except Exception:
            self._set_back(kind, tweet_id, done)
            raise
        return changed

    def _set_row(self, kind: EngagementKind, tweet_id: int, change: EngagementChange, done: Applied) -> bool:
        """One row by its LWT, uncounted; an applied change goes on ``done`` at once (with a removed like's time), so
        it is set back even if its per-user row then fails."""
        user_id = change.user_id
        if change.on:
            if not applied(self._session, self._q[f"add_{kind}"], (tweet_id, user_id, change.at_ms)):
                return False
            done.append((change, None))
            if kind == "like":
                execute(self._session, self._q["index_like"], (user_id, change.at_ms, tweet_id))
            return True
        liked_at: int | None = None
        if kind == "like":
            rows = execute(self._session, self._q["like_time"], (tweet_id, user_id))
            liked_at = rows[0].created_at_ms if rows else None
        removed = applied(self._session, self._q[f"remove_{kind}"], (tweet_id, user_id))
        if removed:
            done.append((change, liked_at))
        if liked_at is not None:
            execute(self._session, self._q["unindex_like"], (user_id, liked_at, tweet_id))
        return removed

    def _set_back(self, kind: EngagementKind, tweet_id: int, done: Applied) -> None:
        """Undo this call's row changes, newest first. If that fails too, the rows stay changed but uncounted: it is
        logged as an error with the count owed (not lost silently), and the caller's exception still fails the
        intents."""
        try:
            for change, liked_at in reversed(done):
                user_id = change.user_id
                if change.on:
                    applied(self._session, self._q[f"remove_{kind}"], (tweet_id, user_id))
                    if kind == "like":
                        execute(self._session, self._q["unindex_like"], (user_id, change.at_ms, tweet_id))
                else:  # a like comes back at its own time (its tab's order); nothing reads a retweet row's time
                    at = liked_at if liked_at is not None else change.at_ms
                    applied(self._session, self._q[f"add_{kind}"], (tweet_id, user_id, at))
                    if kind == "like":
                        execute(self._session, self._q["index_like"], (user_id, at, tweet_id))
        except Exception:
            owed = sum(1 if change.on else -1 for change, _ in done)
            logger.exception(
                "engagement rows changed but not counted", extra={"tweet_id": tweet_id, "kind": kind, "owed": owed}
            )

    def add_like(self, tweet_id: int, user_id: int, at_ms: int) -> bool:
        """The per-user row follows a new like, as its counter does (no extra read on the like path)."""
        added = self._add("like", tweet_id, user_id, at_ms)
        if added:
            execute(self._session, self._q["index_like"], (user_id, at_ms, tweet_id))
        return added

    def remove_like(self, tweet_id: int, user_id: int) -> bool:
        """The like's time (its per-user row's key) is read before the row goes; a repeated unlike finds none and
        changes nothing."""
        rows = execute(self._session, self._q["like_time"], (tweet_id, user_id))
        removed = self._remove("like", tweet_id, user_id)
        if rows:
            execute(self._session, self._q["unindex_like"], (user_id, rows[0].created_at_ms, tweet_id))
        return removed

    def likes_page(self, user_id: int, *, cursor: str | None, limit: int) -> Page[int]:
        """One slice of the user's partition (two after a cursor), newest like first; the cursor is the last item's
        ``<liked_at_ms>:<tweet_id>``. A like of a tweet deleted since stays listed until the page is hydrated
        (deleting a tweet drops its likes partition, not its likers' rows)."""
        limit = max(1, min(limit, LIKES_PAGE_MAX))
        bound = parse_likes_cursor(cursor)
        if bound is None:
            rows = execute(self._session, self._q["likes_first"], (user_id, limit + 1))
        else:
            at, last = bound
            rows = execute(self._session, self._q["likes_same_ms"], (user_id, at, last, limit + 1))
            if len(rows) <= limit:
                rows += execute(self._session, self._q["likes_older"], (user_id, at, limit + 1 - len(rows)))
        page = rows[:limit]
        more = len(rows) > limit and bool(page)
        return Page(
            items=[row.tweet_id for row in page],
            next_cursor=f"{page[-1].liked_at_ms}:{page[-1].tweet_id}" if more else None,
        )

    def add_retweet(self, tweet_id: int, user_id: int, at_ms: int) -> bool:
        return self._add("retweet", tweet_id, user_id, at_ms)

    def remove_retweet(self, tweet_id: int, user_id: int) -> bool:
        return self._remove("retweet", tweet_id, user_id)

    def _flags(self, kind: str, user_id: int, tweet_ids: Sequence[int]) -> set[int]:
        """One ``IN`` query per 100 tweets: the rows (tweet, user) that exist."""
        if not tweet_ids:
            return set()
        return {row.tweet_id for row in read_in(self._session, self._q[f"has_{kind}"], tweet_ids, extra=(user_id,))}

    def liked_by(self, user_id: int, tweet_ids: Sequence[int]) -> set[int]:
        return self._flags("like", user_id, tweet_ids)

    def retweeted_by(self, user_id: int, tweet_ids: Sequence[int]) -> set[int]:
        return self._flags("retweet", user_id, tweet_ids)

    def add_bookmark(self, user_id: int, tweet_id: int, at_ms: int) -> None:
        execute(self._session, self._q["add_bookmark"], (user_id, tweet_id, at_ms))

    def remove_bookmark(self, user_id: int, tweet_id: int) -> None:
        execute(self._session, self._q["remove_bookmark"], (user_id, tweet_id))

    def bookmark_ids(self, user_id: int, *, before: int | None, limit: int) -> list[int]:
        """One slice of the user's partition (clustered newest tweet first)."""
        bound = before if before is not None else 2**63 - 1
        return [row.tweet_id for row in execute(self._session, self._q["bookmark_page"], (user_id, bound, limit))]

    def forget_bookmarks(self, user_id: int) -> None:
        execute(self._session, self._q["forget_bookmarks"], (user_id,))

    def forget_likes(self, user_id: int, *, limit: int) -> tuple[list[int], bool]:
        """Walks the user's likes partition: each like goes by its LWT (the counter moves only if it applied), then
        its per-user row, so a redelivery after a partial run neither counts twice nor leaves a row behind."""
        rows = execute(self._session, self._q["likes_first"], (user_id, limit + 1))
        counted: list[int] = []
        for row in rows[:limit]:
            if self._remove("like", row.tweet_id, user_id):
                counted.append(row.tweet_id)
            execute(self._session, self._q["unindex_like"], (user_id, row.liked_at_ms, row.tweet_id))
        return counted, len(rows) > limit

    def bookmarked_by(self, user_id: int, tweet_ids: Sequence[int]) -> set[int]:
        if not tweet_ids:
            return set()
        # Point reads in parallel: Keyspaces takes IN on partition keys only, and these share one partition.
        params = [(user_id, tweet_id) for tweet_id in dict.fromkeys(tweet_ids)]
        return {row.tweet_id for rows in read_many(self._session, self._q["has_bookmark"], params) for row in rows}

    def adjust_replies(self, tweet_id: int, delta: int) -> None:
        execute(self._session, self._q["bump_replies"], (delta, tweet_id))

    def counts(self, tweet_ids: Sequence[int]) -> dict[int, TweetCounts]:
        """Tweets whose counters were ever touched (like the embedded store's rows, a count back at zero stays); one
        ``IN`` query per 100 tweets."""
        if not tweet_ids:
            return {}
        return {
            row.tweet_id: TweetCounts(
                likes=int(row.likes or 0), retweets=int(row.retweets or 0), replies=int(row.replies or 0)
            )
            for row in read_in(self._session, self._q["counts"], tweet_ids)
        }

    def bulk_load_likes(self, likes: Sequence[tuple[int, int, int]]) -> None:
        """Concurrent unguarded row writes, then each tweet's counter moved once by its number of likes."""
        write_many(self._session, self._q["bulk_add_like"], likes)
        write_many(self._session, self._q["index_like"], [(user_id, at, tweet_id) for tweet_id, user_id, at in likes])
        per_tweet = Counter(tweet_id for tweet_id, _, _ in likes)
        write_many(self._session, self._q["bump_likes"], [(n, tweet_id) for tweet_id, n in per_tweet.items()])

    def forget_tweet(self, tweet_id: int) -> None:
        """Partition deletes: every like and retweet row of the tweet, then its counters."""
        for name in ("forget_likes", "forget_retweets", "forget_counts"):
            execute(self._session, self._q[name], (tweet_id,))

"""EngagementStore on Keyspaces: like and retweet rows guarded by LWT, counts in a counter table."""

from __future__ import annotations

from collections.abc import Sequence

from cassandra.cluster import Session  # type: ignore[import-untyped]

from chirp.adapters.keyspaces.connection import Statements, applied, execute, read_many
from chirp.model import TweetCounts

CQL: dict[str, str] = {
    "add_like": "INSERT INTO {ks}.likes (tweet_id, user_id, created_at_ms) VALUES (?, ?, ?) IF NOT EXISTS",
    "remove_like": "DELETE FROM {ks}.likes WHERE tweet_id = ? AND user_id = ? IF EXISTS",
    "has_like": "SELECT tweet_id FROM {ks}.likes WHERE tweet_id = ? AND user_id = ?",
    "forget_likes": "DELETE FROM {ks}.likes WHERE tweet_id = ?",
    "add_retweet": "INSERT INTO {ks}.retweets (tweet_id, user_id, created_at_ms) VALUES (?, ?, ?) IF NOT EXISTS",
    "remove_retweet": "DELETE FROM {ks}.retweets WHERE tweet_id = ? AND user_id = ? IF EXISTS",
    "has_retweet": "SELECT tweet_id FROM {ks}.retweets WHERE tweet_id = ? AND user_id = ?",
    "forget_retweets": "DELETE FROM {ks}.retweets WHERE tweet_id = ?",
    "bump_likes": "UPDATE {ks}.tweet_counts SET likes = likes + ? WHERE tweet_id = ?",
    "bump_retweets": "UPDATE {ks}.tweet_counts SET retweets = retweets + ? WHERE tweet_id = ?",
    "bump_replies": "UPDATE {ks}.tweet_counts SET replies = replies + ? WHERE tweet_id = ?",
    "counts": "SELECT tweet_id, likes, retweets, replies FROM {ks}.tweet_counts WHERE tweet_id = ?",
    "forget_counts": "DELETE FROM {ks}.tweet_counts WHERE tweet_id = ?",
}


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

    def add_like(self, tweet_id: int, user_id: int, at_ms: int) -> bool:
        return self._add("like", tweet_id, user_id, at_ms)

    def remove_like(self, tweet_id: int, user_id: int) -> bool:
        return self._remove("like", tweet_id, user_id)

    def add_retweet(self, tweet_id: int, user_id: int, at_ms: int) -> bool:
        return self._add("retweet", tweet_id, user_id, at_ms)

    def remove_retweet(self, tweet_id: int, user_id: int) -> bool:
        return self._remove("retweet", tweet_id, user_id)

    def _flags(self, kind: str, user_id: int, tweet_ids: Sequence[int]) -> set[int]:
        ids = list(dict.fromkeys(tweet_ids))
        results = read_many(self._session, self._q[f"has_{kind}"], [(tweet_id, user_id) for tweet_id in ids])
        return {tweet_id for tweet_id, rows in zip(ids, results, strict=True) if rows}

    def liked_by(self, user_id: int, tweet_ids: Sequence[int]) -> set[int]:
        return self._flags("like", user_id, tweet_ids)

    def retweeted_by(self, user_id: int, tweet_ids: Sequence[int]) -> set[int]:
        return self._flags("retweet", user_id, tweet_ids)

    def adjust_replies(self, tweet_id: int, delta: int) -> None:
        execute(self._session, self._q["bump_replies"], (delta, tweet_id))

    def counts(self, tweet_ids: Sequence[int]) -> dict[int, TweetCounts]:
        """Tweets whose counters were ever touched (like the embedded store's rows, a count back at zero stays)."""
        ids = list(dict.fromkeys(tweet_ids))
        found: dict[int, TweetCounts] = {}
        for rows in read_many(self._session, self._q["counts"], [(tweet_id,) for tweet_id in ids]):
            for row in rows:
                found[row.tweet_id] = TweetCounts(
                    likes=int(row.likes or 0), retweets=int(row.retweets or 0), replies=int(row.replies or 0)
                )
        return found

    def forget_tweet(self, tweet_id: int) -> None:
        """Partition deletes: every like and retweet row of the tweet, then its counters."""
        for name in ("forget_likes", "forget_retweets", "forget_counts"):
            execute(self._session, self._q[name], (tweet_id,))

"""Embedded search index (production: OpenSearch) on SQLite FTS5, with exact side tables for hashtags, mentions
and authors. Time filters use the ids, which are time-ordered."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chirp.ids import min_id_for_time_ms
from chirp.model import SearchHit, TweetRecord, UserRecord
from chirp.query import SearchQuery
from chirp.sqlite import Database, chunks, placeholders

SCHEMA = """
CREATE TABLE IF NOT EXISTS tweet_meta (
    tweet_id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, username_key TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tweet_meta_by_author ON tweet_meta(username_key, tweet_id);
CREATE VIRTUAL TABLE IF NOT EXISTS tweet_text USING fts5(content, tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS tweet_terms (
    kind TEXT NOT NULL, value TEXT NOT NULL, tweet_id INTEGER NOT NULL, PRIMARY KEY (kind, value, tweet_id))
    WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tweet_terms_by_tweet ON tweet_terms(tweet_id);
CREATE TABLE IF NOT EXISTS user_names (
    user_id INTEGER PRIMARY KEY, username_key TEXT NOT NULL, display_key TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS user_names_by_username ON user_names(username_key);
CREATE INDEX IF NOT EXISTS user_names_by_display ON user_names(display_key);
"""
_MAX_ID = 2**63 - 1


class SqliteSearchIndex:
    def __init__(self, path: Path) -> None:
        self._db = Database(path, SCHEMA)

    def index_tweets(self, tweets: Sequence[TweetRecord]) -> None:
        with self._db.transaction() as conn:
            for tweet in tweets:
                self._remove(conn, tweet.tweet_id)
                conn.execute(
                    "INSERT INTO tweet_meta (tweet_id, user_id, username_key) VALUES (?,?,?)",
                    (tweet.tweet_id, tweet.user_id, tweet.username.lower()),
                )
                conn.execute("INSERT INTO tweet_text (rowid, content) VALUES (?, ?)", (tweet.tweet_id, tweet.content))
                terms = [("#", tag) for tag in tweet.hashtags] + [("@", name) for name in tweet.mentions]
                conn.executemany(
                    "INSERT OR IGNORE INTO tweet_terms (kind, value, tweet_id) VALUES (?,?,?)",
                    [(kind, value, tweet.tweet_id) for kind, value in terms],
                )

    @staticmethod
    def _remove(conn: Any, tweet_id: int) -> None:
        conn.execute("DELETE FROM tweet_meta WHERE tweet_id = ?", (tweet_id,))
        conn.execute("DELETE FROM tweet_text WHERE rowid = ?", (tweet_id,))
        conn.execute("DELETE FROM tweet_terms WHERE tweet_id = ?", (tweet_id,))

    def delete_tweets(self, tweet_ids: Sequence[int]) -> None:
        with self._db.transaction() as conn:
            for tweet_id in tweet_ids:
                self._remove(conn, tweet_id)

    def search(
        self,
        query: SearchQuery,
        *,
        limit: int,
        before: int | None,
        order: str,
        exclude_authors: frozenset[int] = frozenset(),
    ) -> list[SearchHit]:
        text = _match_expression(query.words, query.phrases)
        params: list[Any] = []
        ranked = order == "relevance" and bool(text)
        # Recent order needs no scores: FTS5 then walks its rowids (= tweet ids) newest first and stops at the
        # limit, instead of scoring and sorting every match.
        key = "tweet_text.rowid" if text else "m.tweet_id"
        if text:
            score = "-bm25(tweet_text)" if ranked else "0.0"
            sql = (
                f"SELECT m.tweet_id, {score} FROM tweet_text JOIN tweet_meta m ON m.tweet_id ="
                " tweet_text.rowid WHERE tweet_text MATCH ?"
            )
            params.append(text)
        else:
            sql = "SELECT m.tweet_id, 0.0 FROM tweet_meta m WHERE 1=1"
        low = min_id_for_time_ms(int(query.since.timestamp() * 1000)) if query.since else 0
        high = min_id_for_time_ms(int(query.until.timestamp() * 1000)) if query.until else _MAX_ID
        if before is not None:
            high = min(high, before)
        sql += f" AND {key} >= ? AND {key} < ?"
        params += [low, high]
        if query.from_users:
            sql += f" AND m.username_key IN ({placeholders(len(query.from_users))})"
            params += query.from_users
        for kind, values, present in (
            ("#", query.hashtags, True),
            ("@", query.mentions, True),
            ("#", query.excluded_hashtags, False),
        ):
            for value in values:
                sql += (
                    f" AND {'' if present else 'NOT '}EXISTS (SELECT 1 FROM tweet_terms t WHERE t.kind = ?"
                    " AND t.value = ? AND t.tweet_id = m.tweet_id)"
                )
                params += [kind, value]
        if exclude_authors:  # one JSON array parameter, however many blocks (no bound-variable limit)
            sql += " AND m.user_id NOT IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(sorted(exclude_authors)))
        excluded = _match_expression(query.excluded_words, query.excluded_phrases, any_of=True)
        if excluded:
            sql += " AND m.tweet_id NOT IN (SELECT rowid FROM tweet_text WHERE tweet_text MATCH ?)"
            params.append(excluded)
        sql += " ORDER BY 2 DESC, 1 DESC" if ranked else f" ORDER BY {key} DESC"
        sql += " LIMIT ?"
        params.append(limit)
        return [SearchHit(tweet_id=row[0], text_score=float(row[1])) for row in self._db.query(sql, params)]

    def index_users(self, users: Sequence[UserRecord]) -> None:
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO user_names (user_id, username_key, display_key) VALUES (?,?,?)",
                [(u.user_id, u.username.lower(), u.display_name.casefold()) for u in users],
            )

    def delete_users(self, user_ids: Sequence[int]) -> None:
        with self._db.transaction() as conn:
            conn.executemany("DELETE FROM user_names WHERE user_id = ?", [(u,) for u in user_ids])

    def refresh(self) -> None:
        """Nothing to do: a committed write is searchable at once."""

    def search_users(self, prefix: str, *, limit: int) -> list[int]:
        key = prefix.strip().lstrip("@").casefold()
        if not key:
            return []
        pattern = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._db.query(
            "SELECT user_id FROM user_names WHERE username_key LIKE ? ESCAPE '\\' OR display_key LIKE ? ESCAPE '\\'"
            " ORDER BY (username_key = ?) DESC, length(username_key), username_key LIMIT ?",
            (pattern, pattern, key, limit),
        )
        return [r[0] for r in rows]

    def tweet_count(self) -> int:
        row = self._db.one("SELECT COUNT(*) FROM tweet_meta")
        return int(row[0]) if row else 0

    def indexed_ids(self, tweet_ids: Sequence[int]) -> set[int]:
        found: set[int] = set()
        for part in chunks(list(tweet_ids)):
            rows = self._db.query(
                f"SELECT tweet_id FROM tweet_meta WHERE tweet_id IN ({placeholders(len(part))})", part
            )
            found.update(r[0] for r in rows)
        return found


def _match_expression(words: Sequence[str], phrases: Sequence[Sequence[str]], *, any_of: bool = False) -> str:
    terms = [f'"{w}"' for w in words] + ['"' + " ".join(p) + '"' for p in phrases if p]
    return (" OR " if any_of else " AND ").join(terms)

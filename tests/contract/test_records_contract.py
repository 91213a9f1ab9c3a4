"""Contract of the record ports (production: Amazon Keyspaces) — users, tweets, engagement, notifications and media
metadata — run against the embedded SQLite adapters and the Keyspaces adapters on a real Cassandra.

The Cassandra side gets one fresh keyspace per test module (created with ``chirp.schema.ddl``); tests stay
independent inside it because every id, username and email they use is fresh."""

from __future__ import annotations

import random
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from contract.held_keyspace import HeldKeyspace, held_keyspace

import chirp.adapters.keyspaces.connection as cql_connection
import chirp.adapters.keyspaces.engagement as keyspaces_engagement
import chirp.adapters.keyspaces.tweets as keyspaces_tweets
from chirp.adapters.embedded.records import (
    RecordsDatabase,
    SqliteEngagementStore,
    SqliteMediaCatalog,
    SqliteNotificationStore,
    SqliteTweetStore,
    SqliteUserStore,
)
from chirp.ids import TIME_SHIFT, min_id_for_time_ms, new_id
from chirp.model import (
    MediaProcessing,
    MediaRecord,
    NotificationRecord,
    NotificationType,
    TweetCounts,
    TweetRecord,
    UserRecord,
    now_ms,
)
from chirp.ports import (
    DuplicateKey,
    EngagementChange,
    EngagementStore,
    MediaCatalog,
    NotificationStore,
    StoreUnavailable,
    TweetStore,
    UserStore,
)

UNICODE_TEXT = "héllo 👩🏽‍💻🐦 مرحبا שלום e\u0301 a\u0308\u0323 Z̤͔ͧ̑ 漢字 \u200f!"


@dataclass
class Records:
    users: UserStore
    tweets: TweetStore
    engagement: EngagementStore
    notifications: NotificationStore
    media: MediaCatalog


@pytest.fixture(scope="module")
def cassandra_holder() -> Iterator[HeldKeyspace]:
    yield from held_keyspace("contract")


@pytest.fixture
def records(backend: str, server_set: Any, tmp_path: Path, cassandra_holder: HeldKeyspace) -> Records:
    if backend == "embedded":
        db = RecordsDatabase(tmp_path / "records.db")
        return Records(
            users=SqliteUserStore(db),
            tweets=SqliteTweetStore(db),
            engagement=SqliteEngagementStore(db),
            notifications=SqliteNotificationStore(db),
            media=SqliteMediaCatalog(db),
        )
    kb = cassandra_holder.backend(server_set)
    return Records(
        users=kb.users, tweets=kb.tweets, engagement=kb.engagement, notifications=kb.notifications, media=kb.media
    )


# ---- builders --------------------------------------------------------------------------------------------------


def month_ms(year: int, month: int, day: int = 1) -> int:
    return int(datetime(year, month, day, 12, tzinfo=UTC).timestamp() * 1000)


def id_at(unix_ms: int) -> int:
    """A fresh id minted at ``unix_ms`` (random worker and sequence bits keep ids unique across tests)."""
    return min_id_for_time_ms(unix_ms) | secrets.randbits(TIME_SHIFT)


def fresh_user(**overrides: Any) -> UserRecord:
    tag = uuid.uuid4().hex[:10]
    fields: dict[str, Any] = {
        "user_id": new_id(),
        "username": f"User_{tag}",
        "email": f"Person.{tag}@Example.COM",
        "display_name": "Ada",
        "password_hash": "scrypt$abc",
        "created_at_ms": now_ms(),
        "bio": "",
    }
    fields.update(overrides)
    return UserRecord(**fields)


def tweet(tweet_id: int | None = None, *, author: int, **overrides: Any) -> TweetRecord:
    fields: dict[str, Any] = {
        "tweet_id": tweet_id if tweet_id is not None else new_id(),
        "user_id": author,
        "username": "author",
        "content": "hello",
        "created_at_ms": now_ms(),
    }
    fields.update(overrides)
    return TweetRecord(**fields)


def notification(user_id: int, dedupe_key: str, **overrides: Any) -> NotificationRecord:
    fields: dict[str, Any] = {
        "notification_id": new_id(),
        "user_id": user_id,
        "type": NotificationType.LIKE,
        "actor_id": new_id(),
        "actor_username": "actor",
        "tweet_id": new_id(),
        "created_at_ms": now_ms(),
        "dedupe_key": dedupe_key,
    }
    fields.update(overrides)
    return NotificationRecord(**fields)


# ---- users -----------------------------------------------------------------------------------------------------


def test_user_round_trip_and_case_insensitive_username(records: Records) -> None:
    user = fresh_user(display_name=UNICODE_TEXT, bio="bio " + UNICODE_TEXT)
    records.users.create(user)
    expected = replace(user, email=user.email.lower())  # emails are stored lower-cased
    assert records.users.get(user.user_id) == expected
    assert records.users.get_by_username(user.username) == expected
    assert records.users.get_by_username(user.username.upper()) == expected
    assert records.users.get_by_username(user.username.lower()) == expected


def test_unicode_usernames_match_case_insensitively(records: Records) -> None:
    user = fresh_user(username=f"Ünïcødé_{uuid.uuid4().hex[:6]}")
    records.users.create(user)
    found = records.users.get_by_username(user.username.upper())
    assert found is not None and found.user_id == user.user_id and found.username == user.username


def test_missing_users_are_absent(records: Records) -> None:
    assert records.users.get(new_id()) is None
    assert records.users.get_by_username(f"nobody_{uuid.uuid4().hex}") is None
    assert records.users.get_many([]) == {}
    assert records.users.get_many([new_id(), new_id()]) == {}


def test_get_many_users_skips_missing_and_duplicates(records: Records) -> None:
    a, b = fresh_user(), fresh_user()
    records.users.create(a)
    records.users.create(b)
    found = records.users.get_many([a.user_id, new_id(), b.user_id, a.user_id])
    assert set(found) == {a.user_id, b.user_id}
    assert found[b.user_id].username == b.username


def test_a_taken_username_is_refused_in_any_case_and_releases_the_email(records: Records) -> None:
    first = fresh_user()
    records.users.create(first)
    clash = fresh_user(username=first.username.swapcase())
    with pytest.raises(DuplicateKey) as err:
        records.users.create(clash)
    assert err.value.field == "username"
    assert records.users.get(clash.user_id) is None
    # nothing of the refused signup stays claimed: its email is still free
    again = fresh_user(email=clash.email)
    records.users.create(again)
    assert records.users.get(again.user_id) is not None


def test_a_taken_email_is_refused_in_any_case_and_releases_the_username(records: Records) -> None:
    first = fresh_user()
    records.users.create(first)
    clash = fresh_user(email=first.email.upper())
    with pytest.raises(DuplicateKey) as err:
        records.users.create(clash)
    assert err.value.field == "email"
    assert records.users.get(clash.user_id) is None
    assert records.users.get_by_username(clash.username) is None
    # the first claim (username) was rolled back: the same username signs up fine now
    retry = fresh_user(username=clash.username)
    records.users.create(retry)
    found = records.users.get_by_username(clash.username)
    assert found is not None and found.user_id == retry.user_id
    assert records.users.get(first.user_id) == replace(first, email=first.email.lower())


# ---- tweets ----------------------------------------------------------------------------------------------------


def test_tweet_round_trip_with_unicode_and_references(records: Records) -> None:
    author = new_id()
    parent = tweet(author=author)
    records.tweets.create(parent)
    full = tweet(
        author=author,
        username="Ünïcødé",
        content=UNICODE_TEXT,
        hashtags=["chirp", "café"],
        mentions=["bob", "ålice"],
        urls=["https://example.com/ü?q=1"],
        media_urls=["https://media.example.com/m/1.png"],
        media=[
            {
                "media_id": "0" * 32,
                "type": "image",
                "url": "https://media.example.com/m/1.png",
                "thumbnail_url": "https://media.example.com/m/1/thumb",
                "width": 2016,
                "height": 1512,
                "duration_ms": None,
                "dominant_color": "#102030",
                "alt_text": "Ünïcødé alt text",
            }
        ],
        reply_to=parent.tweet_id,
        reply_to_user_id=author,
        quote_tweet=parent.tweet_id,
        quote_user_id=author,
    )
    records.tweets.create(full)
    assert records.tweets.get(full.tweet_id) == full
    assert records.tweets.get(parent.tweet_id) == parent  # empty lists and None references round-trip
    assert records.tweets.get(new_id()) is None
    many = records.tweets.get_many([full.tweet_id, new_id(), parent.tweet_id, full.tweet_id])
    assert many == {full.tweet_id: full, parent.tweet_id: parent}
    assert records.tweets.get_many([]) == {}


def test_a_duplicate_tweet_id_is_refused_and_the_original_kept(records: Records) -> None:
    author, other = new_id(), new_id()
    original = tweet(author=author, content="first")
    records.tweets.create(original)
    with pytest.raises(DuplicateKey) as err:
        records.tweets.create(tweet(original.tweet_id, author=other, content="second"))
    assert err.value.field == "tweet_id"
    assert records.tweets.get(original.tweet_id) == original
    assert records.tweets.count_by_author(author) == 1
    assert records.tweets.author_tweet_ids(author, before=None, limit=10) == [original.tweet_id]
    # nothing of the refused tweet is left: not in its author's list or count
    assert records.tweets.count_by_author(other) == 0
    assert records.tweets.author_tweet_ids(other, before=None, limit=10) == []


def test_an_authors_count_is_of_the_tweets_they_wrote_not_their_retweet_entries(records: Records) -> None:
    author = new_id()
    original = tweet(author=new_id(), content="worth sharing")
    written = tweet(author=author, content="my own words")
    entry = tweet(author=author, content="", quote_tweet=original.tweet_id)
    assert entry.retweet_of == original.tweet_id
    records.tweets.create(original)
    records.tweets.create(written)
    records.tweets.create(entry)
    assert records.tweets.count_by_author(author) == 1
    assert set(records.tweets.author_tweet_ids(author, before=None, limit=10)) == {written.tweet_id, entry.tweet_id}
    assert records.tweets.delete(entry)
    assert records.tweets.count_by_author(author) == 1
    assert records.tweets.delete(written)
    assert records.tweets.count_by_author(author) == 0


def test_a_refused_duplicate_reply_leaves_the_threads_as_they_were(records: Records) -> None:
    parent, elsewhere = tweet(author=new_id()), tweet(author=new_id())
    records.tweets.create(parent)
    records.tweets.create(elsewhere)
    original = tweet(author=new_id(), reply_to=parent.tweet_id, reply_to_user_id=parent.user_id)
    records.tweets.create(original)
    for reply_to in (parent, elsewhere):
        with pytest.raises(DuplicateKey):
            records.tweets.create(
                tweet(original.tweet_id, author=new_id(), reply_to=reply_to.tweet_id, reply_to_user_id=reply_to.user_id)
            )
    assert records.tweets.reply_ids(parent.tweet_id, after=None, limit=10) == [original.tweet_id]
    assert records.tweets.reply_ids(elsewhere.tweet_id, after=None, limit=10) == []


@pytest.mark.parametrize("backend", ["servers"])  # Keyspaces only: SQLite writes a tweet in one statement
def test_a_tweet_whose_index_write_fails_is_taken_back_with_its_count(
    records: Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The author's counter moves while the index batch is in flight; when the batch fails, the tweet and its count
    are both taken back (in the background: a failed post answers after one timeout, not one per undo), and the id is
    free for the retry."""
    author = new_id()
    records.tweets.create(tweet(author=author))

    def unavailable(*_args: Any, **_kwargs: Any) -> None:
        raise StoreUnavailable("batch refused")

    failing = tweet(author=author, content="lost")
    with monkeypatch.context() as patched:
        patched.setattr(keyspaces_tweets, "batch", unavailable)
        with pytest.raises(StoreUnavailable):
            records.tweets.create(failing)
    deadline = time.monotonic() + 5
    while (records.tweets.get(failing.tweet_id), records.tweets.count_by_author(author)) != (None, 1):
        assert time.monotonic() < deadline, "the failed tweet or its count was not taken back"
        time.sleep(0.02)
    records.tweets.create(failing)
    assert records.tweets.get(failing.tweet_id) == failing
    assert records.tweets.count_by_author(author) == 2


def _tweets_across_months(records: Records, author: int) -> list[int]:
    """Tweets in five months spread over two years (with empty months between), several per month."""
    months = [(2024, 11, 2), (2025, 1, 1), (2025, 2, 3), (2025, 6, 1), (2026, 1, 2)]
    ids: list[int] = []
    for year, month, count in months:
        for day in range(1, count + 1):
            tweet_id = id_at(month_ms(year, month, day * 3))
            records.tweets.create(tweet(tweet_id, author=author))
            ids.append(tweet_id)
    return sorted(ids, reverse=True)


def test_author_tweets_page_newest_first_across_month_buckets(records: Records) -> None:
    author = new_id()
    expected = _tweets_across_months(records, author)
    assert records.tweets.author_tweet_ids(author, before=None, limit=100) == expected
    assert records.tweets.count_by_author(author) == len(expected)
    for limit in (1, 2, 3, 4):
        pages: list[int] = []
        before: int | None = None
        while True:
            page = records.tweets.author_tweet_ids(author, before=before, limit=limit)
            assert len(page) <= limit
            if not page:
                break
            pages.extend(page)
            before = page[-1]
        assert pages == expected, f"limit {limit}"
    # a cursor in an empty month continues with the older months
    gap = id_at(month_ms(2025, 4, 10))
    assert records.tweets.author_tweet_ids(author, before=gap, limit=3) == [i for i in expected if i < gap][:3]
    assert records.tweets.author_tweet_ids(author, before=min(expected), limit=5) == []


@pytest.mark.parametrize("group_rows", [None, 1], ids=["grouped", "one-by-one"])
def test_recent_ids_by_authors_merges_authors_and_months(
    records: Records, group_rows: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if group_rows is not None:  # Keyspaces: every grouped (IN) read reaches its LIMIT, so authors are re-read alone
        monkeypatch.setattr(keyspaces_tweets, "GROUP_ROWS", group_rows)
    a, b, silent = new_id(), new_id(), new_id()
    ids_a = _tweets_across_months(records, a)
    ids_b = [id_at(month_ms(2025, m, 5)) for m in (1, 3, 6, 9)]
    for tweet_id in ids_b:
        records.tweets.create(tweet(tweet_id, author=b))
    everything = sorted(ids_a + ids_b, reverse=True)
    assert records.tweets.recent_ids_by_authors([a, b, silent, a], limit=100) == everything
    for limit in (1, 3, 7):
        assert records.tweets.recent_ids_by_authors([b, a], limit=limit) == everything[:limit]
    before, after = everything[2], everything[-3]
    window = [i for i in everything if after < i < before]
    assert records.tweets.recent_ids_by_authors([a, b], limit=100, before=before, after=after) == window
    assert records.tweets.recent_ids_by_authors([a, b], limit=4, before=before, after=after) == window[:4]
    assert records.tweets.recent_ids_by_authors([a, b], limit=100, after=everything[0]) == []
    assert records.tweets.recent_ids_by_authors([], limit=10) == []
    assert records.tweets.recent_ids_by_authors([silent], limit=10) == []
    assert records.tweets.author_tweet_ids(silent, before=None, limit=10) == []
    assert records.tweets.count_by_author(silent) == 0


def test_replies_page_oldest_first(records: Records) -> None:
    author = new_id()
    parent = tweet(author=author)
    records.tweets.create(parent)
    replies = [tweet(author=new_id(), reply_to=parent.tweet_id, reply_to_user_id=author) for _ in range(5)]
    for reply in reversed(replies):
        records.tweets.create(reply)
    ids = sorted(r.tweet_id for r in replies)
    assert records.tweets.reply_ids(parent.tweet_id, after=None, limit=10) == ids
    assert records.tweets.reply_ids(parent.tweet_id, after=ids[1], limit=2) == ids[2:4]
    assert records.tweets.reply_ids(parent.tweet_id, after=ids[-1], limit=10) == []
    assert records.tweets.reply_ids(replies[0].tweet_id, after=None, limit=10) == []


def test_delete_removes_a_tweet_from_every_index_once(records: Records) -> None:
    author = new_id()
    parent = tweet(author=new_id())
    records.tweets.create(parent)
    mine = [tweet(id_at(month_ms(2025, m, 9)), author=author) for m in (2, 5)]
    reply = tweet(author=author, reply_to=parent.tweet_id, reply_to_user_id=parent.user_id)
    for t in [*mine, reply]:
        records.tweets.create(t)
    assert records.tweets.count_by_author(author) == 3
    assert records.tweets.delete(reply) is True
    assert records.tweets.delete(reply) is False
    assert records.tweets.get(reply.tweet_id) is None
    assert records.tweets.reply_ids(parent.tweet_id, after=None, limit=10) == []
    assert records.tweets.delete(mine[1]) is True
    assert records.tweets.author_tweet_ids(author, before=None, limit=10) == [mine[0].tweet_id]
    assert records.tweets.recent_ids_by_authors([author], limit=10) == [mine[0].tweet_id]
    assert records.tweets.count_by_author(author) == 1
    assert records.tweets.delete(tweet(author=author)) is False  # never existed
    assert records.tweets.count_by_author(author) == 1


# ---- engagement ------------------------------------------------------------------------------------------------


def test_likes_are_counted_once_per_user_under_repeated_like_and_unlike(records: Records) -> None:
    t, alice, bob = new_id(), new_id(), new_id()
    assert records.engagement.counts([t]) == {}
    assert records.engagement.add_like(t, alice, now_ms()) is True
    assert records.engagement.add_like(t, alice, now_ms()) is False  # re-delivery of the same like
    assert records.engagement.add_like(t, bob, now_ms()) is True
    assert records.engagement.counts([t]) == {t: TweetCounts(likes=2)}
    for _ in range(3):
        assert records.engagement.remove_like(t, alice) is True
        assert records.engagement.remove_like(t, alice) is False
        assert records.engagement.add_like(t, alice, now_ms()) is True
        assert records.engagement.add_like(t, alice, now_ms()) is False
    assert records.engagement.counts([t]) == {t: TweetCounts(likes=2)}
    assert records.engagement.remove_like(t, alice) is True
    assert records.engagement.remove_like(t, bob) is True
    assert records.engagement.remove_like(t, new_id()) is False
    assert records.engagement.counts([t]) == {t: TweetCounts(likes=0)}  # a count back at zero stays present


def test_retweets_are_counted_once_per_user(records: Records) -> None:
    t, alice = new_id(), new_id()
    assert records.engagement.remove_retweet(t, alice) is False
    assert records.engagement.add_retweet(t, alice, now_ms()) is True
    assert records.engagement.add_retweet(t, alice, now_ms()) is False
    assert records.engagement.counts([t]) == {t: TweetCounts(retweets=1)}
    assert records.engagement.retweeted_by(alice, [t]) == {t}
    assert records.engagement.liked_by(alice, [t]) == set()
    assert records.engagement.remove_retweet(t, alice) is True
    assert records.engagement.counts([t]) == {t: TweetCounts(retweets=0)}
    assert records.engagement.retweeted_by(alice, [t]) == set()


def test_liked_and_retweeted_by_a_user(records: Records) -> None:
    user, other = new_id(), new_id()
    tweets = [new_id() for _ in range(4)]
    records.engagement.add_like(tweets[0], user, now_ms())
    records.engagement.add_like(tweets[2], user, now_ms())
    records.engagement.add_like(tweets[1], other, now_ms())
    records.engagement.add_retweet(tweets[3], user, now_ms())
    assert records.engagement.liked_by(user, tweets) == {tweets[0], tweets[2]}
    assert records.engagement.liked_by(user, [tweets[0], tweets[0]]) == {tweets[0]}
    assert records.engagement.retweeted_by(user, tweets) == {tweets[3]}
    assert records.engagement.liked_by(user, []) == set()
    assert records.engagement.liked_by(new_id(), tweets) == set()


def test_reply_counts_and_combined_counts(records: Records) -> None:
    t, untouched = new_id(), new_id()
    records.engagement.adjust_replies(t, 1)
    records.engagement.adjust_replies(t, 1)
    records.engagement.adjust_replies(t, -1)
    records.engagement.add_like(t, new_id(), now_ms())
    records.engagement.add_retweet(t, new_id(), now_ms())
    assert records.engagement.counts([t, untouched, t]) == {t: TweetCounts(likes=1, retweets=1, replies=1)}
    assert records.engagement.counts([]) == {}


def test_forget_tweet_drops_likes_retweets_and_counts(records: Records) -> None:
    t, keep, users = new_id(), new_id(), [new_id() for _ in range(3)]
    for u in users:
        records.engagement.add_like(t, u, now_ms())
        records.engagement.add_like(keep, u, now_ms())
    records.engagement.add_retweet(t, users[0], now_ms())
    records.engagement.adjust_replies(t, 2)
    records.engagement.forget_tweet(t)
    assert records.engagement.counts([t, keep]) == {keep: TweetCounts(likes=3)}
    assert records.engagement.liked_by(users[0], [t, keep]) == {keep}
    assert records.engagement.retweeted_by(users[0], [t]) == set()
    assert records.engagement.remove_like(t, users[1]) is False


def _counter_writes(records: Records, monkeypatch: pytest.MonkeyPatch, *, fail: bool = False) -> list[tuple[int, int]]:
    """Spy on (or break) the counter write of either adapter: the (tweet, delta) of each one made."""
    writes: list[tuple[int, int]] = []
    store = records.engagement
    if isinstance(store, SqliteEngagementStore):
        real_bump = store._bump

        def bump(conn: Any, tweet_id: int, column: str, delta: int) -> None:
            if fail:
                raise StoreUnavailable("counter write refused")
            writes.append((tweet_id, delta))
            real_bump(conn, tweet_id, column, delta)

        monkeypatch.setattr(store, "_bump", bump)
        return writes
    real_execute = cql_connection.execute

    def execute(session: Any, statement: Any, params: Any) -> Any:
        if "tweet_counts" in statement.query_string:
            if fail:
                raise StoreUnavailable("counter write refused")
            writes.append((params[1], params[0]))
        return real_execute(session, statement, params)

    monkeypatch.setattr(keyspaces_engagement, "execute", execute)
    return writes


def test_engagement_changes_of_a_tweet_apply_in_order_with_one_counter_write(
    records: Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    e, t = records.engagement, new_id()
    a, b, c = new_id(), new_id(), new_id()
    writes = _counter_writes(records, monkeypatch)
    at = now_ms()
    changes = [
        EngagementChange(a, True, at),
        EngagementChange(b, True, at + 1),
        EngagementChange(a, True, at + 2),  # already liked: no change
        EngagementChange(c, True, at + 3),
        EngagementChange(c, False, at + 4),  # taken back in the same batch
        EngagementChange(new_id(), False, at + 5),  # never liked
    ]
    assert e.set_engagements("like", t, changes) == [True, True, False, True, True, False]
    assert writes == [(t, 2)]  # one counter write, by the net change
    assert e.counts([t]) == {t: TweetCounts(likes=2)}
    assert e.liked_by(a, [t]) == {t} and e.liked_by(c, [t]) == set()
    assert e.likes_page(a, cursor=None, limit=10).items == [t]  # the user's likes tab follows, as for add_like
    assert e.likes_page(c, cursor=None, limit=10).items == []
    # Redelivered: rows already set change nothing; the like taken back is applied and taken back again (net 0).
    assert e.set_engagements("like", t, changes) == [False, False, False, True, True, False]
    assert writes == [(t, 2)]
    assert e.counts([t]) == {t: TweetCounts(likes=2)}
    assert e.set_engagements("retweet", t, [EngagementChange(a, True, at), EngagementChange(b, True, at)]) == [
        True,
        True,
    ]
    assert e.set_engagements("like", t, [EngagementChange(b, False, at)]) == [True]
    assert writes == [(t, 2), (t, 2), (t, -1)]
    assert e.counts([t]) == {t: TweetCounts(likes=1, retweets=2)}
    assert e.retweeted_by(a, [t]) == {t} and e.liked_by(b, [t]) == set()
    assert e.remove_like(t, a) is True  # the rows are the same rows the Lambda path keeps
    assert e.counts([t]) == {t: TweetCounts(likes=0, retweets=2)}


def test_engagement_rows_are_set_back_when_their_counter_write_fails(
    records: Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    e, t = records.engagement, new_id()
    kept, a, b = new_id(), new_id(), new_id()
    kept_at = now_ms() - 1_000
    assert e.add_like(t, kept, kept_at) is True
    at = now_ms()
    changes = [EngagementChange(a, True, at), EngagementChange(kept, False, at), EngagementChange(b, True, at)]
    with monkeypatch.context() as patched:
        _counter_writes(records, patched, fail=True)
        with pytest.raises(StoreUnavailable):
            e.set_engagements("like", t, changes)
    # As before the call: the new likes gone (and off their users' tabs), the one taken back there again, the count
    # unmoved, so the retry applies every change afresh and counts it.
    assert e.counts([t]) == {t: TweetCounts(likes=1)}
    assert [e.liked_by(u, [t]) for u in (kept, a, b)] == [{t}, set(), set()]
    assert e.likes_page(kept, cursor=None, limit=10).next_cursor is None
    assert e.likes_page(kept, cursor=None, limit=10).items == [t]
    assert e.likes_page(a, cursor=None, limit=10).items == []
    assert e.set_engagements("like", t, changes) == [True, True, True]
    assert e.counts([t]) == {t: TweetCounts(likes=2)}
    assert [e.liked_by(u, [t]) for u in (kept, a, b)] == [set(), {t}, {t}]
    assert e.likes_page(kept, cursor=None, limit=10).items == []


@pytest.mark.parametrize("backend", ["servers"])  # Keyspaces only: SQLite sets the rows in one transaction
def test_engagement_rows_are_set_back_when_a_later_row_fails(records: Records, monkeypatch: pytest.MonkeyPatch) -> None:
    e, t = records.engagement, new_id()
    a, b = new_id(), new_id()
    real_applied = cql_connection.applied
    calls = 0

    def second_refused(session: Any, statement: Any, params: Any) -> bool:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise StoreUnavailable("lightweight transaction refused")
        return real_applied(session, statement, params)

    changes = [EngagementChange(a, True, now_ms()), EngagementChange(b, True, now_ms())]
    with monkeypatch.context() as patched:
        patched.setattr(keyspaces_engagement, "applied", second_refused)
        with pytest.raises(StoreUnavailable):
            e.set_engagements("like", t, changes)
    assert e.liked_by(a, [t]) == set() and e.likes_page(a, cursor=None, limit=10).items == []
    assert e.counts([t]) == {}
    assert e.set_engagements("like", t, changes) == [True, True]
    assert e.counts([t]) == {t: TweetCounts(likes=2)}


def test_bookmarks_are_private_idempotent_and_page_newest_tweet_first(records: Records) -> None:
    # Given a user who bookmarks five tweets (one twice) and another user with one bookmark
    user, other = new_id(), new_id()
    tweets = sorted(new_id() for _ in range(5))
    for t in tweets:
        records.engagement.add_bookmark(user, t, now_ms())
    records.engagement.add_bookmark(user, tweets[2], now_ms())
    records.engagement.add_bookmark(other, tweets[0], now_ms())
    # Then pages run newest tweet first, strictly before the cursor, each bookmark once
    first = records.engagement.bookmark_ids(user, before=None, limit=3)
    assert first == list(reversed(tweets))[:3]
    assert records.engagement.bookmark_ids(user, before=first[-1], limit=3) == list(reversed(tweets))[3:]
    assert records.engagement.bookmarked_by(user, [*tweets, new_id()]) == set(tweets)
    # and they are the user's own: the other user sees only theirs
    assert records.engagement.bookmark_ids(other, before=None, limit=10) == [tweets[0]]
    assert records.engagement.bookmarked_by(other, tweets) == {tweets[0]}
    # and removing is idempotent and removes only that one
    records.engagement.remove_bookmark(user, tweets[4])
    records.engagement.remove_bookmark(user, tweets[4])
    assert records.engagement.bookmark_ids(user, before=None, limit=10) == list(reversed(tweets[:4]))
    assert records.engagement.bookmarked_by(user, []) == set()


# ---- notifications ---------------------------------------------------------------------------------------------


def test_notifications_dedupe_per_user_and_key(records: Records) -> None:
    user, other = new_id(), new_id()
    first = notification(user, "like:1:2")
    assert records.notifications.add(first) is True
    assert records.notifications.add(first) is False  # re-delivery
    assert records.notifications.add(notification(user, "like:1:2")) is False  # same key, new id
    assert records.notifications.add(notification(other, "like:1:2")) is True
    assert records.notifications.add(notification(user, "like:1:3")) is True
    assert records.notifications.unread_count(user) == 2
    assert records.notifications.unread_count(other) == 1
    assert [n.dedupe_key for n in records.notifications.page(user, before=None, limit=10)] == ["like:1:3", "like:1:2"]


def test_notifications_page_newest_first_and_round_trip(records: Records) -> None:
    user = new_id()
    added = [
        notification(
            user,
            f"k{i}",
            type=list(NotificationType)[i % len(NotificationType)],
            actor_username=f"{UNICODE_TEXT}{i}",
            tweet_id=None if i % 2 else new_id(),
        )
        for i in range(7)
    ]
    for n in reversed(added):  # insertion order must not matter
        records.notifications.add(n)
    newest_first = sorted(added, key=lambda n: n.notification_id, reverse=True)
    assert records.notifications.page(user, before=None, limit=100) == newest_first
    pages: list[NotificationRecord] = []
    before: int | None = None
    while page := records.notifications.page(user, before=before, limit=3):
        pages.extend(page)
        before = page[-1].notification_id
    assert pages == newest_first
    assert records.notifications.page(new_id(), before=None, limit=10) == []
    assert records.notifications.unread_count(new_id()) == 0
    assert records.notifications.mark_read(new_id(), up_to=None) == 0


def test_mark_read_up_to_an_id_and_exact_unread_counts(records: Records) -> None:
    user = new_id()
    added = [notification(user, f"k{i}") for i in range(6)]
    for n in added:
        records.notifications.add(n)
    records.notifications.add(notification(user, "already-read", read=True))
    ids = sorted(n.notification_id for n in added)
    assert records.notifications.unread_count(user) == 6
    assert records.notifications.mark_read(user, up_to=ids[2]) == 3
    assert records.notifications.unread_count(user) == 3
    assert records.notifications.mark_read(user, up_to=ids[2]) == 0
    read_flags = {n.notification_id: n.read for n in records.notifications.page(user, before=None, limit=100)}
    assert [read_flags[i] for i in ids] == [True, True, True, False, False, False]
    assert sum(read_flags.values()) == 4
    assert records.notifications.mark_read(user, up_to=None) == 3
    assert records.notifications.unread_count(user) == 0
    assert all(n.read for n in records.notifications.page(user, before=None, limit=100))
    assert records.notifications.add(notification(user, "k0")) is False  # still deduped after being read
    assert records.notifications.add(notification(user, "new")) is True
    assert records.notifications.unread_count(user) == 1


def test_unread_counts_span_many_pages(records: Records, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Cassandra side pages through the unread partition 4 rows at a time (driver paging state)."""
    monkeypatch.setattr(cql_connection, "SCAN_PAGE_SIZE", 4)
    user = new_id()
    added = [notification(user, f"n{i}") for i in range(23)]
    for n in added:
        records.notifications.add(n)
    ids = sorted(n.notification_id for n in added)
    assert records.notifications.unread_count(user) == 23
    assert records.notifications.mark_read(user, up_to=ids[16]) == 17
    assert records.notifications.unread_count(user) == 6
    assert records.notifications.mark_read(user, up_to=None) == 6
    assert records.notifications.unread_count(user) == 0


# ---- media -----------------------------------------------------------------------------------------------------


def test_media_round_trip(records: Records) -> None:
    owner = new_id()
    items = [
        MediaRecord(
            media_id=uuid.uuid4().hex,
            owner_id=owner,
            content_type=content_type,
            size=size,
            key=f"media/{owner}/{uuid.uuid4().hex}",
            created_at_ms=now_ms(),
        )
        for content_type, size in (("image/png", 1), ("video/mp4", 15 * 1024 * 1024))
    ]
    for item in items:
        records.media.create(item)
    missing = uuid.uuid4().hex
    found = records.media.get_many([items[0].media_id, missing, items[1].media_id])
    assert found == {item.media_id: item for item in items}
    assert records.media.get_many([]) == {}
    assert records.media.get_many([missing]) == {}


def test_an_owners_media_are_found_by_owner_and_forgotten(records: Records) -> None:
    owner, other = new_id(), new_id()
    mine = [
        MediaRecord(uuid.uuid4().hex, owner, "image/png", 1, f"uploads/{owner}/{n}.png", now_ms()) for n in range(3)
    ]
    theirs = MediaRecord(uuid.uuid4().hex, other, "image/png", 1, f"uploads/{other}/0.png", now_ms())
    for item in [*mine, theirs]:
        records.media.create(item)
    assert sorted(m.media_id for m in records.media.owned_by(owner, limit=10)) == sorted(m.media_id for m in mine)
    first = records.media.owned_by(owner, limit=2)
    assert len(first) == 2 and all(m in mine for m in first)
    records.media.forget(first)
    assert records.media.owned_by(owner, limit=10) == [m for m in mine if m not in first]
    assert records.media.get_many([m.media_id for m in first]) == {}
    records.media.forget(first)  # again: nothing to do, no error
    assert records.media.owned_by(other, limit=10) == [theirs]


def test_media_processing_alt_text_and_posting_write_only_their_own_columns(records: Records) -> None:
    owner = new_id()
    media_id = uuid.uuid4().hex
    pending = MediaRecord(media_id, owner, "image/jpeg", 10, f"uploads/{owner}/{media_id}.jpg", now_ms(), "pending")
    records.media.create(pending)
    assert records.media.get_many([media_id])[media_id] == pending
    records.media.set_alt_text(media_id, "a cat")  # set while processing runs: processing must not undo it
    outcome = MediaProcessing(
        status="ready",
        width=2016,
        height=1512,
        dominant_color="#102030",
        rendition_key=f"media/{owner}/{media_id}/large",
        thumbnail_key=f"media/{owner}/{media_id}/thumb",
    )
    records.media.set_processing(media_id, outcome)
    records.media.mark_posted([media_id], 42)
    found = records.media.get_many([media_id])[media_id]
    assert (found.status, found.width, found.height, found.duration_ms) == ("ready", 2016, 1512, None)
    assert (found.dominant_color, found.rendition_key, found.thumbnail_key) == (
        "#102030",
        outcome.rendition_key,
        outcome.thumbnail_key,
    )
    assert (found.alt_text, found.tweet_id, found.key) == ("a cat", 42, pending.key)
    records.media.set_processing(media_id, MediaProcessing(status="failed", reason="truncated"))
    failed = records.media.get_many([media_id])[media_id]
    assert (failed.status, failed.reason, failed.rendition_key, failed.width) == ("failed", "truncated", "", None)


def test_a_delivery_that_died_after_its_dedupe_claim_is_finished_by_redelivery(
    records: Records, backend: str, server_set: Any, cassandra_holder: HeldKeyspace
) -> None:
    """Given a notification whose first delivery crashed after claiming its dedupe key but before writing it
    (on SQLite both happen in one transaction, so nothing was written at all)
    When the stream delivers it again
    Then it is written once, under the id first claimed, and a third delivery adds nothing."""
    user = random.randrange(10**15, 10**16)
    first = notification(user, "like:7:42")
    if backend == "servers":
        kb = cassandra_holder.backend(server_set)
        kb.session.execute(
            f"INSERT INTO {kb.keyspace}.notification_dedupe (user_id, dedupe_key, notification_id) VALUES (%s, %s, %s)",
            (user, first.dedupe_key, first.notification_id),
        )
    again = notification(user, "like:7:42")
    assert records.notifications.add(again) is True
    assert records.notifications.add(notification(user, "like:7:42")) is False
    listed = records.notifications.page(user, before=None, limit=10)
    expected_id = first.notification_id if backend == "servers" else again.notification_id
    assert [n.notification_id for n in listed] == [expected_id]
    assert records.notifications.unread_count(user) == 1


# ---- bulk loading ----------------------------------------------------------------------------------------------


def test_bulk_loaded_users_read_like_created_ones_and_keep_their_names_claimed(records: Records) -> None:
    users = [fresh_user(display_name=UNICODE_TEXT) for _ in range(30)]
    records.users.bulk_load_users(users)
    expected = {u.user_id: replace(u, email=u.email.lower()) for u in users}
    assert records.users.get_many(list(expected)) == expected
    assert records.users.get_by_username(users[7].username.upper()) == expected[users[7].user_id]
    with pytest.raises(DuplicateKey) as taken:
        records.users.create(fresh_user(username=users[3].username.swapcase()))
    assert taken.value.field == "username"
    with pytest.raises(DuplicateKey) as taken:
        records.users.create(fresh_user(email=users[4].email.upper()))
    assert taken.value.field == "email"
    records.users.bulk_load_users([])


def test_bulk_loaded_tweets_are_indexed_and_counted_like_created_ones(records: Records) -> None:
    author, other = new_id(), new_id()
    records.tweets.create(existing := tweet(id_at(month_ms(2024, 1)), author=author))
    parent = tweet(id_at(month_ms(2024, 2)), author=other)
    loaded = [parent] + [
        tweet(id_at(month_ms(2024, month, day)), author=author, content=f"{UNICODE_TEXT} {month}/{day}")
        for month in (3, 5)
        for day in (1, 2)
    ]
    reply = tweet(id_at(month_ms(2024, 6)), author=author, reply_to=parent.tweet_id, reply_to_user_id=other)
    records.tweets.bulk_load_tweets([*loaded, reply])
    mine = sorted([existing.tweet_id, reply.tweet_id, *(t.tweet_id for t in loaded[1:])], reverse=True)
    assert records.tweets.get_many([t.tweet_id for t in loaded]) == {t.tweet_id: t for t in loaded}
    assert records.tweets.get(reply.tweet_id) == reply
    assert records.tweets.author_tweet_ids(author, before=None, limit=10) == mine
    assert records.tweets.recent_ids_by_authors([author, other], limit=3) == mine[:3]
    assert records.tweets.reply_ids(parent.tweet_id, after=None, limit=10) == [reply.tweet_id]
    assert records.tweets.count_by_author(author) == len(mine)  # added to the count it had
    assert records.tweets.count_by_author(other) == 1
    records.tweets.bulk_load_tweets([])


def test_bulk_loaded_likes_add_to_counts_and_flags(records: Records) -> None:
    t, u = new_id(), new_id()
    users = [new_id() for _ in range(5)]
    records.engagement.add_like(t, users[0], now_ms())
    records.engagement.bulk_load_likes([(t, user, now_ms()) for user in users[1:]] + [(u, users[0], now_ms())])
    assert records.engagement.counts([t, u]) == {t: TweetCounts(likes=5), u: TweetCounts(likes=1)}
    assert records.engagement.liked_by(users[3], [t, u]) == {t}
    assert records.engagement.liked_by(users[0], [t, u]) == {t, u}
    assert records.engagement.remove_like(t, users[2]) is True  # a bulk-loaded like is an ordinary like
    assert records.engagement.counts([t]) == {t: TweetCounts(likes=4)}
    records.engagement.bulk_load_likes([])

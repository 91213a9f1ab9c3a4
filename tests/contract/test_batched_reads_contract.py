"""Contract of the record ports' batch reads — what hydration falls back to on cache misses: tweets, counters,
likes/retweets of one user, users — on the embedded SQLite adapters and the Keyspaces adapters on a real Cassandra.
Answers are exact for any number of ids (duplicates and missing ids included); on Keyspaces each call is one
``IN (...)`` request per 100 ids, not one request per id."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contract.held_keyspace import HeldKeyspace, held_keyspace

from chirp.adapters.embedded.records import RecordsDatabase, SqliteEngagementStore, SqliteTweetStore, SqliteUserStore
from chirp.ids import new_id
from chirp.model import TweetCounts, TweetRecord, UserRecord, now_ms
from chirp.ports import EngagementStore, TweetStore, UserStore


@pytest.fixture(scope="module")
def cassandra_holder() -> Iterator[HeldKeyspace]:
    yield from held_keyspace("batched")


class Requests:
    """Counts the requests a Cassandra session sends (every execute, paged or concurrent, goes through
    ``execute_async``)."""

    def __init__(self, session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = session.execute_async

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(session, "execute_async", counted)


@pytest.fixture
def stores(
    backend: str, server_set: Any, tmp_path: Path, cassandra_holder: HeldKeyspace, monkeypatch: pytest.MonkeyPatch
) -> tuple[UserStore, TweetStore, EngagementStore, Requests | None]:
    if backend == "embedded":
        db = RecordsDatabase(tmp_path / "records.db")
        return SqliteUserStore(db), SqliteTweetStore(db), SqliteEngagementStore(db), None
    kb = cassandra_holder.backend(server_set)
    return kb.users, kb.tweets, kb.engagement, Requests(kb.session, monkeypatch)


def a_tweet(author: int, i: int) -> TweetRecord:
    return TweetRecord(
        tweet_id=new_id(), user_id=author, username="author", content=f"tweet {i}", created_at_ms=now_ms()
    )


@pytest.mark.parametrize("n", [20, 150])
def test_batch_reads_are_exact_and_one_request_per_100_ids(
    stores: tuple[Any, Any, Any, Requests | None], n: int
) -> None:
    _, tweets, engagement, requests = stores
    author, viewer = new_id(), new_id()
    created = [a_tweet(author, i) for i in range(n)]
    for t in created:
        tweets.create(t)
    ids = [t.tweet_id for t in created]
    liked = set(ids[::3])
    retweeted = set(ids[::5])
    for tweet_id in liked:
        engagement.add_like(tweet_id, viewer, now_ms())
        engagement.add_like(tweet_id, new_id(), now_ms())
    for tweet_id in retweeted:
        engagement.add_retweet(tweet_id, viewer, now_ms())
    replied = ids[1]
    engagement.adjust_replies(replied, 2)
    missing = [new_id(), new_id()]
    asked = [*ids, *missing, ids[0], ids[-1]]  # unknown ids and duplicates are fine
    chunks = -(-n // 100)

    before = requests.count if requests else 0
    assert tweets.get_many(asked) == {t.tweet_id: t for t in created}
    counts = engagement.counts(asked)
    assert engagement.liked_by(viewer, asked) == liked
    assert engagement.retweeted_by(viewer, asked) == retweeted
    if requests is not None:
        assert requests.count - before == 4 * chunks  # four calls, each one IN request per 100 ids
    # counters exist for the tweets ever touched; all others count as zero
    assert {t: c for t, c in counts.items() if c != TweetCounts()} == {
        t: TweetCounts(
            likes=2 if t in liked else 0, retweets=1 if t in retweeted else 0, replies=2 if t == replied else 0
        )
        for t in ids
        if t in liked or t in retweeted or t == replied
    }
    assert tweets.get_many([]) == {} and engagement.counts([]) == {} and engagement.liked_by(viewer, []) == set()


def test_users_are_read_in_batches(stores: tuple[Any, Any, Any, Requests | None]) -> None:
    users, _, _, requests = stores
    created = []
    for i in range(120):
        tag = uuid.uuid4().hex[:10]
        user = UserRecord(
            user_id=new_id(),
            username=f"u_{tag}",
            email=f"{tag}@example.com",
            display_name=f"User {i}",
            password_hash="x",
            created_at_ms=now_ms(),
        )
        users.create(user)
        created.append(user)
    before = requests.count if requests else 0
    found = users.get_many([u.user_id for u in created] + [new_id()])
    assert {u: (r.username, r.display_name) for u, r in found.items()} == {
        u.user_id: (u.username, u.display_name) for u in created
    }
    if requests is not None:
        assert requests.count - before == 2

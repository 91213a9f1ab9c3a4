"""Keeps the search index in step with the tweet and user stores (the indexer stream consumer). Indexing is an
upsert by id and deletion is by id, so re-delivered and out-of-order events converge. A batch is indexed at once:
one liveness read for its new tweets (the events carry the tweets; a redelivered one deleted meanwhile is skipped),
one bulk request for them, one for its deletions and one for its new users."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chirp.model import AccountDeleted, Event, EventType, TweetChanged, UserCreated, UserRecord, now_ms
from chirp.observability import metrics
from chirp.services.liveness import live_tweet_ids
from chirp.services.stores import Stores


class IndexingService:
    def __init__(self, stores: Stores) -> None:
        self._s = stores

    def on_events(self, events: Sequence[Event]) -> list[BaseException | None]:
        """Each event's outcome: None, or the exception of the bulk request that carried it."""
        outcomes: list[BaseException | None] = [None] * len(events)
        created = {
            i: TweetChanged.read(e).tweet.record() for i, e in enumerate(events) if e.type == EventType.TWEET_CREATED
        }
        live = live_tweet_ids(self._s, [t.tweet_id for t in created.values()])
        deleted = {
            i: TweetChanged.read(e).tweet.tweet_id for i, e in enumerate(events) if e.type == EventType.TWEET_DELETED
        }
        users = {i: _user(e) for i, e in enumerate(events) if e.type in UserCreated.TYPES}
        gone = {i: AccountDeleted.read(e).user_id for i, e in enumerate(events) if e.type == EventType.ACCOUNT_DELETED}
        live_tweets = [t for t in created.values() if t.tweet_id in live and t.retweet_of is None]  # entries: no text

        def bulk(indexes: Sequence[int], request: Callable[[], None]) -> None:
            if not indexes:
                return
            try:
                request()
            except Exception as exc:
                for i in indexes:
                    outcomes[i] = exc

        bulk(list(created), lambda: self._s.search.index_tweets(live_tweets) if live_tweets else None)
        if live_tweets and outcomes[next(iter(created))] is None:  # indexed: searchable from now on
            indexed_at = now_ms()
            for tweet in live_tweets:
                metrics.record("IndexingLag", float(indexed_at - tweet.created_at_ms))
        bulk(list(deleted), lambda: self._s.search.delete_tweets(list(deleted.values())))
        bulk(list(users), lambda: self._s.search.index_users(list(users.values())))
        bulk(list(gone), lambda: self._s.search.delete_users(list(gone.values())))  # after: a re-index loses
        return outcomes


def _user(event: Event) -> UserRecord:
    d = UserCreated.read(event)
    return UserRecord(
        user_id=d.user_id,
        username=d.username,
        email="",
        display_name=d.display_name,
        password_hash="",
        created_at_ms=d.created_at_ms,
    )

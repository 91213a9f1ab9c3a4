"""Keeps the search index in step with the tweet and user stores (the indexer stream consumer). Indexing is an
upsert by id and deletion is by id, so re-delivered and out-of-order events converge. A batch is indexed at once:
one liveness read for its new tweets (the events carry the tweets; a redelivered one deleted meanwhile is skipped),
one bulk request for them, one for its deletions and one for its new users."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chirp.model import Event, EventType, UserRecord
from chirp.services.liveness import live_tweet_ids
from chirp.services.stores import Stores
from chirp.services.tweets import tweet_from_event


class IndexingService:
    def __init__(self, stores: Stores) -> None:
        self._s = stores

    def on_event(self, event: Event) -> None:
        (outcome,) = self.on_events([event])
        if outcome is not None:
            raise outcome

    def on_events(self, events: Sequence[Event]) -> list[BaseException | None]:
        """Each event's outcome: None, or the exception of the bulk request that carried it."""
        outcomes: list[BaseException | None] = [None] * len(events)
        created = {
            i: tweet_from_event(e.data["tweet"]) for i, e in enumerate(events) if e.type == EventType.TWEET_CREATED
        }
        live = live_tweet_ids(self._s, [t.tweet_id for t in created.values()])
        deleted = {
            i: int(e.data["tweet"]["tweet_id"]) for i, e in enumerate(events) if e.type == EventType.TWEET_DELETED
        }
        users = {i: _user(e) for i, e in enumerate(events) if e.type == EventType.USER_CREATED}
        live_tweets = [t for t in created.values() if t.tweet_id in live]

        def bulk(indexes: Sequence[int], request: Callable[[], None]) -> None:
            if not indexes:
                return
            try:
                request()
            except Exception as exc:
                for i in indexes:
                    outcomes[i] = exc

        bulk(list(created), lambda: self._s.search.index_tweets(live_tweets) if live_tweets else None)
        bulk(list(deleted), lambda: self._s.search.delete_tweets(list(deleted.values())))
        bulk(list(users), lambda: self._s.search.index_users(list(users.values())))
        return outcomes


def _user(event: Event) -> UserRecord:
    d = event.data
    return UserRecord(
        user_id=int(d["user_id"]),
        username=d["username"],
        email="",
        display_name=d["display_name"],
        password_hash="",
        created_at_ms=int(d["created_at_ms"]),
    )

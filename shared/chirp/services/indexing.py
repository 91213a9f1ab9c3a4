"""Keeps the search index in step with the tweet and user stores (the indexer stream consumer). Indexing is an
upsert by id and deletion is by id, so re-delivered and out-of-order events converge."""

from __future__ import annotations

from collections.abc import Sequence

from chirp.model import Event, EventType, UserRecord
from chirp.services.stores import Stores
from chirp.services.tweets import tweet_from_event


class IndexingService:
    def __init__(self, stores: Stores) -> None:
        self._s = stores

    def on_events(self, events: Sequence[Event]) -> None:
        for event in events:
            self.on_event(event)

    def on_event(self, event: Event) -> None:
        if event.type == EventType.TWEET_CREATED:
            tweet = tweet_from_event(event.data["tweet"])
            if self._s.tweets.get(tweet.tweet_id) is not None:  # not deleted meanwhile
                self._s.search.index_tweets([tweet])
        elif event.type == EventType.TWEET_DELETED:
            self._s.search.delete_tweets([int(event.data["tweet"]["tweet_id"])])
        elif event.type == EventType.USER_CREATED:
            d = event.data
            self._s.search.index_users(
                [
                    UserRecord(
                        user_id=int(d["user_id"]),
                        username=d["username"],
                        email="",
                        display_name=d["display_name"],
                        password_hash="",
                        created_at_ms=int(d["created_at_ms"]),
                    )
                ]
            )

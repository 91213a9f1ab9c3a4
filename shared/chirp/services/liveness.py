"""Which tweets still exist, asked once per batch by the stream consumers (fan-out, trends, indexing): a new tweet's
event carries the whole tweet, so they need no store read for its fields, only this guard against redelivered
events resurrecting a tweet deleted meanwhile."""

from __future__ import annotations

from collections.abc import Sequence

from chirp.services.stores import Stores
from chirp.services.views import TweetHydrator


def live_tweet_ids(stores: Stores, tweet_ids: Sequence[int]) -> set[int]:
    """One tweet-cache round trip (a cached object: alive; a tombstone: deleted), then one batched store read for the
    ids the cache did not know. New tweets are cached when posted, so for fresh events the cache answers alone."""
    if not tweet_ids:
        return set()
    return {t.tweet_id for t in TweetHydrator(stores).records(list(dict.fromkeys(tweet_ids)))}

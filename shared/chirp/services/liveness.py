"""Which tweets still exist, asked once per batch by the stream consumers (fan-out, trends, indexing): a new tweet's
event carries the whole tweet, so they need no store read for its fields, only this guard against redelivered
events resurrecting a tweet deleted meanwhile."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress

from chirp.ids import id_time_ms
from chirp.model import now_ms
from chirp.ports import StoreUnavailable
from chirp.services.stores import Stores
from chirp.services.views import TweetHydrator

# A post's store write and its event go out at once (TweetService._post), so an event can be read before the write
# lands. The write ends within the store's timeout (3 s) or is taken back (a tombstone); a tweet unknown for longer
# than this after its id was minted is gone.
UNSTORED_GRACE_MS = 10_000


def live_tweet_ids(stores: Stores, tweet_ids: Sequence[int]) -> set[int]:
    """One tweet-cache round trip (a cached object: alive; a tombstone: deleted), then one batched store read for the
    ids the cache did not know. New tweets are cached before they are posted, so for fresh events the cache answers
    alone. A young tweet neither cached, tombstoned nor stored is a post whose write is still in flight (its cached
    claim lost, or in another process's cache): StoreUnavailable, so the batch is retried rather than the tweet
    dropped."""
    ids = list(dict.fromkeys(tweet_ids))
    if not ids:
        return set()
    live = {t.tweet_id for t in TweetHydrator(stores).records(ids)}
    young = [t for t in ids if t not in live and abs(now_ms() - id_time_ms(t)) < UNSTORED_GRACE_MS]  # skew: abs
    if young:
        deleted: set[int] = set()
        with suppress(StoreUnavailable):  # no answer: each is unknown, so waited for
            deleted = stores.tweet_cache.deleted(young)
        pending = [t for t in young if t not in deleted]
        if pending:
            raise StoreUnavailable(f"tweets {pending[:5]} are not stored yet (their posts are in flight)")
    return live

"""Delivery of new and deleted tweets (the fan-out stream consumer): real-time push to online followers and
home-timeline writes, both driven by one streamed read of the author's followers. Pushes start before the timeline
writes and run concurrently with them. Audiences larger than one chunk (``fanout_chunk_followers``) are split: this
invocation handles the first chunk, and each further chunk goes back on the stream as a FOLLOWER_CHUNK event
(carrying its follower ids and the tweet) for parallel invocations of this consumer — Kinesis keeps them until they
succeed, as it keeps every event (at-least-once), and the local runtime's poller runs them the same way.

Redelivery is harmless: timeline writes are set inserts and removals; a push may repeat (clients dedupe by tweet
id). A redelivered event never resurrects a deleted tweet: each batch asks once which of its tweets still exist
(the tweet cache's objects and tombstones, then one batched store read for what it did not know) and skips the
others. Chunks may run in any order relative to a deletion's own chunks, so a chunk asks again after its writes and
takes back what a deletion overtook.

The write path goes one way: DeliveryService -> FeedManager (timeline rules) and -> RealtimeService (pushes)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from chirp import api_models as api
from chirp.model import (
    CelebrityChanged,
    ChunkOp,
    Event,
    EventType,
    FollowerChunk,
    TweetChanged,
    TweetCounts,
    TweetData,
    TweetRecord,
    now_ms,
)
from chirp.observability import metrics
from chirp.services.feed import FeedManager
from chirp.services.liveness import live_tweet_ids
from chirp.services.realtime import RealtimeService
from chirp.services.safety import Safety
from chirp.services.stores import Stores
from chirp.services.views import TweetHydrator, retweet_json, tweet_json

CHUNK_CONCURRENCY = 8  # FOLLOWER_CHUNK events of one batch processed at once (Redis and push I/O overlap)

Outcome = BaseException | None


def new_tweet_message(tweet: TweetRecord, original: api.Tweet | None = None) -> dict[str, Any]:
    """What online followers receive: the tweet as the API shows it, built from the event alone (a new tweet has
    no likes, retweets or replies yet, and no viewer flags); a retweet entry with its ``original`` (no viewer's
    flags either)."""
    if original is not None:
        return {"type": "new_tweet", "tweet": retweet_json(tweet, original)}
    return {"type": "new_tweet", "tweet": tweet_json(tweet, TweetCounts(), liked=False, retweeted=False)}


class DeliveryService:
    def __init__(self, stores: Stores, feed: FeedManager, realtime: RealtimeService) -> None:
        self._s = stores
        self._feed = feed
        self._realtime = realtime
        self._hydrator = TweetHydrator(stores)
        self._safety = Safety(stores)

    def on_events(self, events: Sequence[Event]) -> list[Outcome]:
        """One batch, in order (FOLLOWER_CHUNK events, independent of everything else, concurrently); the outcome of
        each event: None, or the exception that failed it."""
        new = [t.tweet_id for e in events if (t := _tweet_of(e, adding=True))]
        live = live_tweet_ids(self._s, new)
        authors = [t.user_id for e in events if e.type in TweetChanged.TYPES and (t := _tweet_of(e))]
        celebrities = self._feed.celebrities_among(authors)
        outcomes: list[Outcome] = [None] * len(events)
        chunks: dict[int, Future[None]] = {}
        for index, event in enumerate(events):
            if event.type == EventType.FOLLOWER_CHUNK:
                chunks[index] = _chunk_pool().submit(self._chunk, event, live)
                continue
            try:
                with metrics.correlated(event.correlation_id):  # chunks it publishes carry the request's id
                    self._handle(event, live, celebrities)
            except Exception as exc:
                outcomes[index] = exc
        for index, chunk in chunks.items():
            outcomes[index] = chunk.exception()
        return outcomes

    def _handle(self, event: Event, live: set[int], celebrities: set[int]) -> None:
        if event.type == EventType.TWEET_CREATED:
            tweet = TweetChanged.read(event).tweet.record()
            if tweet.tweet_id in live:  # not deleted meanwhile
                self.deliver_new(tweet, celebrity=tweet.user_id in celebrities)
        elif event.type == EventType.TWEET_DELETED:
            tweet = TweetChanged.read(event).tweet.record()
            self._remove(tweet, celebrity=tweet.user_id in celebrities)
        elif event.type == EventType.CELEBRITY_CHANGED:
            self._celebrity_changed(CelebrityChanged.read(event).user_id)

    # -- new tweets --------------------------------------------------------------------------------------------
    def deliver_new(self, tweet: TweetRecord, *, celebrity: bool) -> int:
        """Push to the author's and online followers' connections and write the author's and (ordinary authors)
        active followers' timelines; returns the timelines written here (chunks handed on are not counted)."""
        started = time.perf_counter()
        message = self._message(tweet)
        if message is None:  # a retweet of a tweet deleted meanwhile: nothing to deliver
            return 0
        update = self._realtime.update_event(message["tweet"])  # what Mastodon connections receive
        pushes = [
            self._realtime.start_push_to_users([tweet.user_id], message, mastodon=update),
            self._realtime.start_push_to_tags(update),
        ]
        written = self._feed.add_to_own(tweet)
        writes: list[Future[int]] = []
        if celebrity:  # merged on read; online followers subscribed to it
            pushes.append(self._realtime.start_push_to_subscribers(tweet.user_id, message, mastodon=update))
        else:
            # A block either way writes no entry and pushes nothing (it removed the follows; a racing follow stays);
            # a mute pushes nothing live (the entry is written: the home read hides it, and shows it again on unmute).
            sets = self._safety.sets(tweet.user_id)
            hidden, unpushed = sets.hidden, sets.hidden | sets.muted_by

            def deliver(followers: list[int]) -> None:
                pushed = [f for f in followers if f not in unpushed] if unpushed else followers
                # first: pushes are awaited
                pushes.append(self._realtime.start_push_to_users(pushed, message, mastodon=update))
                if hidden:
                    followers = [f for f in followers if f not in hidden]
                writes.append(self._feed.start_add_to_followers(tweet.tweet_id, followers))

            self._walk(tweet.user_id, deliver, op="add", tweet=tweet)
        written += sum(w.result() for w in writes)
        for push in pushes:
            push.result()
        metrics.record("DeliveryLag", float(now_ms() - tweet.created_at_ms))
        metrics.record("FanoutDuration", (time.perf_counter() - started) * 1000.0)
        return written

    def _message(self, tweet: TweetRecord) -> dict[str, Any] | None:
        """The push of a new entry; a retweet entry carries its original (one cached read), None once that is gone.
        Every online follower gets it: which timelines show a retweet is decided on read (FeedManager), so clients
        drop a pushed retweet of a tweet they already show."""
        if tweet.retweet_of is None:
            return new_tweet_message(tweet)
        originals = self._hydrator.by_ids(None, [tweet.retweet_of])
        return new_tweet_message(tweet, originals[0]) if originals else None

    # -- deleted tweets ----------------------------------------------------------------------------------------
    def _remove(self, tweet: TweetRecord, *, celebrity: bool) -> None:
        """Out of the author's and followers' timelines. A celebrity's tweets were never fanned out (and hydration
        leaves out deleted tweets anyway): no walk over millions of followers. Mastodon connections get a delete
        event (Chirp's clients nothing: they drop a tweet when a read no longer finds it)."""
        gone = self._realtime.delete_event(tweet.tweet_id, tweet.hashtags)
        pushes = [
            self._realtime.start_push_to_users([tweet.user_id], None, mastodon=gone),
            self._realtime.start_push_to_tags(gone),
        ]
        self._feed.remove_own(tweet)
        if celebrity:
            pushes.append(self._realtime.start_push_to_subscribers(tweet.user_id, None, mastodon=gone))
        else:

            def remove(followers: list[int]) -> None:
                pushes.append(self._realtime.start_push_to_users(followers, None, mastodon=gone))
                self._feed.remove_from(tweet.tweet_id, followers)

            self._walk(tweet.user_id, remove, op="remove", tweet=tweet)
        for push in pushes:
            push.result()

    # -- threshold crossings -----------------------------------------------------------------------------------
    def _celebrity_changed(self, author_id: int) -> None:
        """Every follower's cached celebrity list is stale; online followers of a new celebrity subscribe to it. The
        author's status now (not as the event saw it: it may have crossed back since) decides."""
        celebrity = self._feed.is_celebrity(author_id)
        self._walk(author_id, lambda followers: self._celebrity_batch(author_id, followers, celebrity), op="celebrity")

    def _celebrity_batch(self, author_id: int, followers: list[int], celebrity: bool) -> None:
        self._feed.celebrity_changed(author_id, followers, celebrity=celebrity)
        if celebrity:
            self._realtime.subscribe_followers(author_id, followers)

    # -- chunks ------------------------------------------------------------------------------------------------
    def _walk(
        self, author_id: int, inline: Callable[[list[int]], None], *, op: ChunkOp, tweet: TweetRecord | None = None
    ) -> None:
        """Stream the author's followers: the first chunk is handled here, batch by batch as it arrives; each
        further chunk is published as a FOLLOWER_CHUNK event as soon as it fills (parallel invocations)."""
        size = self._feed.chunk_followers
        seen = 0
        pending: list[int] = []
        published = 0
        for batch in self._feed.audience(author_id):
            here = batch[: max(0, size - seen)]
            seen += len(batch)
            if here:
                inline(here)
            pending.extend(batch[len(here) :])
            while len(pending) >= size:
                self._publish_chunk(author_id, pending[:size], op=op, tweet=tweet, index=published)
                del pending[:size]
                published += 1
        if pending:
            self._publish_chunk(author_id, pending, op=op, tweet=tweet, index=published)
        metrics.record("FanoutAudience", float(seen), op=op)

    def _publish_chunk(
        self, author_id: int, followers: list[int], *, op: ChunkOp, tweet: TweetRecord | None, index: int
    ) -> None:
        carried = TweetData.of(tweet) if tweet is not None else None
        chunk = FollowerChunk(op=op, author_id=author_id, followers=followers, tweet=carried)
        # chunks of a tweet spread over the shards
        key = f"{author_id}/{index}" if tweet is None else f"{author_id}/{tweet.tweet_id}/{index}"
        self._s.stream.publish([chunk.event(EventType.FOLLOWER_CHUNK, key)])

    def _chunk(self, event: Event, live: set[int]) -> None:
        chunk = FollowerChunk.read(event)
        author_id, followers = chunk.author_id, chunk.followers
        if chunk.tweet is None:  # a "celebrity" chunk
            self._celebrity_batch(author_id, followers, self._feed.is_celebrity(author_id))
            return
        tweet = chunk.tweet.record()
        if chunk.op == "remove":
            gone = self._realtime.delete_event(tweet.tweet_id, ())  # the tags' streams heard it from the first chunk
            push = self._realtime.start_push_to_users(followers, None, mastodon=gone)
            self._feed.remove_from(tweet.tweet_id, followers)
            push.result()
            return
        message = self._message(tweet) if tweet.tweet_id in live else None
        if message is None:
            return
        sets = self._safety.sets(author_id)
        followers = [f for f in followers if f not in sets.hidden]
        update = self._realtime.update_event(message["tweet"])
        pushed = [f for f in followers if f not in sets.muted_by]
        push = self._realtime.start_push_to_users(pushed, message, mastodon=update)
        self._feed.add_to_followers(tweet.tweet_id, followers)
        if not live_tweet_ids(self._s, [tweet.tweet_id]):  # a deletion's removal overtook these writes
            self._feed.remove_from(tweet.tweet_id, followers)
        push.result()
        metrics.record("DeliveryLag", float(now_ms() - tweet.created_at_ms))


def _tweet_of(event: Event, *, adding: bool = False) -> TweetData | None:
    """The tweet an event carries (``adding``: only to add to timelines, a new tweet's or an "add" chunk's). None
    for a malformed event too: it fails alone, when it is handled."""
    try:
        if event.type == EventType.TWEET_CREATED or (event.type == EventType.TWEET_DELETED and not adding):
            return TweetChanged.read(event).tweet
        if event.type == EventType.FOLLOWER_CHUNK:
            chunk = FollowerChunk.read(event)
            return chunk.tweet if chunk.op == "add" or not adding else None
    except ValidationError:
        pass
    return None


@lru_cache(maxsize=1)
def _chunk_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=CHUNK_CONCURRENCY, thread_name_prefix="fanout-chunk")

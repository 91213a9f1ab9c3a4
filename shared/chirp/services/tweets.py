"""Posting, reading and deleting tweets; threads; likes and retweets. The write path claims the id in the tweet
cache, stores the tweet and publishes one event at once, and returns — fan-out, indexing, trends and notifications
happen on the stream."""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import asdict, dataclass
from functools import lru_cache

from aws_lambda_powertools import Logger

from chirp import api_models as api
from chirp.config import Settings
from chirp.errors import (
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    Unprocessable,
    ValidationFailed,
)
from chirp.ids import new_id
from chirp.model import EngagementChanged, EventType, TweetChanged, TweetData, TweetRecord, now_ms
from chirp.ports import DuplicateKey, StoreUnavailable
from chirp.services.feed import FeedManager
from chirp.services.media import MediaService
from chirp.services.safety import Safety
from chirp.services.stores import Stores
from chirp.services.views import TweetHydrator
from chirp.text import parse_tweet_text
from chirp.tokens import Principal

MAX_MEDIA_PER_TWEET = 4
ID_ATTEMPTS = 3  # fresh ids tried when one turns out to be taken
RETWEET_SCAN = 5000  # an un-retweet looks for its entry among the actor's records since the original, at most these
logger = Logger(service="chirp")
# How long an in-flight Idempotency-Key claim lasts: longer than the tweets function's timeout (wiring), so a live
# first request is never overtaken, and short, so a request that died (a Lambda timeout) frees its key soon.
IN_FLIGHT_S = 60


@dataclass(frozen=True, slots=True)
class NewTweet:
    content: str
    media_ids: Sequence[str] = ()
    reply_to: int | None = None
    quote_tweet: int | None = None


def request_fingerprint(author: Principal, new: NewTweet) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no blanks, ASCII) of the operation, the user and the parsed body.
    The parsed body, so JSON key order, spacing and an omitted default ("media_ids": []) are not differences; its
    content as sent (before trimming), as Stripe compares parameters as sent. The operation and the user repeat what
    the record's key already scopes, so a record can only ever answer the request that made it, whatever the key."""
    request = {"operation": "create_tweet", "user_id": author.user_id, "body": asdict(new)}
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"))  # ASCII escapes: lone surrogates hash too
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


class TweetService:
    def __init__(self, stores: Stores, settings: Settings, feed: FeedManager) -> None:
        self._s = stores
        self._settings = settings
        self._feed = feed
        self._safety = Safety(stores)
        self.hydrator = TweetHydrator(stores)

    # -- posting -----------------------------------------------------------------------------------------------
    def create(self, author: Principal, new: NewTweet, *, idempotency_key: str | None = None) -> api.Tweet:
        """Post a tweet. With an Idempotency-Key (Stripe's semantics, per user): a retry of the same request returns
        the tweet the first one posted; the key reused for a different request is a 422; a duplicate while the first
        is still in flight is a 409.

        Not Powertools' idempotency utility: its persistence layers are DynamoDB and Redis, so the embedded SQLite
        backend would need a hand-written BasePersistenceLayer anyway; it turns a failure to save the result into an
        error after the tweet was stored and published (here the client gets its 201); and it replays a stored
        response, where this keeps the tweet id and reads the tweet again (current counts, 404 once deleted)."""
        if idempotency_key is None:
            return self._create(author, new)
        if not 1 <= len(idempotency_key) <= 128 or not idempotency_key.isprintable():
            raise ValidationFailed("Idempotency-Key must be 1-128 printable characters", code="invalid_idempotency_key")
        key = f"tweet:{author.user_id}:{idempotency_key}"
        fingerprint = request_fingerprint(author, new)
        held = self._s.idempotency.claim(key, fingerprint, IN_FLIGHT_S)
        if held is not None:
            if held.fingerprint != fingerprint:
                raise Unprocessable(
                    "this Idempotency-Key was already used for a different request; use a new key for a new tweet",
                    code="idempotency_key_reused",
                )
            if held.result is None:
                raise Conflict(
                    "a request with this Idempotency-Key is still in progress; retry shortly",
                    code="idempotency_request_in_progress",
                )
            posted = self.hydrator.by_ids(author.user_id, [int(held.result)])
            if not posted:
                raise NotFound("the tweet created with this Idempotency-Key was deleted")
            return posted[0]
        try:
            created = self._create(author, new)
        except BaseException:
            with suppress(StoreUnavailable):  # then the claim frees itself after IN_FLIGHT_S
                self._s.idempotency.release(key, fingerprint)
            raise
        try:
            stored = self._s.idempotency.complete(
                key, fingerprint, str(created["tweet_id"]), self._settings.idempotency_ttl_s
            )
        except StoreUnavailable:
            stored = False
        if not stored:
            # The tweet was stored and published: report success. A retry with this key sees it in progress (409)
            # until the claim expires, and only then posts again; that needs this failure and a lost response.
            logger.warning("idempotency record not finalized", extra={"tweet_id": created["tweet_id"]})
        return created

    def _create(self, author: Principal, new: NewTweet) -> api.Tweet:
        text = parse_tweet_text(new.content)
        media = self._media(author, new.media_ids)
        parent = self._existing(new.reply_to, "reply_to") if new.reply_to is not None else None
        quoted = self._existing(new.quote_tweet, "quote_tweet") if new.quote_tweet is not None else None
        self._check_rate(author)
        record = TweetRecord(
            tweet_id=0,
            user_id=author.user_id,
            username=author.username,
            content=text.content,
            created_at_ms=0,
            hashtags=text.hashtags,
            mentions=text.mentions,
            urls=text.urls,
            media_urls=[item["url"] for item in media],
            media=[dict(item) for item in media],
            reply_to=parent.tweet_id if parent else None,
            reply_to_user_id=parent.user_id if parent else None,
            quote_tweet=quoted.tweet_id if quoted else None,
            quote_user_id=quoted.user_id if quoted else None,
        )
        self._post(record, "tweet")
        if media:
            self._mark_media_posted(record)
        return self.hydrator.fresh(record)

    def _post(self, record: TweetRecord, what: str) -> None:
        """Store a new record under a fresh snowflake id and publish its TWEET_CREATED event (``what``: "tweet" or
        "retweet", for errors).

        The id is claimed first in the tweet cache (``fill_new``: from then on readers, and the stream consumers'
        liveness check, find the tweet there). Then the store write and the event go out at once, so a post costs
        the slower of the two, not their sum. Each failure takes the other half back: a stored tweet whose event
        failed is deleted (the client hears it was not posted); an event out for a tweet the store refused is
        retracted — its cached object becomes a tombstone, so consumers skip it, and a TWEET_DELETED event follows,
        so what they did anyway is undone. Store first, then publish, when nothing could be claimed (the cache is
        down) and for a post that notifies someone (a reply, a quote, a mention): a deletion does not take
        notifications back, so a refused write must never have reached the notifier."""
        for _attempt in range(ID_ATTEMPTS):
            record.tweet_id = new_id()
            record.created_at_ms = now_ms()
            claimed = self.hydrator.claim_new(record)
            if claimed is False:  # minted twice: the other tweet has it
                continue
            at_once = claimed and not _notifies(record)
            posted = self._store_and_publish(record, what) if at_once else self._store_then_publish(record, what)
            if posted:
                return
        raise ServiceUnavailable(f"could not allocate a {what} id")

    def _store_and_publish(self, record: TweetRecord, what: str) -> bool:
        """Both at once; False when the store says the id is taken (the event is retracted, mint another)."""
        event = _tweet_changed(record).event(EventType.TWEET_CREATED, record.user_id)
        publishing = _publish_pool().submit(contextvars.copy_context().run, self._s.stream.publish, [event])
        replies_counted = False
        store_error: Exception | None = None
        try:
            self._s.tweets.create(record)
            if record.reply_to is not None:
                self._s.engagement.adjust_replies(record.reply_to, 1)
                replies_counted = True
                self._counts_changed_best_effort(record.reply_to)
        except Exception as exc:  # whatever it was, the event may be out: it is taken back below
            store_error = exc
        publish_error = publishing.exception()
        if store_error is None and publish_error is None:
            return True
        if store_error is None:
            self._undo_create(record)
            raise ServiceUnavailable(f"the event stream is unavailable; the {what} was not posted") from None
        if isinstance(store_error, DuplicateKey):
            if publish_error is None:  # only a lost cache claim (a failover) lets an id minted twice get this far
                logger.error(
                    "a tweet id minted twice got past its cache claim: that tweet's cached object and search document"
                    " show this post until filled again",
                    extra={"tweet_id": record.tweet_id},
                )
            return False  # the id is the other tweet's: nothing is taken back under it
        self._retract(record, published=publish_error is None, replies_counted=replies_counted)
        raise store_error

    def _store_then_publish(self, record: TweetRecord, what: str) -> bool:
        """One after the other (nothing claimed in the cache); False when the id is taken."""
        try:
            self._s.tweets.create(record)
        except DuplicateKey:
            return False
        if record.reply_to is not None:
            self._s.engagement.adjust_replies(record.reply_to, 1)
            self._counts_changed_best_effort(record.reply_to)
        try:
            self._s.stream.publish([_tweet_changed(record).event(EventType.TWEET_CREATED, record.user_id)])
        except Exception:
            self._undo_create(record)
            raise ServiceUnavailable(f"the event stream is unavailable; the {what} was not posted") from None
        return True

    def _undo_create(self, record: TweetRecord) -> None:
        """A stored tweet whose event failed: gone again, from the store and the cache (its claim)."""
        self._s.tweets.delete(record)
        if record.reply_to is not None:
            self._s.engagement.adjust_replies(record.reply_to, -1)
            self._counts_changed_best_effort(record.reply_to)
        self._forget_cached(record)

    def _retract(self, record: TweetRecord, *, published: bool, replies_counted: bool) -> None:
        """The store refused the tweet (its error is what the client hears): the cached claim becomes a tombstone, so
        consumers skip the event if it went out; a TWEET_DELETED event follows it, so what they did anyway is undone;
        and a write that timed out but landed is deleted. Best effort, each of them."""
        self._forget_cached(record)
        if published:
            try:
                self._s.stream.publish([_tweet_changed(record).event(EventType.TWEET_DELETED, record.user_id)])
            except StoreUnavailable:  # the tombstone still hides it; what consumers wrote stays until it expires
                logger.error("retraction event not published", extra={"tweet_id": record.tweet_id})
        try:
            if self._s.tweets.delete(record) and replies_counted and record.reply_to is not None:
                self._s.engagement.adjust_replies(record.reply_to, -1)
                self._counts_changed_best_effort(record.reply_to)
        except StoreUnavailable:  # the store is the one failing: a landed write stays, tombstoned in the cache
            logger.error("refused tweet not deleted from the store", extra={"tweet_id": record.tweet_id})

    def _forget_cached(self, record: TweetRecord) -> None:
        try:
            self._s.tweet_cache.tweet_deleted([record.tweet_id])
        except StoreUnavailable:
            logger.warning("tweet cache: the claim of an unposted tweet stays", extra={"tweet_id": record.tweet_id})

    def _counts_changed_best_effort(self, tweet_id: int) -> None:
        """While posting, a cache failure must not fail a tweet that is (or is about to be) published: its client
        would post it again. The parent's cached counts then stay stale until they expire (the cache's TTL)."""
        try:
            self._s.tweet_cache.counts_changed([tweet_id])
        except StoreUnavailable:
            logger.warning("tweet cache: reply count change not recorded", extra={"tweet_id": tweet_id})

    def _check_rate(self, author: Principal) -> None:
        decision = self._s.rate_limits.hit(
            f"tweets:{author.user_id}",
            limit=self._settings.tweet_rate_limit,
            window_s=self._settings.tweet_rate_window_s,
            now_ms=now_ms(),
        )
        if not decision.allowed:
            hours = self._settings.tweet_rate_window_s // 3600
            raise RateLimited.of(decision, f"tweet limit of {decision.limit} per {hours} hours reached")

    def _media(self, author: Principal, media_ids: Sequence[str]) -> list[api.MediaItem]:
        if len(media_ids) > MAX_MEDIA_PER_TWEET:
            raise ValidationFailed(f"at most {MAX_MEDIA_PER_TWEET} media per tweet", code="too_many_media")
        return MediaService(self._s, self._settings).tweet_media(author, media_ids)

    def _mark_media_posted(self, record: TweetRecord) -> None:
        """Freezes the media's alt text (the tweet carries its own copy). Best effort: the tweet is posted."""
        try:
            MediaService(self._s, self._settings).mark_posted(
                [item["media_id"] for item in record.media], record.tweet_id
            )
        except StoreUnavailable:
            logger.warning("media not marked posted", extra={"tweet_id": record.tweet_id})

    def _existing(self, tweet_id: int, field: str) -> TweetRecord:
        found = self.hydrator.records([tweet_id])  # the cache first: a tombstone answers "deleted" at once
        if not found:
            raise NotFound(f"{field}: tweet {tweet_id} does not exist")
        return found[0]

    # -- reading -----------------------------------------------------------------------------------------------
    def get(self, viewer: Principal | None, tweet_id: int) -> api.Tweet:
        """A signed-out reader (None) gets the tweet without viewer flags (public reads, edge-cacheable)."""
        found = self.hydrator.by_ids(viewer.user_id if viewer else None, [tweet_id])
        if not found:
            raise NotFound(f"tweet: tweet {tweet_id} does not exist")
        return found[0]

    def replies(
        self, viewer: Principal | None, tweet_id: int, *, after: int | None, count: int
    ) -> tuple[list[api.Tweet], int | None]:
        self._existing(tweet_id, "tweet")
        ids = self._s.tweets.reply_ids(tweet_id, after=after, limit=count + 1)
        page = ids[:count]
        viewer_id = viewer.user_id if viewer else None
        return self._safety.visible(viewer_id, self.hydrator.by_ids(viewer_id, page)), (
            page[-1] if len(ids) > count and page else None
        )

    def by_author(
        self, viewer: Principal | None, author_id: int, *, before: int | None, count: int
    ) -> tuple[list[api.Tweet], int | None]:
        ids = self._s.tweets.author_tweet_ids(author_id, before=before, limit=count + 1)
        page = ids[:count]
        return self.hydrator.by_ids(viewer.user_id if viewer else None, page), (
            page[-1] if len(ids) > count and page else None
        )

    # -- bookmarks: private to their owner, no counts, nothing fans out ---------------------------------------------
    def bookmark(self, viewer: Principal, tweet_id: int) -> api.Bookmark:
        self._existing(tweet_id, "tweet")
        self._s.engagement.add_bookmark(viewer.user_id, tweet_id, now_ms())
        return {"tweet_id": str(tweet_id), "bookmarked": True}

    def unbookmark(self, viewer: Principal, tweet_id: int) -> api.Bookmark:
        """Idempotent, and allowed on a tweet deleted meanwhile (the bookmark goes either way)."""
        self._s.engagement.remove_bookmark(viewer.user_id, tweet_id)
        return {"tweet_id": str(tweet_id), "bookmarked": False}

    def bookmarks(self, viewer: Principal, *, before: int | None, count: int) -> tuple[list[api.Tweet], int | None]:
        """The viewer's bookmarks, newest tweet first; tweets deleted since drop out of the page (the cursor still
        moves past them)."""
        ids = self._s.engagement.bookmark_ids(viewer.user_id, before=before, limit=count + 1)
        page = ids[:count]
        return self.hydrator.by_ids(viewer.user_id, page), (page[-1] if len(ids) > count and page else None)

    # -- deleting ----------------------------------------------------------------------------------------------
    def delete(self, actor: Principal, tweet_id: int) -> None:
        tweet = self._existing(tweet_id, "tweet")
        if tweet.user_id != actor.user_id:
            raise Forbidden("only the author can delete a tweet")
        if tweet.retweet_of is not None:  # deleting one's retweet entry is undoing the retweet
            originals = self.hydrator.records([tweet.retweet_of])
            if originals:
                self.engage(actor, originals[0], on=False, kind="retweet")
                return
        self._delete_record(tweet)

    def _delete_record(self, tweet: TweetRecord) -> None:
        tweet_id = tweet.tweet_id
        if not self._s.tweets.delete(tweet):
            self._cache_deleted(tweet)  # an earlier delete may have failed to tell the cache
            raise NotFound(f"tweet {tweet_id} does not exist")
        if tweet.reply_to is not None:
            self._s.engagement.adjust_replies(tweet.reply_to, -1)
        # The cache is told at once (the tombstone stops every read of the tweet), but a cache failure must not stop
        # the delete half-way: the rest and the event happen, then the failure is a 503 whose retry (the same
        # tweet, now gone from the store) tells the cache above.
        cache_failure: StoreUnavailable | None = None
        try:
            self._cache_deleted(tweet)
        except StoreUnavailable as exc:
            cache_failure = exc
        self._s.engagement.forget_tweet(tweet_id)
        self._feed.on_tweet_deleted(tweet)  # the author's own timeline now; followers' on the stream (FeedManager)
        self._s.stream.publish([_tweet_changed(tweet).event(EventType.TWEET_DELETED, tweet.user_id)])
        if cache_failure is not None:
            raise cache_failure

    def _cache_deleted(self, tweet: TweetRecord) -> None:
        self._s.tweet_cache.tweet_deleted([tweet.tweet_id])
        if tweet.reply_to is not None:
            self._s.tweet_cache.counts_changed([tweet.reply_to])

    # -- engagement --------------------------------------------------------------------------------------------
    def set_like(self, actor: Principal, tweet_id: int, *, on: bool) -> api.Tweet:
        return self._engage(actor, tweet_id, on=on, kind="like")

    def set_retweet(self, actor: Principal, tweet_id: int, *, on: bool) -> api.Tweet:
        return self._engage(actor, tweet_id, on=on, kind="retweet")

    def _engage(self, actor: Principal, tweet_id: int, *, on: bool, kind: str) -> api.Tweet:
        tweet = self._existing(tweet_id, "tweet")
        if tweet.retweet_of is not None:  # liking or retweeting a retweet entry is liking or retweeting its original
            tweet = self._existing(tweet.retweet_of, "tweet")
        self.engage(actor, tweet, on=on, kind=kind)
        return self.hydrator.hydrate(actor.user_id, [tweet])[0]

    def engage(self, actor: Principal, tweet: TweetRecord, *, on: bool, kind: str, changed: bool | None = None) -> None:
        """Set the actor's like or retweet of a live tweet: the Lambda path's, and the actions consumer's for an
        intent accepted straight onto the stream. Idempotent: only a change counts and publishes its event.
        ``changed`` given: the row (and its count) was already set by the caller (the actions consumer's coalesced
        batch, EngagementStore.set_engagements), which says whether it changed; the rest is done here."""
        tweet_id = tweet.tweet_id
        e = self._s.engagement
        if kind == "like":
            if changed is None:
                changed = (
                    e.add_like(tweet_id, actor.user_id, now_ms()) if on else e.remove_like(tweet_id, actor.user_id)
                )
            event_type = EventType.TWEET_LIKED if on else EventType.TWEET_UNLIKED
        else:
            if changed is None:
                changed = (
                    e.add_retweet(tweet_id, actor.user_id, now_ms())
                    if on
                    else e.remove_retweet(tweet_id, actor.user_id)
                )
            event_type = EventType.TWEET_RETWEETED if on else EventType.TWEET_UNRETWEETED
        try:
            if changed:
                engagement = EngagementChanged(
                    tweet_id=tweet_id, author_id=tweet.user_id, actor_id=actor.user_id, actor_username=actor.username
                )
                self._s.stream.publish([engagement.event(event_type, tweet.user_id)])
        finally:
            # Whether or not this call changed anything: a repeated (retried) like repairs a cache that an earlier
            # call left stale by failing here. A failure is a 503, and the client's retry lands here again.
            self._s.tweet_cache.set_flag(actor.user_id, tweet_id, kind="like" if kind == "like" else "retweet", on=on)
            self._s.tweet_cache.counts_changed([tweet_id])
        if kind == "retweet":
            # Whether or not the flag changed: a retry (or the redelivered intent) heals a call that stopped between
            # the flag and the entry. Ordering holds: the actor's intents are applied in the order they were sent.
            self._sync_retweet_entry(actor, tweet, on=on, new=changed)

    # -- retweet entries: a retweet travels through timelines as its own record -----------------------------------
    def _sync_retweet_entry(self, actor: Principal, tweet: TweetRecord, *, on: bool, new: bool) -> None:
        """Make the actor's retweet entry of ``tweet`` exist (``on``) or not. A new entry is published as a
        TWEET_CREATED (the fan-out consumer delivers it like a tweet: FeedManager's rules, pushes), a removed one as
        a TWEET_DELETED (out of every timeline it reached). A ``new`` retweet (the flag was off) needs no search:
        undoing the last one removed its entry (or, if that stopped half-way, FeedManager shows the older one and
        the next undo removes both)."""
        if on and new:
            self._create_retweet_entry(actor, tweet)
            return
        entries = self._retweet_entries(actor.user_id, tweet.tweet_id)
        if on and not entries:
            self._create_retweet_entry(actor, tweet)
        elif not on:
            for entry in entries:  # more than one only after two racing first retweets
                with suppress(NotFound):  # a racing un-retweet took it
                    self._delete_record(entry)

    def _retweet_entries(self, actor_id: int, original_id: int) -> list[TweetRecord]:
        """The actor's entries retweeting ``original_id``: among the actor's records newer than the original (an
        entry is always newer than what it retweets), newest first, reading at most RETWEET_SCAN of them."""
        found: list[TweetRecord] = []
        before: int | None = None
        scanned = 0
        while scanned < RETWEET_SCAN:
            ids = [i for i in self._s.tweets.author_tweet_ids(actor_id, before=before, limit=200) if i > original_id]
            if not ids:
                break
            found += [t for t in self.hydrator.records(ids) if t.retweet_of == original_id]
            scanned += len(ids)
            before = ids[-1]
        return found

    def _create_retweet_entry(self, actor: Principal, tweet: TweetRecord) -> None:
        entry = TweetRecord(
            tweet_id=0,
            user_id=actor.user_id,
            username=actor.username,
            content="",
            created_at_ms=0,
            quote_tweet=tweet.tweet_id,
            quote_user_id=tweet.user_id,
        )
        self._post(entry, "retweet")


def _notifies(tweet: TweetRecord) -> bool:
    """Whether the notifier makes anything of this tweet's TWEET_CREATED event (NotificationService)."""
    return tweet.retweet_of is None and bool(tweet.reply_to_user_id or tweet.quote_user_id or tweet.mentions)


def _tweet_changed(tweet: TweetRecord) -> TweetChanged:
    return TweetChanged(tweet=TweetData.of(tweet))


@lru_cache(maxsize=1)
def _publish_pool() -> ThreadPoolExecutor:
    """A new tweet's event goes out while the store writes it (one per request; locally many requests share it)."""
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="tweet-events")

"""Posting, reading and deleting tweets; threads; likes and retweets. The write path stores, publishes one event and
returns — fan-out, indexing, trends and notifications happen on the stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from aws_lambda_powertools import Logger

from chirp.config import Settings
from chirp.errors import Conflict, Forbidden, NotFound, RateLimited, ServiceUnavailable, ValidationFailed
from chirp.ids import new_id
from chirp.model import Event, EventType, TweetRecord, now_ms
from chirp.ports import DuplicateKey, StoreUnavailable
from chirp.services.feed import FeedManager
from chirp.services.stores import Stores
from chirp.services.views import TweetHydrator
from chirp.text import parse_tweet_text
from chirp.tokens import Principal

MAX_MEDIA_PER_TWEET = 4
logger = Logger(service="chirp")
_PENDING = "pending"


@dataclass(frozen=True, slots=True)
class NewTweet:
    content: str
    media_ids: Sequence[str] = ()
    reply_to: int | None = None
    quote_tweet: int | None = None


class TweetService:
    def __init__(self, stores: Stores, settings: Settings, feed: FeedManager) -> None:
        self._s = stores
        self._settings = settings
        self._feed = feed
        self.hydrator = TweetHydrator(stores)

    # -- posting -----------------------------------------------------------------------------------------------
    def create(self, author: Principal, new: NewTweet, *, idempotency_key: str | None = None) -> dict[str, Any]:
        if idempotency_key is None:
            return self._create(author, new)
        if not 1 <= len(idempotency_key) <= 128 or not idempotency_key.isprintable():
            raise ValidationFailed("Idempotency-Key must be 1-128 printable characters", code="invalid_idempotency_key")
        key = f"tweet:{author.user_id}:{idempotency_key}"
        ttl = self._settings.idempotency_ttl_s
        if not self._s.idempotency.put_if_absent(key, _PENDING, ttl):
            existing = self._s.idempotency.get(key)
            if existing in (None, _PENDING):
                raise Conflict("a request with this Idempotency-Key is in progress", code="idempotency_in_progress")
            tweet = self._s.tweets.get(int(existing))
            if tweet is None:
                raise NotFound("the tweet created with this Idempotency-Key was deleted")
            return self.hydrator.hydrate(author.user_id, [tweet])[0]
        try:
            created = self._create(author, new)
        except BaseException:
            self._s.idempotency.delete(key)
            raise
        try:
            self._s.idempotency.put(key, created["tweet_id"], ttl)
        except StoreUnavailable:
            # The tweet was stored and published: report success. A retry meanwhile sees the key as in progress
            # (409) until it expires, which is safer than a duplicate tweet.
            logger.warning("idempotency record not finalized", extra={"tweet_id": created["tweet_id"]})
        return created

    def _create(self, author: Principal, new: NewTweet) -> dict[str, Any]:
        text = parse_tweet_text(new.content)
        media_urls = self._media_urls(author, new.media_ids)
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
            media_urls=media_urls,
            reply_to=parent.tweet_id if parent else None,
            reply_to_user_id=parent.user_id if parent else None,
            quote_tweet=quoted.tweet_id if quoted else None,
            quote_user_id=quoted.user_id if quoted else None,
        )
        for _attempt in range(3):
            record.tweet_id = new_id()
            record.created_at_ms = now_ms()
            try:
                self._s.tweets.create(record)
                break
            except DuplicateKey:
                continue
        else:
            raise ServiceUnavailable("could not allocate a tweet id")
        if parent is not None:
            self._s.engagement.adjust_replies(parent.tweet_id, 1)
        try:
            self._s.stream.publish([Event.new(EventType.TWEET_CREATED, author.user_id, {"tweet": tweet_event(record)})])
        except Exception:
            self._undo_create(record)
            raise ServiceUnavailable("the event stream is unavailable; the tweet was not posted") from None
        return self.hydrator.hydrate(author.user_id, [record])[0]

    def _undo_create(self, record: TweetRecord) -> None:
        self._s.tweets.delete(record)
        if record.reply_to is not None:
            self._s.engagement.adjust_replies(record.reply_to, -1)

    def _check_rate(self, author: Principal) -> None:
        decision = self._s.rate_limits.hit(
            f"tweets:{author.user_id}",
            limit=self._settings.tweet_rate_limit,
            window_s=self._settings.tweet_rate_window_s,
            now_ms=now_ms(),
        )
        if not decision.allowed:
            raise RateLimited(
                f"tweet limit of {decision.limit} per {self._settings.tweet_rate_window_s // 3600} hours reached",
                retry_after=decision.retry_after,
                limit=decision.limit,
                reset_epoch=decision.reset_epoch,
            )

    def _media_urls(self, author: Principal, media_ids: Sequence[str]) -> list[str]:
        if len(media_ids) > MAX_MEDIA_PER_TWEET:
            raise ValidationFailed(f"at most {MAX_MEDIA_PER_TWEET} media per tweet", code="too_many_media")
        unique = list(dict.fromkeys(media_ids))
        found = self._s.media.get_many(unique) if unique else {}
        urls = []
        for media_id in unique:
            media = found.get(media_id)
            if media is None or media.owner_id != author.user_id:
                raise NotFound(f"unknown media id {media_id!r}", code="unknown_media")
            if self._s.objects.head(media.key) is None:
                raise Conflict(f"media {media_id!r} has not been uploaded", code="media_not_uploaded")
            urls.append(self._s.objects.public_url(media.key))
        return urls

    def _existing(self, tweet_id: int, field: str) -> TweetRecord:
        tweet = self._s.tweets.get(tweet_id)
        if tweet is None:
            raise NotFound(f"{field}: tweet {tweet_id} does not exist")
        return tweet

    # -- reading -----------------------------------------------------------------------------------------------
    def get(self, viewer: Principal, tweet_id: int) -> dict[str, Any]:
        return self.hydrator.hydrate(viewer.user_id, [self._existing(tweet_id, "tweet")])[0]

    def replies(
        self, viewer: Principal, tweet_id: int, *, after: int | None, count: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        self._existing(tweet_id, "tweet")
        ids = self._s.tweets.reply_ids(tweet_id, after=after, limit=count + 1)
        page = ids[:count]
        return self.hydrator.by_ids(viewer.user_id, page), (page[-1] if len(ids) > count and page else None)

    def by_author(
        self, viewer: Principal, author_id: int, *, before: int | None, count: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        ids = self._s.tweets.author_tweet_ids(author_id, before=before, limit=count + 1)
        page = ids[:count]
        return self.hydrator.by_ids(viewer.user_id, page), (page[-1] if len(ids) > count and page else None)

    # -- deleting ----------------------------------------------------------------------------------------------
    def delete(self, actor: Principal, tweet_id: int) -> None:
        tweet = self._existing(tweet_id, "tweet")
        if tweet.user_id != actor.user_id:
            raise Forbidden("only the author can delete a tweet")
        if not self._s.tweets.delete(tweet):
            raise NotFound(f"tweet {tweet_id} does not exist")
        if tweet.reply_to is not None:
            self._s.engagement.adjust_replies(tweet.reply_to, -1)
        self._s.engagement.forget_tweet(tweet_id)
        self._s.timelines.remove([actor.user_id], [tweet_id])
        self._s.stream.publish([Event.new(EventType.TWEET_DELETED, tweet.user_id, {"tweet": tweet_event(tweet)})])

    # -- engagement --------------------------------------------------------------------------------------------
    def set_like(self, actor: Principal, tweet_id: int, *, on: bool) -> dict[str, Any]:
        return self._engage(actor, tweet_id, on=on, kind="like")

    def set_retweet(self, actor: Principal, tweet_id: int, *, on: bool) -> dict[str, Any]:
        return self._engage(actor, tweet_id, on=on, kind="retweet")

    def _engage(self, actor: Principal, tweet_id: int, *, on: bool, kind: str) -> dict[str, Any]:
        tweet = self._existing(tweet_id, "tweet")
        e = self._s.engagement
        if kind == "like":
            changed = e.add_like(tweet_id, actor.user_id, now_ms()) if on else e.remove_like(tweet_id, actor.user_id)
            event_type = EventType.TWEET_LIKED if on else EventType.TWEET_UNLIKED
        else:
            changed = (
                e.add_retweet(tweet_id, actor.user_id, now_ms()) if on else e.remove_retweet(tweet_id, actor.user_id)
            )
            event_type = EventType.TWEET_RETWEETED if on else EventType.TWEET_UNRETWEETED
        if changed:
            self._s.stream.publish(
                [
                    Event.new(
                        event_type,
                        tweet.user_id,
                        {
                            "tweet_id": tweet_id,
                            "author_id": tweet.user_id,
                            "actor_id": actor.user_id,
                            "actor_username": actor.username,
                        },
                    )
                ]
            )
        return self.hydrator.hydrate(actor.user_id, [tweet])[0]


def tweet_event(tweet: TweetRecord) -> dict[str, Any]:
    """The tweet as stream events carry it: every field of the record."""
    return asdict(tweet)


_ID_FIELDS = ("tweet_id", "user_id", "created_at_ms", "reply_to", "reply_to_user_id", "quote_tweet", "quote_user_id")


def tweet_from_event(data: dict[str, Any]) -> TweetRecord:
    """The tweet carried by a stream event; ids may arrive as strings (JSON from other producers)."""
    fields = dict(data)
    for name in _ID_FIELDS:
        if fields.get(name) is not None:
            fields[name] = int(fields[name])
    return TweetRecord(**fields)

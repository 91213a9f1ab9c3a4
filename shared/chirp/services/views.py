"""Turning records into the API's JSON objects, hydrated in batches (counts, viewer flags)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from chirp.model import NotificationRecord, TweetCounts, TweetRecord, UserRecord
from chirp.services.stores import Stores


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def tweet_json(tweet: TweetRecord, counts: TweetCounts, *, liked: bool, retweeted: bool) -> dict[str, Any]:
    return {
        "tweet_id": str(tweet.tweet_id),
        "user_id": str(tweet.user_id),
        "username": tweet.username,
        "content": tweet.content,
        "created_at": iso(tweet.created_at_ms),
        "likes_count": max(0, counts.likes),
        "retweets_count": max(0, counts.retweets),
        "replies_count": max(0, counts.replies),
        "media_urls": list(tweet.media_urls),
        "hashtags": list(tweet.hashtags),
        "mentions": list(tweet.mentions),
        "urls": list(tweet.urls),
        "reply_to": str(tweet.reply_to) if tweet.reply_to else None,
        "quote_tweet": str(tweet.quote_tweet) if tweet.quote_tweet else None,
        "liked_by_user": liked,
        "retweeted_by_user": retweeted,
    }


def user_summary(user: UserRecord) -> dict[str, Any]:
    return {"user_id": str(user.user_id), "username": user.username, "display_name": user.display_name}


def notification_json(n: NotificationRecord) -> dict[str, Any]:
    return {
        "notification_id": str(n.notification_id),
        "type": n.type.value,
        "actor": {"user_id": str(n.actor_id), "username": n.actor_username},
        "tweet_id": str(n.tweet_id) if n.tweet_id else None,
        "created_at": iso(n.created_at_ms),
        "read": n.read,
    }


class TweetHydrator:
    """Loads tweets by id with counts and the viewer's like/retweet flags; deleted tweets drop out."""

    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    def records(self, tweet_ids: Sequence[int]) -> list[TweetRecord]:
        found = self._stores.tweets.get_many(tweet_ids)
        return [found[t] for t in tweet_ids if t in found]

    def hydrate(self, viewer_id: int | None, tweets: Sequence[TweetRecord]) -> list[dict[str, Any]]:
        ids = [t.tweet_id for t in tweets]
        counts = self._stores.engagement.counts(ids) if ids else {}
        liked = self._stores.engagement.liked_by(viewer_id, ids) if viewer_id and ids else set()
        retweeted = self._stores.engagement.retweeted_by(viewer_id, ids) if viewer_id and ids else set()
        return [
            tweet_json(
                t, counts.get(t.tweet_id, TweetCounts()), liked=t.tweet_id in liked, retweeted=t.tweet_id in retweeted
            )
            for t in tweets
        ]

    def by_ids(self, viewer_id: int | None, tweet_ids: Sequence[int]) -> list[dict[str, Any]]:
        return self.hydrate(viewer_id, self.records(tweet_ids))

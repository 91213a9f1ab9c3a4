"""Delivery of new and deleted tweets: home-timeline fan-out plus real-time push to online followers (the fan-out
stream consumer). Re-delivery is harmless: timeline inserts are set inserts, and a tweet deleted meanwhile is
skipped."""

from __future__ import annotations

from chirp.model import Event, EventType
from chirp.services.feed import FeedManager
from chirp.services.realtime import RealtimeService
from chirp.services.stores import Stores
from chirp.services.tweets import tweet_from_event
from chirp.services.views import TweetHydrator


class DeliveryService:
    def __init__(self, stores: Stores, feed: FeedManager, realtime: RealtimeService) -> None:
        self._s = stores
        self._feed = feed
        self._realtime = realtime
        self._hydrator = TweetHydrator(stores)

    def on_event(self, event: Event) -> None:
        if event.type == EventType.TWEET_CREATED:
            self.deliver_new(tweet_from_event(event.data["tweet"]).tweet_id)
        elif event.type == EventType.TWEET_DELETED:
            tweet = tweet_from_event(event.data["tweet"])
            self._feed.remove_tweet(tweet.tweet_id, tweet.user_id)

    def deliver_new(self, tweet_id: int) -> int:
        tweet = self._s.tweets.get(tweet_id)
        if tweet is None:
            return 0  # deleted before delivery
        message: dict[str, object] = {"type": "new_tweet", "tweet": self._hydrator.hydrate(None, [tweet])[0]}
        celebrity = self._feed.is_celebrity(tweet.user_id)

        def push(follower_ids: list[int]) -> None:
            self._realtime.push_to_users(follower_ids, message)

        written = self._feed.fan_out(tweet, celebrity=celebrity, on_followers=push)
        self._realtime.push_to_users([tweet.user_id], message)
        if celebrity:
            self._realtime.push_to_subscribers(tweet.user_id, message)
        return written

"""Trending hashtags: time-decayed scores over a sliding window, with spam resistance — identical texts count once,
an author counts once per hashtag per window and at most a few times per window overall, and each author's weight
depends on account age and audience (see trend_math).

Localized: each hashtag counts worldwide and in its author's place (the profile's, read from the author record the
weight already needs: no read more per tweet, and none on the post path), under the same rules; ``top(place=...)``
reads one place's trends."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

from pydantic import ValidationError

from chirp import api_models as api
from chirp.config import Settings
from chirp.errors import ValidationFailed
from chirp.model import Event, EventType, TrendScore, TweetChanged, TweetRecord, now_ms
from chirp.places import is_place, normalize_place
from chirp.services.liveness import live_tweet_ids
from chirp.services.stores import Stores
from chirp.services.views import iso
from chirp.text import normalize
from chirp.trend_math import author_weight

MAX_TAGS_PER_TWEET = 5
MAX_TREND_TWEETS_PER_AUTHOR = 20
TOP_LIMIT = 30


class TrendsService:
    def __init__(self, stores: Stores, settings: Settings) -> None:
        self._s = stores
        self._window = settings.trends_window_s
        self._half_life = settings.trends_half_life_s
        self._refresh_ms = int(settings.trends_refresh_s * 1000)
        self._cache: dict[str | None, tuple[int, list[TrendScore]]] = {}  # place (None: worldwide) -> (as of, top)
        self._lock = threading.Lock()

    def on_events(self, events: Sequence[Event]) -> list[BaseException | None]:
        """A batch: one liveness read for its new tweets (the events carry the tweets; a redelivered one deleted
        meanwhile is not counted), then each event in order; the outcome of each (None or its exception)."""
        outcomes: list[BaseException | None] = [None] * len(events)
        tweets: dict[int, TweetRecord] = {}  # event index -> the tweet it carries
        for i, event in enumerate(events):
            if event.type in TweetChanged.TYPES:
                try:
                    tweets[i] = TweetChanged.read(event).tweet.record()
                except ValidationError as exc:  # a malformed record fails alone
                    outcomes[i] = exc
        created = [t.tweet_id for i, t in tweets.items() if events[i].type == EventType.TWEET_CREATED]
        live = live_tweet_ids(self._s, created)
        for i, tweet in tweets.items():
            try:
                if events[i].type == EventType.TWEET_DELETED:
                    self.remove(tweet.tweet_id)
                elif tweet.tweet_id in live:
                    self.record(tweet)
            except Exception as exc:
                outcomes[i] = exc
        return outcomes

    def record(self, tweet: TweetRecord) -> bool:
        """Count a new tweet's hashtags; returns False when spam rules drop it."""
        if not tweet.hashtags:
            return False
        # Every read first: the claims below are not undone, so a store outage after one (the batch is redelivered)
        # would make the redelivery find its own claim taken and drop the tweet.
        weight, place = self._author_weight(tweet.user_id)
        text_key = hashlib.sha256(normalize(tweet.content).casefold().encode()).hexdigest()[:32]
        if not self._s.trends.claim(f"text:{text_key}", self._window):
            return False
        budget = self._s.rate_limits.hit(
            f"trend-author:{tweet.user_id}", limit=MAX_TREND_TWEETS_PER_AUTHOR, window_s=self._window, now_ms=now_ms()
        )
        if not budget.allowed:
            return False
        counted = False
        for tag in tweet.hashtags[:MAX_TAGS_PER_TWEET]:
            if self._s.trends.claim(f"author-tag:{tweet.user_id}:{tag}", self._window):
                self._s.trends.add(tag, tweet.tweet_id, weight, tweet.created_at_ms, place)
                counted = True
        return counted

    def _author_weight(self, user_id: int) -> tuple[float, str | None]:
        """(the author's weight, their place: None for worldwide only)."""
        user = self._s.users.get(user_id)
        followers, following = self._s.graph.counts(user_id)
        age_days = (now_ms() - user.created_at_ms) / 86_400_000 if user else 0.0
        place = user.place if user and user.place and is_place(user.place) else None
        return author_weight(account_age_days=age_days, followers=followers, following=following), place

    def remove(self, tweet_id: int) -> None:
        self._s.trends.remove_tweet(tweet_id)
        with self._lock:
            self._cache.clear()

    def top(self, *, limit: int = TOP_LIMIT, place: str | None = None) -> api.Trends:
        """Worldwide, or in ``place`` (a code of chirp.places, any case; "" is worldwide; another is a 400)."""
        code = normalize_place(place) if place is not None else None
        if code is not None and not is_place(code):
            raise ValidationFailed("place must be an ISO 3166-1 alpha-2 country code", code="unknown_place")
        now = now_ms()
        with self._lock:
            cached = self._cache.get(code)
            if cached is None or now - cached[0] >= self._refresh_ms:
                top = self._s.trends.top(
                    now_ms=now, limit=TOP_LIMIT, window_s=self._window, half_life_s=self._half_life, place=code
                )
                cached = self._cache[code] = (now, top)
            as_of, scores = cached
        return {
            "trends": [{"hashtag": s.hashtag, "score": s.score, "tweet_count": s.tweet_count} for s in scores[:limit]],
            "as_of": iso(as_of),
            "window_s": self._window,
            "place": code,
        }

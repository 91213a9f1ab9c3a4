"""The embedded tweet cache: in-process, bounded LRU maps (the production twin is ElastiCache Redis). It keeps the
same rules as the Redis adapter — fills never overwrite, a count change makes pending fills stale, tombstones for
deleted tweets — so the contract suite holds for both."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Final, Generic, TypeVar

from chirp.model import AuthorCard, TweetCounts, TweetRecord
from chirp.ports import CachedTweets, CacheStats, FlagKind

_TOMBSTONE: Final = object()
AUTHOR_TTL_S = 600  # author cards: how long a stale fill (see TweetCache.fill_authors) can last
K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A size-bounded map that forgets its least recently used entries."""

    def __init__(self, capacity: int) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._capacity = capacity

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)

    def pop(self, key: K) -> V | None:
        return self._items.pop(key, None)

    def __contains__(self, key: K) -> bool:
        return key in self._items


class MemoryTweetCache:
    def __init__(self, *, max_tweets: int = 100_000, max_users: int = 10_000, flags_per_user: int = 4096) -> None:
        self._tweets: _Lru[int, object] = _Lru(max_tweets)  # TweetRecord or _TOMBSTONE
        self._counts: _Lru[int, TweetCounts] = _Lru(max_tweets)
        # Per tweet, how many times its counters changed (the "version" a fill is checked against).
        self._versions: _Lru[int, int] = _Lru(max_tweets)
        self._flags: _Lru[int, dict[str, bool]] = _Lru(max_users)
        self._flags_per_user = flags_per_user
        self._authors: _Lru[int, tuple[AuthorCard, float]] = _Lru(max_users)  # (card, monotonic expiry)
        self._author_ttl_s = AUTHOR_TTL_S
        self._stats = CacheStats()
        self._lock = threading.Lock()

    def lookup(
        self, tweet_ids: Sequence[int], *, viewer_id: int | None, objects: bool = True, counts: bool = True
    ) -> CachedTweets:
        found = CachedTweets()
        ids = list(dict.fromkeys(tweet_ids))
        with self._lock:
            if objects:
                for tweet_id in ids:
                    value = self._tweets.get(tweet_id)
                    if value is _TOMBSTONE:
                        found.deleted.add(tweet_id)
                    elif isinstance(value, TweetRecord):
                        found.tweets[tweet_id] = value
            if counts:
                for tweet_id in ids:
                    cached = self._counts.get(tweet_id)
                    if cached is not None:
                        found.counts[tweet_id] = cached
                    else:
                        found.count_versions[tweet_id] = _version(self._versions.get(tweet_id))
            if viewer_id is not None:
                flags = self._flags.get(viewer_id) or {}
                for tweet_id in ids:
                    liked, retweeted = flags.get(f"l{tweet_id}"), flags.get(f"r{tweet_id}")
                    if liked is not None:
                        found.liked[tweet_id] = liked
                    if retweeted is not None:
                        found.retweeted[tweet_id] = retweeted
                found.flags_from_counts()
            self._count(found, len(ids), objects=objects, counts=counts, viewer=viewer_id is not None)
        return found

    def _count(self, found: CachedTweets, n: int, *, objects: bool, counts: bool, viewer: bool) -> None:
        self._stats = self._stats.counted(found, n, objects=objects, counts=counts, viewer=viewer)

    def fill(
        self,
        *,
        tweets: Sequence[TweetRecord] = (),
        counts: Mapping[int, tuple[TweetCounts, str]] | None = None,
        viewer_id: int | None = None,
        liked: Mapping[int, bool] | None = None,
        retweeted: Mapping[int, bool] | None = None,
    ) -> None:
        with self._lock:
            self._fill_locked(tweets, counts or {}, viewer_id, liked or {}, retweeted or {})

    def _fill_locked(
        self,
        tweets: Sequence[TweetRecord],
        counts: Mapping[int, tuple[TweetCounts, str]],
        viewer_id: int | None,
        liked: Mapping[int, bool],
        retweeted: Mapping[int, bool],
    ) -> None:
        for tweet in tweets:
            if tweet.tweet_id not in self._tweets:
                self._tweets.put(tweet.tweet_id, _copy(tweet))
        for tweet_id, (value, version) in counts.items():
            if tweet_id not in self._counts and _version(self._versions.get(tweet_id)) == version:
                self._counts.put(tweet_id, value)
        if viewer_id is not None and (liked or retweeted):
            flags = self._flags.get(viewer_id)
            if flags is None or len(flags) >= self._flags_per_user:
                flags = {}  # bounded per user: start over rather than grow
                self._flags.put(viewer_id, flags)
            for prefix, values in (("l", liked), ("r", retweeted)):
                for tweet_id, on in values.items():
                    flags.setdefault(f"{prefix}{tweet_id}", on)

    def fill_new(self, tweet: TweetRecord) -> bool:
        tweet_id = tweet.tweet_id
        with self._lock:
            if tweet_id in self._tweets:  # an object or a tombstone: the id is taken
                return False
            zero = {tweet_id: (TweetCounts(), "")}
            self._fill_locked([tweet], zero, tweet.user_id, {tweet_id: False}, {tweet_id: False})
            return True

    def tweet_deleted(self, tweet_ids: Sequence[int]) -> None:
        with self._lock:
            for tweet_id in tweet_ids:
                self._tweets.put(tweet_id, _TOMBSTONE)
                self._counts.pop(tweet_id)
                self._versions.put(tweet_id, (self._versions.get(tweet_id) or 0) + 1)  # refuses late fills

    def deleted(self, tweet_ids: Sequence[int]) -> set[int]:
        with self._lock:
            return {t for t in tweet_ids if self._tweets.get(t) is _TOMBSTONE}

    def counts_changed(self, tweet_ids: Sequence[int]) -> None:
        with self._lock:
            for tweet_id in tweet_ids:
                self._counts.pop(tweet_id)
                self._versions.put(tweet_id, (self._versions.get(tweet_id) or 0) + 1)

    def set_flag(self, user_id: int, tweet_id: int, *, kind: FlagKind, on: bool) -> None:
        with self._lock:
            flags = self._flags.get(user_id)
            if flags is None or len(flags) >= self._flags_per_user:
                flags = {}
                self._flags.put(user_id, flags)
            flags[f"{'l' if kind == 'like' else 'r'}{tweet_id}"] = on

    def authors(self, user_ids: Sequence[int]) -> dict[int, AuthorCard]:
        now = time.monotonic()
        found: dict[int, AuthorCard] = {}
        with self._lock:
            for user_id in dict.fromkeys(user_ids):
                entry = self._authors.get(user_id)
                if entry is not None and entry[1] > now:
                    found[user_id] = entry[0]
        return found

    def fill_authors(self, cards: Sequence[AuthorCard]) -> None:
        expires = time.monotonic() + self._author_ttl_s
        with self._lock:
            for card in cards:
                self._authors.put(card.user_id, (card, expires))

    def author_changed(self, user_ids: Sequence[int]) -> None:
        with self._lock:
            for user_id in user_ids:
                self._authors.pop(user_id)

    def stats(self) -> CacheStats:
        with self._lock:
            return self._stats


def _version(changes: int | None) -> str:
    return str(changes) if changes else ""


def _copy(tweet: TweetRecord) -> TweetRecord:
    """The cache's own copy: a caller may go on mutating the record it filled with."""
    return replace(
        tweet,
        hashtags=list(tweet.hashtags),
        mentions=list(tweet.mentions),
        urls=list(tweet.urls),
        media_urls=list(tweet.media_urls),
        media=[dict(item) for item in tweet.media],
    )

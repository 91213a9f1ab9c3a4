"""In-process stores for ephemeral state (production: ElastiCache): home timelines, WebSocket connections and
celebrity subscriptions, trends, rate limits. Lost on restart by design: timelines are rebuilt from durable data."""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from chirp.model import RateDecision, SafetySets, TrendScore, now_ms
from chirp.ports import HomeView, Listeners, MastodonStream
from chirp.trend_math import decayed_weight


@dataclass(slots=True)
class _Timeline:
    ids: list[int] = field(default_factory=list)  # ascending
    touched_ms: int = 0
    truncated: bool = False


class MemoryTimelineStore:
    """Timelines trimmed at once (in-process, trimming is cheap), and each reader's cached celebrity followees."""

    def __init__(self, *, cap: int, ttl_s: int, celebrities_ttl_s: int = 3600) -> None:
        self._cap = cap
        self._ttl_ms = ttl_s * 1000
        self._timelines: dict[int, _Timeline] = {}
        self._celebrities: dict[int, tuple[list[int], float]] = {}  # user -> (ids, expiry on the monotonic clock)
        self._celebrities_ttl_s = celebrities_ttl_s
        self._safety: dict[int, tuple[SafetySets, float]] = {}  # user -> (sets, expiry on the monotonic clock)
        self._lock = threading.Lock()

    def _live(self, user_id: int) -> _Timeline | None:
        timeline = self._timelines.get(user_id)
        if timeline is not None and now_ms() - timeline.touched_ms > self._ttl_ms:
            del self._timelines[user_id]
            return None
        return timeline

    def _insert(self, timeline: _Timeline, tweet_ids: Sequence[int]) -> None:
        for tweet_id in tweet_ids:
            index = bisect.bisect_left(timeline.ids, tweet_id)
            if index == len(timeline.ids) or timeline.ids[index] != tweet_id:
                timeline.ids.insert(index, tweet_id)
        if len(timeline.ids) > self._cap:
            del timeline.ids[: len(timeline.ids) - self._cap]
            timeline.truncated = True

    def exists(self, user_id: int) -> bool:
        with self._lock:
            return self._live(user_id) is not None

    def build(self, user_id: int, tweet_ids: Sequence[int], *, truncated: bool = False) -> None:
        with self._lock:
            timeline = self._live(user_id) or _Timeline()
            timeline.truncated = truncated  # as told; the trim in _insert marks it too
            self._insert(timeline, tweet_ids)
            timeline.touched_ms = now_ms()
            self._timelines[user_id] = timeline

    def build_many(self, timelines: Mapping[int, Sequence[int]]) -> None:
        for user_id, tweet_ids in timelines.items():
            self.build(user_id, tweet_ids)

    def drop(self, user_ids: Sequence[int]) -> None:
        with self._lock:
            for user_id in user_ids:
                self._timelines.pop(user_id, None)
                self._celebrities.pop(user_id, None)

    def add_if_exists(self, user_ids: Sequence[int], tweet_id: int) -> int:
        written = 0
        with self._lock:
            for user_id in user_ids:
                timeline = self._live(user_id)
                if timeline is not None:
                    self._insert(timeline, (tweet_id,))
                    written += 1
        return written

    def merge(self, user_id: int, tweet_ids: Sequence[int], *, truncated: bool = False) -> None:
        with self._lock:
            timeline = self._live(user_id)
            if timeline is not None:
                self._insert(timeline, tweet_ids)
                timeline.truncated = timeline.truncated or truncated

    def remove(self, user_ids: Sequence[int], tweet_ids: Sequence[int]) -> None:
        doomed = set(tweet_ids)
        with self._lock:
            for user_id in user_ids:
                timeline = self._timelines.get(user_id)
                if timeline is not None:
                    timeline.ids = [t for t in timeline.ids if t not in doomed]

    def page_many(
        self, user_ids: Sequence[int], *, before: int | None, after: int | None, limit: int
    ) -> dict[int, list[int] | None]:
        return {u: self.page(u, before=before, after=after, limit=limit) for u in user_ids}

    def page(self, user_id: int, *, before: int | None, after: int | None, limit: int) -> list[int] | None:
        with self._lock:
            timeline = self._live(user_id)
            if timeline is None:
                return None
            timeline.touched_ms = now_ms()
            hi = bisect.bisect_left(timeline.ids, before) if before is not None else len(timeline.ids)
            lo = bisect.bisect_right(timeline.ids, after) if after is not None else 0
            lo = max(lo, hi - limit)
            return timeline.ids[lo:hi][::-1]

    def oldest(self, user_id: int) -> int | None:
        with self._lock:
            timeline = self._live(user_id)
            return timeline.ids[0] if timeline and timeline.ids else None

    def truncated(self, user_id: int) -> bool:
        with self._lock:
            timeline = self._live(user_id)
            return timeline is not None and timeline.truncated

    def celebrities(self, user_id: int) -> list[int] | None:
        with self._lock:
            cached = self._celebrities.get(user_id)
            if cached is None or cached[1] <= time.monotonic():
                return None
            return list(cached[0])

    def set_celebrities(self, user_id: int, celebrity_ids: Sequence[int]) -> None:
        with self._lock:
            self._celebrities[user_id] = (list(celebrity_ids), time.monotonic() + self._celebrities_ttl_s)

    def forget_celebrities(self, user_ids: Sequence[int]) -> None:
        with self._lock:
            for user_id in user_ids:
                self._celebrities.pop(user_id, None)

    def safety(self, user_id: int) -> SafetySets | None:
        with self._lock:
            cached = self._safety.get(user_id)
            return cached[0] if cached is not None and cached[1] > time.monotonic() else None

    def set_safety(self, user_id: int, sets: SafetySets) -> None:
        with self._lock:
            self._safety[user_id] = (sets, time.monotonic() + self._celebrities_ttl_s)

    def forget_safety(self, user_ids: Sequence[int]) -> None:
        with self._lock:
            for user_id in user_ids:
                self._safety.pop(user_id, None)

    def home_view(self, user_id: int, *, before: int | None, after: int | None, limit: int) -> HomeView:
        return HomeView(
            ids=self.page(user_id, before=before, after=after, limit=limit),
            truncated=self.truncated(user_id),
            celebrities=self.celebrities(user_id),
            safety=self.safety(user_id),
        )


_Member = tuple[MastodonStream | None, str]  # (the Mastodon stream, or None for Chirp's protocol; connection id)


class MemoryConnectionRegistry:
    """Connections and their listening, as the Redis registry keeps them: each user's, celebrity's and hashtag's set
    holds (stream, connection) pairs, the stream None for a Chirp connection."""

    def __init__(self) -> None:
        self._owner: dict[str, int] = {}
        self._mastodon: set[str] = set()
        self._by_user: dict[int, set[_Member]] = defaultdict(set)
        self._subscribers: dict[int, set[_Member]] = defaultdict(set)
        self._subscriptions: dict[str, set[int]] = defaultdict(set)
        self._by_tag: dict[str, set[_Member]] = defaultdict(set)
        self._streams: dict[str, set[tuple[MastodonStream, str | None]]] = defaultdict(set)
        self._lock = threading.Lock()

    def register(self, connection_id: str, user_id: int, *, mastodon: bool = False) -> None:
        with self._lock:
            self._owner[connection_id] = user_id
            if mastodon:  # hears nothing until it subscribes to a stream
                self._mastodon.add(connection_id)
            else:
                self._by_user[user_id].add((None, connection_id))

    def unregister(self, connection_id: str) -> int | None:
        with self._lock:
            user_id = self._owner.pop(connection_id, None)
            self._mastodon.discard(connection_id)
            if user_id is not None:
                self._by_user[user_id] = {m for m in self._by_user[user_id] if m[1] != connection_id}
                if not self._by_user[user_id]:
                    del self._by_user[user_id]
            for celebrity in self._subscriptions.pop(connection_id, set()):
                self._subscribers[celebrity] -= {(None, connection_id), ("user", connection_id)}
            for stream, tag in self._streams.pop(connection_id, set()):
                if tag is not None:
                    self._by_tag[tag].discard((stream, connection_id))
            return user_id

    def connections_of(self, user_ids: Sequence[int]) -> dict[int, list[str]]:
        with self._lock:
            found = {u: _home(self._by_user[u]) for u in user_ids if u in self._by_user}
        return {u: ids for u, ids in found.items() if ids}

    def listeners_of(self, user_ids: Sequence[int]) -> Listeners:
        with self._lock:
            return _listeners(m for u in user_ids for m in self._by_user.get(u, ()))

    def subscribe(self, connection_id: str, celebrity_ids: Sequence[int]) -> None:
        with self._lock:
            if connection_id not in self._owner:
                return
            member: _Member = ("user" if connection_id in self._mastodon else None, connection_id)
            for celebrity in celebrity_ids:
                self._subscribers[celebrity].add(member)
                self._subscriptions[connection_id].add(celebrity)

    def unsubscribe(self, connection_id: str, celebrity_ids: Sequence[int]) -> None:
        with self._lock:
            for celebrity in celebrity_ids:
                self._subscribers[celebrity] -= {(None, connection_id), ("user", connection_id)}
                self._subscriptions[connection_id].discard(celebrity)

    def subscribers(self, celebrity_id: int) -> list[str]:
        with self._lock:
            return _home(self._subscribers.get(celebrity_id, set()))

    def celebrity_listeners(self, celebrity_id: int) -> Listeners:
        with self._lock:
            return _listeners(self._subscribers.get(celebrity_id, set()))

    def subscribe_stream(self, connection_id: str, stream: MastodonStream, tag: str | None = None) -> bool:
        with self._lock:
            if connection_id not in self._mastodon:
                return False
            members = self._by_tag[tag] if tag else self._by_user[self._owner[connection_id]]
            members.add((stream, connection_id))
            self._streams[connection_id].add((stream, tag or None))
            return True

    def unsubscribe_stream(self, connection_id: str, stream: MastodonStream, tag: str | None = None) -> None:
        with self._lock:
            if connection_id not in self._mastodon:
                return
            members = self._by_tag.get(tag, set()) if tag else self._by_user.get(self._owner[connection_id], set())
            members.discard((stream, connection_id))
            self._streams[connection_id].discard((stream, tag or None))

    def tag_listeners(self, tags: Sequence[str]) -> dict[str, Listeners]:
        with self._lock:
            found = {t: _listeners(self._by_tag.get(t, set())) for t in tags}
        return {t: listeners for t, listeners in found.items() if not listeners.empty}


def _listeners(members: Iterable[_Member]) -> Listeners:
    found = Listeners()
    for stream, connection_id in members:
        if stream is None:
            found.chirp.append(connection_id)
        else:
            found.mastodon.setdefault(stream, []).append(connection_id)
    found.chirp.sort()
    for ids in found.mastodon.values():
        ids.sort()
    return found


def _home(members: Iterable[_Member]) -> list[str]:
    """The connections that receive home updates: Chirp's, and Mastodon's on the ``user`` stream."""
    return sorted(c for stream, c in members if stream is None or stream == "user")


@dataclass(slots=True)
class _Contribution:
    hashtag: str
    tweet_id: int
    weight: float
    at_ms: int
    place: str | None = None


class MemoryTrendStore:
    def __init__(self) -> None:
        self._claims: dict[str, float] = {}
        self._contributions: dict[int, list[_Contribution]] = defaultdict(list)
        self._lock = threading.Lock()

    def claim(self, key: str, ttl_s: int) -> bool:
        now = time.monotonic()
        with self._lock:
            expires = self._claims.get(key)
            if expires is not None and expires > now:
                return False
            self._claims[key] = now + ttl_s
            if len(self._claims) > 100_000:
                self._claims = {k: v for k, v in self._claims.items() if v > now}
            return True

    def add(self, hashtag: str, tweet_id: int, weight: float, at_ms: int, place: str | None = None) -> None:
        with self._lock:
            existing = self._contributions[tweet_id]
            if not any(c.hashtag == hashtag for c in existing):
                existing.append(_Contribution(hashtag, tweet_id, weight, at_ms, place))

    def remove_tweet(self, tweet_id: int) -> None:
        with self._lock:
            self._contributions.pop(tweet_id, None)

    def top(
        self, *, now_ms: int, limit: int, window_s: int, half_life_s: float, place: str | None = None
    ) -> list[TrendScore]:
        cutoff = now_ms - window_s * 1000
        scores: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        with self._lock:
            for tweet_id in [t for t, cs in self._contributions.items() if cs and cs[0].at_ms < cutoff]:
                del self._contributions[tweet_id]
            for contributions in self._contributions.values():
                for c in contributions:
                    if place is not None and c.place != place:
                        continue
                    scores[c.hashtag] += decayed_weight(c.weight, now_ms - c.at_ms, half_life_s)
                    counts[c.hashtag] += 1
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return [TrendScore(hashtag=tag, score=round(score, 4), tweet_count=counts[tag]) for tag, score in ranked]


class MemoryRateLimiter:
    """Sliding-window log limiter: exact over the window."""

    def __init__(self) -> None:
        self._hits: dict[str, list[int]] = defaultdict(list)
        self._lock = threading.Lock()

    def hit(self, key: str, *, limit: int, window_s: int, now_ms: int) -> RateDecision:
        window_ms = window_s * 1000
        with self._lock:
            hits = self._hits[key]
            start = bisect.bisect_right(hits, now_ms - window_ms)
            del hits[:start]
            if len(hits) >= limit:
                reset_ms = hits[0] + window_ms
                return RateDecision(
                    allowed=False,
                    limit=limit,
                    remaining=0,
                    reset_epoch=math.ceil(reset_ms / 1000),
                    retry_after=max(1, math.ceil((reset_ms - now_ms) / 1000)),
                )
            bisect.insort(hits, now_ms)
            reset_ms = hits[0] + window_ms
            return RateDecision(
                allowed=True,
                limit=limit,
                remaining=limit - len(hits),
                reset_epoch=math.ceil(reset_ms / 1000),
                retry_after=0,
            )

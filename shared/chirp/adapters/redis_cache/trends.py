"""Trends in Redis: per-minute buckets of weighted hashtag counts (ZINCRBY), combined on read with ZUNIONSTORE
weighted by each bucket's decay — accurate to the minute, O(active tags) per read. A per-tweet record of its
contributions lets a deleted tweet take them back. All trend keys share the {trends} hash tag (one slot), which
multi-key ZUNIONSTORE needs on cluster-mode Redis.

Localized trends: a tweet counted in a place goes into that place's buckets too (``{trends}:w:<place>:<minute>``),
and its record remembers the place, so a delete takes both back; a place's read is the same union over its buckets."""

from __future__ import annotations

import uuid

from chirp.adapters.redis_cache.client import RedisLike, available
from chirp.model import TrendScore
from chirp.trend_math import decayed_weight

BUCKET_MS = 60_000


def _minute(at_ms: int) -> int:
    return at_ms // BUCKET_MS


def _scopes(place: str | None) -> list[str]:
    """The bucket-key scopes a tweet counts in: worldwide (""), and its place's when it has one."""
    return ["", f"{place}:"] if place else [""]


class RedisTrendStore:
    def __init__(self, client: RedisLike, *, retention_s: int = 2 * 3600) -> None:
        self._r = client
        self._retention = retention_s

    def claim(self, key: str, ttl_s: int) -> bool:
        with available():
            return bool(self._r.set(f"trendclaim:{key}", 1, nx=True, ex=ttl_s))

    def add(self, hashtag: str, tweet_id: int, weight: float, at_ms: int, place: str | None = None) -> None:
        minute = _minute(at_ms)
        record = f"{{trends}}:tweet:{tweet_id}"
        with available():
            if not self._r.hsetnx(record, hashtag, f"{minute}:{weight}:{place or ''}"):
                return  # re-delivery: already counted
            pipe = self._r.pipeline(transaction=False)
            pipe.expire(record, self._retention)
            for scope in _scopes(place):
                pipe.zincrby(f"{{trends}}:w:{scope}{minute}", weight, hashtag)
                pipe.zincrby(f"{{trends}}:n:{scope}{minute}", 1, hashtag)
                pipe.expire(f"{{trends}}:w:{scope}{minute}", self._retention)
                pipe.expire(f"{{trends}}:n:{scope}{minute}", self._retention)
            pipe.execute()

    def remove_tweet(self, tweet_id: int) -> None:
        record = f"{{trends}}:tweet:{tweet_id}"
        with available():
            contributions = self._r.hgetall(record)
            pipe = self._r.pipeline(transaction=False)
            for hashtag, value in contributions.items():
                minute, weight, *place = value.split(":")  # records written before places have no third part
                for scope in _scopes(place[0] if place else None):
                    pipe.zincrby(f"{{trends}}:w:{scope}{minute}", -float(weight), hashtag)
                    pipe.zincrby(f"{{trends}}:n:{scope}{minute}", -1, hashtag)
            pipe.delete(record)
            pipe.execute()

    def top(
        self, *, now_ms: int, limit: int, window_s: int, half_life_s: float, place: str | None = None
    ) -> list[TrendScore]:
        now_minute = _minute(now_ms)
        minutes = range(now_minute - window_s * 1000 // BUCKET_MS, now_minute + 1)
        scope = f"{place}:" if place else ""
        weights = {
            f"{{trends}}:w:{scope}{m}": decayed_weight(1.0, now_ms - (m * BUCKET_MS + BUCKET_MS // 2), half_life_s)
            for m in minutes
        }
        counts = {f"{{trends}}:n:{scope}{m}": 1.0 for m in minutes}
        scratch = f"{{trends}}:scratch:{uuid.uuid4().hex}"
        with available():
            pipe = self._r.pipeline(transaction=False)
            pipe.zunionstore(scratch + ":w", weights)
            pipe.zunionstore(scratch + ":n", counts)
            pipe.zrevrangebyscore(scratch + ":w", "+inf", "(0.0001", start=0, num=limit, withscores=True)
            pipe.delete(scratch + ":w")
            ranked = pipe.execute()[2]
            if not ranked:
                self._r.delete(scratch + ":n")
                return []
            pipe = self._r.pipeline(transaction=False)
            pipe.zmscore(scratch + ":n", [tag for tag, _ in ranked])
            pipe.delete(scratch + ":n")
            tweet_counts = pipe.execute()[0]
        result = [
            TrendScore(hashtag=tag, score=round(score, 4), tweet_count=int(count or 0))
            for (tag, score), count in zip(ranked, tweet_counts, strict=True)
            if count and count > 0
        ]
        return sorted(result, key=lambda t: (-t.score, t.hashtag))

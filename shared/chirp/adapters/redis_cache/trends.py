"""Trends in Redis: per-minute buckets of weighted hashtag counts (ZINCRBY), combined on read with ZUNIONSTORE
weighted by each bucket's decay — accurate to the minute, O(active tags) per read. A per-tweet record of its
contributions lets a deleted tweet take them back. All trend keys share the {trends} hash tag (one slot), which
multi-key ZUNIONSTORE needs on cluster-mode Redis."""

from __future__ import annotations

import uuid

from chirp.adapters.redis_cache.client import RedisLike, available
from chirp.model import TrendScore
from chirp.trend_math import decayed_weight

BUCKET_MS = 60_000


def _minute(at_ms: int) -> int:
    return at_ms // BUCKET_MS


class RedisTrendStore:
    def __init__(self, client: RedisLike, *, retention_s: int = 2 * 3600) -> None:
        self._r = client
        self._retention = retention_s

    def claim(self, key: str, ttl_s: int) -> bool:
        with available():
            return bool(self._r.set(f"trendclaim:{key}", 1, nx=True, ex=ttl_s))

    def add(self, hashtag: str, tweet_id: int, weight: float, at_ms: int) -> None:
        minute = _minute(at_ms)
        record = f"{{trends}}:tweet:{tweet_id}"
        with available():
            if not self._r.hsetnx(record, hashtag, f"{minute}:{weight}"):
                return  # re-delivery: already counted
            pipe = self._r.pipeline(transaction=False)
            pipe.expire(record, self._retention)
            pipe.zincrby(f"{{trends}}:w:{minute}", weight, hashtag)
            pipe.zincrby(f"{{trends}}:n:{minute}", 1, hashtag)
            pipe.expire(f"{{trends}}:w:{minute}", self._retention)
            pipe.expire(f"{{trends}}:n:{minute}", self._retention)
            pipe.execute()

    def remove_tweet(self, tweet_id: int) -> None:
        record = f"{{trends}}:tweet:{tweet_id}"
        with available():
            contributions = self._r.hgetall(record)
            pipe = self._r.pipeline(transaction=False)
            for hashtag, value in contributions.items():
                minute, weight = value.split(":")
                pipe.zincrby(f"{{trends}}:w:{minute}", -float(weight), hashtag)
                pipe.zincrby(f"{{trends}}:n:{minute}", -1, hashtag)
            pipe.delete(record)
            pipe.execute()

    def top(self, *, now_ms: int, limit: int, window_s: int, half_life_s: float) -> list[TrendScore]:
        now_minute = _minute(now_ms)
        minutes = range(now_minute - window_s * 1000 // BUCKET_MS, now_minute + 1)
        weights = {
            f"{{trends}}:w:{m}": decayed_weight(1.0, now_ms - (m * BUCKET_MS + BUCKET_MS // 2), half_life_s)
            for m in minutes
        }
        counts = {f"{{trends}}:n:{m}": 1.0 for m in minutes}
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

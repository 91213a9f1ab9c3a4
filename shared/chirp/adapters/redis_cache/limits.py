"""Rate limits (exact sliding-window log, one server-side script per hit) and idempotency records in Redis."""

from __future__ import annotations

import math
import uuid

from chirp.adapters.redis_cache.client import RedisLike, available
from chirp.model import RateDecision

# KEYS: log; ARGV: now_ms, window_ms, limit, member. Returns {allowed, count, oldest_ms}.
SLIDING_WINDOW = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, count, tonumber(oldest[2])}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {1, count + 1, tonumber(oldest[2])}
"""


class RedisRateLimiter:
    def __init__(self, client: RedisLike) -> None:
        self._script = client.register_script(SLIDING_WINDOW)

    def hit(self, key: str, *, limit: int, window_s: int, now_ms: int) -> RateDecision:
        window_ms = window_s * 1000
        with available():
            allowed, count, oldest = self._script(
                keys=[f"rl:{{{key}}}"], args=[now_ms, window_ms, limit, f"{now_ms}-{uuid.uuid4().hex[:8]}"]
            )
        reset_ms = int(oldest) + window_ms
        if not allowed:
            return RateDecision(
                allowed=False,
                limit=limit,
                remaining=0,
                reset_epoch=math.ceil(reset_ms / 1000),
                retry_after=max(1, math.ceil((reset_ms - now_ms) / 1000)),
            )
        return RateDecision(
            allowed=True,
            limit=limit,
            remaining=limit - int(count),
            reset_epoch=math.ceil(reset_ms / 1000),
            retry_after=0,
        )


class RedisIdempotencyStore:
    def __init__(self, client: RedisLike) -> None:
        self._r = client

    def get(self, key: str) -> str | None:
        with available():
            value = self._r.get(f"idem:{key}")
        return str(value) if value is not None else None

    def put_if_absent(self, key: str, value: str, ttl_s: int) -> bool:
        with available():
            return bool(self._r.set(f"idem:{key}", value, nx=True, ex=ttl_s))

    def put(self, key: str, value: str, ttl_s: int) -> None:
        with available():
            self._r.set(f"idem:{key}", value, ex=ttl_s)

    def delete(self, key: str) -> None:
        with available():
            self._r.delete(f"idem:{key}")

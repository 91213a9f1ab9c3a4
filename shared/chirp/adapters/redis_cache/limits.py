"""Rate limits (exact sliding-window log, one server-side script per hit) and idempotency records in Redis."""

from __future__ import annotations

import math
import uuid

from chirp.adapters.redis_cache.client import RedisLike, available, call_acknowledged
from chirp.model import RateDecision
from chirp.ports import IdempotencyRecord

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


# Idempotency records are hashes {fingerprint, result}; "result" is absent while the claiming request is in flight.
# Each script reads and writes one key, so it is atomic and runs unchanged on cluster-mode Redis. There, each call is
# acknowledged only once a replica has it: a completed record lost to a failover would let a retry run twice.
# KEYS: record; ARGV: fingerprint, ttl_ms. Returns nil when claimed, else {fingerprint, result or nil}.
CLAIM = """
local held = redis.call('HMGET', KEYS[1], 'fingerprint', 'result')
if held[1] then return held end
redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return false
"""
# KEYS: record; ARGV: fingerprint, result, ttl_ms. Returns 1 when stored.
COMPLETE = """
local held = redis.call('HMGET', KEYS[1], 'fingerprint', 'result')
if held[1] ~= ARGV[1] or held[2] then return 0 end
redis.call('HSET', KEYS[1], 'result', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
# KEYS: record; ARGV: fingerprint.
RELEASE = """
local held = redis.call('HMGET', KEYS[1], 'fingerprint', 'result')
if held[1] == ARGV[1] and not held[2] then redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisIdempotencyStore:
    def __init__(self, client: RedisLike) -> None:
        self._r = client
        self._claim = client.register_script(CLAIM)
        self._complete = client.register_script(COMPLETE)
        self._release = client.register_script(RELEASE)

    @staticmethod
    def _key(key: str) -> str:
        return f"idempotency:{key}"  # not "idem:", where records were plain strings before they held fingerprints

    def claim(self, key: str, fingerprint: str, ttl_s: int) -> IdempotencyRecord | None:
        with available():
            held = call_acknowledged(self._r, self._claim, self._key(key), [fingerprint, ttl_s * 1000])
        if held is None:
            return None
        return IdempotencyRecord(fingerprint=str(held[0]), result=None if held[1] is None else str(held[1]))

    def complete(self, key: str, fingerprint: str, result: str, ttl_s: int) -> bool:
        with available():
            return bool(call_acknowledged(self._r, self._complete, self._key(key), [fingerprint, result, ttl_s * 1000]))

    def release(self, key: str, fingerprint: str) -> None:
        with available():
            call_acknowledged(self._r, self._release, self._key(key), [fingerprint])

"""Home timelines as Redis sorted sets. Every member has score 0 and is the tweet id zero-padded to 19 digits, so
lexicographic order is numeric order and ZRANGE BYLEX gives exact, exclusive cursors (ids do not fit a double).
A sentinel member (all zeros) marks a timeline that exists but is empty; keys expire after the active window and
reads extend them, so fan-out — which writes only to existing keys — skips inactive users."""

from __future__ import annotations

from collections.abc import Sequence

from chirp.adapters.redis_cache.client import RedisLike, available

SENTINEL = "0" * 19
_WIDTH = 19

# KEYS: timelines; ARGV: member, cap. Adds the member to each existing timeline and trims it to the cap.
FAN_OUT = """
local n = 0
local cap = tonumber(ARGV[2])
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    redis.call('ZADD', key, 0, ARGV[1])
    local size = redis.call('ZCARD', key)
    if size > cap + 1 then redis.call('ZREMRANGEBYRANK', key, 1, size - cap - 1) end
    n = n + 1
  end
end
return n
"""
# KEYS: one timeline; ARGV: cap, ttl, create (0|1), members... Adds members (creating the timeline if asked).
MERGE = (
    """
local key = KEYS[1]
local cap = tonumber(ARGV[1])
if ARGV[3] == '0' and redis.call('EXISTS', key) == 0 then return 0 end
redis.call('ZADD', key, 0, '"""
    + SENTINEL
    + """')
for i = 4, #ARGV do redis.call('ZADD', key, 0, ARGV[i]) end
local size = redis.call('ZCARD', key)
if size > cap + 1 then redis.call('ZREMRANGEBYRANK', key, 1, size - cap - 1) end
if ARGV[3] == '1' then redis.call('EXPIRE', key, tonumber(ARGV[2])) end
return 1
"""
)


def member(tweet_id: int) -> str:
    return str(tweet_id).zfill(_WIDTH)


def timeline_key(user_id: int) -> str:
    return f"tl:{{{user_id}}}"


class RedisTimelineStore:
    def __init__(
        self, client: RedisLike, *, cap: int, ttl_s: int, cluster: bool = False, fan_out_chunk: int = 1000
    ) -> None:
        self._r = client
        self._cap = cap
        self._ttl = ttl_s
        self._cluster = cluster
        self._chunk = fan_out_chunk
        self._fan_out = client.register_script(FAN_OUT)
        self._merge = client.register_script(MERGE)

    def exists(self, user_id: int) -> bool:
        with available():
            return bool(self._r.exists(timeline_key(user_id)))

    def build(self, user_id: int, tweet_ids: Sequence[int]) -> None:
        with available():
            self._merge(
                keys=[timeline_key(user_id)],
                args=[self._cap, self._ttl, "1", *[member(t) for t in tweet_ids[: self._cap]]],
            )

    def merge(self, user_id: int, tweet_ids: Sequence[int]) -> None:
        with available():
            self._merge(keys=[timeline_key(user_id)], args=[self._cap, self._ttl, "0", *[member(t) for t in tweet_ids]])

    def add_if_exists(self, user_ids: Sequence[int], tweet_id: int) -> int:
        """Standalone Redis: one script call per chunk of timelines (one round trip per 1,000 followers). Cluster
        mode: a script needs all its keys in one slot, so each timeline gets its own call, pipelined per node."""
        value = member(tweet_id)
        written = 0
        with available():
            if self._cluster:
                pipe = self._r.pipeline(transaction=False)
                for user_id in user_ids:
                    self._fan_out(keys=[timeline_key(user_id)], args=[value, self._cap], client=pipe)
                written = sum(int(n) for n in pipe.execute())
            else:
                for start in range(0, len(user_ids), self._chunk):
                    keys = [timeline_key(u) for u in user_ids[start : start + self._chunk]]
                    written += int(self._fan_out(keys=keys, args=[value, self._cap]))
        return written

    def remove(self, user_ids: Sequence[int], tweet_ids: Sequence[int]) -> None:
        if not user_ids or not tweet_ids:
            return
        members = [member(t) for t in tweet_ids]
        with available():
            pipe = self._r.pipeline(transaction=False)
            for user_id in user_ids:
                pipe.zrem(timeline_key(user_id), *members)
            pipe.execute()

    def page(self, user_id: int, *, before: int | None, after: int | None, limit: int) -> list[int] | None:
        key = timeline_key(user_id)
        high = f"({member(before)}" if before is not None else "+"
        low = f"({member(after)}" if after is not None else f"({SENTINEL}"
        with available():
            pipe = self._r.pipeline(transaction=False)
            pipe.zrange(key, high, low, desc=True, bylex=True, offset=0, num=limit)
            pipe.expire(key, self._ttl)
            members, touched = pipe.execute()
        if not touched:
            return None
        return [int(m) for m in members]

    def oldest(self, user_id: int) -> int | None:
        with available():
            members = self._r.zrange(timeline_key(user_id), f"({SENTINEL}", "+", bylex=True, offset=0, num=1)
        return int(members[0]) if members else None

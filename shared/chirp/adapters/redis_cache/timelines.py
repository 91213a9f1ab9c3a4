"""Home timelines as Redis sorted sets. Every member has score 0 and is the tweet id zero-padded to 19 digits, so
lexicographic order is numeric order and ZRANGE BYLEX gives exact, exclusive cursors (ids do not fit a double).

Two marker members sort below every id: ``SENTINEL`` (all zeros) marks a timeline that exists, even empty, and
``TRUNCATED`` (id 1) marks one whose older ids were left out (trimmed at the cap, or built from a partial read).
Keys expire after the active window and reads extend them, so fan-out — which writes only to existing keys —
skips inactive users.

Trimming is lazy: fan-out checks sizes on one call in ``trim_every`` (a timeline then holds a few ids over the
cap until the next check), which leaves EXISTS + ZADD per follower — the per-key work that bounds fan-out.

Each reader's celebrity followees (merged on read) are cached beside its timeline, ``tlc:{<user>}``: a
comma-separated list ("" for none) that expires after ``celebrities_ttl_s``.
Its blocks and mutes (``safety``) too, ``tls:{<user>}``: JSON, dropped on every change, expiring likewise.

The same adapter with ``prefix="at"`` keeps celebrities' own recent tweets (``at:{<author>}``), merged into their
followers' home reads.

Cluster mode (``cluster=True``): every script call has one key (followers' timelines live in different slots), sent
as EVALSHA in one pipeline per node; fan-out, builds, merges and removals are acknowledged only once the shard's
replica has them (WAIT, see client.py), so a failover does not undo them."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from redis.exceptions import NoScriptError

from chirp.adapters.redis_cache.client import RedisLike, available, check_replicated, wait_for_replicas
from chirp.model import SafetySets
from chirp.ports import HomeView

_WIDTH = 19
SENTINEL = "0" * _WIDTH
TRUNCATED = "0" * (_WIDTH - 1) + "1"
_LOWEST_ID = f"({TRUNCATED}"  # exclusive bound: every real id, neither marker

# Shared by both scripts: trim one timeline back to ``cap`` ids when it holds more, marking it truncated. Markers
# sort first (rank 0 = SENTINEL, rank 1 = TRUNCATED once present), so the oldest ids start at rank ``markers``.
_TRIM = (
    """
local function trim(key, cap)
  local size = redis.call('ZCARD', key)
  if size <= cap + 1 then return end
  if not redis.call('ZSCORE', key, '"""
    + TRUNCATED
    + """') then
    redis.call('ZADD', key, 0, '"""
    + TRUNCATED
    + """')
    size = size + 1
  end
  local excess = size - 2 - cap
  if excess > 0 then redis.call('ZREMRANGEBYRANK', key, 2, 1 + excess) end
end
"""
)
# KEYS: timelines; ARGV: member, cap, trim (0|1). Adds the member to each existing timeline.
FAN_OUT = (
    _TRIM
    + """
local call = redis.call
local n = 0
local value = ARGV[1]
local cap = tonumber(ARGV[2])
local check = ARGV[3] == '1'
for i = 1, #KEYS do
  local key = KEYS[i]
  if call('EXISTS', key) == 1 then
    call('ZADD', key, 0, value)
    if check then trim(key, cap) end
    n = n + 1
  end
end
return n
"""
)
# KEYS: one timeline; ARGV: cap, ttl, create (0|1), truncated (0|1), members... Adds members (creating the timeline
# if asked) and trims. A merge only ever adds the truncated mark; a build (create) sets it as told, then the trim.
MERGE = (
    _TRIM
    + """
local key = KEYS[1]
local cap = tonumber(ARGV[1])
if ARGV[3] == '0' and redis.call('EXISTS', key) == 0 then return 0 end
redis.call('ZADD', key, 0, '"""
    + SENTINEL
    + """')
if ARGV[4] == '1' then redis.call('ZADD', key, 0, '"""
    + TRUNCATED
    + """') elseif ARGV[3] == '1' then redis.call('ZREM', key, '"""
    + TRUNCATED
    + """') end
for i = 5, #ARGV do redis.call('ZADD', key, 0, ARGV[i]) end
trim(key, cap)
if ARGV[3] == '1' then redis.call('EXPIRE', key, tonumber(ARGV[2])) end
return 1
"""
)


def member(tweet_id: int) -> str:
    return str(tweet_id).zfill(_WIDTH)


def timeline_key(user_id: int, prefix: str = "tl") -> str:
    return f"{prefix}:{{{user_id}}}"


class RedisTimelineStore:
    def __init__(
        self,
        client: RedisLike,
        *,
        cap: int,
        ttl_s: int,
        cluster: bool = False,
        fan_out_chunk: int = 1000,
        trim_every: int = 16,
        celebrities_ttl_s: int = 3600,
        prefix: str = "tl",
    ) -> None:
        self._r = client
        self._prefix = prefix
        self._cap = cap
        self._ttl = ttl_s
        self._cluster = cluster
        self._chunk = fan_out_chunk
        self._celebrities_ttl = celebrities_ttl_s
        self._writes = itertools.count(1)  # next() is atomic: safe across fan-out threads
        self._trim_every = trim_every
        self._fan_out = client.register_script(FAN_OUT)
        self._merge = client.register_script(MERGE)

    def _key(self, user_id: int) -> str:
        return f"{self._prefix}:{{{user_id}}}"

    def _celebrities_key(self, user_id: int) -> str:
        return f"{self._prefix}c:{{{user_id}}}"

    def exists(self, user_id: int) -> bool:
        with available():
            return bool(self._r.exists(self._key(user_id)))

    def build(self, user_id: int, tweet_ids: Sequence[int], *, truncated: bool = False) -> None:
        newest = sorted(set(tweet_ids), reverse=True)
        self._merge_script(user_id, newest[: self._cap], create=True, truncated=truncated or len(newest) > self._cap)

    def build_many(self, timelines: Mapping[int, Sequence[int]]) -> None:
        """The build script once per timeline, pipelined (each call has one key: cluster-safe), a chunk at a time."""
        calls: list[tuple[str, list[object]]] = []
        for user_id, tweet_ids in timelines.items():
            newest = sorted(set(tweet_ids), reverse=True)
            truncated = "1" if len(newest) > self._cap else "0"
            args = [self._cap, self._ttl, "1", truncated, *[member(t) for t in newest[: self._cap]]]
            calls.append((self._key(user_id), args))
        with available():
            for start in range(0, len(calls), self._chunk):
                self._eval_each(MERGE, self._merge.sha, calls[start : start + self._chunk])

    def drop(self, user_ids: Sequence[int]) -> None:
        if not user_ids:
            return
        with available():
            for start in range(0, len(user_ids), self._chunk):
                pipe = self._r.pipeline(transaction=False)  # one key per command: each has its own slot
                for user_id in user_ids[start : start + self._chunk]:
                    pipe.delete(self._key(user_id))
                    pipe.delete(self._celebrities_key(user_id))
                pipe.execute()

    def merge(self, user_id: int, tweet_ids: Sequence[int], *, truncated: bool = False) -> None:
        self._merge_script(user_id, tweet_ids, create=False, truncated=truncated)

    def _merge_script(self, user_id: int, tweet_ids: Sequence[int], *, create: bool, truncated: bool) -> None:
        flags = ["1" if create else "0", "1" if truncated else "0"]
        args: list[object] = [self._cap, self._ttl, *flags, *[member(t) for t in tweet_ids]]
        with available():
            if self._cluster:  # pipelined, so that WAIT follows it on the same connection
                self._eval_each(MERGE, self._merge.sha, [(self._key(user_id), args)])
            else:
                self._merge(keys=[self._key(user_id)], args=args)

    def add_if_exists(self, user_ids: Sequence[int], tweet_id: int) -> int:
        """Standalone Redis: one script call per chunk of timelines (one round trip per 1,000 followers). Cluster
        mode: a script needs all its keys in one slot, so each timeline gets its own call, pipelined per node."""
        value = member(tweet_id)
        check = "1" if next(self._writes) % self._trim_every == 0 else "0"
        written = 0
        with available():
            if self._cluster:
                written = sum(int(n) for n in self._fan_out_per_key(user_ids, value, check))
            else:
                prefix = self._prefix
                for start in range(0, len(user_ids), self._chunk):
                    keys = [f"{prefix}:{{{u}}}" for u in user_ids[start : start + self._chunk]]
                    written += int(self._fan_out(keys=keys, args=[value, self._cap, check]))
        return written

    def _fan_out_per_key(self, user_ids: Sequence[int], value: str, check: str) -> list[Any]:
        """One EVALSHA per timeline in a ClusterPipeline (redis-py routes each by its key and blocks the Script
        helper in cluster pipelines). Scripts are not replicated: a promoted replica or a restarted node answers
        NOSCRIPT, so load it on every primary and run the pipeline again (ZADD and the trim are idempotent)."""
        return self._eval_each(
            FAN_OUT, self._fan_out.sha, [(self._key(user_id), [value, self._cap, check]) for user_id in user_ids]
        )

    def _eval_each(self, script: str, sha: str, calls: Sequence[tuple[str, list[object]]]) -> list[Any]:
        """One EVALSHA of ``script`` per (key, args), pipelined; on NOSCRIPT (a restarted node, a promoted
        replica) the script is loaded (on every primary in cluster mode) and the pipeline runs again: both scripts
        are idempotent."""
        for attempt in range(2):
            pipe = self._r.pipeline(transaction=False)
            for key, args in calls:
                pipe.execute_command("EVALSHA", sha, 1, key, *args)
            nodes = wait_for_replicas(self._r, pipe, [key for key, _ in calls]) if self._cluster else []
            try:
                replies = list(pipe.execute())
            except NoScriptError:
                if attempt:
                    raise
                self._r.script_load(script)
                continue
            check_replicated(self._r, nodes, replies[len(calls) :])
            return replies[: len(calls)]
        raise AssertionError("unreachable")

    def remove(self, user_ids: Sequence[int], tweet_ids: Sequence[int]) -> None:
        if not user_ids or not tweet_ids:
            return
        members = [member(t) for t in tweet_ids]
        with available():
            pipe = self._r.pipeline(transaction=False)
            for user_id in user_ids:
                pipe.zrem(self._key(user_id), *members)
            keys = [self._key(u) for u in user_ids]
            nodes = wait_for_replicas(self._r, pipe, keys) if self._cluster else []
            check_replicated(self._r, nodes, pipe.execute()[len(user_ids) :])

    def page(self, user_id: int, *, before: int | None, after: int | None, limit: int) -> list[int] | None:
        return self.page_many([user_id], before=before, after=after, limit=limit)[user_id]

    def page_many(
        self, user_ids: Sequence[int], *, before: int | None, after: int | None, limit: int
    ) -> dict[int, list[int] | None]:
        high, low = _bounds(before, after)
        unique = list(dict.fromkeys(user_ids))
        with available():
            pipe = self._r.pipeline(transaction=False)  # one round trip (one per node in cluster mode)
            for user_id in unique:
                pipe.zrange(self._key(user_id), high, low, desc=True, bylex=True, offset=0, num=limit)
                pipe.expire(self._key(user_id), self._ttl)
            replies = pipe.execute()
        return {
            user_id: [int(m) for m in members] if touched else None
            for user_id, members, touched in zip(unique, replies[::2], replies[1::2], strict=True)
        }

    def oldest(self, user_id: int) -> int | None:
        with available():
            members = self._r.zrange(self._key(user_id), _LOWEST_ID, "+", bylex=True, offset=0, num=1)
        return int(members[0]) if members else None

    def truncated(self, user_id: int) -> bool:
        with available():
            return self._r.zscore(self._key(user_id), TRUNCATED) is not None

    def home_view(self, user_id: int, *, before: int | None, after: int | None, limit: int) -> HomeView:
        """One pipeline of single-key commands; the keys share ``{<user>}``, so in cluster mode one node answers."""
        key = self._key(user_id)
        with available():
            pipe = self._r.pipeline(transaction=False)
            pipe.zrange(key, *_bounds(before, after), desc=True, bylex=True, offset=0, num=limit)
            pipe.expire(key, self._ttl)
            pipe.zscore(key, TRUNCATED)
            pipe.get(self._celebrities_key(user_id))
            pipe.get(self._safety_key(user_id))
            members, touched, truncated, celebrities, safety = pipe.execute()
        return HomeView(
            ids=[int(m) for m in members] if touched else None,
            truncated=truncated is not None,
            celebrities=_celebrities(celebrities),
            safety=_safety(safety),
        )

    def celebrities(self, user_id: int) -> list[int] | None:
        with available():
            return _celebrities(self._r.get(self._celebrities_key(user_id)))

    def set_celebrities(self, user_id: int, celebrity_ids: Sequence[int]) -> None:
        with available():
            self._r.set(self._celebrities_key(user_id), ",".join(map(str, celebrity_ids)), ex=self._celebrities_ttl)

    def forget_celebrities(self, user_ids: Sequence[int]) -> None:
        if not user_ids:
            return
        with available():
            pipe = self._r.pipeline(transaction=False)  # one key per command: each user's key has its own slot
            for user_id in user_ids:
                pipe.delete(self._celebrities_key(user_id))
            pipe.execute()

    def _safety_key(self, user_id: int) -> str:
        return f"{self._prefix}s:{{{user_id}}}"

    def safety(self, user_id: int) -> SafetySets | None:
        with available():
            return _safety(self._r.get(self._safety_key(user_id)))

    def set_safety(self, user_id: int, sets: SafetySets) -> None:
        encoded = json.dumps(
            {
                "blocking": sorted(sets.blocking),
                "blocked_by": sorted(sets.blocked_by),
                "muting": sorted(sets.muting),
                "muted_by": sorted(sets.muted_by),
            }
        )
        with available():
            self._r.set(self._safety_key(user_id), encoded, ex=self._celebrities_ttl)

    def forget_safety(self, user_ids: Sequence[int]) -> None:
        if not user_ids:
            return
        with available():
            pipe = self._r.pipeline(transaction=False)  # one key per command: each user's key has its own slot
            for user_id in user_ids:
                pipe.delete(self._safety_key(user_id))
            pipe.execute()


def _bounds(before: int | None, after: int | None) -> tuple[str, str]:
    """ZRANGE BYLEX bounds of the ids in (after, before), newest first: (high, low)."""
    high = f"({member(before)}" if before is not None else "+"
    low = f"({member(after)}" if after is not None and after > 1 else _LOWEST_ID
    return high, low


def _celebrities(cached: str | None) -> list[int] | None:
    return None if cached is None else [int(c) for c in cached.split(",") if c]


def _safety(cached: str | None) -> SafetySets | None:
    if cached is None:
        return None
    sets = json.loads(cached)
    return SafetySets(
        blocking=frozenset(sets["blocking"]),
        blocked_by=frozenset(sets["blocked_by"]),
        muting=frozenset(sets["muting"]),
        muted_by=frozenset(sets.get("muted_by", ())),
    )

"""The tweet cache in ElastiCache (Redis): what hydration reads instead of one Keyspaces query per tweet and table.

Keys, each with its own hash tag:

- ``tw:{<tweet id>}`` — the tweet record as compact JSON, or ``-``: a tombstone (the tweet was deleted), kept longer
  than the stream keeps events so that redelivered events can tell "deleted" without a store read.
- ``tc:{<tweet id>}`` — a hash of the counters (``l``ikes, ``r``etweets, re``p``lies) and ``g``, the number of count
  changes so far. A change drops the counters and increments ``g``; a fill from the store carries the ``g`` it saw
  before reading the store and is refused if ``g`` moved (a change in between would otherwise be lost).
- ``tf:{<user id>}`` — the user's flags: field ``l<tweet id>`` / ``r<tweet id>`` is "1" or "0" (liked / retweeted).
  Fills never overwrite a field (HSETNX), so the user's own like, which sets its field, always wins. Bounded: a hash
  that reaches ``flags_per_user`` fields is dropped and starts over.

Cluster safety: the only multi-key command is MGET of tweet objects, and only on standalone Redis; in cluster mode
(``cluster=True``) each key is read with its own GET in the same pipeline, which redis-py's ClusterPipeline sends to
each key's node (keys of different tweets live in different slots, and MGET across slots fails). Every script
touches one key. Every call is one pipeline: one round trip (one per node in cluster mode). Standalone, scripts are
loaded once (SCRIPT LOAD) and run by EVALSHA; a server that lost them (restart, failover) answers NOSCRIPT and the
pipeline is loaded and run again — every pipeline here may safely run twice. In cluster mode redis-py's pipeline
offers no scripting, so scripts are sent whole (EVAL; a few hundred bytes, compiled once per node).

Durability in cluster mode: replication is asynchronous, so the changes a failover must not undo (tombstones, count
invalidations, the user's own flags) are acknowledged only once a replica has them (WAIT, see client.py); fills are
not waited on (a lost fill is a later cache miss)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from redis.exceptions import NoScriptError

from chirp.adapters.redis_cache.client import RedisLike, available, check_replicated, wait_for_replicas
from chirp.model import AuthorCard, TweetCounts, TweetRecord
from chirp.ports import CachedTweets, CacheStats, FlagKind

TOMBSTONE = "-"

# KEYS: counters hash; ARGV: version seen before the store read, likes, retweets, replies, ttl.
FILL_COUNTS = """
if (redis.call('HGET', KEYS[1], 'g') or '') ~= ARGV[1] then return 0 end
if redis.call('HEXISTS', KEYS[1], 'l') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'l', ARGV[2], 'r', ARGV[3], 'p', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""
# KEYS: counters hash; ARGV: ttl. The counters changed: drop them and move the version.
COUNTS_CHANGED = """
redis.call('HDEL', KEYS[1], 'l', 'r', 'p')
redis.call('HINCRBY', KEYS[1], 'g', 1)
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""
# KEYS: a user's flags hash; ARGV: 'fill' (HSETNX) or 'set' (HSET), cap, ttl, field, value, field, value...
FLAGS = """
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) end
local command = ARGV[1] == 'fill' and 'HSETNX' or 'HSET'
for i = 4, #ARGV, 2 do redis.call(command, KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
_SCRIPTS = {"fill_counts": FILL_COUNTS, "counts_changed": COUNTS_CHANGED, "flags": FLAGS}


def tweet_key(tweet_id: int) -> str:
    return f"tw:{{{tweet_id}}}"


def counts_key(tweet_id: int) -> str:
    return f"tc:{{{tweet_id}}}"


def flags_key(user_id: int) -> str:
    return f"tf:{{{user_id}}}"


def author_key(user_id: int) -> str:
    return f"ta:{{{user_id}}}"


class RedisTweetCache:
    def __init__(
        self,
        client: RedisLike,
        *,
        cluster: bool = False,
        tweet_ttl_s: int = 3 * 86400,
        tombstone_ttl_s: int = 2 * 86400,  # longer than the stream's 24 h retention: redeliveries find it
        counts_ttl_s: int = 6 * 3600,  # also bounds any drift (a change whose invalidation never arrived)
        flags_ttl_s: int = 86400,
        flags_per_user: int = 4096,
        author_ttl_s: int = 600,
    ) -> None:
        self._r = client
        self._cluster = cluster
        self._tweet_ttl = tweet_ttl_s
        self._tombstone_ttl = tombstone_ttl_s
        self._counts_ttl = counts_ttl_s
        self._flags_ttl = flags_ttl_s
        self._flags_cap = flags_per_user
        self._author_ttl = author_ttl_s
        self._sha: dict[str, str] = {}
        self._stats = CacheStats()
        self._lock = threading.Lock()

    # -- reads -------------------------------------------------------------------------------------------------
    def lookup(
        self, tweet_ids: Sequence[int], *, viewer_id: int | None, objects: bool = True, counts: bool = True
    ) -> CachedTweets:
        ids = list(dict.fromkeys(tweet_ids))
        found = CachedTweets()
        if not ids:
            return found
        flag_fields = [f"{p}{t}" for t in ids for p in ("l", "r")] if viewer_id is not None else []

        def build(pipe: Any) -> None:
            if objects:
                self._get_many(pipe, [tweet_key(t) for t in ids])
            if counts:
                for tweet_id in ids:
                    pipe.hmget(counts_key(tweet_id), ["l", "r", "p", "g"])
            if viewer_id is not None:
                pipe.hmget(flags_key(viewer_id), flag_fields)

        replies = iter(self._execute(build))
        if objects:
            values = next(replies) if not self._cluster else [next(replies) for _ in ids]
            for tweet_id, value in zip(ids, values, strict=True):
                if value == TOMBSTONE:
                    found.deleted.add(tweet_id)
                elif value is not None:
                    found.tweets[tweet_id] = _decode(value)
        if counts:
            for tweet_id in ids:
                likes, retweets, replies_count, version = next(replies)
                if likes is not None and retweets is not None and replies_count is not None:
                    found.counts[tweet_id] = TweetCounts(int(likes), int(retweets), int(replies_count))
                else:
                    found.count_versions[tweet_id] = version or ""
        if viewer_id is not None:
            flags = next(replies)
            for i, tweet_id in enumerate(ids):
                liked, retweeted = flags[2 * i], flags[2 * i + 1]
                if liked is not None:
                    found.liked[tweet_id] = liked == "1"
                if retweeted is not None:
                    found.retweeted[tweet_id] = retweeted == "1"
            found.flags_from_counts()
        self._count(found, len(ids), objects=objects, counts=counts, viewer=viewer_id is not None)
        return found

    def deleted(self, tweet_ids: Sequence[int]) -> set[int]:
        ids = list(dict.fromkeys(tweet_ids))
        if not ids:
            return set()
        replies = self._execute(lambda pipe: self._get_many(pipe, [tweet_key(t) for t in ids]))
        values = replies[0] if not self._cluster else replies
        return {tweet_id for tweet_id, value in zip(ids, values, strict=True) if value == TOMBSTONE}

    def _get_many(self, pipe: Any, keys: list[str]) -> None:
        """Standalone: one MGET. Cluster: one GET per key (the keys are in different slots; MGET would fail)."""
        if self._cluster:
            for key in keys:
                pipe.get(key)
        else:
            pipe.mget(keys)

    def stats(self) -> CacheStats:
        with self._lock:
            return self._stats

    def _count(self, found: CachedTweets, n: int, *, objects: bool, counts: bool, viewer: bool) -> None:
        with self._lock:
            self._stats = self._stats.counted(found, n, objects=objects, counts=counts, viewer=viewer)

    # -- writes ------------------------------------------------------------------------------------------------
    def fill(
        self,
        *,
        tweets: Sequence[TweetRecord] = (),
        counts: Mapping[int, tuple[TweetCounts, str]] | None = None,
        viewer_id: int | None = None,
        liked: Mapping[int, bool] | None = None,
        retweeted: Mapping[int, bool] | None = None,
    ) -> None:
        flag_args: list[str] = []
        if viewer_id is not None:
            for prefix, values in (("l", liked or {}), ("r", retweeted or {})):
                for tweet_id, on in values.items():
                    flag_args += [f"{prefix}{tweet_id}", "1" if on else "0"]
        if not tweets and not counts and not flag_args:
            return
        self._execute(lambda pipe: self._fill_commands(pipe, tweets, counts or {}, viewer_id, flag_args))

    def fill_new(self, tweet: TweetRecord) -> bool:
        tweet_id = tweet.tweet_id
        zero = {tweet_id: (TweetCounts(), "")}
        unset = [f"l{tweet_id}", "0", f"r{tweet_id}", "0"]
        replies = self._execute(
            lambda pipe: self._fill_commands(pipe, [tweet], zero, tweet.user_id, unset), written=[tweet_key(tweet_id)]
        )
        return bool(replies[0])  # the SET NX of the object: None when the id had an entry

    def _fill_commands(
        self,
        pipe: Any,
        tweets: Sequence[TweetRecord],
        counts: Mapping[int, tuple[TweetCounts, str]],
        viewer_id: int | None,
        flag_args: Sequence[str],
    ) -> None:
        for tweet in tweets:
            pipe.set(tweet_key(tweet.tweet_id), _encode(tweet), nx=True, ex=self._tweet_ttl)
        for tweet_id, (value, version) in counts.items():
            args = (version, value.likes, value.retweets, value.replies, self._counts_ttl)
            self._script(pipe, "fill_counts", counts_key(tweet_id), *args)
        if viewer_id is not None and flag_args:
            self._script(pipe, "flags", flags_key(viewer_id), "fill", self._flags_cap, self._flags_ttl, *flag_args)

    def tweet_deleted(self, tweet_ids: Sequence[int]) -> None:
        if not tweet_ids:
            return

        def build(pipe: Any) -> None:
            for tweet_id in tweet_ids:
                pipe.set(tweet_key(tweet_id), TOMBSTONE, ex=self._tombstone_ttl)
                # as a count change: a late fill (read before the delete) is refused
                self._script(pipe, "counts_changed", counts_key(tweet_id), self._counts_ttl)

        self._execute(build, written=[k for t in tweet_ids for k in (tweet_key(t), counts_key(t))])

    def counts_changed(self, tweet_ids: Sequence[int]) -> None:
        if not tweet_ids:
            return

        def build(pipe: Any) -> None:
            for tweet_id in tweet_ids:
                self._script(pipe, "counts_changed", counts_key(tweet_id), self._counts_ttl)

        self._execute(build, written=[counts_key(t) for t in tweet_ids])

    def set_flag(self, user_id: int, tweet_id: int, *, kind: FlagKind, on: bool) -> None:
        field = f"{'l' if kind == 'like' else 'r'}{tweet_id}"
        self._execute(
            lambda pipe: self._script(
                pipe, "flags", flags_key(user_id), "set", self._flags_cap, self._flags_ttl, field, "1" if on else "0"
            ),
            written=[flags_key(user_id)],
        )

    # -- author cards: ``ta:{<user id>}``, JSON, with a TTL (a stale fill lasts that long at most) ---------------
    def authors(self, user_ids: Sequence[int]) -> dict[int, AuthorCard]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}
        replies = self._execute(lambda pipe: self._get_many(pipe, [author_key(u) for u in ids]))
        values = replies[0] if not self._cluster else replies
        return {user_id: _decode_author(user_id, value) for user_id, value in zip(ids, values, strict=True) if value}

    def fill_authors(self, cards: Sequence[AuthorCard]) -> None:
        if not cards:
            return

        def build(pipe: Any) -> None:
            for card in cards:
                pipe.set(author_key(card.user_id), _encode_author(card), ex=self._author_ttl)

        self._execute(build)

    def author_changed(self, user_ids: Sequence[int]) -> None:
        if not user_ids:
            return

        def build(pipe: Any) -> None:
            for user_id in user_ids:
                pipe.delete(author_key(user_id))

        self._execute(build, written=[author_key(u) for u in user_ids])

    # -- plumbing ----------------------------------------------------------------------------------------------
    def _script(self, pipe: Any, name: str, key: str, *args: object) -> None:
        if self._cluster:
            # ClusterPipeline has no eval()/evalsha() (it cannot reload scripts per node); the raw command is routed
            # by its one key like any other. The body travels each time, so no node can lack it.
            pipe.execute_command("EVAL", _SCRIPTS[name], 1, key, *args)
        else:
            pipe.evalsha(self._sha[name], 1, key, *args)

    def _load_scripts(self) -> None:
        for name, source in _SCRIPTS.items():
            self._sha[name] = str(self._r.script_load(source))

    def _execute(self, build: Callable[[Any], None], *, written: Sequence[str] = ()) -> list[Any]:
        """Run one pipeline (not a transaction); reload the scripts and run it again if a node lost them. In cluster
        mode, ``written`` (the keys of changes that must survive a failover: tombstones, count invalidations, the
        user's own flags) are waited on until a replica has them; fills are not (a lost fill is a cache miss)."""
        with available():
            if not self._sha and not self._cluster:
                self._load_scripts()
            for attempt in range(2):
                pipe = self._r.pipeline(transaction=False)
                build(pipe)
                nodes = wait_for_replicas(self._r, pipe, written) if self._cluster and written else []
                try:
                    replies = list(pipe.execute())
                except NoScriptError:
                    if attempt:
                        raise
                    self._load_scripts()
                    continue
                if not nodes:
                    return replies
                check_replicated(self._r, nodes, replies[-len(nodes) :])
                return replies[: -len(nodes)]
        raise AssertionError("unreachable")


def _encode(tweet: TweetRecord) -> str:
    return json.dumps(asdict(tweet), ensure_ascii=False, separators=(",", ":"))


def _encode_author(card: AuthorCard) -> str:
    return json.dumps([card.display_name, card.avatar_media_id], ensure_ascii=False, separators=(",", ":"))


def _decode_author(user_id: int, value: str) -> AuthorCard:
    display_name, avatar_media_id = json.loads(value)
    return AuthorCard(user_id=user_id, display_name=display_name, avatar_media_id=avatar_media_id)


def _decode(value: str) -> TweetRecord:
    return TweetRecord(**json.loads(value))

"""WebSocket connections, celebrity subscriptions and Mastodon streams in Redis: conn:{id} -> owner (``<user>:m`` for
a Mastodon connection), uconns:{user} -> the connections receiving the user's events, subs:{celebrity} -> connections
subscribed to a celebrity, csubs:{id} -> celebrities a connection subscribed to, mtag:{tag} -> Mastodon connections
following a hashtag, mstreams:{id} -> the streams a Mastodon connection joined. Everything expires after API
Gateway's two-hour connection limit.

Set members say who listens how, so one SMEMBERS per user serves both protocols: a Chirp connection is its bare id,
a Mastodon one ``<stream code>:<id>`` (API Gateway connection ids hold no colon)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from chirp.adapters.redis_cache.client import RedisLike, available
from chirp.ports import Listeners, MastodonStream

CONNECTION_TTL_S = 2 * 3600 + 300
_STREAM_OF_CODE: dict[str, MastodonStream] = {
    "u": "user",
    "n": "user:notification",
    "h": "hashtag",
    "l": "hashtag:local",
}
_CODE_OF_STREAM = {stream: code for code, stream in _STREAM_OF_CODE.items()}
_HOME_CODE = "u"  # the stream that receives home updates (and so celebrity subscriptions)


def _member(connection_id: str, stream: MastodonStream | None) -> str:
    return connection_id if stream is None else f"{_CODE_OF_STREAM[stream]}:{connection_id}"


def _listeners(members: Iterable[bytes | str]) -> Listeners:
    found = Listeners()
    for raw in members:
        member = raw.decode() if isinstance(raw, bytes) else raw
        code, colon, connection_id = member.partition(":")
        if not colon:
            found.chirp.append(member)
        elif code in _STREAM_OF_CODE:
            found.mastodon.setdefault(_STREAM_OF_CODE[code], []).append(connection_id)
    found.chirp.sort()
    for ids in found.mastodon.values():
        ids.sort()
    return found


def _home(members: Iterable[bytes | str]) -> list[str]:
    """The connections that receive home updates: Chirp's, and Mastodon's on the ``user`` stream."""
    listeners = _listeners(members)
    return sorted([*listeners.chirp, *listeners.mastodon.get("user", [])])


def _owner(value: bytes | str | None) -> tuple[int, bool] | None:
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else str(value)
    user, _, kind = text.partition(":")
    return int(user), kind == "m"


class RedisConnectionRegistry:
    def __init__(self, client: RedisLike) -> None:
        self._r = client

    def register(self, connection_id: str, user_id: int, *, mastodon: bool = False) -> None:
        with available():
            pipe = self._r.pipeline(transaction=False)
            pipe.set(f"conn:{{{connection_id}}}", f"{user_id}:m" if mastodon else user_id, ex=CONNECTION_TTL_S)
            if not mastodon:  # a Mastodon connection hears nothing until it subscribes to a stream
                pipe.sadd(f"uconns:{{{user_id}}}", connection_id)
                pipe.expire(f"uconns:{{{user_id}}}", CONNECTION_TTL_S)
            pipe.execute()

    def unregister(self, connection_id: str) -> int | None:
        with available():
            pipe = self._r.pipeline(transaction=False)  # one slot: the keys share the {connection_id} hash tag
            pipe.get(f"conn:{{{connection_id}}}")
            pipe.smembers(f"csubs:{{{connection_id}}}")
            pipe.smembers(f"mstreams:{{{connection_id}}}")
            value, celebrities, streams = pipe.execute()
            owner = _owner(value)
            pipe = self._r.pipeline(transaction=False)
            pipe.delete(f"conn:{{{connection_id}}}")
            pipe.delete(f"csubs:{{{connection_id}}}")
            pipe.delete(f"mstreams:{{{connection_id}}}")
            if owner is not None:
                pipe.srem(f"uconns:{{{owner[0]}}}", connection_id)
            for celebrity in celebrities:
                celebrity_id = celebrity.decode() if isinstance(celebrity, bytes) else celebrity
                pipe.srem(f"subs:{{{celebrity_id}}}", connection_id, _member(connection_id, "user"))
            for entry in streams:
                code, _, tag = (entry.decode() if isinstance(entry, bytes) else entry).partition(":")
                member = f"{code}:{connection_id}"
                if tag:
                    pipe.srem(f"mtag:{{{tag}}}", member)
                elif owner is not None:
                    pipe.srem(f"uconns:{{{owner[0]}}}", member)
            pipe.execute()
        return owner[0] if owner is not None else None

    def _members(self, keys: Sequence[str]) -> list[set[bytes | str]]:
        if not keys:
            return []
        with available():
            pipe = self._r.pipeline(transaction=False)
            for key in keys:
                pipe.smembers(key)
            return list(pipe.execute())

    def connections_of(self, user_ids: Sequence[int]) -> dict[int, list[str]]:
        found = self._members([f"uconns:{{{u}}}" for u in user_ids])
        return {u: home for u, members in zip(user_ids, found, strict=True) if (home := _home(members))}

    def listeners_of(self, user_ids: Sequence[int]) -> Listeners:
        return _listeners(m for members in self._members([f"uconns:{{{u}}}" for u in user_ids]) for m in members)

    def subscribe(self, connection_id: str, celebrity_ids: Sequence[int]) -> None:
        if not celebrity_ids:
            return
        with available():
            owner = _owner(self._r.get(f"conn:{{{connection_id}}}"))
            if owner is None:
                return
            member = _member(connection_id, "user" if owner[1] else None)
            pipe = self._r.pipeline(transaction=False)
            for celebrity in celebrity_ids:
                pipe.sadd(f"subs:{{{celebrity}}}", member)
                pipe.expire(f"subs:{{{celebrity}}}", CONNECTION_TTL_S)
            pipe.sadd(f"csubs:{{{connection_id}}}", *[str(c) for c in celebrity_ids])
            pipe.expire(f"csubs:{{{connection_id}}}", CONNECTION_TTL_S)
            pipe.execute()

    def unsubscribe(self, connection_id: str, celebrity_ids: Sequence[int]) -> None:
        if not celebrity_ids:
            return
        with available():
            pipe = self._r.pipeline(transaction=False)
            for celebrity in celebrity_ids:
                pipe.srem(f"subs:{{{celebrity}}}", connection_id, _member(connection_id, "user"))
            pipe.srem(f"csubs:{{{connection_id}}}", *[str(c) for c in celebrity_ids])
            pipe.execute()

    def subscribers(self, celebrity_id: int) -> list[str]:
        return _home(self._members([f"subs:{{{celebrity_id}}}"])[0])

    def celebrity_listeners(self, celebrity_id: int) -> Listeners:
        return _listeners(self._members([f"subs:{{{celebrity_id}}}"])[0])

    def subscribe_stream(self, connection_id: str, stream: MastodonStream, tag: str | None = None) -> bool:
        with available():
            owner = _owner(self._r.get(f"conn:{{{connection_id}}}"))
            if owner is None or not owner[1]:
                return False
            code = _CODE_OF_STREAM[stream]
            key = f"mtag:{{{tag}}}" if tag else f"uconns:{{{owner[0]}}}"
            pipe = self._r.pipeline(transaction=False)
            pipe.sadd(key, f"{code}:{connection_id}")
            pipe.expire(key, CONNECTION_TTL_S)
            pipe.sadd(f"mstreams:{{{connection_id}}}", f"{code}:{tag or ''}")
            pipe.expire(f"mstreams:{{{connection_id}}}", CONNECTION_TTL_S)
            pipe.execute()
        return True

    def unsubscribe_stream(self, connection_id: str, stream: MastodonStream, tag: str | None = None) -> None:
        with available():
            owner = _owner(self._r.get(f"conn:{{{connection_id}}}"))
            if owner is None:
                return
            code = _CODE_OF_STREAM[stream]
            pipe = self._r.pipeline(transaction=False)
            pipe.srem(f"mtag:{{{tag}}}" if tag else f"uconns:{{{owner[0]}}}", f"{code}:{connection_id}")
            pipe.srem(f"mstreams:{{{connection_id}}}", f"{code}:{tag or ''}")
            pipe.execute()

    def tag_listeners(self, tags: Sequence[str]) -> dict[str, Listeners]:
        found = self._members([f"mtag:{{{t}}}" for t in tags])
        return {
            t: listeners for t, members in zip(tags, found, strict=True) if not (listeners := _listeners(members)).empty
        }

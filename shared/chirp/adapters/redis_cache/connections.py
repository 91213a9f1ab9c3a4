"""WebSocket connections and celebrity subscriptions in Redis: conn:{id} -> owner, uconns:{user} -> connection
ids, subs:{celebrity} -> connection ids, csubs:{id} -> celebrities a connection subscribed to. Everything expires
after API Gateway's two-hour connection limit."""

from __future__ import annotations

from collections.abc import Sequence

from chirp.adapters.redis_cache.client import RedisLike, available

CONNECTION_TTL_S = 2 * 3600 + 300


class RedisConnectionRegistry:
    def __init__(self, client: RedisLike) -> None:
        self._r = client

    def register(self, connection_id: str, user_id: int) -> None:
        with available():
            pipe = self._r.pipeline(transaction=False)
            pipe.set(f"conn:{{{connection_id}}}", user_id, ex=CONNECTION_TTL_S)
            pipe.sadd(f"uconns:{{{user_id}}}", connection_id)
            pipe.expire(f"uconns:{{{user_id}}}", CONNECTION_TTL_S)
            pipe.execute()

    def unregister(self, connection_id: str) -> int | None:
        with available():
            owner = self._r.get(f"conn:{{{connection_id}}}")
            celebrities = self._r.smembers(f"csubs:{{{connection_id}}}")
            pipe = self._r.pipeline(transaction=False)
            pipe.delete(f"conn:{{{connection_id}}}")
            pipe.delete(f"csubs:{{{connection_id}}}")
            if owner is not None:
                pipe.srem(f"uconns:{{{owner}}}", connection_id)
            for celebrity in celebrities:
                pipe.srem(f"subs:{{{celebrity}}}", connection_id)
            pipe.execute()
        return int(owner) if owner is not None else None

    def connections_of(self, user_ids: Sequence[int]) -> dict[int, list[str]]:
        if not user_ids:
            return {}
        with available():
            pipe = self._r.pipeline(transaction=False)
            for user_id in user_ids:
                pipe.smembers(f"uconns:{{{user_id}}}")
            found = pipe.execute()
        return {u: sorted(c) for u, c in zip(user_ids, found, strict=True) if c}

    def subscribe(self, connection_id: str, celebrity_ids: Sequence[int]) -> None:
        if not celebrity_ids:
            return
        with available():
            if not self._r.exists(f"conn:{{{connection_id}}}"):
                return
            pipe = self._r.pipeline(transaction=False)
            for celebrity in celebrity_ids:
                pipe.sadd(f"subs:{{{celebrity}}}", connection_id)
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
                pipe.srem(f"subs:{{{celebrity}}}", connection_id)
            pipe.srem(f"csubs:{{{connection_id}}}", *[str(c) for c in celebrity_ids])
            pipe.execute()

    def subscribers(self, celebrity_id: int) -> list[str]:
        with available():
            return sorted(self._r.smembers(f"subs:{{{celebrity_id}}}"))

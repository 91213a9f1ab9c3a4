"""Social graph on Amazon Neptune (tests: TinkerPop Gremlin Server + TinkerGraph) through gremlinpython.

Only bytecode traversals (no Groovy scripts, no lambdas), which is what Neptune accepts.

Model:

* vertex ``u:<user_id>`` (label ``user``) with single-cardinality properties ``user_id``, ``followers`` and
  ``following`` (always ``property(single, ...)``: Neptune's default vertex-property cardinality is *set*);
* edge ``f:<follower_id>:<followee_id>`` (label ``follows``, follower -> followee) with ``created_at_ms``,
  ``follower_id`` and ``followee_id``. The edge id is derived from the pair, so a follow is idempotent by id.

Counts: the ``followers`` / ``following`` counters on the vertices change in the *same* traversal that creates or
drops the edge, and only on the branch that actually created / dropped it (``coalesce(existing, addE...)``,
``E(id).sideEffect(drop())``). One traversal is one transaction on Neptune, so the counters are exact and reading them
is O(1), where ``inE().count()`` is exact too but O(followers) per read: too slow for accounts with millions of
followers, and ``follower_counts`` / ``followees_with_min_followers`` read many of them. Concurrent writers of the
same vertex get ``ConcurrentModificationException`` on Neptune (retried here); TinkerGraph reports a racing insert
of the same id as "already exists" (retried too: the retry then sees the edge and changes nothing).

Vertices are upserted with ``mergeV`` (TinkerPop 3.6+, Neptune 1.2.1+). The edge is not: ``mergeE`` cannot tell
whether it created the edge, and the counters must move only when it did, hence ``coalesce``.

Paging (followers for fan-out, following): newest follow first, ordered by ``created_at_ms`` desc then the other
user's id desc; the cursor ``<created_at_ms>:<other_user_id>`` is the last item returned and the next page is a
``has(..., lt())`` range below it, so pages stay stable while edges are added (new follows sort above the cursor)
or removed. No ``range()`` offsets.

Connection: ``NeptuneGraphStore(url)`` opens one ``DriverRemoteConnection`` (``pool_size`` websockets, 2 by default
rather than gremlinpython's 8: a Lambda serves one request at a time) lazily, and reopens it once after a transport
failure -- a retried write is safe, the edge id makes it idempotent (it then reports "not new"). Unreachable server
-> ``StoreUnavailable``.

IAM (later): pass ``headers`` -- a mapping or, for SigV4, a callable returning freshly signed headers, called at
every (re)connect (sign the ``GET /gremlin`` websocket upgrade with service ``neptune-db``); ``wss://`` URL.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar, cast

import aiohttp
from gremlin_python.driver.driver_remote_connection import (  # type: ignore[import-untyped]
    DriverRemoteConnection,
)
from gremlin_python.driver.protocol import GremlinServerError  # type: ignore[import-untyped]
from gremlin_python.process.anonymous_traversal import traversal  # type: ignore[import-untyped]
from gremlin_python.process.graph_traversal import __  # type: ignore[import-untyped]
from gremlin_python.process.traversal import (  # type: ignore[import-untyped]
    Cardinality,
    Merge,
    Order,
    P,
    T,
)
from gremlin_python.statics import long  # type: ignore[import-untyped]

from chirp.model import Page
from chirp.ports import StoreUnavailable

R = TypeVar("R")
Headers = Mapping[str, str] | Callable[[], Mapping[str, str]]

USER = "user"
FOLLOWS = "follows"
_CHUNK = 200  # ids per g.V(...)/g.E(...) lookup
_CURSOR_RE = re.compile(r"^(\d{1,19}):(\d{1,19})$")
# Server errors worth retrying: Neptune's optimistic-concurrency conflicts and throttling, and TinkerGraph's
# "already exists" when two writers insert the same vertex/edge id at once.
_RETRYABLE = (
    "ConcurrentModificationException",
    "ThrottlingException",
    "TimeLimitExceededException",
    "already exists",
)
_UNAVAILABLE = ("ReadOnlyViolationException", "MemoryLimitExceededException", "ThrottlingException")


def vertex_id(user_id: int) -> str:
    return f"u:{user_id}"


def edge_id(follower_id: int, followee_id: int) -> str:
    return f"f:{follower_id}:{followee_id}"


def _new_user(user_id: int) -> dict[Any, Any]:
    return {T.label: USER, "user_id": long(user_id), "followers": long(0), "following": long(0)}


def _bump(vertex: Any, key: str, delta: int) -> Any:
    """``property(single, key, key + delta)`` on the vertex, without lambdas or ``math`` (which gives doubles):
    the sum of the current value and a constant, both longs."""
    return vertex.property(Cardinality.single, key, __.union(__.values(key), __.constant(long(delta))).sum_())


def _chunks(values: Sequence[R]) -> Iterator[Sequence[R]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, aiohttp.ClientError | OSError | asyncio.TimeoutError | ConnectionError):
        return True
    return isinstance(exc, RuntimeError) and "connection" in str(exc).lower()


class NeptuneGraphStore:
    def __init__(
        self,
        url: str,
        *,
        headers: Headers | None = None,
        traversal_source: str = "g",
        pool_size: int = 2,
        timeout_s: float = 30.0,
        retries: int = 4,
    ) -> None:
        self._url = url
        self._headers = headers
        self._source = traversal_source
        self._pool_size = pool_size
        self._timeout_s = timeout_s
        self._retries = retries
        self._lock = threading.Lock()
        self._calls = concurrent.futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="gremlin")
        self._connection: Any = None
        self._g: Any = None

    # ---------------------------------------------------------------------------------------------- connection

    def _traversal_source(self) -> Any:
        with self._lock:
            if self._g is None:
                headers = self._headers() if callable(self._headers) else self._headers
                self._connection = DriverRemoteConnection(
                    self._url,
                    self._source,
                    headers=dict(headers) if headers else None,
                    pool_size=self._pool_size,
                    read_timeout=self._timeout_s,
                    write_timeout=self._timeout_s,
                )
                self._g = traversal().with_remote(self._connection)
            return self._g

    def _drop_connection(self) -> None:
        with self._lock:
            connection, self._connection, self._g = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close; it is gone either way
                connection.close()

    def close(self) -> None:
        self._drop_connection()

    def _run(self, build: Callable[[Any], R]) -> R:
        """Run one traversal with a hard deadline: a server that accepts connections but never answers (or a
        connect that stalls) is StoreUnavailable after ``timeout_s``, whatever the driver is doing meanwhile."""
        future = self._calls.submit(self._run_once, build)
        try:
            return future.result(timeout=self._timeout_s + 0.5)
        except concurrent.futures.TimeoutError:
            # Closing a stuck connection may itself stall: let a daemon thread do it.
            threading.Thread(target=self._drop_connection, daemon=True, name="gremlin-drop").start()
            raise StoreUnavailable(f"neptune did not answer within {self._timeout_s}s at {self._url}") from None

    def _run_once(self, build: Callable[[Any], R]) -> R:
        """Run one traversal (``build(g)`` submits it). Transport failures reconnect once, then raise
        StoreUnavailable; retryable server errors back off and retry."""
        reconnected = False
        attempt = 0
        while True:
            failure = ""
            try:
                return build(self._traversal_source())
            except GremlinServerError as exc:
                message = str(exc)
                attempt += 1
                if any(marker in message for marker in _RETRYABLE) and attempt <= self._retries:
                    time.sleep(min(0.05 * 2**attempt, 1.0))
                    continue
                if any(marker in message for marker in _UNAVAILABLE):
                    raise StoreUnavailable(f"neptune: {message}") from exc
                raise
            except Exception as exc:
                if not _is_connection_error(exc):
                    raise
                failure = repr(exc)
                if isinstance(exc, asyncio.TimeoutError | TimeoutError):
                    # A server that accepts but does not answer: waiting again would double the stall.
                    self._drop_connection()
                    raise StoreUnavailable(f"neptune timed out after {self._timeout_s}s at {self._url}") from exc
            # Outside the except block, so the failed connection's frames are released: gremlinpython transports
            # close their private event loop in __del__, which fails if the collector runs them inside another
            # transport's loop -- collect them here, on this thread, instead.
            self._drop_connection()
            gc.collect()
            if reconnected:
                raise StoreUnavailable(f"neptune unreachable at {self._url}: {failure}")
            reconnected = True

    # ---------------------------------------------------------------------------------------------- writes

    def follow(self, follower_id: int, followee_id: int, at_ms: int) -> bool:
        eid = edge_id(follower_id, followee_id)

        def build(g: Any) -> bool:
            created = (
                g.merge_v({T.id: vertex_id(follower_id)})
                .option(Merge.on_create, _new_user(follower_id))
                .as_("a")
                .merge_v({T.id: vertex_id(followee_id)})
                .option(Merge.on_create, _new_user(followee_id))
                .as_("b")
                .coalesce(
                    __.select("a").out_e(FOLLOWS).has_id(eid).constant(False),
                    __.add_e(FOLLOWS)
                    .from_("a")
                    .to("b")
                    .property(T.id, eid)
                    .property("created_at_ms", long(at_ms))
                    .property("follower_id", long(follower_id))
                    .property("followee_id", long(followee_id))
                    .side_effect(_bump(__.select("a"), "following", 1))
                    .side_effect(_bump(__.select("b"), "followers", 1))
                    .constant(True),
                )
                .next()
            )
            return bool(created)

        return self._run(build)

    def unfollow(self, follower_id: int, followee_id: int) -> bool:
        eid = edge_id(follower_id, followee_id)

        def build(g: Any) -> bool:
            removed = (
                g.E(eid)
                .side_effect(_bump(__.out_v(), "following", -1))
                .side_effect(_bump(__.in_v(), "followers", -1))
                .side_effect(__.drop())
                .count()
                .next()
            )
            return int(removed) > 0

        return self._run(build)

    # ---------------------------------------------------------------------------------------------- reads

    def following_among(self, follower_id: int, candidates: Sequence[int]) -> set[int]:
        found: set[int] = set()
        unique = list(dict.fromkeys(candidates))
        for part in _chunks(unique):
            eids = [edge_id(follower_id, c) for c in part]
            rows = self._run(partial(_followees_of_edges, eids))
            found.update(int(r) for r in rows)
        return found

    def _page(self, user_id: int, *, inbound: bool, cursor: str | None, limit: int) -> Page[int]:
        other = "follower_id" if inbound else "followee_id"
        bound = _parse_cursor(cursor)

        def build(g: Any) -> list[dict[str, Any]]:
            t = g.V(vertex_id(user_id))
            t = t.in_e(FOLLOWS) if inbound else t.out_e(FOLLOWS)
            if bound is not None:
                at, last = bound
                t = t.or_(
                    __.has("created_at_ms", P.lt(long(at))),
                    __.has("created_at_ms", long(at)).has(other, P.lt(long(last))),
                )
            rows = (
                t.order()
                .by("created_at_ms", Order.desc)
                .by(other, Order.desc)
                .limit(limit + 1)
                .project("t", "o")
                .by("created_at_ms")
                .by(other)
                .to_list()
            )
            return cast(list[dict[str, Any]], rows)

        rows = self._run(build)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = f"{int(rows[-1]['t'])}:{int(rows[-1]['o'])}" if more and rows else None
        return Page(items=[int(r["o"]) for r in rows], next_cursor=next_cursor)

    def followers_page(self, user_id: int, *, cursor: str | None, limit: int) -> Page[int]:
        return self._page(user_id, inbound=True, cursor=cursor, limit=limit)

    def following_page(self, user_id: int, *, cursor: str | None, limit: int) -> Page[int]:
        return self._page(user_id, inbound=False, cursor=cursor, limit=limit)

    def following_ids(self, user_id: int, *, limit: int) -> list[int]:
        rows = self._run(
            lambda g: (
                g.V(vertex_id(user_id))
                .out_e(FOLLOWS)
                .order()
                .by("created_at_ms", Order.desc)
                .by("followee_id", Order.desc)
                .limit(limit)
                .values("followee_id")
                .to_list()
            )
        )
        return [int(r) for r in rows]

    def counts(self, user_id: int) -> tuple[int, int]:
        rows = self._run(
            lambda g: (
                g.V(vertex_id(user_id))
                .project("followers", "following")
                .by(__.values("followers"))
                .by(__.values("following"))
                .to_list()
            )
        )
        if not rows:
            return (0, 0)
        return (int(rows[0]["followers"]), int(rows[0]["following"]))

    def follower_counts(self, user_ids: Sequence[int]) -> dict[int, int]:
        found = dict.fromkeys(user_ids, 0)
        for part in _chunks(list(found)):
            vids = [vertex_id(u) for u in part]
            rows = self._run(partial(_follower_counts_of, vids))
            for row in rows:
                found[int(row["u"])] = int(row["n"])
        return found

    def followees_with_min_followers(self, user_id: int, min_followers: int, *, limit: int) -> list[int]:
        rows = self._run(
            lambda g: (
                g.V(vertex_id(user_id))
                .out_e(FOLLOWS)
                .where(__.in_v().has("followers", P.gte(long(min_followers))))
                .order()
                .by("created_at_ms", Order.desc)
                .by("followee_id", Order.desc)
                .limit(limit)
                .values("followee_id")
                .to_list()
            )
        )
        return [int(r) for r in rows]


def _parse_cursor(cursor: str | None) -> tuple[int, int] | None:
    """An unreadable cursor starts from the top, like the embedded adapter."""
    match = _CURSOR_RE.match(cursor or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def _followees_of_edges(eids: list[str], g: Any) -> list[Any]:
    return cast(list[Any], g.E(*eids).values("followee_id").to_list())


def _follower_counts_of(vids: list[str], g: Any) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], g.V(*vids).project("u", "n").by("user_id").by("followers").to_list())

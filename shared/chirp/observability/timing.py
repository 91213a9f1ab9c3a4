"""The timing proxy the container puts around every store port: each public method call records ``StoreLatency``
(dimensions: the store, as the wiring table names the resource, and the operation kind) and, in Lambda with tracing
on, runs in an X-Ray subsegment. The adapters know nothing of it.

Attributes that are not methods pass through; ``__wrapped__`` is the adapter (or its deferred builder) for the few
places that need the object itself. A method returning an iterator is timed until it returns the iterator."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import fields
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chirp.observability import metrics
from chirp.observability.catalog import SERVICE

if TYPE_CHECKING:
    from chirp.services.stores import Stores

# The resource (wiring table) each Stores field stands for: the ``store`` dimension.
STORE_OF_FIELD = {
    "users": "keyspaces",
    "tweets": "keyspaces",
    "engagement": "keyspaces",
    "notifications": "keyspaces",
    "media": "keyspaces",
    "graph": "graph",
    "timelines": "cache",
    "author_timelines": "cache",
    "connections": "cache",
    "trends": "cache",
    "rate_limits": "cache",
    "idempotency": "cache",
    "tweet_cache": "cache",
    "pusher": "ws_management",
    "stream": "stream",
    "search": "search",
    "objects": "media",
}
# Port methods that change state begin with one of these; every other method reads.
WRITE_PREFIXES = (
    "create",
    "bulk_",
    "delete",
    "add",
    "remove",
    "adjust",
    "forget",
    "follow",
    "unfollow",
    "build",
    "drop",
    "merge",
    "set_",
    "fill",
    "tweet_deleted",
    "counts_changed",
    "register",
    "unregister",
    "subscribe",
    "unsubscribe",
    "push",
    "publish",
    "put",
    "mark",
    "index_",
    "claim",
    "complete",
    "release",
    "hit",
    "presign",
    "store",
)


@lru_cache(maxsize=512)
def operation_kind(method: str) -> str:
    return "write" if method.startswith(WRITE_PREFIXES) else "read"


class TimedPort:
    """Forwards to ``target``, timing each public method call as ``StoreLatency{store, op}``."""

    __slots__ = ("__wrapped__", "_calls", "_store", "_trace")

    def __init__(self, target: Any, store: str) -> None:
        object.__setattr__(self, "__wrapped__", target)
        object.__setattr__(self, "_store", store)
        object.__setattr__(self, "_trace", metrics.tracing_enabled())
        object.__setattr__(self, "_calls", {})  # name -> timed method, built on first use

    def __getattr__(self, name: str) -> Any:
        call = self._calls.get(name)
        if call is not None:
            return call
        attribute = getattr(self.__wrapped__, name)
        if name.startswith("_") or not callable(attribute):
            return attribute
        call = _timed(attribute, self._store, name, self._trace)
        if inspect.ismethod(attribute):  # the adapter's own method: fixed (other callables are looked up each time)
            self._calls[name] = call
        return call

    def __setattr__(self, name: str, value: Any) -> None:  # a test's stand-in method goes to the adapter (timed)
        setattr(self.__wrapped__, name, value)
        self._calls.pop(name, None)

    def __delattr__(self, name: str) -> None:
        delattr(self.__wrapped__, name)
        self._calls.pop(name, None)

    def __repr__(self) -> str:
        return f"TimedPort({self.__wrapped__!r}, store={self._store!r})"


def _timed(method: Callable[..., Any], store: str, name: str, trace: bool) -> Callable[..., Any]:
    op = operation_kind(name)

    def call(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            if trace:
                with _tracer().provider.in_subsegment(f"## {store}.{name}"):
                    return method(*args, **kwargs)
            return method(*args, **kwargs)
        finally:
            metrics.record("StoreLatency", round((time.perf_counter() - started) * 1000.0, 3), store=store, op=op)

    return call


@lru_cache(maxsize=1)
def _tracer() -> Any:
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


def timed_stores(stores: Stores, *, skip: Callable[[Any], bool] = lambda _: False) -> Stores:
    """``stores`` with each port behind a TimedPort (those ``skip`` accepts stay as they are)."""
    for f in fields(stores):
        port = getattr(stores, f.name)
        if not isinstance(port, str) and not skip(port) and not isinstance(port, TimedPort):  # a URL is no port
            setattr(stores, f.name, TimedPort(port, STORE_OF_FIELD.get(f.name, f.name)))
    return stores


def unwrap(port: Any) -> Any:
    """The object behind a TimedPort (anything else as it is)."""
    return port.__wrapped__ if isinstance(port, TimedPort) else port

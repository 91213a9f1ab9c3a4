"""Records Chirp's metrics (``catalog``) and emits them as CloudWatch embedded metric format (EMF) with Powertools.

Samples are kept in one process-wide buffer, each with its own dimensions, and flushed at the end of every
invocation (``flush``, called by the REST edge, the stream consumer edge and the WebSocket edge): as few EMF
documents as hold them (``documents``), each dimension set a metric directive in the layout Powertools serializes
(asked once per dimension set and metric names: building Powertools' provider and a document per dimension set
cost a fifth of a cached home read). Store calls made by a function's
worker threads land in the same buffer, so they go out with the invocation that awaited them.

Where they go is the sink: in Lambda each document is printed as one JSON line on stdout, which CloudWatch Logs turns
into metrics; the local runtime installs its own (its collector, or a datagram to it from the stream consumers'
process); elsewhere they are serialized and dropped unless a sink is set. A sink that fails never fails the
request.

The correlation id (the REST request's API Gateway request id, carried by stream events) lives here too: the REST
edge sets it for the request, consumer edges for the events they handle, and ``Event.new`` reads it."""

from __future__ import annotations

import contextvars
import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar, cast

from chirp.observability.catalog import BY_NAME, NAMESPACE, SERVICE

Document = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])
Sink = Callable[[Document], None]
MAX_VALUES = 100  # EMF: values per metric in one document
MAX_BUFFERED = 20_000  # samples kept when nothing flushes (a function without an edge): newer ones are dropped

_correlation: contextvars.ContextVar[str] = contextvars.ContextVar("chirp_correlation_id", default="")
Dimensions = tuple[tuple[str, str], ...]
# Appends and pops of a deque are atomic: request threads and their worker threads record without a lock.
_samples: deque[tuple[str, float, Dimensions]] = deque()
# The EMF metric directive of each (dimension set, metric names) as Powertools serializes it.
_directives: dict[tuple[Dimensions, tuple[str, ...]], Any] = {}
MAX_LAYOUTS = 1024


def print_sink(document: Document) -> None:
    """Lambda's: one JSON line on stdout, which CloudWatch Logs extracts the metrics from."""
    print(json_line(document), flush=True)


def json_line(document: Document) -> str:
    return json.dumps(document, separators=(",", ":"))


def _discard(document: Document) -> None:
    """Outside Lambda without a collector (tests, the bench's in-process handlers, ``chirp invoke``): stdout is not
    a metrics pipeline there, and the documents would bury the output."""


def _default_sink() -> Sink:
    return print_sink if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else _discard


_sink: Sink = _default_sink()


def set_sink(sink: Sink | None) -> None:
    """Where EMF documents go from now on (None: the default: stdout in Lambda, nowhere elsewhere)."""
    global _sink
    _sink = sink or _default_sink()


# -- recording ---------------------------------------------------------------------------------------------------
def record(name: str, value: float, **dimensions: str) -> None:
    """One sample of a catalog metric with its dimensions (bounded values only: never a user id)."""
    if len(_samples) < MAX_BUFFERED:
        _samples.append((name, value, tuple(dimensions.items())))


def count(name: str, n: int = 1, **dimensions: str) -> None:
    if n:
        record(name, float(n), **dimensions)


def flush() -> int:
    """Emit everything recorded so far; returns the number of EMF documents sent to the sink."""
    groups: dict[Dimensions, dict[str, list[float]]] = {}
    for _ in range(len(_samples)):
        name, value, dims = _samples.popleft()
        by_name = groups.get(dims)
        if by_name is None:
            by_name = groups[dims] = {}
        values = by_name.get(name)
        if values is None:
            by_name[name] = [value]
        else:
            values.append(value)
    sent = 0
    for document in documents(groups):
        try:
            _sink(document)
        except Exception:  # metrics never fail the request they describe
            continue
        sent += 1
    return sent


def documents(groups: dict[Dimensions, dict[str, list[float]]]) -> list[Document]:
    """As few EMF documents as hold these groups (metrics by dimension set): one metric directive per group, in the
    layout Powertools gives it; groups share a document unless a dimension has another value there or a metric is
    already in it (EMF keeps both at the document's root), and a metric has at most MAX_VALUES values per document.
    A request's metrics usually fit in one document: one log line, one serialization."""
    timestamp = int(time.time() * 1000)
    documents: list[Document] = []
    for dims, by_name in groups.items():
        for chunk in _chunks(by_name):
            for document in documents:
                if _fits(document, dims, chunk):
                    break
            else:
                document = {"_aws": {"Timestamp": timestamp, "CloudWatchMetrics": []}, "service": SERVICE}
                documents.append(document)
            document["_aws"]["CloudWatchMetrics"].append(_directive(dims, tuple(chunk)))
            document.update(dims)
            document.update(chunk)
    return documents


def _chunks(by_name: dict[str, list[float]]) -> list[dict[str, list[float]]]:
    """The metrics of one dimension set, split so that none has more than MAX_VALUES values (rarely needed)."""
    longest = max(len(v) for v in by_name.values())
    if longest <= MAX_VALUES:
        return [by_name]
    chunks = []
    for start in range(0, longest, MAX_VALUES):
        chunk = {name: values[start : start + MAX_VALUES] for name, values in by_name.items()}
        chunks.append({name: values for name, values in chunk.items() if values})
    return chunks


def _fits(document: Document, dims: Dimensions, chunk: dict[str, list[float]]) -> bool:
    for key, value in dims:
        if document.get(key, value) != value:
            return False
    return not any(name in document for name in chunk)


def _directive(dims: Dimensions, names: tuple[str, ...]) -> Any:
    """The metric directive Powertools serializes for these dimensions and metrics: asked once, then reused."""
    key = (dims, names)
    directive = _directives.get(key)
    if directive is None:
        metric_set = {name: {"Unit": _unit(name), "StorageResolution": 60, "Value": [0.0]} for name in names}
        dimensions = {"service": SERVICE, **dict(dims)}
        serialized = _provider().serialize_metric_set(metrics=metric_set, dimensions=dimensions)
        directive = serialized["_aws"]["CloudWatchMetrics"][0]
        if len(_directives) >= MAX_LAYOUTS:
            _directives.clear()
        _directives[key] = directive
    return directive


def _unit(name: str) -> str:
    """The catalog's unit; "None" (CloudWatch's unitless) for a name the catalog lacks: a metric is never an error."""
    metric = BY_NAME.get(name)
    return metric.unit if metric is not None else "None"


@lru_cache(maxsize=1)
def _provider() -> Any:
    from aws_lambda_powertools.metrics import EphemeralMetrics

    return EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)


# -- correlation ids ---------------------------------------------------------------------------------------------
def correlation_id() -> str:
    """The id of the request (or stream event) being handled in this thread; "" outside one."""
    return _correlation.get()


@contextmanager
def correlated(value: str) -> Iterator[None]:
    token = _correlation.set(value)
    try:
        yield
    finally:
        _correlation.reset(token)


# -- tracing -----------------------------------------------------------------------------------------------------
def tracing_enabled() -> bool:
    """X-Ray tracing (Powertools Tracer) is on in Lambda unless POWERTOOLS_TRACE_DISABLED; off elsewhere."""
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() not in (
        "1",
        "true",
    )


def traced(handler: F) -> F:
    """A Lambda handler in an X-Ray subsegment of its own (Powertools Tracer; cold start and service annotated) when
    tracing is on; as it is otherwise."""
    if not tracing_enabled():
        return handler
    from aws_lambda_powertools import Tracer

    return cast(F, Tracer(service=SERVICE).capture_lambda_handler(handler))

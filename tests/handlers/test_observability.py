"""A workload through the real handlers produces each metric of chirp.observability.catalog with the right value, as
EMF documents, and a tweet's correlation id follows it from the REST request into the consumers' logs."""

from __future__ import annotations

import io
import json
import logging
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chirp import wiring
from chirp.container import Container, set_container
from chirp.local import events
from chirp.local.event_source import open_event_source
from chirp.local.functions import invoke
from chirp.local.metrics import Collector
from chirp.model import Event
from chirp.observability import metrics
from chirp.observability.catalog import BY_NAME, MONITORING, NAMESPACE
from chirp.tokens import Principal
from support.stack import drain, make_container, signup

Key = tuple[str, tuple[tuple[str, str], ...]]


class Recorded:
    """The EMF documents the functions emitted, by metric and dimension set."""

    def __init__(self) -> None:
        self.documents: list[dict[str, Any]] = []
        self.every: list[dict[str, Any]] = []  # clear() keeps these

    def add(self, document: dict[str, Any]) -> None:
        self.documents.append(document)
        self.every.append(document)

    def values(self) -> dict[Key, list[float]]:
        found: dict[Key, list[float]] = defaultdict(list)
        for doc in self.documents:
            for directive in doc["_aws"]["CloudWatchMetrics"]:
                dims = tuple(sorted((k, doc[k]) for k in directive["Dimensions"][0] if k != "service"))
                for metric in directive["Metrics"]:
                    found[(metric["Name"], dims)].extend(doc[metric["Name"]])
        return found

    def of(self, name: str, **dims: str) -> list[float]:
        return self.values().get((name, tuple(sorted(dims.items()))), [])

    def clear(self) -> None:
        self.documents.clear()


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    metrics.flush()
    sink = Recorded()
    metrics.set_sink(sink.add)
    yield sink
    metrics.set_sink(None)


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Container]:
    container = make_container(tmp_path / "data", tweet_rate_limit=2)
    yield container
    set_container(None)


def _rest(function: str, method: str, path: str, who: Principal, body: Any = None) -> dict[str, Any]:
    resource = wiring.API_PREFIX + path
    event = events.rest_event(
        method=method,
        resource=resource,
        path=resource,
        body=json.dumps(body) if body is not None else None,
        headers={"Content-Type": "application/json"},
        authorizer={"user_id": str(who.user_id), "username": who.username},
    )
    result: dict[str, Any] = invoke(function, event)
    result["request_id"] = event["requestContext"]["requestId"]
    return result


def _stream_events(container: Container) -> list[Event]:
    source = open_event_source(container)
    return [
        Event.model_validate_json(r.data)
        for shard in range(source.shards)
        for r in source.read(shard, after=0, limit=1000)
    ]


def test_a_workload_produces_each_metric(limited: Container, recorded: Recorded) -> None:
    alice, bob = signup(limited, "alice_obs"), signup(limited, "bob_obs")
    limited.social.follow(bob, "alice_obs")
    drain(limited)
    recorded.clear()

    # A home read rebuilds the missing timeline (one miss), the next read finds it (one hit).
    assert _rest("timeline", "GET", "/timeline/home", bob)["statusCode"] == 200
    assert recorded.of("TimelineCacheMisses") == [1.0]
    assert recorded.of("TimelineCacheHits") == []
    assert _rest("timeline", "GET", "/timeline/home", bob)["statusCode"] == 200
    assert recorded.of("TimelineCacheMisses") == [1.0]
    assert recorded.of("TimelineCacheHits") == [1.0]
    assert len(recorded.of("RequestLatency", function="timeline", route="home")) == 2

    # A post: its request latency, Cassandra (here: the records store) writes, a correlation id on its event.
    posted = _rest("tweets", "POST", "/tweets", alice, {"content": "observed #metrics"})
    assert posted["statusCode"] == 201
    (latency,) = recorded.of("RequestLatency", function="tweets", route="create_tweet")
    assert 0 < latency < 10_000
    assert recorded.of("StoreLatency", store="keyspaces", op="write")
    assert recorded.of("StoreLatency", store="stream", op="write")
    created = [e for e in _stream_events(limited) if e.type == "tweet_created"]
    assert [e.correlation_id for e in created] == [posted["request_id"]]

    # The consumers: one delivery (lag, duration, an audience of bob), the indexing lag; their logs carry the id.
    from chirp.stream_consumer import logger

    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(logger.registered_formatter)  # the functions' JSON lines, correlation id included
    logging.getLogger(logger.name).addHandler(handler)
    logger.setLevel("DEBUG")
    try:
        drain(limited)
    finally:
        logger.setLevel("INFO")
        logging.getLogger(logger.name).removeHandler(handler)
    consumer_log = lines.getvalue()
    batch_lines = [json.loads(line) for line in consumer_log.splitlines() if line.startswith('{"level"')]
    assert any(line.get("correlation_id") == posted["request_id"] for line in batch_lines)
    assert recorded.of("FanoutAudience", op="add") == [1.0]
    (lag,) = recorded.of("DeliveryLag")
    assert 0 <= lag < 60_000
    assert len(recorded.of("FanoutDuration")) == 1
    (indexing_lag,) = recorded.of("IndexingLag")
    assert 0 <= indexing_lag < 60_000

    # Bob's home now hydrates alice's tweet through the tweet cache (filled when it was posted): each read looks up
    # three entries (the tweet, its counters, bob's flags), all found.
    recorded.clear()
    for _ in range(2):
        home = _rest("timeline", "GET", "/timeline/home", bob)
        assert [t["content"] for t in json.loads(home["body"])["tweets"]] == ["observed #metrics"]
    assert recorded.of("HydrationCacheHits") == [3.0, 3.0]
    assert recorded.of("HydrationCacheMisses") == []

    # The rate limit (2 tweets) refuses the third post: one refusal, no server error.
    assert _rest("tweets", "POST", "/tweets", alice, {"content": "second"})["statusCode"] == 201
    assert _rest("tweets", "POST", "/tweets", alice, {"content": "third"})["statusCode"] == 429
    assert recorded.of("RateLimitRefusals", function="tweets", route="create_tweet") == [1.0]
    assert recorded.of("RequestErrors", function="tweets", route="create_tweet") == []

    # WebSocket connects: one accepted, one refused (no principal).
    auth = {"user_id": str(bob.user_id), "username": bob.username}
    assert (
        invoke("realtime", events.websocket_event(route_key="$connect", connection_id="c1=", authorizer=auth))[
            "statusCode"
        ]
        == 200
    )
    assert invoke("realtime", events.websocket_event(route_key="$connect", connection_id="c2="))["statusCode"] == 401
    assert recorded.of("WebSocketConnects", outcome="accepted") == [1.0]
    assert recorded.of("WebSocketConnects", outcome="refused") == [1.0]

    # A poison record is quarantined: one dead letter for that consumer.
    poison = events.kinesis_event([events.KinesisInput(events.sequence_number(10**6), "k", b"not json", 0.0)])
    assert invoke("indexer", poison) == {"batchItemFailures": []}
    assert recorded.of("DeadLetters", consumer="indexer") == [1.0]

    # Every document is EMF in the Chirp namespace, with catalog metrics only.
    for doc in recorded.documents:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == NAMESPACE and doc["service"] == "chirp"
            assert {m["Name"] for m in directive["Metrics"]} <= BY_NAME.keys()

    # The local collector reads the same documents into the monitoring table.
    collector = Collector()
    for doc in recorded.every:
        collector.add(doc)
    rows = {row["key"]: row for row in collector.snapshot()["monitoring"]}
    assert rows.keys() == {row.key for row in MONITORING}
    assert rows["CacheHitRate"]["value"] == 75.0  # four home reads: the first rebuilt the timeline
    assert rows["WebSocketConnectSuccess"]["value"] == 50.0
    assert rows["PostTweetP95"]["samples"] == 3 and rows["TimelineP95"]["samples"] == 4


def test_no_user_id_is_a_dimension(stack: Container, recorded: Recorded) -> None:
    alice = signup(stack, "alice_dims")
    _rest("tweets", "POST", "/tweets", alice, {"content": "dimensions"})
    drain(stack)
    for doc in recorded.documents:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for dims in directive["Dimensions"]:
                values = [str(doc[k]) for k in dims]
                assert str(alice.user_id) not in values and "alice_dims" not in values
                assert set(dims) <= {"service", *(d for m in BY_NAME.values() for d in m.dimensions)}

"""The one table of Chirp's metrics (namespace "Chirp", CloudWatch embedded metric format) and of the design
document's monitoring table, whose rows the CDK app turns into alarms and the local operator page into charts.

Dimensions stay few and bounded (function, route, store, operation kind, consumer, outcome): never a user, tweet or
connection id. Powertools adds ``service`` ("chirp") to every metric."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

NAMESPACE = "Chirp"
SERVICE = "chirp"
Unit = Literal["Milliseconds", "Count"]


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    unit: Unit
    dimensions: tuple[str, ...]
    meaning: str


METRICS: tuple[Metric, ...] = (
    Metric("RequestLatency", "Milliseconds", ("function", "route"), "REST handler time per route (one per request)"),
    Metric("RequestErrors", "Count", ("function", "route"), "REST requests answered 5xx"),
    Metric("RateLimitRefusals", "Count", ("function", "route"), "requests refused 429 by a rate limit"),
    Metric("StoreLatency", "Milliseconds", ("store", "op"), "one call of a store port (op: read or write)"),
    Metric("TimelineCacheHits", "Count", (), "home reads whose materialized timeline was in the cache"),
    Metric("TimelineCacheMisses", "Count", (), "home reads that rebuilt the timeline (an inactive reader)"),
    Metric("HydrationCacheHits", "Count", (), "tweet cache entries found by hydration (tweets, counters, flags)"),
    Metric("HydrationCacheMisses", "Count", (), "tweet cache entries hydration read from the store instead"),
    Metric("FanoutAudience", "Count", ("op",), "followers one fan-out walked (op: add, remove, celebrity)"),
    Metric("FanoutDuration", "Milliseconds", (), "delivery of one new tweet: pushes and timeline writes"),
    Metric("DeliveryLag", "Milliseconds", (), "from a tweet's creation to its push to online followers"),
    Metric("IndexingLag", "Milliseconds", (), "from a tweet's creation to its search indexing"),
    Metric("DeadLetters", "Count", ("consumer",), "stream records a consumer quarantined in the dead-letter store"),
    Metric("EngagementRowsChanged", "Count", (), "likes and retweets the actions consumer set or took back"),
    Metric("EngagementCounterWrites", "Count", (), "counter writes they took: one per tweet and kind per batch"),
    Metric("WebSocketConnects", "Count", ("outcome",), "WebSocket $connect calls (outcome: accepted or refused)"),
)
BY_NAME: Mapping[str, Metric] = {m.name: m for m in METRICS}


@dataclass(frozen=True, slots=True)
class Row:
    """A row of the design document's monitoring table. ``kind`` "p95": the 95th percentile of ``metric`` where
    ``where`` holds; "ratio": 100 * good / (good + bad), the two metrics where ``where`` holds."""

    key: str  # the CDK alarm's id
    label: str
    kind: Literal["p95", "ratio"]
    metric: str  # "p95": the metric; "ratio": the good one
    target: float
    alarm: float  # the document's alert threshold
    unit: Literal["ms", "%"]
    where: Mapping[str, str] = field(default_factory=dict)
    bad_metric: str = ""  # "ratio" only
    bad_where: Mapping[str, str] = field(default_factory=dict)

    @property
    def alarm_when_below(self) -> bool:
        """Ratios alarm when they fall under the threshold, latencies when they rise above it."""
        return self.kind == "ratio"

    @property
    def describe(self) -> str:
        sign = "<" if self.alarm_when_below else ">"
        good = ">" if self.alarm_when_below else "<"
        return f"{self.label}: target {good} {self.target:g} {self.unit}, alarm {sign} {self.alarm:g} {self.unit}"


TIMELINE = {"function": "timeline", "route": "home"}
POST = {"function": "tweets", "route": "create_tweet"}
SEARCH = {"function": "search", "route": "search_tweets"}
KEYSPACES_WRITE = {"store": "keyspaces", "op": "write"}
MONITORING: tuple[Row, ...] = (
    Row("TimelineP95", "Timeline latency p95", "p95", "RequestLatency", 200, 500, "ms", TIMELINE),
    Row("PostTweetP95", "Tweet post latency p95", "p95", "RequestLatency", 100, 500, "ms", POST),
    Row(
        "WebSocketConnectSuccess",
        "WebSocket connection success",
        "ratio",
        "WebSocketConnects",
        99,
        95,
        "%",
        {"outcome": "accepted"},
        bad_metric="WebSocketConnects",
        bad_where={"outcome": "refused"},
    ),
    Row("CassandraWriteP95", "Cassandra write latency p95", "p95", "StoreLatency", 10, 50, "ms", KEYSPACES_WRITE),
    Row(
        "CacheHitRate",
        "Timeline cache hit rate",
        "ratio",
        "TimelineCacheHits",
        80,
        70,
        "%",
        bad_metric="TimelineCacheMisses",
    ),
    Row("SearchP95", "Search latency p95", "p95", "RequestLatency", 100, 300, "ms", SEARCH),
)

"""Alarms and the dashboard for the design's monitoring table."""

from __future__ import annotations

import json

from chirp import wiring

from .support import Synthesized, resources_of


def _alarms(synth: Synthesized) -> dict[str, dict]:
    return {k: v["Properties"] for k, v in resources_of(synth.raw("Observability"), "AWS::CloudWatch::Alarm").items()}


def _metric_names(alarm: dict) -> list[str]:
    """The metric an alarm watches, whether plain or in the Metrics form (labelled or math)."""
    if "MetricName" in alarm:
        return [alarm["MetricName"]]
    return [m["MetricStat"]["Metric"]["MetricName"] for m in alarm.get("Metrics", []) if "MetricStat" in m]


def _alarm(synth: Synthesized, prefix: str) -> dict:
    matches = [props for logical_id, props in _alarms(synth).items() if logical_id.startswith(prefix)]
    assert len(matches) == 1, (prefix, list(_alarms(synth)))
    return matches[0]


def test_latency_alarms_use_route_p95(aws: Synthesized) -> None:
    """Given timeline and post p95 > 500 ms and search p95 > 300 ms
    When synthesized
    Then each alarm watches API Gateway Latency p95 of its wiring route at that threshold."""
    for prefix, operation, threshold in (
        ("TimelineP95", "home", 500),
        ("PostTweetP95", "create_tweet", 500),
        ("SearchP95", "search_tweets", 300),
    ):
        alarm = _alarm(aws, prefix)
        route = next(r for _, r in wiring.all_routes() if r.operation == operation)
        assert _metric_names(alarm) == ["Latency"]
        stat = alarm["Metrics"][0]["MetricStat"]
        assert stat["Stat"] == "p95"
        assert alarm["Threshold"] == threshold
        dims = {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}
        assert dims["Resource"] == route.path and dims["Method"] == route.method


def test_websocket_connect_success_and_cache_hit_rate(aws: Synthesized) -> None:
    """Given connect success < 95% and cache hit rate < 70%
    When synthesized
    Then both are metric-math alarms below their thresholds."""
    ws = _alarm(aws, "WebSocketConnectSuccess")
    assert ws["Threshold"] == 95 and ws["ComparisonOperator"] == "LessThanThreshold"
    assert "ConnectCount" in json.dumps(ws["Metrics"])
    cache = _alarm(aws, "CacheHitRate")
    assert cache["Threshold"] == 70 and cache["ComparisonOperator"] == "LessThanThreshold"
    assert "CacheHits" in json.dumps(cache["Metrics"]) and "CacheMisses" in json.dumps(cache["Metrics"])


def test_iterator_age_dlq_and_errors(aws: Synthesized) -> None:
    """Given stream consumers, the dead-letter queue and every function
    When synthesized
    Then each consumer has an iterator-age alarm, the DLQ has a depth alarm and each function an errors alarm,
    all notifying the encrypted alarm topic."""
    alarms = _alarms(aws)
    metrics = [name for a in alarms.values() for name in _metric_names(a)]
    assert metrics.count("IteratorAge") == len(wiring.stream_consumers())
    assert metrics.count("Errors") == len(wiring.FUNCTIONS)
    assert "ApproximateNumberOfMessagesVisible" in metrics
    assert "5XXError" in metrics
    assert all(a["AlarmActions"] for a in alarms.values())
    key = next(iter(resources_of(aws.raw("Observability"), "AWS::KMS::Key")))
    aws.template("Observability").has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}}
    )


def test_dashboard_shows_the_table(aws: Synthesized) -> None:
    """Given the monitoring table
    When the dashboard is synthesized
    Then it charts latency, connect success, cache hit rate, iterator age, dead letters and errors."""
    dashboard = next(iter(resources_of(aws.raw("Observability"), "AWS::CloudWatch::Dashboard").values()))
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in (
        "REST latency p95",
        "WebSocket connect success",
        "Cache hit rate",
        "iterator age",
        "Dead letters",
        "errors",
    ):
        assert title in body, title

"""Alarms and the dashboard for the design's monitoring table."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from chirp import wiring
from chirp.observability.catalog import MONITORING

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


# The design document's monitoring table, as written there: (metric, alert threshold).
DESIGN_TABLE = {
    "Timeline Latency (P95)": 500,
    "Tweet Post Latency (P95)": 500,
    "WebSocket Connection Success": 95,
    "Cassandra Write Latency": 50,
    "Cache Hit Rate": 70,
    "Search Latency (P95)": 300,
}


def _dimensions(stat: dict) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}


def test_an_alarm_for_every_row_of_the_design_table(aws: Synthesized) -> None:
    """Given the design document's six rows and the metric catalog that names them
    When synthesized
    Then each row has one alarm at the document's threshold, on the metric the functions emit (namespace Chirp):
    latencies as p95 above it, ratios (good / (good + bad)) below it."""
    assert sorted(row.alarm for row in MONITORING) == sorted(DESIGN_TABLE.values())
    assert len(MONITORING) == len(DESIGN_TABLE)
    for row in MONITORING:
        alarm = _alarm(aws, row.key)
        assert alarm["Threshold"] == row.alarm
        stats = [m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m]
        assert all(stat["Metric"]["Namespace"] == "Chirp" for stat in stats)
        if row.kind == "p95":
            assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
            (stat,) = stats
            assert stat["Stat"] == "p95" and stat["Metric"]["MetricName"] == row.metric
            assert _dimensions(stat) == {"service": "chirp", **row.where}
        else:
            assert alarm["ComparisonOperator"] == "LessThanThreshold"
            assert {(s["Metric"]["MetricName"], tuple(sorted(_dimensions(s).items()))) for s in stats} == {
                (row.metric, tuple(sorted({"service": "chirp", **row.where}.items()))),
                (row.bad_metric, tuple(sorted({"service": "chirp", **row.bad_where}.items()))),
            }
            assert all(s["Stat"] == "Sum" for s in stats)
    write = _alarm(aws, "CassandraWriteP95")
    assert write["Threshold"] == 50
    assert _dimensions(write["Metrics"][0]["MetricStat"]) == {"service": "chirp", "store": "keyspaces", "op": "write"}


def test_alarmed_routes_exist() -> None:
    """Given the rows on request latency
    When their route dimension is looked up in the wiring table
    Then each names a real operation of the function it names (a renamed route would silence its alarm)."""
    for row in MONITORING:
        if row.metric == "RequestLatency":
            function = wiring.function(row.where["function"])
            assert row.where["route"] in {r.operation for r in function.routes}, row


def test_iterator_age_dlq_and_errors(aws: Synthesized) -> None:
    """Given stream consumers, the dead-letter queue and every function
    When synthesized
    Then each consumer has an iterator-age alarm, new dead letters raise an alarm and each function an errors alarm,
    all notifying the encrypted alarm topic."""
    alarms = _alarms(aws)
    metrics = [name for a in alarms.values() for name in _metric_names(a)]
    assert metrics.count("IteratorAge") == len(wiring.stream_consumers())
    assert metrics.count("Errors") == len(wiring.FUNCTIONS)
    assert "PutRequests" in metrics  # any new dead letter (S3 request metrics of the dead-letter bucket)
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
        "WebSocket connection success",
        "Timeline cache hit rate",
        "Cassandra write latency p95",
        "Store call latency p95",
        "post to push",
        "iterator age",
        "Dead letters",
        "errors",
    ):
        assert title in body, title


def test_trace_sampling_is_chirps_own_rule_not_the_accounts_five_percent(aws: Synthesized) -> None:
    """Given the production app
    When synthesized
    Then an X-Ray rule samples Chirp's services at 1/s plus 1% (the default rule's 5% is ~$170K/month at the
    design's request rate; bench/capacity prices both)."""
    aws.template("Observability").has_resource_properties(
        "AWS::XRay::SamplingRule",
        {
            "SamplingRule": Match.object_like(
                {"FixedRate": 0.01, "ReservoirSize": 1, "ServiceName": "Chirp*", "Priority": 100}
            )
        },
    )

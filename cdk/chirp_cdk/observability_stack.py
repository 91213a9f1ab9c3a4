"""The design's monitoring table as CloudWatch alarms (to an encrypted SNS topic) and one dashboard.

One alarm per row of ``chirp.observability.catalog.MONITORING`` (timeline, post and search p95, WebSocket connection
success, Cassandra write p95, timeline cache hit rate), on the metrics the functions emit themselves (namespace
"Chirp", EMF) with the document's thresholds; then what AWS measures from outside:

| signal                     | alarm when                     |
|----------------------------|--------------------------------|
| consumer iterator age      | > 60 s (Kinesis) / lag (MSK)   |
| dead letters written       | > 0                            |
| function errors, API 5xx   | >= 5 in 5 minutes              |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_xray as xray
from constructs import Construct

from chirp import wiring
from chirp.observability.catalog import MONITORING, NAMESPACE, SERVICE, Row
from chirp_cdk.api_stack import ApiStack
from chirp_cdk.data_stack import DataStack
from chirp_cdk.settings import DeploymentSettings
from chirp_cdk.stream_stack import StreamStack

PERIOD = Duration.minutes(1)


ITERATOR_AGE_MAX_MS = 60_000
OFFSET_LAG_MAX = 10_000
ERRORS_MAX = 5


def code_metric(name: str, where: Mapping[str, str], statistic: str, label: str) -> cw.Metric:
    """A metric the functions emit (EMF adds the service dimension to every one)."""
    return cw.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE, **where},
        statistic=statistic,
        period=PERIOD,
        label=label,
    )


def monitoring_metric(row: Row) -> cw.IMetric:
    """A row of the design's table: the p95 of its metric, or 100 * good / (good + bad) (100 with no traffic)."""
    if row.kind == "p95":
        return code_metric(row.metric, row.where, "p95", row.label)
    return cw.MathExpression(
        expression="IF(good + bad > 0, 100 * good / (good + bad), 100)",
        using_metrics={
            "good": code_metric(row.metric, row.where, "Sum", row.metric),
            "bad": code_metric(row.bad_metric, row.bad_where, "Sum", row.bad_metric),
        },
        label=f"{row.label} %",
        period=PERIOD,
    )


class ObservabilityStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        api: ApiStack,
        stream: StreamStack,
        data: DataStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = kms.Key(self, "AlarmTopicKey", enable_key_rotation=True, description="Chirp alarm topic encryption")
        key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(self, "Alarms", display_name="Chirp alarms", master_key=key, enforce_ssl=True)
        if settings.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(settings.alarm_email))
        self.action = cw_actions.SnsAction(self.topic)
        # Chirp's own trace sampling (its functions and REST API are named after the prefix): 1 request/s per service
        # and xray_sampling_rate of the rest, instead of the account default's 5%.
        self.sampling_rule = xray.CfnSamplingRule(
            self,
            "TraceSampling",
            sampling_rule=xray.CfnSamplingRule.SamplingRuleProperty(
                rule_name=f"{settings.prefix}-sampling"[:32],
                priority=100,
                fixed_rate=settings.xray_sampling_rate,
                reservoir_size=1,
                service_name=f"{settings.prefix}*",
                service_type="*",
                host="*",
                http_method="*",
                url_path="*",
                resource_arn="*",
                version=1,
            ),
        )
        self.alarms: dict[str, cw.Alarm] = {}

        # -- the design's monitoring table, on the functions' own metrics --------------------------------------
        self.monitoring: dict[str, cw.IMetric] = {}
        for row in MONITORING:
            metric = monitoring_metric(row)
            self.monitoring[row.key] = metric
            self._alarm(
                row.key,
                metric,
                row.alarm,
                row.describe,
                comparison=cw.ComparisonOperator.LESS_THAN_THRESHOLD
                if row.alarm_when_below
                else cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=5 if row.alarm_when_below else 3,
            )

        # -- stream consumers: iterator age (Kinesis) or offset lag (MSK) ----------------------------------------
        lag_metrics: list[cw.IMetric] = []
        for spec in wiring.stream_consumers():
            fn = api.functions[spec.name]
            if stream.kind == "kinesis":
                metric = fn.metric("IteratorAge", statistic="Maximum", period=PERIOD, label=spec.name)
                threshold, what = ITERATOR_AGE_MAX_MS, f"{ITERATOR_AGE_MAX_MS // 1000} s iterator age"
            else:
                metric = fn.metric("OffsetLag", statistic="Maximum", period=PERIOD, label=spec.name)
                threshold, what = OFFSET_LAG_MAX, f"{OFFSET_LAG_MAX} records of offset lag"
            lag_metrics.append(metric)
            self._alarm(f"{spec.name.title()}IteratorAge", metric, threshold, f"{spec.name} behind: over {what}")

        # -- dead letters -----------------------------------------------------------------------------------------
        self._alarm(
            "DeadLetters",
            stream.dead_letter_writes(),
            0,
            "stream records were dead-lettered (quarantined or expired): chirp dlq list --bucket",
            evaluation_periods=1,
        )

        # -- errors -----------------------------------------------------------------------------------------------
        error_metrics: list[cw.IMetric] = []
        for name, fn in api.functions.items():
            metric = fn.metric_errors(period=Duration.minutes(5), statistic="Sum", label=name)
            error_metrics.append(metric)
            self._alarm(
                f"{name.title()}Errors",
                metric,
                ERRORS_MAX - 1,
                f"{name} raised {ERRORS_MAX}+ errors in 5 minutes",
                evaluation_periods=1,
            )
        rest_5xx = api.rest.api.metric_server_error(period=Duration.minutes(5), statistic="Sum", label="REST 5xx")
        self._alarm(
            "Rest5xx",
            rest_5xx,
            ERRORS_MAX - 1,
            f"REST API returned {ERRORS_MAX}+ 5xx in 5 minutes",
            evaluation_periods=1,
        )

        # -- dashboard --------------------------------------------------------------------------------------------
        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"{settings.prefix}-overview")
        self.dashboard.add_widgets(
            cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24, height=4),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="REST latency p95 (ms)",
                left=[self.monitoring[r.key] for r in MONITORING if r.kind == "p95" and r.metric == "RequestLatency"],
                left_annotations=[
                    cw.HorizontalAnnotation(value=500, label="500 ms"),
                    cw.HorizontalAnnotation(value=300, label="300 ms (search)"),
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="REST requests and errors",
                left=[
                    api.rest.api.metric_count(period=PERIOD, label="requests"),
                    api.rest.api.metric_client_error(period=PERIOD, label="4xx"),
                    api.rest.api.metric_server_error(period=PERIOD, label="5xx"),
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            *(
                cw.GraphWidget(
                    title=f"{row.label} ({row.unit})",
                    left=[self.monitoring[row.key]],
                    left_annotations=[cw.HorizontalAnnotation(value=row.alarm, label=f"alarm {row.alarm:g}")],
                    width=8,
                )
                for row in MONITORING
                if row.kind == "ratio" or row.metric == "StoreLatency"
            ),
            cw.GraphWidget(title="Dead letters", left=[stream.dead_letter_writes()], width=8),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Store call latency p95 (ms)",
                left=[
                    code_metric("StoreLatency", {"store": store, "op": op}, "p95", f"{store} {op}")
                    for store in ("keyspaces", "cache", "graph", "search", "stream", "media")
                    for op in ("read", "write")
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="Delivery: post to push, indexing lag, fan-out (ms)",
                left=[code_metric(n, {}, "p95", f"{n} p95") for n in ("DeliveryLag", "IndexingLag", "FanoutDuration")],
                right=[code_metric("FanoutAudience", {"op": "add"}, "Maximum", "largest audience")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Hydration cache, rate limits, dead letters (code)",
                left=[
                    code_metric("HydrationCacheHits", {}, "Sum", "hydration hits"),
                    code_metric("HydrationCacheMisses", {}, "Sum", "hydration misses"),
                ],
                right=[
                    *(
                        code_metric("RateLimitRefusals", {"function": fn, "route": route}, "Sum", f"429 {route}")
                        for fn, route in (("tweets", "create_tweet"), ("auth", "login"), ("auth", "signup"))
                    ),
                    *(
                        code_metric("DeadLetters", {"consumer": spec.name}, "Sum", f"dead letters {spec.name}")
                        for spec in wiring.stream_consumers()
                    ),
                ],
                width=24,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Stream consumer iterator age (ms)" if stream.kind == "kinesis" else "Consumer offset lag",
                left=lag_metrics,
                width=12,
            ),
            cw.GraphWidget(title="Function errors (5 min)", left=error_metrics, width=12),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Function duration p95 (ms)",
                left=[fn.metric_duration(statistic="p95", period=PERIOD, label=n) for n, fn in api.functions.items()],
                width=12,
            ),
            cw.GraphWidget(
                title="Function throttles",
                left=[fn.metric_throttles(period=PERIOD, label=n) for n, fn in api.functions.items()],
                width=12,
            ),
        )

    def _alarm(
        self,
        alarm_id: str,
        metric: cw.IMetric,
        threshold: float,
        description: str,
        *,
        comparison: cw.ComparisonOperator = cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods: int = 3,
    ) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            alarm_id,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=f"Chirp: {description}",
        )
        alarm.add_alarm_action(self.action)
        alarm.add_ok_action(self.action)
        self.alarms[alarm_id] = alarm
        return alarm

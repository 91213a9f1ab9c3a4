"""The design's monitoring table as CloudWatch alarms (to an encrypted SNS topic) and one dashboard:

| signal                     | alarm when                     |
|----------------------------|--------------------------------|
| home timeline p95          | > 500 ms                       |
| post tweet p95             | > 500 ms                       |
| search p95                 | > 300 ms                       |
| WebSocket connect success  | < 95 %                         |
| cache hit rate             | < 70 % (backend=aws)           |
| consumer iterator age      | > 60 s (Kinesis) / lag (MSK)   |
| dead-letter queue depth    | > 0                            |
| function errors, API 5xx   | >= 5 in 5 minutes              |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from chirp import wiring
from chirp_cdk.api_stack import ApiStack
from chirp_cdk.data_stack import DataStack
from chirp_cdk.settings import DeploymentSettings
from chirp_cdk.stream_stack import StreamStack

PERIOD = Duration.minutes(1)


@dataclass(frozen=True, slots=True)
class LatencyTarget:
    alarm_id: str
    operation: str  # a wiring route operation
    threshold_ms: int
    label: str


LATENCY_TARGETS = (
    LatencyTarget("TimelineP95", "home", 500, "home timeline p95"),
    LatencyTarget("PostTweetP95", "create_tweet", 500, "post tweet p95"),
    LatencyTarget("SearchP95", "search_tweets", 300, "search p95"),
)
WS_CONNECT_SUCCESS_MIN = 95
CACHE_HIT_RATE_MIN = 70
ITERATOR_AGE_MAX_MS = 60_000
OFFSET_LAG_MAX = 10_000
ERRORS_MAX = 5


def route_for(operation: str) -> wiring.Route:
    for _, route in wiring.all_routes():
        if route.operation == operation:
            return route
    raise KeyError(f"no route with operation {operation!r} in chirp.wiring")


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
        self.alarms: dict[str, cw.Alarm] = {}
        rest_name = api.rest.api.rest_api_name
        stage = api.rest.stage.stage_name

        # -- latency p95 of the routes the design names ----------------------------------------------------------
        latency: list[cw.IMetric] = []
        for target in LATENCY_TARGETS:
            route = route_for(target.operation)
            metric = cw.Metric(
                namespace="AWS/ApiGateway",
                metric_name="Latency",
                dimensions_map={"ApiName": rest_name, "Stage": stage, "Resource": route.path, "Method": route.method},
                statistic="p95",
                period=PERIOD,
                label=target.label,
            )
            latency.append(metric)
            self._alarm(target.alarm_id, metric, target.threshold_ms, f"{target.label} above {target.threshold_ms} ms")

        # -- WebSocket connect success rate -----------------------------------------------------------------------
        ws_dims = {"ApiId": api.ws_api.api_id, "Stage": api.ws_stage.stage_name}
        connect_dims = {**ws_dims, "Route": "$connect"}

        def ws_metric(name: str, dims: dict[str, str]) -> cw.Metric:
            return cw.Metric(
                namespace="AWS/ApiGateway", metric_name=name, dimensions_map=dims, statistic="Sum", period=PERIOD
            )

        connect_success = cw.MathExpression(
            expression="IF(attempts > 0, 100 * (1 - (client + integration + execution) / attempts), 100)",
            using_metrics={
                "attempts": ws_metric("ConnectCount", ws_dims),
                "client": ws_metric("ClientError", connect_dims),
                "integration": ws_metric("IntegrationError", connect_dims),
                "execution": ws_metric("ExecutionError", connect_dims),
            },
            label="WebSocket connect success %",
            period=PERIOD,
        )
        self._alarm(
            "WebSocketConnectSuccess",
            connect_success,
            WS_CONNECT_SUCCESS_MIN,
            f"WebSocket connect success below {WS_CONNECT_SUCCESS_MIN}%",
            comparison=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=5,
        )

        # -- cache hit rate ---------------------------------------------------------------------------------------
        cache_hit: cw.MathExpression | None = None
        if settings.is_aws:
            members = data.cache_member_ids
            metrics: dict[str, cw.IMetric] = {}
            for i, member in enumerate(members):
                for name, kind in (("CacheHits", "h"), ("CacheMisses", "m")):
                    metrics[f"{kind}{i}"] = cw.Metric(
                        namespace="AWS/ElastiCache",
                        metric_name=name,
                        dimensions_map={"CacheClusterId": member},
                        statistic="Sum",
                        period=Duration.minutes(5),
                    )
            hits = " + ".join(f"h{i}" for i in range(len(members)))
            misses = " + ".join(f"m{i}" for i in range(len(members)))
            cache_hit = cw.MathExpression(
                expression=f"IF(({hits}) + ({misses}) > 0, 100 * ({hits}) / (({hits}) + ({misses})), 100)",
                using_metrics=metrics,
                label="cache hit rate %",
                period=Duration.minutes(5),
            )
            self._alarm(
                "CacheHitRate",
                cache_hit,
                CACHE_HIT_RATE_MIN,
                f"Redis cache hit rate below {CACHE_HIT_RATE_MIN}%",
                comparison=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=3,
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
        dlq_depth = stream.dead_letters.metric_approximate_number_of_messages_visible(
            period=PERIOD, statistic="Maximum", label="dead letters"
        )
        self._alarm(
            "DeadLetters", dlq_depth, 0, "stream batches were sent to the dead-letter queue", evaluation_periods=1
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
                left=latency,
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
            cw.GraphWidget(
                title="WebSocket connect success %",
                left=[connect_success],
                left_annotations=[cw.HorizontalAnnotation(value=WS_CONNECT_SUCCESS_MIN, label="95%")],
                width=8,
            ),
            cw.GraphWidget(
                title="Cache hit rate %",
                left=[cache_hit] if cache_hit is not None else [],
                left_annotations=[cw.HorizontalAnnotation(value=CACHE_HIT_RATE_MIN, label="70%")],
                width=8,
            ),
            cw.GraphWidget(title="Dead letters", left=[dlq_depth], width=8),
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

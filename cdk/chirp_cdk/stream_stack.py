"""The event stream between the write path and its consumers: a Kinesis data stream (on-demand) or, with context
stream=msk, an MSK Serverless cluster; and the S3 bucket that keeps, whole, the records a consumer gave up on.

Nothing lost on AWS, and why the mappings are set as they are:
- Every failed invocation counts toward MaximumRetryAttempts, a store outage included: with a small count an
  outage of minutes drops records. So retries are unbounded (-1) and a failed batch is retried until its records
  are max_record_age_s old (the wiring table: 6 days): an outage is waited out, as the local runtime does (the
  handlers are idempotent).
- Unbounded retries would let one poison record (bad data, a bug) block its shard until it expires. It does not
  get there: the consumer edge (chirp.stream_consumer) tries a failing record a few times within the invocation
  and then quarantines it whole into the dead-letter bucket, in the format Lambda uses, and moves on. Bisection
  and ReportBatchItemFailures still isolate what the edge could not keep (the quarantine write failing, an
  invocation that dies on a record); such a record waits like an outage, and the IteratorAge alarm says so.
- A batch that outlived the longest outage planned for is discarded by Lambda to the on-failure destination. That
  is an S3 bucket because only S3 destinations carry the invocation record with the whole batch payload (every
  record's partition key, sequence number and data); SQS and SNS get shard pointers that die with the retention.
  The records' age limit stays below the stream's retention so Lambda hands them over before Kinesis trims them.
- Starting position TRIM_HORIZON: a consumer that joins later reads everything the stream still holds.
`chirp dlq list|replay --bucket <DeadLetterBucket>` reads both kinds of letters and puts the records back."""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import CfnOutput, Duration, Stack, custom_resources
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_msk as msk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from chirp.wiring import StreamTrigger, stream_consumers
from chirp_cdk.network_stack import NetworkStack
from chirp_cdk.settings import DeploymentSettings

TOPIC = "chirp-events"
# The longest store outage planned for: 6 days (a dependency down over a long weekend, plus the time to notice and
# repair it). Kinesis keeps records 7 days: retention between 24 h and 7 days is billed as extended retention (per
# GB stored on an on-demand stream; $0.020 per shard-hour when provisioned, bench/capacity/prices.yaml), beyond
# 7 days the long-term tier applies, so 7 days is the most that stays in the cheaper tier. The mappings give a batch
# up at 6 days (the wiring table's max_record_age_s; Lambda allows at most 7), a day before the stream would trim
# it. (MSK: the topic's retention.ms, 7 days by default on MSK Serverless, plays the same part.)
STREAM_RETENTION = Duration.days(7)
KAFKA_MAX_RETRY_ATTEMPTS = 10_000  # the most a Kafka event source mapping accepts (-1 means 10 with a destination)
REPLAYED_TAG = "chirp-replayed"  # set by `chirp dlq replay` (chirp.adapters.s3_dead_letters)


@jsii.implements(lambda_.IEventSourceDlq)
class _OnFailureBucket:
    """Lambda's S3 on-failure destination; its permissions come from ``StreamStack.dead_letter_writers``."""

    def __init__(self, bucket: s3.IBucket) -> None:
        self._bucket = bucket

    def bind(self, _target: lambda_.IEventSourceMapping, _handler: lambda_.IFunction) -> lambda_.DlqDestinationConfig:
        return lambda_.DlqDestinationConfig(destination=self._bucket.bucket_arn)


class StreamStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        network: NetworkStack | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.kind = settings.stream
        self.enhanced_fan_out = settings.enhanced_fan_out
        for spec in stream_consumers():  # the wiring table's ages must fit the retention chosen here
            assert spec.stream is not None
            if not 0 < spec.stream.max_record_age_s < STREAM_RETENTION.to_seconds():
                raise ValueError(f"{spec.name}: max_record_age_s must be below the stream retention")
        # One bucket for every consumer: Lambda's invocation records (aws/lambda/...) and the consumers' quarantine
        # (quarantine/<consumer>/...). Unreplayed letters are kept until someone replays them; replayed ones (tagged
        # by `chirp dlq replay`) expire after 30 days. Request metrics feed the alarm on any new letter.
        self.dead_letters = s3.Bucket(
            self,
            "DeadLetters",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,  # an overwrite or delete by mistake keeps the letter for 30 days
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ReplayedLetters", tag_filters={REPLAYED_TAG: "true"}, expiration=Duration.days(30)
                ),
                s3.LifecycleRule(
                    id="OldVersions",
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
            ],
            metrics=[s3.BucketMetrics(id="EntireBucket")],
        )
        CfnOutput(self, "DeadLetterBucket", value=self.dead_letters.bucket_name, description="chirp dlq --bucket")
        # What a consumer's role needs for both kinds of letters, and nothing more (CDK's S3OnFailureDestination
        # would grant read-write, delete included): Lambda documents s3:PutObject and s3:ListBucket for its S3
        # destination; the consumer edge puts quarantine objects. Reading and replaying is the operator's.
        self.dead_letter_writers = iam.ManagedPolicy(
            self,
            "DeadLetterWriters",
            description="Chirp stream consumers: write dead letters (on-failure destination and quarantine)",
            statements=[
                iam.PolicyStatement(
                    actions=["s3:PutObject"],
                    resources=[self.dead_letters.arn_for_objects(p) for p in ("aws/lambda/*", "quarantine/*")],
                ),
                iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.dead_letters.bucket_arn]),
            ],
        )
        self.kinesis_stream: kinesis.Stream | None = None
        self.msk_cluster: msk.CfnServerlessCluster | None = None
        if settings.stream == "kinesis":
            self.kinesis_stream = kinesis.Stream(
                self,
                "Events",
                stream_mode=kinesis.StreamMode.ON_DEMAND,
                encryption=kinesis.StreamEncryption.MANAGED,
                retention_period=STREAM_RETENTION,
            )
            self.function_environment = {
                "CHIRP_STREAM_KIND": "kinesis",
                "CHIRP_STREAM_NAME": self.kinesis_stream.stream_name,
            }
        else:
            if network is None:
                raise ValueError("MSK Serverless needs the VPC (backend=aws)")
            self._msk(network)

    def _msk(self, network: NetworkStack) -> None:
        self.msk_cluster = msk.CfnServerlessCluster(
            self,
            "Events",
            cluster_name=f"{self.stack_name.lower()}-events",
            client_authentication=msk.CfnServerlessCluster.ClientAuthenticationProperty(
                sasl=msk.CfnServerlessCluster.SaslProperty(
                    iam=msk.CfnServerlessCluster.IamProperty(enabled=True),
                )
            ),
            vpc_configs=[
                msk.CfnServerlessCluster.VpcConfigProperty(
                    subnet_ids=network.vpc.select_subnets(subnet_group_name="private").subnet_ids,
                    security_groups=[network.stream_sg.security_group_id],
                )
            ],
        )
        cluster_arn = self.msk_cluster.attr_arn
        # The bootstrap brokers are not a CloudFormation attribute: ask the Kafka API once at deploy time.
        brokers = custom_resources.AwsCustomResource(
            self,
            "BootstrapBrokers",
            on_update=custom_resources.AwsSdkCall(
                service="Kafka",
                action="getBootstrapBrokers",
                parameters={"ClusterArn": cluster_arn},
                physical_resource_id=custom_resources.PhysicalResourceId.of(cluster_arn),
                output_paths=["BootstrapBrokerStringSaslIam"],
            ),
            policy=custom_resources.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["kafka:GetBootstrapBrokers"], resources=[cluster_arn])]
            ),
            install_latest_aws_sdk=False,
        )
        # Topic and group ARNs carry the cluster's uuid; the cluster name (ours, fixed) scopes them instead.
        name = self.msk_cluster.cluster_name
        self.msk_arns = {
            "cluster": self.format_arn(service="kafka", resource="cluster", resource_name=f"{name}/*"),
            "topic": self.format_arn(service="kafka", resource="topic", resource_name=f"{name}/*/{TOPIC}"),
            "group": self.format_arn(service="kafka", resource="group", resource_name=f"{name}/*/chirp-*"),
        }
        arns = self.msk_arns
        self.producer_policy = iam.ManagedPolicy(
            self,
            "ProducerAccess",
            description="Chirp functions that publish events to MSK",
            statements=[
                iam.PolicyStatement(
                    actions=["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"], resources=[arns["cluster"]]
                ),
                iam.PolicyStatement(
                    actions=["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData", "kafka-cluster:CreateTopic"],
                    resources=[arns["topic"]],
                ),
            ],
        )
        self.consumer_policy = iam.ManagedPolicy(
            self,
            "ConsumerAccess",
            description="Chirp stream consumers reading MSK through their event source mappings",
            statements=[
                iam.PolicyStatement(
                    actions=["kafka-cluster:Connect", "kafka-cluster:DescribeClusterDynamicConfiguration"],
                    resources=[arns["cluster"]],
                ),
                iam.PolicyStatement(
                    actions=["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"], resources=[arns["topic"]]
                ),
                iam.PolicyStatement(
                    actions=["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"], resources=[arns["group"]]
                ),
            ],
        )
        self.function_environment = {
            "CHIRP_STREAM_KIND": "msk",
            "CHIRP_STREAM_NAME": TOPIC,
            "CHIRP_KAFKA_BOOTSTRAP": brokers.get_response_field("BootstrapBrokerStringSaslIam"),
        }

    def _kinesis_source(
        self, fn: lambda_.Function, trigger: StreamTrigger, common: dict[str, Any]
    ) -> lambda_.IEventSource:
        """A shard gives 2 MB/s and 5 GetRecords calls/s to all its standard readers together: four consumers
        polling each shard once a second already share that limit, and each waits its turn. The consumers users
        wait on (the wiring table's enhanced_fan_out: fan-out and push of new tweets, notifications) get a
        dedicated enhanced fan-out consumer: their own 2 MB/s per shard, records pushed over HTTP/2 (~70 ms instead
        of up to a second), for $0.015 per consumer-shard-hour and $0.013 per GiB read (bench/capacity/prices.yaml).
        The indexer (searchable within ~2 s is the target) and the trender (a window of minutes) tolerate a second
        of delay and share the stream's standard throughput, as does any consumer the wiring table does not flag.
        The emulator deploy (enhanced_fan_out=false) has no AWS::Kinesis::StreamConsumer, so there every consumer
        reads the stream directly."""
        assert self.kinesis_stream is not None
        options = {"parallelization_factor": trigger.parallelization_factor, **common}
        if trigger.enhanced_fan_out and self.enhanced_fan_out:
            consumer = kinesis.StreamConsumer(
                self, f"{fn.node.id}Consumer", stream=self.kinesis_stream, stream_consumer_name=f"chirp-{fn.node.id}"
            )
            return sources.KinesisConsumerEventSource(consumer, **options)
        return sources.KinesisEventSource(self.kinesis_stream, **options)

    def dead_letter_writes(self) -> cw.Metric:
        """New dead letters per minute (S3 request metrics: Lambda's and the consumers' PUTs)."""
        return cw.Metric(
            namespace="AWS/S3",
            metric_name="PutRequests",
            dimensions_map={"BucketName": self.dead_letters.bucket_name, "FilterId": "EntireBucket"},
            statistic="Sum",
            period=Duration.minutes(1),
            label="dead letters written",
        )

    # -- what the functions get --------------------------------------------------------------------------------
    def grant_produce(self, fn: lambda_.Function) -> None:
        if self.kinesis_stream is not None:
            self.kinesis_stream.grant_write(fn)
            return
        assert fn.role is not None
        fn.role.add_managed_policy(self.producer_policy)

    def event_source(self, fn: lambda_.Function, trigger: StreamTrigger) -> lambda_.IEventSource:
        """The event source mapping for a consumer, configured from its wiring trigger (see the module's note)."""
        assert fn.role is not None
        fn.role.add_managed_policy(self.dead_letter_writers)
        fn.add_environment("CHIRP_DEAD_LETTER_BUCKET", self.dead_letters.bucket_name)
        common: dict[str, Any] = {
            # From the oldest retained record: a consumer created after events were published (a new function, or
            # a mapping re-created) must not skip them; the handlers are idempotent, so re-reading is harmless.
            "starting_position": lambda_.StartingPosition.TRIM_HORIZON,
            "batch_size": trigger.batch_size,
            "max_batching_window": Duration.seconds(trigger.max_batching_window_s),
            "bisect_batch_on_error": trigger.bisect_on_error,
            # -1: retried until the records are max_record_age_s old, however long a store outage lasts.
            "retry_attempts": trigger.max_retries,
            "max_record_age": Duration.seconds(trigger.max_record_age_s),
            "report_batch_item_failures": True,
            # S3, not SQS: the invocation record there carries the whole batch, not shard pointers.
            "on_failure": _OnFailureBucket(self.dead_letters),
        }
        if trigger.event_types:  # other records never invoke it (nor are billed as invocations)
            payload = "data" if self.kinesis_stream is not None else "value"
            rule = {payload: {"type": lambda_.FilterRule.or_(*trigger.event_types)}}
            common["filters"] = [lambda_.FilterCriteria.filter(rule)]
        if self.kinesis_stream is not None:
            return self._kinesis_source(fn, trigger, common)
        assert self.msk_cluster is not None and fn.role is not None
        fn.role.add_managed_policy(self.consumer_policy)
        kafka = dict(common)
        if trigger.max_retries < 0:
            # A Kafka mapping with unbounded retries (-1) AND an on-failure destination is capped at 10 retries by
            # Lambda, unlike Kinesis: a store outage of minutes would send batches to the bucket. The largest count
            # it takes keeps the Kinesis behaviour: retried until max_record_age_s.
            kafka["retry_attempts"] = KAFKA_MAX_RETRY_ATTEMPTS
        return sources.ManagedKafkaEventSource(
            cluster_arn=self.msk_cluster.attr_arn,
            topic=TOPIC,
            consumer_group_id=f"chirp-{fn.node.id.lower()}",
            # Retries, bisection and record age need provisioned pollers on Kafka event sources.
            provisioned_poller_config=sources.ProvisionedPollerConfig(minimum_pollers=1, maximum_pollers=10),
            **kafka,
        )

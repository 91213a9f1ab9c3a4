"""The event stream between the write path and its consumers: a Kinesis data stream (on-demand) or, with context
stream=msk, an MSK Serverless cluster; and the SQS queue that receives the batches a consumer gave up on."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack, custom_resources
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_msk as msk
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chirp.wiring import StreamTrigger
from chirp_cdk.network_stack import NetworkStack
from chirp_cdk.settings import DeploymentSettings

TOPIC = "chirp-events"


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
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        self.kinesis_stream: kinesis.Stream | None = None
        self.msk_cluster: msk.CfnServerlessCluster | None = None
        if settings.stream == "kinesis":
            self.kinesis_stream = kinesis.Stream(
                self,
                "Events",
                stream_mode=kinesis.StreamMode.ON_DEMAND,
                encryption=kinesis.StreamEncryption.MANAGED,
                retention_period=Duration.hours(24),
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

    # -- what the functions get --------------------------------------------------------------------------------
    def grant_produce(self, fn: lambda_.Function) -> None:
        if self.kinesis_stream is not None:
            self.kinesis_stream.grant_write(fn)
            return
        assert fn.role is not None
        fn.role.add_managed_policy(self.producer_policy)

    def event_source(self, fn: lambda_.Function, trigger: StreamTrigger) -> lambda_.IEventSource:
        """The event source mapping for a consumer, configured from its wiring trigger."""
        common: dict[str, Any] = {
            # From the oldest retained record: a consumer created after events were published (a new function, or
            # a mapping re-created) must not skip them; the handlers are idempotent, so re-reading is harmless.
            "starting_position": lambda_.StartingPosition.TRIM_HORIZON,
            "batch_size": trigger.batch_size,
            "max_batching_window": Duration.seconds(trigger.max_batching_window_s),
            "bisect_batch_on_error": trigger.bisect_on_error,
            "retry_attempts": trigger.max_retries,
            "max_record_age": Duration.seconds(trigger.max_record_age_s),
            "report_batch_item_failures": True,
            "on_failure": sources.SqsDlq(self.dead_letters),
        }
        if self.kinesis_stream is not None:
            return sources.KinesisEventSource(
                self.kinesis_stream, parallelization_factor=trigger.parallelization_factor, **common
            )
        assert self.msk_cluster is not None and fn.role is not None
        fn.role.add_managed_policy(self.consumer_policy)
        return sources.ManagedKafkaEventSource(
            cluster_arn=self.msk_cluster.attr_arn,
            topic=TOPIC,
            consumer_group_id=f"chirp-{fn.node.id.lower()}",
            # Retries, bisection and record age need provisioned pollers on Kafka event sources.
            provisioned_poller_config=sources.ProvisionedPollerConfig(minimum_pollers=1, maximum_pollers=10),
            **common,
        )

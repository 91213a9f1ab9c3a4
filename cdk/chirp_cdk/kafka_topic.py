"""The MSK Serverless topic the stream's producers and event source mappings use, created at deploy time by a
custom resource (``kafka_topic_handler``) that runs in the VPC with the product's layers and the producers' IAM
policy (kafka-cluster:CreateTopic on the one topic ARN)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CustomResource, Duration, custom_resources
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from chirp_cdk.functions import ARCHITECTURE, RUNTIME
from chirp_cdk.network_stack import NetworkStack
from chirp_cdk.stream_stack import STREAM_RETENTION, TOPIC, StreamStack

HANDLER_DIR = Path(__file__).resolve().parent / "kafka_topic_handler"
# Lambda's MSK pollers scale with partitions (one poller per partition at most): the Kinesis shard count's part.
PARTITIONS = 12


class KafkaTopic(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stream: StreamStack,
        network: NetworkStack,
        layers: list[lambda_.ILayerVersion],
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = lambda_.Function(
            self,
            "Handler",
            description="Creates Chirp's MSK topic (custom resource)",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler="index.on_event",
            code=lambda_.Code.from_asset(str(HANDLER_DIR), exclude=["__pycache__", "*.pyc"]),
            layers=layers,
            timeout=Duration.minutes(2),
            environment={"CHIRP_BACKEND": "aws", **stream.function_environment},
            vpc=network.vpc,
            vpc_subnets=network.private_subnets,
            security_groups=[network.functions_sg],
        )
        assert self.handler.role is not None
        self.handler.role.add_managed_policy(stream.producer_policy)
        provider = custom_resources.Provider(self, "Provider", on_event_handler=self.handler)
        self.resource = CustomResource(
            self,
            "Topic",
            service_token=provider.service_token,
            properties={
                "Topic": TOPIC,
                "Partitions": PARTITIONS,
                "RetentionMs": int(STREAM_RETENTION.to_milliseconds()),
            },
        )

"""CloudFormation custom resource: Chirp's event topic on MSK Serverless, created by the deployment. MSK Serverless
has no topic resource and no CreateTopic API, so a function in the VPC creates it with Kafka's admin API over IAM
auth, through the product's own container (the same call the local provisioning makes). Deleting the stack keeps
the topic: its events are data."""

from __future__ import annotations

from typing import Any

from chirp.config import load_settings
from chirp.container import ensure_kafka_topic, kafka_config


def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    props = event["ResourceProperties"]
    if event["RequestType"] in ("Create", "Update"):
        ensure_kafka_topic(
            kafka_config(load_settings()),
            str(props["Topic"]),
            partitions=int(props["Partitions"]),
            retention_ms=int(props["RetentionMs"]),
        )
    return {"PhysicalResourceId": str(props["Topic"])}

"""The event stream on Kafka (Amazon MSK, or the Kafka stand-in): one record per event, keyed by the event's partition
key (the author, as the Kinesis partition key: one author's events stay ordered on one partition). The producer is
idempotent with acks=all, and ``publish`` waits until every record is acknowledged: a request never returns before
its events are durable. Only the producer: reading partitions is the event source mapping's job (Lambda's on AWS;
``chirp.local.kafka_source`` in the local runtime).

Authentication: ``iam`` (MSK IAM: SASL/OAUTHBEARER with a SigV4-presigned token from the function's role, the only
mechanism MSK Serverless offers) or ``scram`` (SASL/SCRAM-SHA-512 with a {username, password} secret, MSK
provisioned and the stand-in). Always over TLS."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any, Literal

from chirp.model import Event
from chirp.ports import StoreUnavailable, raw_bytes

# librdkafka's murmur2 is the Java client's default partitioner: a key lands on the same partition whichever client
# (or tool) produced it.
PARTITIONER = "murmur2_random"


def iam_token(region: str) -> tuple[str, float]:
    """An MSK IAM OAUTHBEARER token (a presigned kafka-cluster:Connect URL) and its expiry in seconds since the
    epoch, as librdkafka's oauth_cb wants it."""
    from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

    token, expiry_ms = MSKAuthTokenProvider.generate_auth_token(region)
    return str(token), int(expiry_ms) / 1000


def client_config(
    bootstrap: str,
    *,
    auth: Literal["iam", "scram"],
    region: str,
    username: str = "",
    password: str = "",
    ca_file: str | None = None,
    timeout_s: float = 3.0,
) -> dict[str, Any]:
    """librdkafka settings every Chirp Kafka client shares (producer, the local mapping's reader, admin)."""
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_SSL",
        "socket.timeout.ms": int(timeout_s * 1000),
        "client.id": "chirp",
    }
    if ca_file:
        config["ssl.ca.location"] = ca_file
    if auth == "iam":
        config["sasl.mechanism"] = "OAUTHBEARER"
        config["oauth_cb"] = lambda _config: iam_token(region)
    else:
        if not (username and password):
            raise ValueError("Kafka SCRAM authentication needs a username and a password")
        config.update({"sasl.mechanism": "SCRAM-SHA-512", "sasl.username": username, "sasl.password": password})
    return config


def ensure_topic(config: dict[str, Any], topic: str, *, partitions: int, retention_ms: int) -> None:
    """Create the topic if it does not exist (the deployment's job: on AWS the CDK app's custom resource, locally the
    provisioning step's, as the stand-in's administrator). Replication: the cluster's default (-1): MSK Serverless
    replicates three ways on its own, the one-broker stand-in keeps one copy."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient(config)
    if topic in admin.list_topics(timeout=10).topics:
        return
    future = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=-1, config={"retention.ms": str(retention_ms)})]
    )[topic]
    try:
        future.result(timeout=15)
    except KafkaException as exc:
        if "TOPIC_ALREADY_EXISTS" not in str(exc):
            raise


class KafkaEventStream:
    def __init__(self, config: dict[str, Any], topic: str, *, timeout_s: float = 3.0) -> None:
        from confluent_kafka import Producer

        self._producer = Producer(
            {
                **config,
                "enable.idempotence": True,  # retries never duplicate or reorder a partition's records
                "acks": "all",
                "partitioner": PARTITIONER,
                "linger.ms": 0,  # publish waits for the acknowledgement anyway: batching only adds latency
                "delivery.timeout.ms": int(timeout_s * 1000),
                "message.timeout.ms": int(timeout_s * 1000),
            }
        )
        self._topic = topic
        self._timeout_s = timeout_s
        self._lock = threading.Lock()  # one flush at a time: flush waits for every record in flight
        self._listeners: list[Callable[[], None]] = []
        self._warm_up()

    def _warm_up(self) -> None:
        """Connect and learn the topic's partitions now (a cold start): left to the first publish, librdkafka's lazy
        metadata and producer-id requests made it take 0.5-1.8 s on the stand-in, against ~0.08 s here."""
        from confluent_kafka import KafkaException

        with contextlib.suppress(KafkaException):  # unreachable now: the first publish reports it (StoreUnavailable)
            self._producer.list_topics(self._topic, timeout=self._timeout_s)

    def add_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def publish(self, events: Sequence[Event]) -> None:
        self._send([(e.partition_key, e.model_dump_json().encode()) for e in events])
        for listener in list(self._listeners):
            listener()

    def publish_raw(self, partition_key: str, data: str) -> None:
        """Put one record back exactly as it was (dead-letter replay)."""
        self._send([(partition_key, raw_bytes(data))])

    def _send(self, records: list[tuple[str, bytes]]) -> None:
        from confluent_kafka import KafkaError, KafkaException

        errors: list[str] = []

        def delivered(error: KafkaError | None, _message: Any) -> None:
            if error is not None:
                errors.append(str(error))

        with self._lock:
            try:
                for key, value in records:
                    self._producer.produce(self._topic, value=value, key=key.encode(), on_delivery=delivered)
                left = self._producer.flush(self._timeout_s)
            except (KafkaException, BufferError) as exc:
                self._producer.flush(self._timeout_s)  # settle what was queued before failing
                raise StoreUnavailable(f"kafka: {exc}") from exc
        if left or errors:
            raise StoreUnavailable(f"kafka: {len(errors)} record(s) failed, {left} unacknowledged: {errors[:3]}")

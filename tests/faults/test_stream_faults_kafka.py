"""The stream fault tests (test_stream_faults.py) on the MSK variant: the same tests, the same assertions, with the
runtime's stream on the Kafka stand-in instead of Kinesis (its own fault servers: the Kinesis set's stay untouched).
Crafted records go onto the topic with a Kafka producer keyed like Chirp's (murmur2 partitioner: the author's
partition); the mappings' positions are the consumer groups' committed offsets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from faults.faultkit import FaultServerSet
from faults.test_stream_faults import (
    CONSUMERS,
    test_binary_poison_record_does_not_block_its_shard,
    test_chirp_dlq_lists_and_replays_the_servers_runtime_dead_letters,
    test_consumer_crash_mid_batch_redelivers_without_loss_or_double_counts,
    test_duplicate_delivery_counts_once,
    test_out_of_order_delivery_does_not_resurrect_a_deleted_tweet,
    test_poison_record_is_dead_lettered_intact_and_the_shard_moves_on,
)

from chirp.local.servers.harness import ALL_SERVERS, Endpoint, kafka_config
from chirp.local.servers_env import servers_environment
from support.runtime import LocalStack

__all__ = [  # the Kinesis module's tests, collected here again with this module's fixtures
    "test_binary_poison_record_does_not_block_its_shard",
    "test_chirp_dlq_lists_and_replays_the_servers_runtime_dead_letters",
    "test_consumer_crash_mid_batch_redelivers_without_loss_or_double_counts",
    "test_duplicate_delivery_counts_once",
    "test_out_of_order_delivery_does_not_resurrect_a_deleted_tweet",
    "test_poison_record_is_dead_lettered_intact_and_the_shard_moves_on",
]

NAMESPACE = "faultskafka"


@dataclass
class KafkaTap:
    """The runtime's Kafka topic on the stand-in (as the app's user), for crafted records and reading what is there."""

    endpoint: Endpoint
    stream_name: str

    def _config(self, **extra: Any) -> dict[str, Any]:
        return kafka_config(self.endpoint, **extra)

    def put(self, data: bytes, partition_key: str) -> str:
        settings = {"enable.idempotence": True, "acks": "all", "partitioner": "murmur2_random"}  # as Chirp's producer
        producer = Producer(self._config(**settings))
        delivered: list[Any] = []
        producer.produce(
            self.stream_name, value=data, key=partition_key.encode(), on_delivery=lambda e, m: delivered.append((e, m))
        )
        producer.flush(10)
        [(error, message)] = delivered
        assert error is None, error
        return str(message.offset())

    def _partitions(self) -> list[int]:
        topics = AdminClient(self._config()).list_topics(self.stream_name, timeout=10).topics
        return sorted(topics[self.stream_name].partitions)

    def sequenced(self) -> Iterator[tuple[int, int, str, bytes]]:
        """Every record as (partition, offset + 1 (the mapping's position after it), key, value)."""
        reader = Consumer(self._config(**{"group.id": "chirp-fault-tap", "enable.auto.commit": False}))
        try:
            for partition in self._partitions():
                low, high = reader.get_watermark_offsets(TopicPartition(self.stream_name, partition), timeout=10)
                if high <= low:
                    continue
                reader.assign([TopicPartition(self.stream_name, partition, low)])
                got: list[Any] = []
                for _ in range(100):
                    got += [m for m in reader.consume(1000, timeout=0.5) if m.error() is None]
                    if len(got) >= high - low:
                        break
                for m in got:
                    yield partition, m.offset() + 1, (m.key() or b"").decode(), m.value() or b""
        finally:
            reader.close()

    def records(self) -> Iterator[tuple[str, bytes]]:
        for _, _, key, data in self.sequenced():
            yield key, data

    def find(self, *needles: str) -> list[tuple[str, bytes]]:
        return [(key, data) for key, data in self.records() if all(n.encode() in data for n in needles)]

    def checkpoints(self, data_dir: Path) -> dict[tuple[str, int], int]:
        """Each consumer's committed offset per partition (its group chirp-<consumer>): the next offset to read, i.e.
        the position after the last record it acknowledged."""
        from confluent_kafka import ConsumerGroupTopicPartitions

        admin = AdminClient(self._config())
        partitions = self._partitions()
        found: dict[tuple[str, int], int] = {}
        for consumer in sorted(CONSUMERS):
            request = ConsumerGroupTopicPartitions(
                f"chirp-{consumer}", [TopicPartition(self.stream_name, p) for p in partitions]
            )
            result = admin.list_consumer_group_offsets([request])[f"chirp-{consumer}"].result(timeout=10)
            for tp in result.topic_partitions:
                found[(consumer, tp.partition)] = max(int(tp.offset), 0)
        return found


@pytest.fixture(scope="module")
def fault_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultServerSet]:
    server_set = FaultServerSet(base_dir=tmp_path_factory.mktemp("fault-servers-kafka"))
    server_set.start([name for name in ALL_SERVERS if name != "kinesis"] + ["kafka"])
    try:
        yield server_set
    finally:
        server_set.stop()


@pytest.fixture(scope="module")
def fault_env(fault_servers: FaultServerSet) -> dict[str, str]:
    env = servers_environment(fault_servers.endpoints, namespace=NAMESPACE)
    assert env["CHIRP_STREAM_KIND"] == "msk"
    return env


@pytest.fixture(scope="module")
def fault_runtime(fault_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = LocalStack(tmp_path_factory.mktemp("fault-runtime-kafka") / "data", fault_env).start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def tap(fault_servers: FaultServerSet, fault_env: dict[str, str]) -> KafkaTap:
    return KafkaTap(fault_servers["kafka"], fault_env["CHIRP_STREAM_NAME"])

"""The local MSK event source mapping's side of the stream: the topic's partitions read as shards, each consumer's
position kept as the committed offset of its own consumer group (``chirp-<function>``, as a Lambda MSK mapping
keeps its group), committed only after the batch succeeded; dead letters in the same table as the other streams'.

Positions: the poller counts a shard from 1 and "after 0" means from the start, so a record's ``seq`` is its offset
+ 1, which is also the offset a consumer group commits after processing it (Kafka commits the next offset to read).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from chirp.config import Settings
from chirp.local import events
from chirp.local.event_source import MappingState
from chirp.ports import RETRIES_EXHAUSTED, StreamRecord, from_raw

READ_WAIT_S = 2.0  # how long one read waits for records the watermark says are there
RETRIABLE_ATTEMPTS = 8  # for the broker's transient answers (a group coordinator still loading): ~10 s


def group_id(consumer: str) -> str:
    return f"chirp-{consumer}"


class KafkaSource:
    """A ``StreamSource`` (chirp.local.poller) over a Kafka topic."""

    def __init__(self, config: dict[str, Any], topic: str, state: MappingState) -> None:
        from confluent_kafka import Consumer
        from confluent_kafka.admin import AdminClient

        self._config = config
        self._topic = topic
        self._state = state
        self._admin = AdminClient(config)
        partitions = self._admin.list_topics(topic, timeout=10).topics[topic].partitions
        if not partitions:
            raise ValueError(f"Kafka topic {topic!r} does not exist (provisioning creates it)")
        self.shards = len(partitions)
        reader = {
            **config,
            "group.id": "chirp-local-reader",  # never commits: positions live in each consumer's own group
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",  # a position the retention already removed: from the oldest record
            "fetch.wait.max.ms": 50,
        }
        self._readers = [Consumer(reader) for _ in partitions]
        self._locks = [threading.Lock() for _ in partitions]
        self._commit_lock = threading.Lock()

    def read(self, shard: int, *, after: int, limit: int) -> list[StreamRecord]:
        from confluent_kafka import TopicPartition

        with self._locks[shard]:
            reader = self._readers[shard]
            low, high = reader.get_watermark_offsets(TopicPartition(self._topic, shard), timeout=5, cached=False)
            start = max(after, low)
            if start >= high:
                return []
            reader.assign([TopicPartition(self._topic, shard, start)])
            wanted = min(limit, high - start)
            messages: list[Any] = []
            waited = 0.0
            while len(messages) < wanted and waited < READ_WAIT_S:
                for message in reader.consume(num_messages=wanted - len(messages), timeout=0.2):
                    if message.error() is None:
                        messages.append(message)
                waited += 0.2
            reader.unassign()
        return [
            StreamRecord(
                seq=m.offset() + 1,
                shard=shard,
                partition_key=(m.key() or b"").decode("utf-8", "replace"),
                data=from_raw(m.value() or b""),
                arrival_ms=m.timestamp()[1],
                sequence_number=str(m.offset()),
            )
            for m in messages
        ]

    def checkpoint(self, consumer: str, shard: int) -> int:
        """The committed offset of the consumer's group on this partition (0: nothing committed yet)."""
        from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition

        request = ConsumerGroupTopicPartitions(group_id(consumer), [TopicPartition(self._topic, shard)])
        for attempt in range(RETRIABLE_ATTEMPTS):
            try:
                result = self._admin.list_consumer_group_offsets([request])[group_id(consumer)].result(timeout=10)
                break
            except KafkaException as exc:
                if attempt == RETRIABLE_ATTEMPTS - 1 or not _transient(exc.args[0]):
                    raise
                time.sleep(min(0.2 * 2**attempt, 2.0))
        offset = int(result.topic_partitions[0].offset)
        return max(offset, 0)  # -1001: none committed

    def set_checkpoint(self, consumer: str, shard: int, seq: int) -> None:
        """Commit ``seq`` (the next offset to read) for the consumer's group; only forward."""
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

        with self._commit_lock:
            if self.checkpoint(consumer, shard) >= seq:
                return
            request = ConsumerGroupTopicPartitions(group_id(consumer), [TopicPartition(self._topic, shard, seq)])
            self._admin.alter_consumer_group_offsets([request])[group_id(consumer)].result(timeout=10)

    def dead_letter(self, consumer: str, record: StreamRecord, error: str, *, reason: str = RETRIES_EXHAUSTED) -> None:
        self._state.dead_letter(consumer, record, error, reason=reason)

    def lambda_event(self, records: list[StreamRecord], shard: int) -> tuple[dict[str, Any], dict[str, int]]:
        """The MSK event for a batch of one partition, and each record's failure identifier -> its ``seq``."""
        event = events.kafka_event(
            [
                events.KafkaInput(
                    topic=self._topic,
                    partition=shard,
                    offset=r.seq - 1,
                    key=r.partition_key.encode(),
                    value=r.data.encode("utf-8", "surrogateescape"),
                    timestamp_ms=r.arrival_ms,
                )
                for r in records
            ],
            bootstrap=str(self._config.get("bootstrap.servers", "")),
        )
        return event, {kafka_identifier(f"{self._topic}-{shard}", r.seq - 1): r.seq for r in records}

    def close(self) -> None:
        """Close every reader (idempotent): a librdkafka consumer left to the garbage collector can crash the process
        when its threads are torn down from another one."""
        readers, self._readers = self._readers, []
        for reader in readers:
            reader.close()


def _transient(error: Any) -> bool:
    """Answers worth asking again: librdkafka's retriable ones, and a group coordinator still loading or moving
    (a fresh broker's __consumer_offsets, which librdkafka does not flag as retriable in admin results)."""
    from confluent_kafka import KafkaError

    codes = (KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.COORDINATOR_NOT_AVAILABLE, KafkaError.NOT_COORDINATOR)
    return bool(error.retriable()) or error.code() in codes


def kafka_identifier(partition: str, offset: int) -> str:
    """A Kafka batch item failure ({"partition": "topic-partition", "offset": n}) as one comparable string."""
    return f"{partition}@{offset}"


def open_kafka_source(settings: Settings, state: MappingState) -> KafkaSource:
    from chirp.container import kafka_config

    return KafkaSource(kafka_config(settings), settings.stream_name, state)

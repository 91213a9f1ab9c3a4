"""The Kafka stand-in demands what an MSK cluster with SASL/SCRAM demands (TLS plus SCRAM-SHA-512, no plaintext, no
anonymous access), and Chirp's Kafka client settings (``chirp.adapters.kafka_stream.client_config``) meet it: the
app's user may produce and read, only the administrator may create topics; plaintext, TLS without SASL, a wrong
password or an untrusted certificate are refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from chirp.adapters.kafka_stream import KafkaEventStream, client_config
from chirp.container import ensure_kafka_topic
from chirp.local.servers.harness import Endpoint, ServerSet, kafka_config
from chirp.model import Event, EventType
from chirp.ports import StoreUnavailable


@pytest.fixture(scope="module")
def ep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    with ServerSet(tmp_path_factory.mktemp("kafka-auth")) as servers:
        yield servers.start(["kafka"])["kafka"]


def _app(ep: Endpoint, **changes: Any) -> dict[str, Any]:
    base = client_config(
        f"{ep.host}:{ep.port}",
        auth="scram",
        region="us-east-1",
        username=str(ep.extra["username"]),
        password=str(ep.extra["password"]),
        ca_file=str(ep.extra["ca_file"]),
    )
    return {**base, **changes}


def _errors_connecting(config: dict[str, Any]) -> list[KafkaError]:
    """Ask for metadata; every error the client reported on the way (none when it got in)."""
    errors: list[KafkaError] = []
    admin = AdminClient({**config, "error_cb": errors.append})
    try:
        admin.list_topics(timeout=4)
    except KafkaException as exc:
        errors.append(exc.args[0])
    admin.poll(0.5)  # serves the error callbacks (an authentication failure arrives there)
    return errors


def test_scram_over_tls_lets_the_app_produce(ep: Endpoint) -> None:
    assert ep.url.startswith("kafka://") and ep.extra["password"] not in ep.url
    topic = f"auth-{uuid.uuid4().hex[:8]}"
    ensure_kafka_topic(kafka_config(ep, admin=True), topic, partitions=1, retention_ms=60_000)
    assert _errors_connecting(_app(ep)) == []
    stream = KafkaEventStream(_app(ep), topic)
    stream.publish([Event.new(EventType.USER_CREATED, "1", {"user_id": 1})])  # acknowledged by acks=all


def test_the_app_user_cannot_create_topics(ep: Endpoint) -> None:
    admin = AdminClient(_app(ep))
    future = admin.create_topics([NewTopic(f"nope-{uuid.uuid4().hex[:8]}", num_partitions=1)])
    with pytest.raises(KafkaException) as caught:
        next(iter(future.values())).result(timeout=10)
    assert caught.value.args[0].code() in (
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    )


def test_a_wrong_password_is_refused(ep: Endpoint) -> None:
    errors = _errors_connecting(_app(ep, **{"sasl.password": str(ep.extra["password"]) + "x"}))
    assert any(e.code() == KafkaError._AUTHENTICATION for e in errors), errors


def test_plaintext_is_refused(ep: Endpoint) -> None:
    errors = _errors_connecting({"bootstrap.servers": f"{ep.host}:{ep.port}", "security.protocol": "PLAINTEXT"})
    assert errors and not any(e.code() == KafkaError.NO_ERROR for e in errors)


def test_tls_without_sasl_is_refused(ep: Endpoint) -> None:
    config = {
        "bootstrap.servers": f"{ep.host}:{ep.port}",
        "security.protocol": "SSL",
        "ssl.ca.location": str(ep.extra["ca_file"]),
    }
    assert _errors_connecting(config)


def test_an_untrusted_certificate_is_refused(ep: Endpoint, tmp_path: Path) -> None:
    from chirp.local.servers.tls import server_tls

    other_ca = server_tls(tmp_path).ca_file  # another CA: the broker's certificate does not chain to it
    errors = _errors_connecting(_app(ep, **{"ssl.ca.location": str(other_ca)}))
    assert any(e.code() in (KafkaError._SSL, KafkaError._TRANSPORT) for e in errors), errors


def test_the_controller_listener_refuses_anonymous_clients(ep: Endpoint) -> None:
    config = {"bootstrap.servers": f"{ep.host}:{ep.extra['controller_port']}", "security.protocol": "PLAINTEXT"}
    assert _errors_connecting(config)


def test_a_refused_producer_is_a_store_outage(ep: Endpoint) -> None:
    stream = KafkaEventStream(_app(ep, **{"sasl.password": "wrong"}), "any-topic", timeout_s=2.0)
    with pytest.raises(StoreUnavailable):
        stream.publish([Event.new(EventType.USER_CREATED, "1", {"user_id": 1})])

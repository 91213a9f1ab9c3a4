"""The MSK variant's settings and Kafka client settings: a Kafka stream without its brokers, or SCRAM without its
credentials secret, fails at cold start; IAM (the default) signs OAUTHBEARER tokens; every client speaks TLS."""

from __future__ import annotations

import pytest

from chirp.adapters.kafka_stream import client_config
from chirp.config import Settings


def test_msk_needs_its_brokers() -> None:
    with pytest.raises(ValueError, match="CHIRP_KAFKA_BOOTSTRAP"):
        Settings(backend="servers", stream_kind="msk")


def test_scram_needs_its_credentials_secret() -> None:
    with pytest.raises(ValueError, match="CHIRP_KAFKA_CREDENTIALS_SECRET_ARN"):
        Settings(backend="servers", stream_kind="msk", kafka_bootstrap="b:9096", kafka_auth="scram")


def test_iam_is_the_default_and_needs_no_secret() -> None:
    settings = Settings(backend="servers", stream_kind="msk", kafka_bootstrap="b-1:9098,b-2:9098")
    assert settings.kafka_auth == "iam" and not settings.kafka_credentials_secret_arn


def test_iam_clients_sign_oauthbearer_tokens_over_tls() -> None:
    config = client_config("b-1:9098", auth="iam", region="eu-west-1")
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "OAUTHBEARER"
    assert callable(config["oauth_cb"]) and "sasl.password" not in config


def test_scram_clients_need_both_credentials() -> None:
    config = client_config("b:9096", auth="scram", region="eu-west-1", username="chirp", password="pw", ca_file="/ca")
    assert (config["security.protocol"], config["sasl.mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert config["ssl.ca.location"] == "/ca"
    with pytest.raises(ValueError, match="username and a password"):
        client_config("b:9096", auth="scram", region="eu-west-1", username="chirp")

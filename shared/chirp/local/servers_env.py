"""The environment that points Chirp at the stand-in servers (chirp.local.servers.harness): one place that maps a
started server's endpoint to the CHIRP_* settings the production adapters read.

The stand-ins demand credentials as AWS does, and the functions get them the way deployed functions do: the
passwords are stored as secrets in the stand-in Secrets Manager (moto) and the environment names their ARNs, so the
servers backend runs the same secret-reading code path as a Lambda cold start."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol


class EndpointLike(Protocol):
    host: str
    port: int
    url: str
    extra: Mapping[str, Any]


def servers_environment(endpoints: Mapping[str, Any], *, namespace: str = "chirp", redis_db: int = 0) -> dict[str, str]:
    """``namespace`` and ``redis_db`` keep several stacks apart on the same servers (keyspace, stream, bucket, index
    prefix, Redis database, secret names). Secrets need the "moto" endpoint."""
    env = {
        "CHIRP_BACKEND": "servers",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
    secrets = _SecretStore(endpoints.get("moto"), namespace)
    if "moto" in endpoints:
        env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = endpoints["moto"].url
    ca_files = {str(ep.extra["ca_file"]) for ep in endpoints.values() if ep.extra.get("ca_file")}
    if len(ca_files) > 1:
        raise ValueError(f"the stand-ins use several CAs: {sorted(ca_files)}")
    if ca_files:
        env["CHIRP_TLS_CA_BUNDLE"] = ca_files.pop()
    if "redis" in endpoints:
        ep = endpoints["redis"]
        scheme = "rediss" if ep.extra.get("ca_file") else "redis"
        env["CHIRP_REDIS_URL"] = f"{scheme}://{ep.host}:{ep.port}/{redis_db}"
        if ep.extra.get("password"):
            env["CHIRP_REDIS_AUTH_SECRET_ARN"] = secrets.put("redis-auth", str(ep.extra["password"]))
    if "cassandra" in endpoints:
        ep = endpoints["cassandra"]
        env["CHIRP_CASSANDRA_HOSTS"] = ep.host
        env["CHIRP_CASSANDRA_PORT"] = str(ep.port)
        env["CHIRP_CASSANDRA_KEYSPACE"] = namespace
        if ep.extra.get("password"):
            credentials = {"username": ep.extra["username"], "password": ep.extra["password"]}
            env["CHIRP_CASSANDRA_CREDENTIALS_SECRET_ARN"] = secrets.put(
                "keyspaces-credentials", json.dumps(credentials)
            )
        if ep.extra.get("admin_password"):
            provision_keyspace(ep, namespace)
    if "gremlin" in endpoints:
        ep = endpoints["gremlin"]
        env["CHIRP_NEPTUNE_URL"] = ep.url
        if ep.url.startswith("wss://"):
            env["CHIRP_NEPTUNE_IAM_AUTH"] = "true"  # the stand-in's proxy checks SigV4 like Neptune
    if "opensearch" in endpoints:
        ep = endpoints["opensearch"]
        env["CHIRP_OPENSEARCH_URL"] = ep.url
        env["CHIRP_OPENSEARCH_INDEX_PREFIX"] = f"{namespace}-tweets"
        if ep.extra.get("password"):
            credentials = {"username": ep.extra["username"], "password": ep.extra["password"]}
            env["CHIRP_OPENSEARCH_AUTH"] = "basic"
            env["CHIRP_OPENSEARCH_CREDENTIALS_SECRET_ARN"] = secrets.put(
                "opensearch-credentials", json.dumps(credentials)
            )
    if "moto" in endpoints:
        env["CHIRP_S3_ENDPOINT_URL"] = endpoints["moto"].url
        env["CHIRP_MEDIA_BUCKET"] = f"{namespace}-media"
    if "kafka" in endpoints:  # started only when asked for: the MSK variant's stream (Kinesis otherwise)
        ep = endpoints["kafka"]
        env["CHIRP_STREAM_KIND"] = "msk"
        env["CHIRP_STREAM_NAME"] = f"{namespace}-events"
        env["CHIRP_KAFKA_BOOTSTRAP"] = f"{ep.host}:{ep.port}"
        env["CHIRP_KAFKA_AUTH"] = "scram"
        credentials = {"username": ep.extra["username"], "password": ep.extra["password"]}
        env["CHIRP_KAFKA_CREDENTIALS_SECRET_ARN"] = secrets.put("kafka-credentials", json.dumps(credentials))
        provision_topic(ep, env["CHIRP_STREAM_NAME"])
    elif "kinesis" in endpoints:
        env["CHIRP_KINESIS_ENDPOINT_URL"] = endpoints["kinesis"].url
        env["CHIRP_STREAM_NAME"] = f"{namespace}-events"
    return env


TOPIC_RETENTION_MS = 24 * 3600 * 1000  # as a Kinesis stream's default retention


def provision_topic(ep: Any, topic: str, partitions: int = 2) -> None:
    """The stream's topic on the Kafka stand-in, created as its administrator (the app's user may only produce and
    consume; on AWS the CDK app creates the topic). Partitions: the stream's shard count. Idempotent."""
    from chirp.container import ensure_kafka_topic

    config = {
        "bootstrap.servers": f"{ep.host}:{ep.port}",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": str(ep.extra["admin_username"]),
        "sasl.password": str(ep.extra["admin_password"]),
        "ssl.ca.location": str(ep.extra["ca_file"]),
    }
    ensure_kafka_topic(config, topic, partitions=partitions, retention_ms=TOPIC_RETENTION_MS)


def provision_keyspace(ep: Any, keyspace: str) -> None:
    """The keyspace and tables on the Cassandra stand-in, created as its administrator, with SELECT/MODIFY on that
    keyspace granted to the app's role (on AWS the CDK app creates the tables and IAM grants the data access).
    Idempotent."""
    from chirp.config import Settings
    from chirp.container import provision_records

    settings = Settings(
        backend="servers",
        cassandra_hosts=ep.host,
        cassandra_port=ep.port,
        cassandra_keyspace=keyspace,
        tls_ca_bundle=str(ep.extra["ca_file"]),
    )
    provision_records(
        settings,
        admin_username=str(ep.extra["admin_username"]),
        admin_password=str(ep.extra["admin_password"]),
        app_role=str(ep.extra["username"]),
    )


class _SecretStore:
    """Creates (or updates) secrets in the stand-in Secrets Manager and returns their ARNs."""

    def __init__(self, moto: Any, namespace: str) -> None:
        self._moto = moto
        self._namespace = namespace

    def put(self, name: str, value: str) -> str:
        if self._moto is None:
            raise ValueError("stand-in credentials need the moto server (its Secrets Manager holds them)")
        import boto3

        client = boto3.client(
            "secretsmanager",
            endpoint_url=self._moto.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        secret_id = f"{self._namespace}/{name}"
        try:
            return str(client.create_secret(Name=secret_id, SecretString=value)["ARN"])
        except client.exceptions.ResourceExistsException:
            return str(client.put_secret_value(SecretId=secret_id, SecretString=value)["ARN"])

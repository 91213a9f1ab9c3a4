"""Settings read from the environment (prefix CHIRP_, plus Lambda's AWS_REGION) and validated once, at cold start.

The one description of Chirp's configuration: the CDK app sets only variables declared here (a test synthesizes the
app and checks), and an unknown CHIRP_* variable is a start-up error, not a silent default. No network call happens
here: secrets named by *_SECRET_ARN settings are read by the container, once per cold start.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chirp.wiring import Resource, WritePath, function

ENV_PREFIX = "CHIRP_"
# Variables of the development tools (stand-in servers, fuzzing, the emulator deploy, the local runtime's paths):
# they share the prefix but configure tools, never the product.
TOOL_VARIABLE_PREFIXES = (
    "CHIRP_SERVERS",
    "CHIRP_FUZZ_",
    "CHIRP_MINISTACK_",
    "CHIRP_FAULT_",
    "CHIRP_FUNCTIONS_DIR",
    "CHIRP_WEB_ROOT",
)

# What a deployed function (backend "aws") must be given for each resource its wiring entry uses. A function that
# lacks one fails at cold start instead of falling back to a loopback default.
REQUIRED_FOR_RESOURCE: Mapping[Resource, tuple[str, ...]] = {
    "keyspaces": ("cassandra_hosts", "cassandra_keyspace"),
    "cache": ("redis_url", "redis_auth_secret_arn"),
    "graph": ("neptune_url",),
    "search": ("opensearch_url", "opensearch_auth"),
    "media": ("media_bucket",),
    "stream": ("stream_kind", "stream_name"),
    "ws_management": ("ws_management_url",),
    "jwt": ("jwt_secret_arn",),
}
# Settings that only make sense with a resource: a function given one without the resource carries a stray variable.
RESOURCE_SETTINGS: Mapping[Resource, tuple[str, ...]] = {
    "keyspaces": (
        "cassandra_hosts",
        "cassandra_port",
        "cassandra_keyspace",
        "cassandra_local_dc",
        "cassandra_sigv4",
        "cassandra_credentials_secret_arn",
        "cassandra_replication_factor",
    ),
    "cache": ("redis_url", "redis_cluster", "redis_auth_secret_arn"),
    "graph": ("neptune_url", "neptune_reader_url", "neptune_iam_auth"),
    "search": (
        "opensearch_url",
        "opensearch_index_prefix",
        "opensearch_auth",
        "opensearch_credentials_secret_arn",
        "opensearch_shards",
        "opensearch_replicas",
    ),
    "media": ("media_bucket", "s3_endpoint_url"),
    "stream": (
        "stream_kind",
        "stream_name",
        "kinesis_endpoint_url",
        "kafka_bootstrap",
        "kafka_auth",
        "kafka_credentials_secret_arn",
    ),
    "ws_management": ("ws_management_url",),
    "jwt": ("jwt_keys", "jwt_secret_arn"),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", populate_by_name=True)

    backend: Literal["embedded", "servers", "aws"] = "embedded"
    function: str = ""  # the wiring entry this process runs (set by the CDK app; empty: all of them, locally)
    data_dir: Path = Path(".chirp")
    worker_id: int | None = Field(default=None, ge=0, lt=1024)  # snowflake worker bits (read by chirp.ids at import)

    # Tokens. Keys are "kid:secret" pairs separated by commas; the first signs, all verify (rotation).
    jwt_keys: str = ""
    # Deployed: a Secrets Manager secret holding JSON {"kid", "secret"}, read by the container when jwt_keys is empty.
    jwt_secret_arn: str = ""
    token_ttl_s: int = Field(default=24 * 3600, gt=0)

    # Feed semantics
    celebrity_threshold: int = Field(default=100_000, gt=0)
    active_days: int = Field(default=30, gt=0)
    timeline_cap: int = Field(default=800, gt=0)
    fanout_page_size: int = Field(default=1000, gt=0)
    # Followers per parallel fan-out invocation (FOLLOWER_CHUNK events); smaller audiences are delivered inline.
    fanout_chunk_followers: int = Field(default=10_000, gt=0)

    # Limits
    tweet_rate_limit: int = Field(default=300, gt=0)
    tweet_rate_window_s: int = Field(default=3 * 3600, gt=0)
    signup_limit_per_ip: int = Field(default=100, gt=0)  # per hour
    login_limit_per_user: int = Field(default=20, gt=0)  # per 15 minutes
    login_limit_per_ip: int = Field(default=300, gt=0)  # per 15 minutes
    idempotency_ttl_s: int = Field(default=24 * 3600, gt=0)
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    media_max_bytes: int = Field(default=15 * 1024 * 1024, gt=0)
    poll_max_wait_s: float = Field(default=20.0, gt=0)

    # Trends
    trends_window_s: int = Field(default=3600, gt=0)
    trends_half_life_s: float = Field(default=900.0, gt=0)
    trends_refresh_s: float = Field(default=5.0, ge=0)

    # URLs and browser access
    cors_origins: str = "http://127.0.0.1:3000,http://localhost:3000"
    public_url: str = "http://127.0.0.1:3000"
    media_base_url: str = ""
    ws_management_url: str = ""
    # The Mastodon-compatible surface (chirp.mastodon): its own base URL (apps expect the API at a host's root) and
    # the streaming base its instance document names (configuration.urls.streaming: the WebSocket API).
    mastodon_url: str = "http://127.0.0.1:3002"
    mastodon_streaming_url: str = "ws://127.0.0.1:3001"

    # Stream (embedded)
    stream_shards: int = Field(default=2, gt=0)
    # The local runtime's write path (wiring.WritePath): "async" has the gateway put fire-and-forget writes straight
    # on the stream. Deployed, the CDK app's context write_path decides it in API Gateway; no function reads it.
    write_path: WritePath = "sync"

    # Production adapters (backend "servers" on loopback, or "aws"). The region is Lambda's AWS_REGION.
    aws_region: str = Field(default="us-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"))
    # PEM bundle that verifies every store's TLS certificate; empty: the default trust (AWS endpoints), and for
    # Keyspaces the Amazon roots shipped with its adapter.
    tls_ca_bundle: str = ""
    store_timeout_s: float = Field(default=3.0, gt=0)  # a store that does not answer in time is unavailable (503)

    # ElastiCache: a rediss:// URL; the AUTH token is a Secrets Manager secret (plain string). Every read goes to the
    # primary: Chirp's Redis reads either write too (timeline rebuild on a miss, trend scratch sets) or must see the
    # caller's own write (rate limits, idempotency, connections, a home read after posting); the replica is there
    # for failover.
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = False
    redis_auth_secret_arn: str = ""

    # Keyspaces: SigV4 with the function's role on AWS, or a service-specific credential (JSON {username, password})
    cassandra_hosts: str = "127.0.0.1"
    cassandra_port: int = 9042
    cassandra_keyspace: str = "chirp"
    cassandra_local_dc: str = "datacenter1"
    cassandra_sigv4: bool = False
    cassandra_credentials_secret_arn: str = ""
    cassandra_replication_factor: int = Field(default=1, gt=0)

    # Neptune: IAM auth signs the WebSocket upgrade with the function's role (SigV4, service neptune-db).
    neptune_url: str = "ws://127.0.0.1:8182/gremlin"
    neptune_reader_url: str = ""
    neptune_iam_auth: bool = False

    # OpenSearch: SigV4 with the function's role on AWS; basic auth (JSON {username, password} secret) on stand-ins.
    opensearch_url: str = "http://127.0.0.1:9200"
    opensearch_index_prefix: str = "tweets"
    opensearch_auth: Literal["sigv4", "basic", "none"] = "none"
    opensearch_credentials_secret_arn: str = ""
    # Primary shards per monthly tweet index, and copies of each shard (the users index has 1 shard, same replicas).
    # Replicas None: the domain's default. With several data nodes, replicas >= 1 keeps every document through the
    # loss of a node (tests/cluster/test_opensearch_node_loss.py).
    opensearch_shards: int = Field(default=1, gt=0)
    opensearch_replicas: int | None = Field(default=None, ge=0)

    # S3 and the stream
    media_bucket: str = "chirp-media"
    s3_endpoint_url: str = ""
    stream_kind: Literal["kinesis", "msk"] = "kinesis"
    stream_name: str = "chirp-events"
    kinesis_endpoint_url: str = ""
    # MSK (stream_kind "msk"; stream_name is the topic): IAM auth (SASL/OAUTHBEARER with the function's role, all MSK
    # Serverless offers) or SCRAM (a {username, password} secret: MSK provisioned, the Kafka stand-in). TLS always.
    kafka_bootstrap: str = ""
    # Stream consumers on AWS: the S3 bucket of dead letters (the mappings' on-failure destination, where a consumer
    # also quarantines a poison record). Empty: the local runtime's dead-letter table under data_dir.
    dead_letter_bucket: str = ""
    kafka_auth: Literal["iam", "scram"] = "iam"
    kafka_credentials_secret_arn: str = ""

    @model_validator(mode="after")
    def _deployed_function_has_its_endpoints(self) -> Settings:
        if self.opensearch_auth == "basic" and not self.opensearch_credentials_secret_arn:
            raise ValueError("CHIRP_OPENSEARCH_AUTH=basic needs CHIRP_OPENSEARCH_CREDENTIALS_SECRET_ARN")
        if self.stream_kind == "msk" and self.backend != "embedded" and not self.kafka_bootstrap:
            raise ValueError("CHIRP_STREAM_KIND=msk needs CHIRP_KAFKA_BOOTSTRAP (the brokers)")
        if self.stream_kind == "msk" and self.kafka_auth == "scram" and not self.kafka_credentials_secret_arn:
            raise ValueError("CHIRP_KAFKA_AUTH=scram needs CHIRP_KAFKA_CREDENTIALS_SECRET_ARN")
        if self.backend != "aws":
            return self
        if not self.function:
            raise ValueError("CHIRP_BACKEND=aws needs CHIRP_FUNCTION (the wiring entry this function runs)")
        try:
            uses = function(self.function).uses
        except KeyError:
            raise ValueError(f"CHIRP_FUNCTION={self.function!r} names no function of the wiring table") from None
        missing = [
            f"CHIRP_{name.upper()}"
            for use in uses
            for name in REQUIRED_FOR_RESOURCE[use]
            if name not in self.model_fields_set and not (use == "jwt" and self.jwt_keys)
        ]
        if function(self.function).stream is not None and not self.dead_letter_bucket:
            missing.append("CHIRP_DEAD_LETTER_BUCKET")  # a consumer quarantines poison records there
        if missing:
            raise ValueError(f"function {self.function!r} runs on AWS without {', '.join(missing)}")
        return self

    @property
    def cassandra_host_list(self) -> list[str]:
        """Contact points without ports (a host may be written host:port; the port goes to cassandra_port)."""
        return [
            h.strip().rsplit(":", 1)[0] if _has_port(h) else h.strip()
            for h in self.cassandra_hosts.split(",")
            if h.strip()
        ]

    @property
    def cassandra_effective_port(self) -> int:
        ports = {int(h.strip().rsplit(":", 1)[1]) for h in self.cassandra_hosts.split(",") if _has_port(h)}
        return ports.pop() if len(ports) == 1 else self.cassandra_port

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def media_url_base(self) -> str:
        return (self.media_base_url or self.public_url).rstrip("/")


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """CHIRP_* variables that no setting reads (tool variables aside)."""
    known = set(_known_variables())
    return sorted(
        key
        for key in environ
        if key.startswith(ENV_PREFIX) and key not in known and not key.startswith(TOOL_VARIABLE_PREFIXES)
    )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment, refusing CHIRP_* variables that nothing reads (a typo or a dropped
    credential must fail at cold start)."""
    env = os.environ if environ is None else environ
    unknown = unknown_variables(env)
    if unknown:
        known = _known_variables()
        hints = [
            f"{key} (did you mean {close[0]}?)" if (close := difflib.get_close_matches(key, known, n=1)) else key
            for key in unknown
        ]
        raise ValueError(f"unknown Chirp settings: {', '.join(hints)}")
    return Settings()


def _known_variables() -> list[str]:
    """The CHIRP_* names Settings reads (fields read under another name, like AWS_REGION, are not among them)."""
    return [
        f"{ENV_PREFIX}{name.upper()}" for name, info in Settings.model_fields.items() if info.validation_alias is None
    ]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def _has_port(host: str) -> bool:
    head, sep, tail = host.strip().rpartition(":")
    return bool(sep and head and tail.isdigit())

"""Settings read from the environment (prefix CHIRP_) and validated once, at cold start."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHIRP_", extra="ignore")

    backend: Literal["embedded", "servers", "aws"] = "embedded"
    data_dir: Path = Path(".chirp")

    # Tokens. Keys are "kid:secret" pairs separated by commas; the first signs, all verify (rotation).
    jwt_keys: str = ""
    # Deployed: a Secrets Manager secret holding JSON {"kid", "secret"}, read at cold start when jwt_keys is empty.
    jwt_secret_arn: str = ""
    token_ttl_s: int = Field(default=24 * 3600, gt=0)

    # Feed semantics
    celebrity_threshold: int = Field(default=100_000, gt=0)
    active_days: int = Field(default=30, gt=0)
    timeline_cap: int = Field(default=800, gt=0)
    fanout_page_size: int = Field(default=1000, gt=0)

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

    # Stream (embedded)
    stream_shards: int = Field(default=2, gt=0)

    # Production adapters (backend "servers" on loopback, or "aws")
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = False
    cassandra_hosts: str = "127.0.0.1"
    cassandra_port: int = 9042
    cassandra_keyspace: str = "chirp"
    cassandra_local_dc: str = "datacenter1"
    cassandra_sigv4: bool = False  # Amazon Keyspaces: TLS + SigV4 (cassandra-sigv4), port 9142
    cassandra_replication_factor: int = Field(default=1, gt=0)
    cassandra_ca_bundle: str = ""  # CA bundle for Keyspaces TLS (Starfield/Amazon roots); empty: the system store
    neptune_url: str = "ws://127.0.0.1:8182/gremlin"
    opensearch_url: str = "http://127.0.0.1:9200"
    opensearch_index_prefix: str = "tweets"
    media_bucket: str = "chirp-media"
    s3_endpoint_url: str = ""
    stream_name: str = "chirp-events"
    kinesis_endpoint_url: str = ""
    aws_region: str = "us-east-1"
    store_timeout_s: float = Field(default=3.0, gt=0)  # a store that does not answer in time is unavailable (503)

    @model_validator(mode="after")
    def _jwt_keys_from_secret(self) -> Settings:
        """Deployed functions get CHIRP_JWT_SECRET_ARN (JSON {"kid", "secret"}, created by the CDK app) instead of
        CHIRP_JWT_KEYS: read it once, here, at cold start, as "kid:secret"."""
        if self.jwt_keys or not self.jwt_secret_arn:
            return self
        import json

        import boto3

        parts = self.jwt_secret_arn.split(":")
        region = parts[3] if len(parts) > 3 and parts[3] else self.aws_region
        value = boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=self.jwt_secret_arn)
        secret = json.loads(value["SecretString"])
        if not isinstance(secret, dict) or not secret.get("kid") or not secret.get("secret"):
            raise ValueError('the CHIRP_JWT_SECRET_ARN secret must be JSON {"kid": ..., "secret": ...}')
        self.jwt_keys = f"{secret['kid']}:{secret['secret']}"
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def _has_port(host: str) -> bool:
    head, sep, tail = host.strip().rpartition(":")
    return bool(sep and head and tail.isdigit())

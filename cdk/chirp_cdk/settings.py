"""Deployment settings read from CDK context (cdk.json or ``-c key=value``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from constructs import Node

from chirp.config import RESOURCE_SETTINGS
from chirp.wiring import Resource, WritePath

Backend = Literal["aws", "local"]
StreamKind = Literal["kinesis", "msk"]
WafScope = Literal["all", "edge", "none"]
AccessLogs = Literal["cloudwatch", "firehose", "off"]
# A CloudFront-scope web ACL lives in us-east-1 whatever region the distribution's stack is in.
EDGE_WAF_REGION = "us-east-1"

# Where the functions find their stores when backend=local: keys are the Chirp settings of the data resources
# (chirp.config.RESOURCE_SETTINGS, e.g. redis_url, redis_auth_secret_arn, cassandra_hosts as host:port), plus
# tls_ca_bundle (the stand-ins' CA, given to every store's functions) and execute_api_url: the emulator's
# execute-api base (e.g. http://127.0.0.1:4566/_aws/execute-api), from which the WebSocket @connections endpoint is
# derived, since the stage's callback URL names an AWS host name.
DATA_RESOURCES: tuple[Resource, ...] = ("keyspaces", "cache", "graph", "search")
LOCAL_ENDPOINT_KEYS = (
    *(name for resource in DATA_RESOURCES for name in RESOURCE_SETTINGS[resource]),
    "tls_ca_bundle",
    "execute_api_url",
)


@dataclass(frozen=True, slots=True)
class DeploymentSettings:
    """What varies between deployments. Everything else comes from ``chirp.wiring``."""

    backend: Backend = "aws"
    stream: StreamKind = "kinesis"
    prefix: str = "Chirp"
    stage_name: str = "prod"
    # Extra browser origins allowed by CORS besides the CloudFront URL (e.g. a dev server).
    extra_cors_origins: tuple[str, ...] = ()
    # Endpoints the functions use when backend=local (services run outside AWS, e.g. on an emulator's host).
    local_endpoints: dict[str, str] = field(default_factory=dict)
    # CHIRP_BACKEND given to the functions when backend=local.
    local_function_backend: str = "servers"
    # backend=local only: build the dependency layer for this interpreter (an emulator that runs functions as local
    # processes needs wheels for its own Python and platform, not Lambda's manylinux aarch64 cp312 ones).
    layer_python: str | None = None
    # Which requests a WAFv2 web ACL inspects (WAF bills each one: ~$374K/month at the design's scale, bench/capacity).
    # "all": a regional ACL on the REST stage (and on the Mastodon API). "edge": a CloudFront-scope ACL on the API edge
    # only, which takes the signed-out reads and, locked to it by an API key the edge alone sends, sign-up and
    # sign-in; signed-in calls meet the token authorizer and Chirp's per-user rate limits (the Mastodon API keeps its
    # regional ACL); clients then sign up and sign in at the edge's URL (ApiEdgeUrl): the bundled web client does not
    # yet. "none" (context waf=false too) needs backend=local: local emulators lack AWS::WAFv2::WebACLAssociation,
    # and a template with an unknown type fails whole.
    waf_scope: WafScope = "all"
    # waf_scope=edge in a stack outside us-east-1: the ARN of a CLOUDFRONT-scope web ACL made there beforehand.
    edge_web_acl_arn: str | None = None
    # The REST stage's access logs: a CloudWatch log group, a Firehose stream (amazon-apigateway-*) into an S3 bucket
    # of its own, kept 30 days (~half the cost at scale, bench/capacity), or none (cdk-nag acknowledges the choice).
    access_logs: AccessLogs = "cloudwatch"
    # Dedicated enhanced fan-out consumers for the wiring table's latency-critical stream consumers. backend=local
    # may turn them off (enhanced_fan_out=false): the emulator has no AWS::Kinesis::StreamConsumer.
    enhanced_fan_out: bool = True
    # wiring.WritePath: "async" has API Gateway put likes, retweets, follows and read markers straight on the Kinesis
    # stream (no Lambda in their request path; 202 without counts). Needs stream=kinesis: API Gateway has no MSK
    # integration.
    write_path: WritePath = "sync"
    alarm_email: str | None = None
    api_rate_limit: int = 1000
    api_burst_limit: int = 2000
    nat_gateways: int = 2
    log_retention_days: int = 30
    # ElastiCache in cluster mode: shards (node groups; the hash slots are spread over them) and replicas per shard
    # (each in another AZ). At least one replica: a primary's loss is then a failover, and writes the cache must
    # keep wait for a replica (WAIT) before they are acknowledged.
    cache_shards: int = 3
    cache_replicas_per_shard: int = 1
    # X-Ray's default rule traces 1 request/s plus 5% of the rest: at the design's 21.9 billion requests a day that is
    # ~$170K/month (bench/capacity). Chirp's rule keeps 1/s per service and this share of the rest.
    xray_sampling_rate: float = 0.01
    # Mastodon apps open wss://<streaming base>/api/v1/streaming, at a host's root, which the execute-api URL (its
    # stage in the path) cannot serve: a Regional custom domain of the WebSocket API with that API mapping does.
    # Both or neither (no domain: Mastodon streaming is off); the certificate is ACM's, in the stack's region.
    mastodon_streaming_domain: str | None = None
    mastodon_streaming_certificate_arn: str | None = None

    @property
    def is_aws(self) -> bool:
        return self.backend == "aws"

    @property
    def waf(self) -> bool:
        """Whether any web ACL is deployed (the Mastodon API's regional one goes only with waf_scope=none)."""
        return self.waf_scope != "none"

    def stack_name(self, part: str) -> str:
        return f"{self.prefix}{part}"


def _parse(value: Any) -> Any:
    """Context given with -c arrives as a string; cdk.json values arrive typed."""
    if isinstance(value, str) and value[:1] in "{[":
        return json.loads(value)
    return value


def settings_from_context(node: Node) -> DeploymentSettings:
    def get(key: str, default: Any) -> Any:
        value = node.try_get_context(key)
        return default if value is None else _parse(value)

    backend = str(get("backend", "aws"))
    if backend not in ("aws", "local"):
        raise ValueError(f"context backend must be aws or local, not {backend!r}")
    stream = str(get("stream", "kinesis"))
    if stream not in ("kinesis", "msk"):
        raise ValueError(f"context stream must be kinesis or msk, not {stream!r}")
    if backend == "local" and stream == "msk":
        raise ValueError("stream=msk needs backend=aws (MSK Serverless lives in the VPC)")
    endpoints = get("local_endpoints", {})
    if not isinstance(endpoints, dict):
        raise ValueError("context local_endpoints must be an object")
    unknown = set(endpoints) - set(LOCAL_ENDPOINT_KEYS)
    if unknown:
        raise ValueError(f"unknown local_endpoints keys: {sorted(unknown)}; known: {LOCAL_ENDPOINT_KEYS}")
    origins = get("cors_origins", [])
    if isinstance(origins, str):
        origins = [o.strip() for o in origins.split(",") if o.strip()]
    email = get("alarm_email", None)
    layer_python = get("layer_python", None)
    if layer_python and backend != "local":
        raise ValueError("context layer_python needs backend=local (AWS runs the aarch64 cp312 layer)")
    legacy_waf = str(get("waf", True)).lower() not in ("false", "0", "no")
    waf_scope = str(get("waf_scope", "all" if legacy_waf else "none"))
    if waf_scope not in ("all", "edge", "none"):
        raise ValueError(f"context waf_scope must be all, edge or none, not {waf_scope!r}")
    if not legacy_waf and waf_scope != "none":
        raise ValueError(f"context waf=false contradicts waf_scope={waf_scope}")
    if waf_scope == "none" and backend != "local":
        raise ValueError("context waf_scope=none (waf=false) needs backend=local (production keeps a web ACL)")
    edge_web_acl_arn = get("edge_web_acl_arn", None)
    if edge_web_acl_arn and waf_scope != "edge":
        raise ValueError("context edge_web_acl_arn goes with waf_scope=edge")
    if edge_web_acl_arn and not str(edge_web_acl_arn).startswith(f"arn:aws:wafv2:{EDGE_WAF_REGION}:"):
        raise ValueError(f"context edge_web_acl_arn must be a CLOUDFRONT-scope web ACL in {EDGE_WAF_REGION}")
    access_logs = str(get("access_logs", "cloudwatch"))
    if access_logs not in ("cloudwatch", "firehose", "off"):
        raise ValueError(f"context access_logs must be cloudwatch, firehose or off, not {access_logs!r}")
    enhanced_fan_out = str(get("enhanced_fan_out", True)).lower() not in ("false", "0", "no")
    if not enhanced_fan_out and backend != "local":
        raise ValueError("context enhanced_fan_out=false needs backend=local (production keeps its dedicated readers)")
    write_path = str(get("write_path", "sync"))
    if write_path not in ("sync", "async"):
        raise ValueError(f"context write_path must be sync or async, not {write_path!r}")
    if write_path == "async" and stream != "kinesis":
        raise ValueError("write_path=async needs stream=kinesis (API Gateway integrates with Kinesis, not MSK)")
    cache_shards, cache_replicas = int(get("cache_shards", 3)), int(get("cache_replicas_per_shard", 1))
    if not 1 <= cache_shards <= 500:  # ElastiCache's limit on node groups
        raise ValueError(f"context cache_shards must be 1..500, not {cache_shards}")
    if not 1 <= cache_replicas <= 5:  # failover needs one; ElastiCache allows five
        raise ValueError(f"context cache_replicas_per_shard must be 1..5, not {cache_replicas}")
    streaming_domain = get("mastodon_streaming_domain", None)
    streaming_certificate = get("mastodon_streaming_certificate_arn", None)
    if bool(streaming_domain) != bool(streaming_certificate):
        raise ValueError("context mastodon_streaming_domain and mastodon_streaming_certificate_arn go together")
    sampling = float(get("xray_sampling_rate", 0.01))
    if not 0 <= sampling <= 1:
        raise ValueError(f"context xray_sampling_rate must be 0..1, not {sampling}")
    return DeploymentSettings(
        backend=backend,  # type: ignore[arg-type]
        stream=stream,  # type: ignore[arg-type]
        prefix=str(get("prefix", "Chirp")),
        stage_name=str(get("stage_name", "prod")),
        extra_cors_origins=tuple(str(o) for o in origins),
        local_endpoints={str(k): str(v) for k, v in endpoints.items()},
        local_function_backend=str(get("local_function_backend", "servers")),
        layer_python=str(layer_python) if layer_python else None,
        waf_scope=waf_scope,  # type: ignore[arg-type]
        edge_web_acl_arn=str(edge_web_acl_arn) if edge_web_acl_arn else None,
        access_logs=access_logs,  # type: ignore[arg-type]
        enhanced_fan_out=enhanced_fan_out,
        write_path=write_path,  # type: ignore[arg-type]
        alarm_email=str(email) if email else None,
        api_rate_limit=int(get("api_rate_limit", 1000)),
        api_burst_limit=int(get("api_burst_limit", 2000)),
        nat_gateways=int(get("nat_gateways", 2)),
        log_retention_days=int(get("log_retention_days", 30)),
        cache_shards=cache_shards,
        cache_replicas_per_shard=cache_replicas,
        xray_sampling_rate=sampling,
        mastodon_streaming_domain=str(streaming_domain) if streaming_domain else None,
        mastodon_streaming_certificate_arn=str(streaming_certificate) if streaming_certificate else None,
    )

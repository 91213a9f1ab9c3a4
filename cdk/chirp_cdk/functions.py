"""One Lambda function per entry of ``chirp.wiring.FUNCTIONS``: Python 3.12 on arm64, Powertools configured, its
own least-privilege role, and exactly the environment and permissions its ``uses`` list asks for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigw2
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from chirp import wiring
from chirp_cdk.data_stack import DataEndpoints
from chirp_cdk.network_stack import NetworkStack, vpc_network_interfaces
from chirp_cdk.settings import DeploymentSettings
from chirp_cdk.stream_stack import StreamStack

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
# Functions that use one of these must run in the VPC; the others stay out of it (faster cold starts).
VPC_RESOURCES = frozenset({"keyspaces", "cache", "graph", "search"})
METRICS_NAMESPACE = "Chirp"
SERVICE_NAME = "chirp"  # chirp's Loggers are created with service="chirp"; the function name is in every log line


@dataclass
class FunctionResources:
    """Everything a function may use, by wiring resource name."""

    settings: DeploymentSettings
    data: DataEndpoints
    stream: StreamStack
    media_bucket: s3.IBucket
    cdn_url: str
    cors_origins: list[str]
    ws_stage: apigw2.WebSocketStage
    network: NetworkStack | None
    layers: list[lambda_.ILayerVersion]
    policies: dict[str, iam.IManagedPolicy]  # media, ws_management: access policies owned by other stacks


_RETENTION = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def log_retention(days: int) -> logs.RetentionDays:
    if days not in _RETENTION:
        raise ValueError(f"log_retention_days must be one of {sorted(_RETENTION)}, not {days}")
    return _RETENTION[days]


class ChirpFunctions(Construct):
    """Builds the functions; ``self.functions`` maps wiring names to Lambda functions."""

    def __init__(self, scope: Construct, construct_id: str, *, resources: FunctionResources) -> None:
        super().__init__(scope, construct_id)
        self.resources = resources
        self.functions: dict[str, lambda_.Function] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}
        for spec in wiring.FUNCTIONS:
            self.functions[spec.name] = self._function(spec)

    def _in_vpc(self, spec: wiring.Function) -> bool:
        return self.resources.network is not None and bool(VPC_RESOURCES.intersection(spec.uses))

    def environment(self, spec: wiring.Function) -> dict[str, str]:
        r = self.resources
        env = {
            "CHIRP_BACKEND": "aws" if r.settings.is_aws else r.settings.local_function_backend,
            "CHIRP_PUBLIC_URL": r.cdn_url,
            "CHIRP_MEDIA_BASE_URL": r.cdn_url,
            "CHIRP_CORS_ORIGINS": ",".join(r.cors_origins),
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
            "POWERTOOLS_TRACE_DISABLED": "false",
            "CHIRP_FUNCTION": spec.name,
        }
        # What the Mastodon instance document names as its streaming base: the custom domain that maps
        # /api/v1/streaming to the WebSocket API; without one, the stage's own URL (the right API, never a loopback
        # default, though apps' /api/v1/streaming path reaches it only through the domain).
        if r.settings.mastodon_streaming_domain:
            env["CHIRP_MASTODON_STREAMING_URL"] = f"wss://{r.settings.mastodon_streaming_domain}"
        elif spec.name == wiring.MASTODON_FUNCTION.name:
            env["CHIRP_MASTODON_STREAMING_URL"] = r.ws_stage.url
        for use in spec.uses:
            env.update(self._use_environment(use))
        env.update(spec.environment)
        return env

    def _use_environment(self, use: wiring.Resource) -> dict[str, str]:
        r = self.resources
        if use == "media":
            return {"CHIRP_MEDIA_BUCKET": r.media_bucket.bucket_name}
        if use == "stream":
            return dict(r.stream.function_environment)
        if use == "ws_management":
            return {"CHIRP_WS_MANAGEMENT_URL": self.ws_management_url()}
        return dict(r.data.environment.get(use, {}))

    def ws_management_url(self) -> str:
        """The @connections endpoint: the stage's callback URL, or with backend=local and
        ``local_endpoints.execute_api_url`` the emulator's (the callback URL names an AWS host name)."""
        r = self.resources
        base = r.settings.local_endpoints.get("execute_api_url") if not r.settings.is_aws else None
        if base:
            return f"{base.rstrip('/')}/{r.ws_stage.api.api_id}/{r.ws_stage.stage_name}"
        return r.ws_stage.callback_url

    def _grants(self, use: wiring.Resource) -> list[Callable[[lambda_.Function], object]]:
        r = self.resources
        grants: list[Callable[[lambda_.Function], object]] = []
        for secret in r.data.secrets.get(use, []):
            grants.append(secret.grant_read)
        policy = r.data.policies.get(use) or r.policies.get(use)
        if policy is not None:
            grants.append(lambda fn: _role(fn).add_managed_policy(policy))
        if use == "stream":
            grants.append(r.stream.grant_produce)
        return grants

    def _function(self, spec: wiring.Function) -> lambda_.Function:
        r = self.resources
        log_group = logs.LogGroup(
            self,
            f"{spec.name}-logs",
            retention=log_retention(r.settings.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            f"{spec.name}-role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Chirp {spec.name}: {spec.description}"[:1000],
        )
        log_group.grant_write(role)
        in_vpc = self._in_vpc(spec)
        vpc_options: dict[str, object] = {}
        if in_vpc:
            assert r.network is not None
            groups: list[ec2.ISecurityGroup] = [r.network.functions_sg]
            vpc_options = {"vpc": r.network.vpc, "vpc_subnets": r.network.private_subnets, "security_groups": groups}
            role.add_to_policy(vpc_network_interfaces())
        fn = lambda_.Function(
            self,
            spec.name,
            description=spec.description[:256],
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(REPO_ROOT / "functions" / spec.name), exclude=["__pycache__", "*.pyc"]),
            layers=r.layers,
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            tracing=lambda_.Tracing.ACTIVE,
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            environment=self.environment(spec),
            **vpc_options,  # type: ignore[arg-type]
        )
        for use in spec.uses:
            for grant in self._grants(use):
                grant(fn)
        self.log_groups[spec.name] = log_group
        return fn


def _role(fn: lambda_.Function) -> iam.IRole:
    assert fn.role is not None
    return fn.role


def build_layers(
    scope: Construct, dependencies_dir: Path, first_party_dir: Path, *, wheels: str = "manylinux aarch64 cp312"
) -> list[lambda_.ILayerVersion]:
    """The two layers: third-party wheels (from layers/build.py) and Chirp's own package."""
    common = {"compatible_runtimes": [RUNTIME], "compatible_architectures": [ARCHITECTURE]}
    deps = lambda_.LayerVersion(
        scope,
        "DependenciesLayer",
        code=lambda_.Code.from_asset(str(dependencies_dir), exclude=[".complete"]),
        description=f"Chirp third-party dependencies (layers/requirements.txt, {wheels} wheels)",
        **common,  # type: ignore[arg-type]
    )
    first_party = lambda_.LayerVersion(
        scope,
        "ChirpLayer",
        code=lambda_.Code.from_asset(str(first_party_dir)),
        description="Chirp first-party package (shared/chirp)",
        **common,  # type: ignore[arg-type]
    )
    return [deps, first_party]

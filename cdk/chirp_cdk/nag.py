"""cdk-nag (v3) AwsSolutions acknowledgments, each scoped to the construct it concerns and justified in one line.

cdk-nag v3 runs as a CDK policy-validation plugin: any unacknowledged finding fails ``cdk synth``. Granular IAM5
findings name the wildcard resource exactly, so the ids of those that involve our own resources are computed from
the resources' logical ids (``<LogicalId.Arn>``) rather than written by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, CfnResource, Stack, Token, Validations
from constructs import IConstruct

from chirp import wiring

if TYPE_CHECKING:
    from chirp_cdk.app import ChirpStacks

PSEUDO = "arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:"
LAMBDA_BASIC = (
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]"
)
CDK_ASSETS = "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*"


def _env(scope: IConstruct, text: str) -> str:
    """``text`` as cdk-nag prints it for ``scope``'s stack: an environment-agnostic stack shows <AWS::Region> and
    <AWS::AccountId>, a stack with a concrete account and region (``cdk deploy`` with credentials) shows the values."""
    stack = Stack.of(scope)
    if not Token.is_unresolved(stack.region):
        text = text.replace("<AWS::Region>", stack.region)
    if not Token.is_unresolved(stack.account):
        text = text.replace("<AWS::AccountId>", stack.account)
    return text


@dataclass(frozen=True, slots=True)
class Suppression:
    """One acknowledgment, kept for the report and for the tests."""

    path: str
    rule: str
    reason: str


APPLIED: list[Suppression] = []


def ack(scope: IConstruct, rule: str, reason: str) -> None:
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))
    APPLIED.append(Suppression(scope.node.path, rule, reason))


def ref(construct: IConstruct, attribute: str | None = None) -> str:
    """How cdk-nag prints a reference to ``construct`` inside its own stack: <LogicalId> or <LogicalId.Attr>."""
    cfn = construct if isinstance(construct, CfnResource) else construct.node.default_child
    assert isinstance(cfn, CfnResource), construct.node.path
    stack = Stack.of(cfn)
    logical_id = stack.resolve(stack.get_logical_id(cfn))
    return f"<{logical_id}.{attribute}>" if attribute else f"<{logical_id}>"


def _children_named(scope: IConstruct, prefix: str) -> Iterator[IConstruct]:
    for child in scope.node.find_all():
        if child.node.id.startswith(prefix):
            yield child


def apply_suppressions(stacks: ChirpStacks) -> None:
    APPLIED.clear()
    _network(stacks)
    _data(stacks)
    _content(stacks)
    _stream(stacks)
    _api(stacks)
    _search_access(stacks)
    _web(stacks)


def _network(stacks: ChirpStacks) -> None:
    return None  # nothing to acknowledge: flow logs on, no open security groups


def _data(stacks: ChirpStacks) -> None:
    data = stacks.data
    for secret, why in (
        (data.jwt_secret, "JWT keys rotate by kid rollover ('k2:new,k1:old'); a Lambda rotator would drop old kids."),
    ):
        ack(secret, "AwsSolutions-SMG4", why)
    if stacks.network is None:
        return
    ack(data.redis_auth, "AwsSolutions-SMG4", "Redis AUTH rotation needs a coordinated ROTATE on the group; runbook.")
    ack(data.search, "AwsSolutions-OS3", "The domain is in private subnets behind a security group; no IP allowlist.")
    ack(data.search, "AwsSolutions-OS5", "Fine-grained access control authenticates every request (HTTPS only).")
    keyspace = _env(data, PSEUDO.format(service="cassandra"))
    policies = data.endpoints.policies
    ack(
        policies["keyspaces"],
        f"AwsSolutions-IAM5[Resource::{keyspace}/keyspace/chirp/table/*]",
        "Only the tables of the chirp keyspace.",
    )
    ack(
        policies["keyspaces"],
        f"AwsSolutions-IAM5[Resource::{keyspace}/keyspace/system*]",
        "The Cassandra driver reads system keyspaces (read-only) for cluster metadata.",
    )
    graph = _env(data, PSEUDO.format(service="neptune-db")) + ref(data.graph, "ClusterResourceId") + "/*"
    ack(policies["graph"], f"AwsSolutions-IAM5[Resource::{graph}]", "Data-plane paths of the one Chirp cluster.")
    ack(
        policies["search"],
        f"AwsSolutions-IAM5[Resource::{ref(data.search, 'Arn')}/*]",
        "Index paths of the one Chirp domain.",
    )
    admin = data.search_admin
    ack(admin, "AwsSolutions-L1", "Python 3.12, as the functions (the role-mapping handler shares their runtime).")
    ack(admin, "AwsSolutions-IAM5[Resource::*]", "Lambda's VPC network-interface actions take no resource scoping.")
    ack(
        admin,
        f"AwsSolutions-IAM5[Resource::{ref(data.search, 'Arn')}/*]",
        "The master role calls the security REST API paths of the one Chirp domain.",
    )
    for handler in _children_named(data, "AWS679f53fac002430cb0da5b7982bd2287"):
        ack(handler, LAMBDA_BASIC, "CDK's AwsCustomResource handler (OpenSearch log policy, service-linked role).")
        ack(handler, "AwsSolutions-L1", "CDK-managed custom resource handler; its runtime is chosen by aws-cdk-lib.")
    for policy in _children_named(data.search, "ESLogGroupPolicy"):
        ack(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "logs:PutResourcePolicy takes no resource-level permission (CDK's OpenSearch log setup).",
        )


def _content(stacks: ChirpStacks) -> None:
    content = stacks.content
    ack(content.log_bucket, "AwsSolutions-S1", "This is the access-log bucket; logging it into itself would loop.")
    ack(
        content.media_policy,
        f"AwsSolutions-IAM5[Resource::{ref(content.media_bucket, 'Arn')}/media/*]",
        "Objects under media/ only (renditions the processor writes, upload checks).",
    )
    ack(
        content.media_policy,
        f"AwsSolutions-IAM5[Resource::{ref(content.media_bucket, 'Arn')}/uploads/*]",
        "Objects under uploads/ only (presigned uploads; the processor reads and deletes them).",
    )
    ack(content.distribution, "AwsSolutions-CFR1", "A global social app: no geo restriction.")
    ack(content.distribution, "AwsSolutions-CFR2", "WAF for CloudFront must live in us-east-1; the REST API has WAF.")
    ack(content.distribution, "AwsSolutions-CFR4", "Default *.cloudfront.net certificate; set a domain + ACM cert.")


def _stream(stacks: ChirpStacks) -> None:
    stream = stacks.stream
    ack(
        stream.dead_letters,
        "AwsSolutions-S1",
        "Dead letters only: every write raises the DeadLetters alarm; CloudTrail records the API calls.",
    )
    for prefix, why in (
        ("aws/lambda", "Lambda's S3 on-failure destination writes one object per discarded batch under aws/lambda/."),
        ("quarantine", "Consumers put quarantined poison records under quarantine/<consumer>/ (put only)."),
    ):
        ack(
            stream.dead_letter_writers,
            f"AwsSolutions-IAM5[Resource::{ref(stream.dead_letters, 'Arn')}/{prefix}/*]",
            why,
        )
    for handler in _children_named(stream, "AWS679f53fac002430cb0da5b7982bd2287"):
        ack(handler, LAMBDA_BASIC, "CDK's AwsCustomResource handler (MSK bootstrap brokers) writes its own logs.")
        ack(handler, "AwsSolutions-L1", "CDK-managed custom resource handler; its runtime is chosen by aws-cdk-lib.")
    if stream.msk_cluster is not None:
        _msk_findings(stacks)


def _msk_findings(stacks: ChirpStacks) -> None:
    stream = stacks.stream
    kafka = _env(stream, PSEUDO.format(service="kafka"))
    name = stream.msk_cluster.cluster_name if stream.msk_cluster is not None else ""
    found = {
        "cluster": f"{kafka}cluster/{name}/*",
        "topic": f"{kafka}topic/{name}/*/chirp-events",
        "group": f"{kafka}group/{name}/*/chirp-*",
    }
    why = "The cluster's uuid is only known after deploy; its (fixed) name scopes the ARN."
    for policy, kinds in ((stream.producer_policy, ("cluster", "topic")), (stream.consumer_policy, tuple(found))):
        for kind in kinds:
            ack(policy, f"AwsSolutions-IAM5[Resource::{found[kind]}]", why)
    ack(
        stacks.api.chirp_functions,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaMSKExecutionRole]",
        "Added by Lambda's MSK event source: the poller's cluster, broker and VPC network-interface calls.",
    )
    topic = stacks.api.kafka_topic
    if topic is not None:
        ack(topic, LAMBDA_BASIC, "The topic custom resource's handler and CDK's provider framework write their logs.")
        ack(topic, "AwsSolutions-L1", "Python 3.12 like the functions (the handler runs on their layers).")
        ack(
            topic,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]",
            "CDK adds Lambda's VPC access policy to a function in a VPC (its network interfaces in the brokers' VPC).",
        )
        ack(
            topic,
            f"AwsSolutions-IAM5[Resource::{ref(topic.handler, 'Arn')}:*]",
            "CDK's provider framework invokes any version of the one handler function.",
        )


_READS = {route.operation for _, route in wiring.all_routes() if route.optional_auth}


def _api(stacks: ChirpStacks) -> None:
    api = stacks.api
    functions = api.chirp_functions
    ack(functions, "AwsSolutions-L1", "Python 3.12 is the design's runtime; the layer is built for cp312 wheels.")
    ack(
        functions,
        "AwsSolutions-IAM5[Resource::*]",
        "X-Ray trace upload and Lambda's VPC network-interface actions take no resource-level permissions.",
    )
    push = (
        _env(api, PSEUDO.format(service="execute-api"))
        + ref(api.ws_api)
        + f"/{stacks.settings.stage_name}/*/@connections/*"
    )
    ack(api.push_policy, f"AwsSolutions-IAM5[Resource::{push}]", "Any connection of the one Chirp WebSocket stage.")
    ack(
        api.rest.api,
        "AwsSolutions-COG4",
        "Callers carry Chirp's own JWTs, verified by the cached Lambda TOKEN authorizer, not Cognito.",
    )
    ack(
        api.rest.api,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        "The account-level role API Gateway needs to write access and execution logs.",
    )
    settings = stacks.settings
    if settings.waf_scope == "none":
        ack(api.rest.stage, "AwsSolutions-APIG3", "Local emulator deployment (context waf=false); AWS keeps the ACL.")
    elif settings.waf_scope == "edge":
        ack(
            api.rest.stage,
            "AwsSolutions-APIG3",
            "waf_scope=edge: the API edge's ACL sees signed-out reads, sign-up, sign-in; signed-in calls: authorizer, "
            "per-user limits.",
        )
    if api.rest.edge_key_secret is not None:
        ack(
            api.rest.edge_key_secret,
            "AwsSolutions-SMG4",
            "The edge's API key is set in the API key and the CloudFront origin at deploy; rotate by redeploying.",
        )
    archive, stream = api.rest.access_logs.bucket, api.rest.access_logs.delivery_stream
    if archive is not None and stream is not None:
        ack(archive, "AwsSolutions-S1", "The REST access-log archive itself; logging it would log the logs.")
        writer = stream.node.find_child("S3 Destination Role")
        why = "Firehose's S3 destination role as aws-cdk-lib grants it, on the access-log archive bucket only."
        for action in ("GetObject*", "GetBucket*", "List*", "DeleteObject*", "Abort*"):
            ack(writer, f"AwsSolutions-IAM5[Action::s3:{action}]", why)
        ack(writer, f"AwsSolutions-IAM5[Resource::{ref(archive, 'Arn')}/*]", why)
        # aws-cdk-lib's Firehose construct adds a mapping of Firehose's CIDR blocks that only other destinations use
        ack(api, "CloudFormation-Validate::W7001", "Firehose's CIDR mapping from aws-cdk-lib, unused by an S3 target.")
    if settings.access_logs == "off":
        ack(api.rest.stage, "AwsSolutions-APIG1", "context access_logs=off: the deployer chose no REST access logs.")
    for operation, method in api.rest.public_methods.items():
        why = (
            "auth=False" if operation not in _READS else "signed-out read (public_cache_s; the function checks tokens)"
        )
        ack(method, "AwsSolutions-APIG4", f"{operation} is public by design ({why} in chirp.wiring).")
    ack(api.edge.distribution, "AwsSolutions-CFR1", "A global social app: no geo restriction.")
    if api.edge.web_acl_arn is None:
        ack(
            api.edge.distribution,
            "AwsSolutions-CFR2",
            "WAF for CloudFront must live in us-east-1; the REST API has WAF (waf_scope=edge puts it here).",
        )
    ack(api.edge.distribution, "AwsSolutions-CFR4", "Default *.cloudfront.net certificate; set a domain + ACM cert.")
    for handler in _children_named(api, "BucketNotificationsHandler"):
        reason = "CDK's handler that sets the media bucket's object-created notification (chirp_cdk.media_events)"
        ack(handler, LAMBDA_BASIC, f"{reason} writes its own logs.")
        ack(handler, "AwsSolutions-IAM5[Resource::*]", f"{reason}: s3:PutBucketNotification as CDK grants it.")
        ack(handler, "AwsSolutions-L1", "CDK-managed custom resource handler; its runtime is chosen by aws-cdk-lib.")
    mastodon = api.mastodon
    ack(mastodon.api, "AwsSolutions-COG4", "Mastodon apps carry Chirp's own OAuth tokens (JWTs), not Cognito's.")
    if not stacks.settings.waf:
        ack(mastodon.stage, "AwsSolutions-APIG3", "Local emulator deployment (context waf=false); AWS keeps the ACL.")
    for operation, method in mastodon.public_methods.items():
        ack(method, "AwsSolutions-APIG4", f"{operation} is public in Mastodon's API (instance, OAuth, trends).")
    for route in api.ws_routes_without_authorizer:
        ack(route, "AwsSolutions-APIG4", "Only $connect is authorized; later frames ride the authorized connection.")
        ack(route, "AwsSolutions-COG4", "Only $connect is authorized (Lambda REQUEST authorizer on the token).")


def _search_access(stacks: ChirpStacks) -> None:
    """The API stack's OpenSearch access policy and role mapping (chirp_cdk.search_access.SearchAccess)."""
    from chirp_cdk.search_access import SearchAccess

    if not any(isinstance(c, SearchAccess) for c in stacks.api.node.find_all()):
        return
    for handler in _children_named(stacks.api, "AWS679f53fac002430cb0da5b7982bd2287"):
        ack(handler, LAMBDA_BASIC, "CDK's AwsCustomResource handler (OpenSearch access policy) writes its own logs.")
        ack(handler, "AwsSolutions-L1", "CDK-managed custom resource handler; its runtime is chosen by aws-cdk-lib.")


def _web(stacks: ChirpStacks) -> None:
    web = stacks.web
    reason = "CDK's BucketDeployment handler that copies the web client into its bucket"
    for handler in _children_named(web, "Custom::CDKBucketDeployment"):
        ack(handler, "AwsSolutions-L1", f"{reason}; its runtime is chosen by aws-cdk-lib.")
        ack(handler, LAMBDA_BASIC, f"{reason} writes its own logs.")
        for action in ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:Abort*", "s3:DeleteObject*"):
            ack(handler, f"AwsSolutions-IAM5[Action::{action}]", f"{reason} syncs (and prunes) the whole site.")
        ack(
            handler,
            f"AwsSolutions-IAM5[{_env(web, CDK_ASSETS)}]",
            f"{reason} reads its zipped sources from the CDK assets.",
        )
        ack(handler, "AwsSolutions-IAM5[Resource::*]", f"{reason} invalidates CloudFront (no resource-level scoping).")
        ack(
            handler,
            f"AwsSolutions-IAM5[Resource::{stacks.content.web_bucket_export}/*]",
            f"{reason} writes every object of the web bucket.",
        )

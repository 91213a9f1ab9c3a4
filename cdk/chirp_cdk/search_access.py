"""Who may use the OpenSearch domain, and as what.

* The functions sign requests with their own IAM roles (SigV4); they hold no OpenSearch password. Fine-grained
  access control maps those role ARNs (backend roles) to ``chirp_indexer``, the adapter's own least-privilege role
  (``chirp.search_role.indexer_role``): Chirp's indices only, no security or cluster settings.
* The domain's master user is an IAM role (``master_user_arn``) rather than an internal user with a password:
  there is then no master secret to store, rotate or leak, and the only principal that can assume the role is the
  Lambda service, for the one function that uses it -- the ``Custom::OpenSearchRoleMapping`` handler
  (``search_security/index.py``), which creates ``chirp_indexer`` and its mapping through the security REST API.
* The domain's access policy lists exactly the master role and the functions' roles (``es:ESHttp*`` on the
  domain's paths).

The domain lives in the data stack, the functions (and so their roles) in the API stack, which is built later. So
the data stack owns the domain, the master role and its handler (``SearchSecurityAdmin``); the API stack adds
``SearchAccess`` once the functions exist, which writes the access policy and the role mapping.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import custom_resources as cr
from constructs import Construct

from chirp.search_role import INDEXER_ROLE, indexer_role
from chirp_cdk.network_stack import vpc_network_interfaces

SEARCH_INDEX_PREFIX = "tweets"  # CHIRP_OPENSEARCH_INDEX_PREFIX of every function, and the role's index patterns
OPENSEARCH_SERVICE = "opensearchservice.amazonaws.com"
SERVICE_LINKED_ROLE = f"aws-service-role/{OPENSEARCH_SERVICE}/AWSServiceRoleForAmazonOpenSearchService"
HANDLER_DIR = Path(__file__).resolve().parent / "search_security"
# What the functions' calls need (chirp.adapters.opensearch_index: GET/POST searches and counts, PUT templates and
# indices, POST _bulk and _refresh); the adapter never deletes an index.
FUNCTION_HTTP_ACTIONS = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"]
ADMIN_HTTP_ACTIONS = ["es:ESHttpGet", "es:ESHttpPut", "es:ESHttpDelete"]  # the security REST API calls


def opensearch_service_linked_role(scope: Construct) -> cr.AwsCustomResource:
    """Creates AWSServiceRoleForAmazonOpenSearchService, which a VPC domain needs, unless the account has it.

    ``iam.CfnServiceLinkedRole`` would fail in every account that already has the role (and delete it with the
    stack); this calls iam:CreateServiceLinkedRole and treats "already exists" (InvalidInput) as done, and never
    deletes it (other domains of the account may use it)."""
    stack = Stack.of(scope)
    role_arn = stack.format_arn(service="iam", region="", resource="role", resource_name=SERVICE_LINKED_ROLE)
    call = cr.AwsSdkCall(
        service="IAM",
        action="createServiceLinkedRole",
        parameters={"AWSServiceName": OPENSEARCH_SERVICE},
        physical_resource_id=cr.PhysicalResourceId.of(SERVICE_LINKED_ROLE),
        ignore_error_codes_matching="InvalidInput",
    )
    return cr.AwsCustomResource(
        scope,
        "SearchServiceLinkedRole",
        on_create=call,
        policy=cr.AwsCustomResourcePolicy.from_statements(
            [
                iam.PolicyStatement(
                    actions=["iam:CreateServiceLinkedRole"],
                    resources=[role_arn],
                    conditions={"StringEquals": {"iam:AWSServiceName": OPENSEARCH_SERVICE}},
                )
            ]
        ),
        install_latest_aws_sdk=False,
    )


class SearchSecurityAdmin(Construct):
    """The domain's master user: an IAM role that only the ``Custom::OpenSearchRoleMapping`` handler runs as.

    The handler runs in the VPC (the domain has no public endpoint) in the functions' security group, which is the
    one the domain's security group admits on 443."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        sg: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "MasterRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Chirp OpenSearch master user: assumed only by the role-mapping custom resource handler",
        )
        self.role.add_to_policy(vpc_network_interfaces())
        self.log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Handler",
            description="Chirp: creates the chirp_indexer OpenSearch role and maps the functions' IAM roles to it",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(HANDLER_DIR), exclude=["__pycache__", "*.pyc"]),
            timeout=Duration.minutes(5),
            memory_size=256,
            role=self.role,
            log_group=self.log_group,
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[sg],
        )

    def allow_domain(self, domain: opensearch.IDomain) -> None:
        """The master role's own IAM permission to call the domain (its security REST API)."""
        self.role.add_to_policy(iam.PolicyStatement(actions=ADMIN_HTTP_ACTIONS, resources=[f"{domain.domain_arn}/*"]))


class SearchAccess(Construct):
    """In the stack of the functions: the domain's access policy (the master role and exactly these functions'
    roles) and the ``chirp_indexer`` role mapped to the functions' roles."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain: opensearch.IDomain,
        admin: SearchSecurityAdmin,
        roles: Sequence[iam.IRole],
        prefix: str = SEARCH_INDEX_PREFIX,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        role_arns = list(dict.fromkeys(role.role_arn for role in roles))
        paths = f"{domain.domain_arn}/*"
        self.access_policy_document = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "MasterRole",
                    "Effect": "Allow",
                    "Principal": {"AWS": admin.role.role_arn},
                    "Action": ADMIN_HTTP_ACTIONS,
                    "Resource": paths,
                },
                {
                    "Sid": "ChirpFunctions",
                    "Effect": "Allow",
                    "Principal": {"AWS": role_arns},
                    "Action": FUNCTION_HTTP_ACTIONS,
                    "Resource": paths,
                },
            ],
        }
        update = cr.AwsSdkCall(
            service="OpenSearch",
            action="updateDomainConfig",
            parameters={
                "DomainName": domain.domain_name,
                "AccessPolicies": stack.to_json_string(self.access_policy_document),
            },
            physical_resource_id=cr.PhysicalResourceId.of(f"{construct_id}-access-policy"),
            output_paths=["DomainConfig.AccessPolicies.Status.State"],  # not the whole (large) config
        )
        self.access_policy = cr.AwsCustomResource(
            self,
            "AccessPolicy",
            on_create=update,
            on_update=update,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["es:UpdateDomainConfig"], resources=[domain.domain_arn])]
            ),
            install_latest_aws_sdk=False,
        )
        self.role_mapping = CustomResource(
            self,
            "IndexerRole",
            service_token=admin.function.function_arn,
            resource_type="Custom::OpenSearchRoleMapping",
            properties={
                "Endpoint": f"https://{domain.domain_endpoint}",
                "RoleName": INDEXER_ROLE,
                "Role": json.dumps(indexer_role(prefix), sort_keys=True),
                "BackendRoles": role_arns,
            },
        )
        self.role_mapping.node.add_dependency(self.access_policy)

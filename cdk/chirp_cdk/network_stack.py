"""The VPC: private subnets for the functions and the data stores, the endpoints the functions call, and the
security groups that let the functions (and only them) reach Redis, Neptune, OpenSearch and MSK."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from chirp_cdk.settings import DeploymentSettings

REDIS_PORT = 6380  # not the default 6379
NEPTUNE_PORT = 8182
MSK_IAM_PORT = 9098
KEYSPACES_PORT = 9142


class NetworkStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: DeploymentSettings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=settings.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20),
            ],
        )
        flow_logs = logs.LogGroup(
            self, "FlowLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))

        self.functions_sg = ec2.SecurityGroup(
            self, "FunctionsSg", vpc=self.vpc, description="Chirp Lambda functions", allow_all_outbound=True
        )
        self.endpoints_sg = ec2.SecurityGroup(
            self, "EndpointsSg", vpc=self.vpc, description="Interface VPC endpoints", allow_all_outbound=False
        )
        self.endpoints_sg.add_ingress_rule(self.functions_sg, ec2.Port.tcp(443), "HTTPS from the functions")
        self.endpoints_sg.add_ingress_rule(self.functions_sg, ec2.Port.tcp(KEYSPACES_PORT), "CQL/TLS to Keyspaces")
        self.cache_sg = self._data_sg("CacheSg", "ElastiCache Redis", ec2.Port.tcp(REDIS_PORT))
        self.graph_sg = self._data_sg("GraphSg", "Neptune", ec2.Port.tcp(NEPTUNE_PORT))
        self.search_sg = self._data_sg("SearchSg", "OpenSearch", ec2.Port.tcp(443))
        # The MSK event source's pollers sit in the cluster's security group and call Lambda/STS: outbound open.
        self.stream_sg = self._data_sg("StreamSg", "MSK Serverless", ec2.Port.tcp(MSK_IAM_PORT), outbound=True)
        self.stream_sg.add_ingress_rule(self.stream_sg, ec2.Port.tcp(MSK_IAM_PORT), "MSK event source pollers")

        # Gateway endpoint for S3 (free); interface endpoints for the AWS APIs the functions call. The API Gateway
        # management API (@connections) has no VPC endpoint, so pushes leave through the NAT gateways.
        self.vpc.add_gateway_endpoint("S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3)
        for name, service in (
            ("SecretsManager", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
            ("Kinesis", ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS),
            ("Keyspaces", ec2.InterfaceVpcEndpointAwsService.KEYSPACES),
            ("Sts", ec2.InterfaceVpcEndpointAwsService.STS),
        ):
            self.vpc.add_interface_endpoint(
                f"{name}Endpoint",
                service=service,
                private_dns_enabled=True,
                security_groups=[self.endpoints_sg],
                open=False,  # only the functions' security group may connect (rules above), not the whole VPC
            )

    @property
    def private_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

    def _data_sg(self, construct_id: str, what: str, port: ec2.Port, *, outbound: bool = False) -> ec2.SecurityGroup:
        sg = ec2.SecurityGroup(self, construct_id, vpc=self.vpc, description=what, allow_all_outbound=outbound)
        sg.add_ingress_rule(self.functions_sg, port, f"{what} from the functions")
        return sg


def vpc_network_interfaces() -> iam.PolicyStatement:
    """What a function in the VPC needs for the network interfaces Lambda creates there (these EC2 actions take no
    resource-level scoping)."""
    return iam.PolicyStatement(
        actions=[
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ],
        resources=["*"],
    )

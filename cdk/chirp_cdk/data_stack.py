"""Data stores: Keyspaces (records), ElastiCache Redis (cache), Neptune (graph), OpenSearch (search), and the
secrets the functions read at cold start. With backend=local only the secrets are created; the functions then use
endpoints given in context."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_cassandra as cassandra
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_neptune as neptune
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from chirp.config import RESOURCE_SETTINGS
from chirp_cdk.keyspaces import KeyspacesTable, keyspaces_tables
from chirp_cdk.network_stack import NEPTUNE_PORT, REDIS_PORT, NetworkStack
from chirp_cdk.search_access import (
    FUNCTION_HTTP_ACTIONS,
    SEARCH_INDEX_PREFIX,
    SearchSecurityAdmin,
    opensearch_service_linked_role,
)
from chirp_cdk.settings import DATA_RESOURCES, DeploymentSettings

KEYSPACE_NAME = "chirp"


@dataclass
class DataEndpoints:
    """What the functions need to reach the data stores: environment values and grants."""

    environment: dict[str, dict[str, str]] = field(default_factory=dict)  # resource -> CHIRP_* values
    secrets: dict[str, list[secretsmanager.ISecret]] = field(default_factory=dict)  # resource -> readable secrets
    policies: dict[str, iam.ManagedPolicy] = field(default_factory=dict)  # resource -> its access policy
    security_groups: dict[str, ec2.ISecurityGroup] = field(default_factory=dict)  # resource -> its data SG


SEARCH_DATA_NODES = 2  # r7g.large.search data nodes, one per availability zone


class DataStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        network: NetworkStack | None,
        tables: list[KeyspacesTable] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.retain = RemovalPolicy.RETAIN if settings.is_aws else RemovalPolicy.DESTROY
        self.endpoints = DataEndpoints()

        self.jwt_secret = secretsmanager.Secret(
            self,
            "JwtSigningKey",
            description="Chirp JWT signing key: JSON {kid, secret}; CHIRP_JWT_KEYS is 'kid:secret'",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"kid": "k1"}),
                generate_string_key="secret",
                exclude_punctuation=True,
                exclude_characters=",",  # CHIRP_JWT_KEYS separates keys with commas (said twice for emulators)
                password_length=64,
            ),
            removal_policy=self.retain,
        )
        self.endpoints.environment["jwt"] = {"CHIRP_JWT_SECRET_ARN": self.jwt_secret.secret_arn}
        self.endpoints.secrets["jwt"] = [self.jwt_secret]

        self.table_names: list[str] = []
        if network is None:
            self._local_endpoints()
            return
        self._keyspaces(tables if tables is not None else keyspaces_tables())
        self._redis(network)
        self._neptune(network)
        self._opensearch(network)

    # -- backend=local -----------------------------------------------------------------------------------------
    def _local_endpoints(self) -> None:
        """backend=local: each given setting goes to the functions of the resource it belongs to."""
        given = self.settings.local_endpoints
        for resource in DATA_RESOURCES:
            env = {f"CHIRP_{name.upper()}": given[name] for name in RESOURCE_SETTINGS[resource] if name in given}
            if "tls_ca_bundle" in given:
                env["CHIRP_TLS_CA_BUNDLE"] = given["tls_ca_bundle"]
            if env:
                self.endpoints.environment[resource] = env

    # -- Keyspaces ---------------------------------------------------------------------------------------------
    def _keyspaces(self, tables: list[KeyspacesTable]) -> None:
        self.keyspace = cassandra.CfnKeyspace(self, "Keyspace", keyspace_name=KEYSPACE_NAME)
        self.keyspace.apply_removal_policy(self.retain)
        for table in tables:
            cfn = cassandra.CfnTable(
                self,
                f"Table-{table.name}",
                keyspace_name=KEYSPACE_NAME,
                table_name=table.name,
                partition_key_columns=[
                    cassandra.CfnTable.ColumnProperty(column_name=n, column_type=t) for n, t in table.partition_key
                ],
                clustering_key_columns=[
                    cassandra.CfnTable.ClusteringKeyColumnProperty(
                        column=cassandra.CfnTable.ColumnProperty(column_name=n, column_type=t), order_by=order
                    )
                    for n, t, order in table.clustering
                ]
                or None,
                regular_columns=[
                    cassandra.CfnTable.ColumnProperty(column_name=n, column_type=t) for n, t in table.regular
                ]
                or None,
                billing_mode=cassandra.CfnTable.BillingModeProperty(mode="ON_DEMAND"),
                point_in_time_recovery_enabled=True,
                default_time_to_live=table.default_ttl_s,
                encryption_specification=cassandra.CfnTable.EncryptionSpecificationProperty(
                    encryption_type="AWS_OWNED_KMS_KEY"
                ),
            )
            cfn.node.add_dependency(self.keyspace)
            cfn.apply_removal_policy(self.retain)
            self.table_names.append(table.name)
        keyspace_arn = self.format_arn(
            service="cassandra", resource=f"/keyspace/{KEYSPACE_NAME}/", arn_format=ArnFormat.NO_RESOURCE_NAME
        )
        self.endpoints.environment["keyspaces"] = {
            "CHIRP_CASSANDRA_HOSTS": f"cassandra.{self.region}.{self.url_suffix}:9142",
            "CHIRP_CASSANDRA_SIGV4": "true",
            "CHIRP_CASSANDRA_KEYSPACE": KEYSPACE_NAME,
        }
        self._policy(
            "keyspaces",
            "KeyspacesAccess",
            iam.PolicyStatement(
                actions=["cassandra:Select", "cassandra:Modify"],
                resources=[keyspace_arn, f"{keyspace_arn}table/*"],
            ),
            # The driver reads the system keyspaces for cluster metadata.
            iam.PolicyStatement(
                actions=["cassandra:Select"],
                resources=[
                    self.format_arn(
                        service="cassandra", resource="/keyspace/system*", arn_format=ArnFormat.NO_RESOURCE_NAME
                    )
                ],
            ),
        )

    # -- ElastiCache Redis -------------------------------------------------------------------------------------
    def _redis(self, network: NetworkStack) -> None:
        self.redis_auth = secretsmanager.Secret(
            self,
            "RedisAuthToken",
            description="Chirp ElastiCache Redis AUTH token",
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=64),
            removal_policy=self.retain,
        )
        subnets = elasticache.CfnSubnetGroup(
            self,
            "CacheSubnets",
            description="Chirp Redis private subnets",
            subnet_ids=network.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnet_ids,
        )
        slow_log = logs.LogGroup(
            self, "CacheSlowLog", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        # Cluster mode: the hash slots spread over cache_shards primaries, each with its replicas in other AZs; the
        # functions reach it through the configuration endpoint and discover the shards (CHIRP_REDIS_CLUSTER).
        self.redis = elasticache.CfnReplicationGroup(
            self,
            "Cache",
            replication_group_description="Chirp cache: timelines, trends, rate limits, connections",
            engine="redis",
            engine_version="7.1",
            cache_node_type="cache.r7g.large",
            cluster_mode="enabled",
            cache_parameter_group_name="default.redis7.cluster.on",
            num_node_groups=self.settings.cache_shards,
            replicas_per_node_group=self.settings.cache_replicas_per_shard,
            multi_az_enabled=True,
            automatic_failover_enabled=True,
            at_rest_encryption_enabled=True,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=self.redis_auth.secret_value.unsafe_unwrap(),  # a dynamic reference, never the value
            port=REDIS_PORT,
            cache_subnet_group_name=subnets.ref,
            security_group_ids=[network.cache_sg.security_group_id],
            snapshot_retention_limit=7,
            auto_minor_version_upgrade=True,
            log_delivery_configurations=[
                elasticache.CfnReplicationGroup.LogDeliveryConfigurationRequestProperty(
                    destination_type="cloudwatch-logs",
                    log_format="json",
                    log_type="slow-log",
                    destination_details=elasticache.CfnReplicationGroup.DestinationDetailsProperty(
                        cloud_watch_logs_details=elasticache.CfnReplicationGroup.CloudWatchLogsDestinationDetailsProperty(
                            log_group=slow_log.log_group_name
                        )
                    ),
                )
            ],
        )
        self.redis.apply_removal_policy(self.retain)
        self.endpoints.environment["cache"] = {
            "CHIRP_REDIS_URL": f"rediss://{self.redis.attr_configuration_end_point_address}:{REDIS_PORT}/0",
            "CHIRP_REDIS_CLUSTER": "true",
            "CHIRP_REDIS_AUTH_SECRET_ARN": self.redis_auth.secret_arn,
        }
        self.endpoints.secrets["cache"] = [self.redis_auth]
        self.endpoints.security_groups["cache"] = network.cache_sg

    # -- Neptune -----------------------------------------------------------------------------------------------
    def _neptune(self, network: NetworkStack) -> None:
        subnets = neptune.CfnDBSubnetGroup(
            self,
            "GraphSubnets",
            db_subnet_group_description="Chirp Neptune private subnets",
            subnet_ids=network.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnet_ids,
        )
        self.graph = neptune.CfnDBCluster(
            self,
            "Graph",
            iam_auth_enabled=True,
            storage_encrypted=True,
            backup_retention_period=7,
            deletion_protection=self.settings.is_aws,
            db_subnet_group_name=subnets.ref,
            vpc_security_group_ids=[network.graph_sg.security_group_id],
            db_port=NEPTUNE_PORT,
            enable_cloudwatch_logs_exports=["audit"],
        )
        self.graph.apply_removal_policy(RemovalPolicy.SNAPSHOT if self.settings.is_aws else RemovalPolicy.DESTROY)
        for index in range(2):  # a writer and a reader, placed in different AZs by Neptune
            instance = neptune.CfnDBInstance(
                self,
                f"GraphInstance{index + 1}",
                db_cluster_identifier=self.graph.ref,
                db_instance_class="db.r6g.large",
                auto_minor_version_upgrade=True,
            )
            instance.node.add_dependency(self.graph)
        self.endpoints.environment["graph"] = {
            "CHIRP_NEPTUNE_URL": f"wss://{self.graph.attr_endpoint}:{NEPTUNE_PORT}/gremlin",
            "CHIRP_NEPTUNE_READER_URL": f"wss://{self.graph.attr_read_endpoint}:{NEPTUNE_PORT}/gremlin",
            "CHIRP_NEPTUNE_IAM_AUTH": "true",
        }
        self._policy(
            "graph",
            "GraphAccess",
            iam.PolicyStatement(
                actions=[
                    "neptune-db:connect",
                    "neptune-db:ReadDataViaQuery",
                    "neptune-db:WriteDataViaQuery",
                    "neptune-db:DeleteDataViaQuery",
                ],
                resources=[
                    self.format_arn(
                        service="neptune-db", resource=self.graph.attr_cluster_resource_id, resource_name="*"
                    )
                ],
            ),
        )
        self.endpoints.security_groups["graph"] = network.graph_sg

    # -- OpenSearch --------------------------------------------------------------------------------------------
    def _opensearch(self, network: NetworkStack) -> None:
        """The domain, with fine-grained access control whose master user is an IAM role (see chirp_cdk.search_access:
        the functions sign with their own roles, mapped to the least-privilege chirp_indexer role by the API stack's
        SearchAccess; no function holds a password)."""
        service_linked_role = opensearch_service_linked_role(self)
        self.search_admin = SearchSecurityAdmin(
            self, "SearchSecurityAdmin", vpc=network.vpc, subnets=network.private_subnets, sg=network.functions_sg
        )
        self.search = opensearch.Domain(
            self,
            "Search",
            version=opensearch.EngineVersion.OPENSEARCH_2_19,
            vpc=network.vpc,
            vpc_subnets=[network.private_subnets],
            security_groups=[network.search_sg],
            capacity=opensearch.CapacityConfig(
                data_nodes=SEARCH_DATA_NODES,
                data_node_instance_type="r7g.large.search",
                master_nodes=3,
                master_node_instance_type="m7g.large.search",
                multi_az_with_standby_enabled=False,
            ),
            zone_awareness=opensearch.ZoneAwarenessConfig(enabled=True, availability_zone_count=2),
            ebs=opensearch.EbsOptions(volume_size=100, volume_type=ec2.EbsDeviceVolumeType.GP3),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            fine_grained_access_control=opensearch.AdvancedSecurityOptions(
                master_user_arn=self.search_admin.role.role_arn
            ),
            logging=opensearch.LoggingOptions(
                slow_search_log_enabled=True,
                slow_index_log_enabled=True,
                app_log_enabled=True,
                audit_log_enabled=True,
            ),
            removal_policy=self.retain,
        )
        self.search.node.add_dependency(service_linked_role)  # a VPC domain needs the service-linked role first
        self.search_admin.allow_domain(self.search)
        self.endpoints.environment["search"] = {
            "CHIRP_OPENSEARCH_URL": f"https://{self.search.domain_endpoint}",
            "CHIRP_OPENSEARCH_AUTH": "sigv4",
            "CHIRP_OPENSEARCH_INDEX_PREFIX": SEARCH_INDEX_PREFIX,
            # One primary shard per data node, each with a replica in the other zone: losing a node (or a zone)
            # loses no document and keeps every shard searchable (the 3-node cluster suite proves it on loopback).
            "CHIRP_OPENSEARCH_SHARDS": str(SEARCH_DATA_NODES),
            "CHIRP_OPENSEARCH_REPLICAS": "1",
        }
        self._policy(
            "search",
            "SearchAccess",
            iam.PolicyStatement(actions=FUNCTION_HTTP_ACTIONS, resources=[f"{self.search.domain_arn}/*"]),
        )
        self.endpoints.security_groups["search"] = network.search_sg

    def _policy(self, resource: str, construct_id: str, *statements: iam.PolicyStatement) -> None:
        """One managed policy per data store, attached to the roles of the functions that use it."""
        self.endpoints.policies[resource] = iam.ManagedPolicy(
            self, construct_id, description=f"Chirp functions that use {resource}", statements=list(statements)
        )

    @property
    def cache_member_ids(self) -> list[str]:
        """The Redis nodes' cache cluster ids (cluster mode: replication group id + -<shard 0001..>-<node 001..>), for
        per-node metrics."""
        nodes = 1 + self.settings.cache_replicas_per_shard
        return [
            f"{self.redis.ref}-{shard:04d}-{node:03d}"
            for shard in range(1, self.settings.cache_shards + 1)
            for node in range(1, nodes + 1)
        ]

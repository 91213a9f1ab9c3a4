"""Data stores, network and secrets."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Match
from chirp_cdk.keyspaces import keyspaces_table, keyspaces_tables
from chirp_cdk.settings import settings_from_context

from chirp import schema
from chirp.schema import Table

from .support import Synthesized, resources_of


def test_keyspace_exists(aws: Synthesized) -> None:
    """Given backend=aws
    When synthesized
    Then the chirp keyspace is created and kept on stack deletion."""
    aws.template("Data").has_resource(
        "AWS::Cassandra::Keyspace", {"Properties": {"KeyspaceName": "chirp"}, "DeletionPolicy": "Retain"}
    )


def test_keyspaces_tables_split_the_schema_tables_into_typed_keys() -> None:
    """Given a chirp.schema.Table with a partition key, descending clustering and a TTL
    When converted
    Then keys, types, clustering order and TTL come out as declared, regular columns in declaration order."""
    table = keyspaces_table(
        Table(
            name="timelines",
            columns=(("user_id", "bigint"), ("tweet_id", "bigint"), ("author_id", "bigint"), ("note", "text")),
            partition_key=("user_id",),
            clustering=(("tweet_id", "DESC"),),
            default_ttl_s=2_592_000,
        )
    )
    assert table.partition_key == (("user_id", "bigint"),)
    assert table.clustering == (("tweet_id", "bigint", "DESC"),)
    assert table.regular == (("author_id", "bigint"), ("note", "text"))
    assert table.default_ttl_s == 2_592_000


def test_keyspaces_tables_are_the_schema_tables() -> None:
    """Given no argument
    When keyspaces_tables() is called
    Then it converts every chirp.schema.TABLES entry, in order."""
    assert [t.name for t in keyspaces_tables()] == [t.name for t in schema.TABLES]


@pytest.mark.parametrize(
    ("tables", "error", "match"),
    [
        ([], ValueError, "no Keyspaces tables"),
        ([{"name": "users", "columns": {"id": "text"}, "partition_key": ["id"]}], TypeError, "chirp.schema.Table"),
        ([Table(name="bad", columns=(("a", "text"),), partition_key=("b",))], ValueError, "not among its columns"),
        ([Table(name="bad", columns=(("a", "text"),), partition_key=())], ValueError, "no partition key"),
        ([Table(name="bad", columns=(("a", "text"), ("a", "int")), partition_key=("a",))], ValueError, "twice"),
        (
            [Table(name="bad", columns=(("a", "text"), ("b", "int")), partition_key=("a",), clustering=(("b", "UP"),))],  # type: ignore[arg-type]
            ValueError,
            "ASC or DESC",
        ),
    ],
    ids=["empty", "not-a-table", "untyped-key", "no-partition-key", "duplicate-column", "bad-order"],
)
def test_keyspaces_tables_refuse_anything_but_complete_schema_tables(
    tables: list[object], error: type[Exception], match: str
) -> None:
    """Given no tables, something other than a chirp.schema.Table (an alias-named dict) or an inconsistent Table
    When converted
    Then the conversion fails loudly instead of deploying fewer (or no) tables."""
    with pytest.raises(error, match=match):
        keyspaces_tables(tables)  # type: ignore[arg-type]


def test_tables_get_pitr_and_ttl(synth_factory) -> None:  # type: ignore[no-untyped-def]
    """Given the data stack built with one table that declares a TTL
    When synthesized
    Then the table has point-in-time recovery, on-demand billing and the default TTL."""
    from aws_cdk import App
    from aws_cdk.assertions import Template
    from chirp_cdk.data_stack import DataStack
    from chirp_cdk.network_stack import NetworkStack
    from chirp_cdk.settings import DeploymentSettings

    settings = DeploymentSettings()
    app = App()
    network = NetworkStack(app, "N", settings=settings)
    tables = keyspaces_tables(
        [
            Table(
                name="sessions",
                columns=(("id", "text"), ("at", "timestamp")),
                partition_key=("id",),
                default_ttl_s=3600,
            )
        ]
    )
    data = DataStack(app, "D", settings=settings, network=network, tables=tables)
    Template.from_stack(data).has_resource_properties(
        "AWS::Cassandra::Table",
        {
            "KeyspaceName": "chirp",
            "TableName": "sessions",
            "PointInTimeRecoveryEnabled": True,
            "DefaultTimeToLive": 3600,
            "BillingMode": {"Mode": "ON_DEMAND"},
            "PartitionKeyColumns": [{"ColumnName": "id", "ColumnType": "text"}],
        },
    )


def test_redis_is_a_multi_az_cluster_with_tls_and_auth(aws: Synthesized) -> None:
    """Given the cache
    When synthesized
    Then it is a cluster-mode replication group (3 shards of a primary and a replica by default) with failover across
    AZs, TLS in transit, encryption at rest and an AUTH token; functions get its configuration endpoint."""
    aws.template("Data").has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {
            "ClusterMode": "enabled",
            "CacheParameterGroupName": "default.redis7.cluster.on",
            "NumNodeGroups": 3,
            "ReplicasPerNodeGroup": 1,
            "NumCacheClusters": Match.absent(),
            "MultiAZEnabled": True,
            "AutomaticFailoverEnabled": True,
            "TransitEncryptionEnabled": True,
            "TransitEncryptionMode": "required",
            "AtRestEncryptionEnabled": True,
            "AuthToken": Match.any_value(),
            "Port": 6380,
        },
    )
    group = next(iter(resources_of(aws.raw("Data"), "AWS::ElastiCache::ReplicationGroup")))
    url = json.dumps(aws.stacks.data.resolve(aws.stacks.data.endpoints.environment["cache"]["CHIRP_REDIS_URL"]))
    assert group in url and "ConfigurationEndPoint.Address" in url
    functions = resources_of(aws.raw("Api"), "AWS::Lambda::Function").values()
    cache_users = [f["Properties"]["Environment"]["Variables"] for f in functions if "CHIRP_REDIS_URL" in str(f)]
    assert cache_users and all(env["CHIRP_REDIS_CLUSTER"] == "true" for env in cache_users)


def test_the_cache_shard_and_replica_counts_are_settings(
    synth_factory: Callable[[dict[str, Any]], Synthesized],
) -> None:
    """Given cache_shards=5 and cache_replicas_per_shard=2 in the context
    When synthesized
    Then the replication group has 5 node groups of a primary and 2 replicas."""
    sized = synth_factory({"backend": "aws", "stream": "kinesis", "cache_shards": 5, "cache_replicas_per_shard": 2})
    sized.template("Data").has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup", {"NumNodeGroups": 5, "ReplicasPerNodeGroup": 2}
    )
    assert len(sized.stacks.data.cache_member_ids) == 15


@pytest.mark.parametrize(
    "context",
    [{"cache_shards": 0}, {"cache_shards": 501}, {"cache_replicas_per_shard": 0}, {"cache_replicas_per_shard": 6}],
)
def test_cache_sizes_out_of_range_are_refused(context: dict[str, object]) -> None:
    """Given no shard, too many, no replica (no failover) or more replicas than ElastiCache allows
    When the settings are read
    Then a clear error is raised before anything is built."""
    with pytest.raises(ValueError, match="cache_"):
        settings_from_context(App(context=context).node)


def test_neptune_uses_iam_auth_and_encryption(aws: Synthesized) -> None:
    """Given the graph
    When synthesized
    Then the Neptune cluster requires IAM auth, encrypts storage and has two instances."""
    template = aws.template("Data")
    template.has_resource_properties(
        "AWS::Neptune::DBCluster", {"IamAuthEnabled": True, "StorageEncrypted": True, "BackupRetentionPeriod": 7}
    )
    template.resource_count_is("AWS::Neptune::DBInstance", 2)


def test_opensearch_is_private_encrypted_and_access_controlled(aws: Synthesized) -> None:
    """Given the search domain
    When synthesized
    Then it is in the VPC with encryption at rest, node-to-node encryption, HTTPS only and fine-grained access
    whose master user is an IAM role (no internal users, no password)."""
    aws.template("Data").has_resource_properties(
        "AWS::OpenSearchService::Domain",
        {
            "VPCOptions": Match.object_like({"SubnetIds": Match.any_value()}),
            "EncryptionAtRestOptions": {"Enabled": True},
            "NodeToNodeEncryptionOptions": {"Enabled": True},
            "DomainEndpointOptions": Match.object_like({"EnforceHTTPS": True}),
            "AdvancedSecurityOptions": {
                "Enabled": True,
                "InternalUserDatabaseEnabled": False,
                "MasterUserOptions": {"MasterUserARN": Match.any_value()},
            },
        },
    )


def test_vpc_has_private_subnets_endpoints_and_flow_logs(aws: Synthesized) -> None:
    """Given the functions run in private subnets
    When the network is synthesized
    Then it has the S3 gateway endpoint, interface endpoints (Secrets Manager, Kinesis, Keyspaces) and flow logs."""
    template = aws.template("Network")
    template.resource_count_is("AWS::EC2::FlowLog", 1)
    raw = str(aws.raw("Network"))
    for service in ("secretsmanager", "kinesis-streams", "cassandra", ".s3"):
        assert service in raw, service
    template.has_resource_properties("AWS::EC2::Subnet", {"MapPublicIpOnLaunch": False})


def test_jwt_key_is_a_generated_secret(aws: Synthesized) -> None:
    """Given the JWT signing key
    When synthesized
    Then it is generated in Secrets Manager and its ARN (not its value) reaches the functions."""
    aws.template("Data").has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "GenerateSecretString": Match.object_like(
                {"GenerateStringKey": "secret", "SecretStringTemplate": '{"kid": "k1"}'}
            )
        },
    )

"""Data stores, network and secrets."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match
from chirp_cdk.keyspaces import keyspaces_tables, table_from_spec

from .support import Synthesized


def test_keyspace_exists(aws: Synthesized) -> None:
    """Given backend=aws
    When synthesized
    Then the chirp keyspace is created and kept on stack deletion."""
    aws.template("Data").has_resource(
        "AWS::Cassandra::Keyspace", {"Properties": {"KeyspaceName": "chirp"}, "DeletionPolicy": "Retain"}
    )


def test_keyspaces_tables_from_schema_specs() -> None:
    """Given table specs in the accepted shapes (dict and object; clustering as pairs or 'name DESC')
    When keyspaces_tables() normalizes them
    Then keys, types, clustering order and TTL come out as declared."""

    class Spec:
        name = "timelines"
        columns = {"user_id": "text", "tweet_id": "timeuuid", "author_id": "text"}
        partition_key = ("user_id",)
        clustering = ("tweet_id DESC",)
        ttl_s = 2_592_000

    tables = keyspaces_tables(
        [Spec(), {"name": "users", "columns": [("user_id", "text"), ("name", "text")], "partition_key": "user_id"}]
    )
    timelines, users = tables
    assert timelines.partition_key == (("user_id", "text"),)
    assert timelines.clustering == (("tweet_id", "timeuuid", "DESC"),)
    assert timelines.regular == (("author_id", "text"),)
    assert timelines.default_ttl_s == 2_592_000
    assert users.default_ttl_s is None and users.clustering == ()
    with pytest.raises(ValueError, match="no type"):
        table_from_spec({"name": "bad", "columns": {"a": "text"}, "partition_key": ["b"]})


def test_keyspaces_tables_without_schema_module_is_empty_or_from_it() -> None:
    """Given chirp.schema may not exist yet
    When keyspaces_tables() is called with no argument
    Then it returns [] without it, or one table per entry of chirp.schema.TABLES with it."""
    try:
        from chirp import schema  # type: ignore[attr-defined]
    except ImportError:
        assert keyspaces_tables() == []
    else:
        assert len(keyspaces_tables()) == len(schema.TABLES)


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
        [{"name": "sessions", "columns": {"id": "text", "at": "timestamp"}, "partition_key": ["id"], "ttl_s": 3600}]
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


def test_redis_is_multi_az_tls_and_authenticated(aws: Synthesized) -> None:
    """Given the cache
    When synthesized
    Then it is a Multi-AZ replication group with failover, TLS in transit, encryption at rest and an AUTH token."""
    aws.template("Data").has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {
            "MultiAZEnabled": True,
            "AutomaticFailoverEnabled": True,
            "NumCacheClusters": 2,
            "TransitEncryptionEnabled": True,
            "AtRestEncryptionEnabled": True,
            "AuthToken": Match.any_value(),
            "Port": 6380,
        },
    )


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
    Then it is in the VPC with encryption at rest, node-to-node encryption, HTTPS only and fine-grained access."""
    aws.template("Data").has_resource_properties(
        "AWS::OpenSearchService::Domain",
        {
            "VPCOptions": Match.object_like({"SubnetIds": Match.any_value()}),
            "EncryptionAtRestOptions": {"Enabled": True},
            "NodeToNodeEncryptionOptions": {"Enabled": True},
            "DomainEndpointOptions": Match.object_like({"EnforceHTTPS": True}),
            "AdvancedSecurityOptions": Match.object_like({"Enabled": True, "InternalUserDatabaseEnabled": True}),
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

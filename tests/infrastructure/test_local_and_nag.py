"""The backend=local shape and the cdk-nag gate."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks
from chirp_cdk import nag
from chirp_cdk.settings import settings_from_context

from .support import LOCAL_ENDPOINTS, Synthesized, resources_of

AWS_ONLY = (
    "AWS::Cassandra::Keyspace",
    "AWS::Neptune::DBCluster",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::OpenSearchService::Domain",
    "AWS::EC2::VPC",
)


def test_local_backend_leaves_out_the_aws_data_stores(local: Synthesized) -> None:
    """Given context backend=local
    When synthesized
    Then there is no VPC, Keyspaces, Neptune, ElastiCache or OpenSearch, and no function is in a VPC."""
    stacks = [s.stack_name for s in local.stacks.all()]
    assert "ChirpNetwork" not in stacks
    for stack in local.stacks.all():
        template = local.assembly.get_stack_by_name(stack.stack_name).template
        for kind in AWS_ONLY:
            assert not resources_of(template, kind), (stack.stack_name, kind)
    for fn in resources_of(local.raw("Api"), "AWS::Lambda::Function").values():
        assert "VpcConfig" not in fn["Properties"]


def test_local_backend_points_functions_at_context_endpoints(local: Synthesized) -> None:
    """Given local_endpoints in context
    When synthesized
    Then the functions that use a store get that endpoint and CHIRP_BACKEND=servers."""
    seen = set()
    for fn in resources_of(local.raw("Api"), "AWS::Lambda::Function").values():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        if "CHIRP_FUNCTION" not in env:
            continue
        assert env["CHIRP_BACKEND"] == "servers"
        for key, var in (("redis_url", "CHIRP_REDIS_URL"), ("opensearch_url", "CHIRP_OPENSEARCH_URL")):
            if var in env:
                assert env[var] == LOCAL_ENDPOINTS[key]
                seen.add(var)
    assert seen == {"CHIRP_REDIS_URL", "CHIRP_OPENSEARCH_URL"}


@pytest.mark.parametrize(
    "context",
    [{"backend": "mars"}, {"stream": "sqs"}, {"backend": "local", "stream": "msk"}, {"local_endpoints": {"x": "y"}}],
)
def test_bad_context_is_refused(context: dict[str, object]) -> None:
    """Given an unknown backend, stream, endpoint key or MSK without the VPC
    When the settings are read
    Then a clear error is raised before anything is built."""
    with pytest.raises(ValueError):
        settings_from_context(App(context=context).node)


def test_nag_passed_and_every_suppression_has_a_one_line_reason(aws: Synthesized) -> None:
    """Given the app synthesized with the AwsSolutions checks as a validation plugin
    When the synth finished (a violation would have raised)
    Then the report says success and each acknowledgment is justified in one line."""
    report_path = aws.assembly.directory + "/validation-report.json"
    with open(report_path) as handle:
        report = json.load(handle)
    assert [p["conclusion"] for p in report["pluginReports"]] == ["success"]
    assert nag.APPLIED, "acknowledgments were recorded"
    for suppression in nag.APPLIED:
        assert suppression.reason and "\n" not in suppression.reason and len(suppression.reason) < 160


def test_nag_gate_rejects_a_violation(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Given an app with an unencrypted, unlogged bucket and the same AwsSolutions plugin
    When it is synthesized
    Then synthesis fails, so the gate is real."""
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Bad")
    s3.CfnBucket(stack, "Bucket")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()

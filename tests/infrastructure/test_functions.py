"""One Lambda per wiring entry: Python 3.12, arm64, Powertools, its own role, the environment its `uses` asks for."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match

from chirp import wiring

from .support import Synthesized, resources_of

VPC_USES = {"keyspaces", "cache", "graph", "search"}


def _functions(synth: Synthesized) -> dict[str, dict[str, Any]]:
    """Chirp's functions by wiring name (CDK's own helper functions are left out)."""
    out = {}
    for logical_id, fn in resources_of(synth.raw("Api"), "AWS::Lambda::Function").items():
        name = fn["Properties"].get("Environment", {}).get("Variables", {}).get("CHIRP_FUNCTION")
        if name:
            out[name] = {"id": logical_id, **fn["Properties"]}
    return out


def test_every_wiring_function_is_a_lambda(aws: Synthesized) -> None:
    """Given chirp.wiring.FUNCTIONS
    When the app is synthesized
    Then there is exactly one Lambda per entry, with its memory and timeout."""
    functions = _functions(aws)
    assert set(functions) == {fn.name for fn in wiring.FUNCTIONS}
    for spec in wiring.FUNCTIONS:
        fn = functions[spec.name]
        assert fn["MemorySize"] == spec.memory_mb
        assert fn["Timeout"] == spec.timeout_s


def test_functions_run_python312_on_arm64_with_tracing(aws: Synthesized) -> None:
    """Given the design's runtime choice
    When the functions are synthesized
    Then each is python3.12, arm64, handler.handler, X-Ray active, JSON logs, with both layers."""
    for name, fn in _functions(aws).items():
        assert fn["Runtime"] == "python3.12", name
        assert fn["Architectures"] == ["arm64"], name
        assert fn["Handler"] == "handler.handler", name
        assert fn["TracingConfig"] == {"Mode": "Active"}, name
        assert fn["LoggingConfig"]["LogFormat"] == "JSON", name
        assert len(fn["Layers"]) == 2, name


def test_layers_are_for_python312_arm64(aws: Synthesized) -> None:
    """Given the dependency and first-party layers
    When synthesized
    Then both declare python3.12 and arm64 compatibility."""
    template = aws.template("Api")
    template.resource_count_is("AWS::Lambda::LayerVersion", 2)
    template.all_resources_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": ["python3.12"], "CompatibleArchitectures": ["arm64"]},
    )


def test_powertools_is_configured(aws: Synthesized) -> None:
    """Given Powertools reads its settings from the environment
    When the functions are synthesized
    Then each has a service name, log level, metrics namespace and tracing on, and CHIRP_BACKEND=aws."""
    for name, fn in _functions(aws).items():
        env = fn["Environment"]["Variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] == "chirp", name
        assert env["POWERTOOLS_LOG_LEVEL"] == "INFO", name
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Chirp", name
        assert env["POWERTOOLS_TRACE_DISABLED"] == "false", name
        assert env["CHIRP_BACKEND"] == "aws", name


def test_each_function_has_its_own_role(aws: Synthesized) -> None:
    """Given least privilege per function
    When synthesized
    Then no two functions share a role and no role carries an AWS-managed policy."""
    functions = _functions(aws)
    roles = [fn["Role"]["Fn::GetAtt"][0] for fn in functions.values()]
    assert len(set(roles)) == len(functions)
    all_roles = resources_of(aws.raw("Api"), "AWS::IAM::Role")
    for role in roles:
        for arn in all_roles[role]["Properties"].get("ManagedPolicyArns", []):
            assert "iam::aws:policy" not in str(arn), role


def test_environment_follows_uses(aws: Synthesized) -> None:
    """Given each function's `uses` in the wiring table
    When synthesized
    Then exactly the functions that use a resource get its settings."""
    functions = _functions(aws)
    marker = {
        "jwt": "CHIRP_JWT_SECRET_ARN",
        "ws_management": "CHIRP_WS_MANAGEMENT_URL",
        "media": "CHIRP_MEDIA_BUCKET",
        "stream": "CHIRP_STREAM_NAME",
        "cache": "CHIRP_REDIS_URL",
        "keyspaces": "CHIRP_CASSANDRA_HOSTS",
        "graph": "CHIRP_NEPTUNE_URL",
        "search": "CHIRP_OPENSEARCH_URL",
    }
    for spec in wiring.FUNCTIONS:
        env = functions[spec.name]["Environment"]["Variables"]
        for use, key in marker.items():
            assert (key in env) == (use in spec.uses), (spec.name, key)
    assert functions["auth"]["Environment"]["Variables"]["CHIRP_CASSANDRA_SIGV4"] == "true"
    assert "9142" in str(functions["auth"]["Environment"]["Variables"]["CHIRP_CASSANDRA_HOSTS"])


def test_data_store_users_run_in_the_vpc(aws: Synthesized) -> None:
    """Given Redis, Neptune, OpenSearch and Keyspaces (endpoint) live in the VPC
    When synthesized
    Then the functions using them have a VpcConfig and the others (health, authorizer) do not."""
    for spec in wiring.FUNCTIONS:
        fn = _functions(aws)[spec.name]
        assert ("VpcConfig" in fn) == bool(VPC_USES & set(spec.uses)), spec.name


def test_role_policies_grant_only_what_is_used(aws: Synthesized) -> None:
    """Given the health function uses nothing and the media function uses media
    When their roles are synthesized
    Then health has no data-store policy and media's role attaches the media access policy only."""
    functions = _functions(aws)
    roles = resources_of(aws.raw("Api"), "AWS::IAM::Role")
    health_role = roles[functions["health"]["Role"]["Fn::GetAtt"][0]]["Properties"]
    assert health_role.get("ManagedPolicyArns", []) == []
    media_role = roles[functions["media"]["Role"]["Fn::GetAtt"][0]]["Properties"]
    managed = str(media_role["ManagedPolicyArns"])
    assert "MediaAccess" in managed and "Keyspaces" in managed and "Graph" not in managed
    aws.template("Content").has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": [
                    # Delete: the processor removes refused uploads, the eraser a deleted account's media
                    Match.object_like(
                        {"Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"], "Resource": Match.any_value()}
                    )
                ]
            }
        },
    )

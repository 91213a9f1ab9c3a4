"""Issue 20's cost levers as CDK options: the web ACL's scope (context waf_scope) and where the REST stage's access
logs go (context access_logs), each synthesized with the cdk-nag gate on."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment
from chirp_cdk.app import build_stacks
from chirp_cdk.settings import settings_from_context

from chirp.capacity.deployed import BUILT_VALUES

from .support import Synthesized, chirp_methods, resources_of

EDGE = {"backend": "aws", "stream": "kinesis", "waf_scope": "edge", "access_logs": "firehose"}
ACL_ARN = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/chirp-edge/0f0e0d0c-0b0a-0908-0706-050403020100"


@pytest.fixture(scope="module")
def edge(synth_factory: Callable[[dict[str, Any]], Synthesized]) -> Synthesized:
    return synth_factory(EDGE)


def _distribution(template: dict[str, Any]) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        d["Properties"]["DistributionConfig"]
        for d in resources_of(template, "AWS::CloudFront::Distribution").values()
        if d["Properties"]["DistributionConfig"].get("Comment", "").startswith("Chirp API edge")
    ]
    [api_edge] = found
    return api_edge


def _rest_stage(template: dict[str, Any]) -> dict[str, Any]:
    """Chirp's REST stage (the Api stack also holds the Mastodon API's)."""
    [rest] = [
        k
        for k, v in resources_of(template, "AWS::ApiGateway::RestApi").items()
        if v["Properties"]["Name"].endswith("-rest")
    ]
    stages: list[dict[str, Any]] = [
        s["Properties"]
        for s in resources_of(template, "AWS::ApiGateway::Stage").values()
        if s["Properties"]["RestApiId"] == {"Ref": rest}
    ]
    [stage] = stages
    return stage


def test_by_default_a_regional_acl_guards_the_rest_stage_and_logs_go_to_cloudwatch(aws: Synthesized) -> None:
    template = aws.raw("Api")
    acls = resources_of(template, "AWS::WAFv2::WebACL")
    assert {a["Properties"]["Scope"] for a in acls.values()} == {"REGIONAL"}
    assert "WebACLId" not in _distribution(template)
    destination = _rest_stage(template)["AccessLogSetting"]["DestinationArn"]
    # the log group keeps the construct id (and so the logical id) it had before the option existed
    assert destination["Fn::GetAtt"][1] == "Arn" and destination["Fn::GetAtt"][0].startswith("RestAccessLogs")
    assert aws.stacks.api.rest.access_logs.log_group is not None
    assert aws.stacks.api.rest.access_logs.log_group.node.path == "ChirpApi/Rest/AccessLogs"
    assert not resources_of(template, "AWS::KinesisFirehose::DeliveryStream")


def test_waf_scope_edge_moves_the_acl_onto_the_api_edge(edge: Synthesized) -> None:
    """Given waf_scope=edge, Then one CLOUDFRONT-scope ACL sits on the edge distribution, the REST stage has no
    association (the Mastodon API keeps its regional ACL), and sign-up and sign-in pass the edge uncached."""
    template = edge.raw("Api")
    acls = resources_of(template, "AWS::WAFv2::WebACL")
    [(edge_acl, _)] = [(k, a) for k, a in acls.items() if a["Properties"]["Scope"] == "CLOUDFRONT"]
    distribution = _distribution(template)
    assert distribution["WebACLId"] == {"Fn::GetAtt": [edge_acl, "Arn"]}
    [association] = resources_of(template, "AWS::WAFv2::WebACLAssociation").values()
    [mastodon] = [k for k, v in resources_of(template, "AWS::ApiGateway::RestApi").items() if "Mastodon" in k]
    assert mastodon in str(association["Properties"]["ResourceArn"])  # the Mastodon API's, not the REST stage's
    [auth] = distribution["CacheBehaviors"]
    assert auth["PathPattern"] == "/api/v1/auth/*"  # the origin path adds the stage
    assert set(auth["AllowedMethods"]) >= {"POST", "GET"}
    assert auth["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled


def test_with_waf_scope_edge_sign_up_and_sign_in_answer_only_the_edge(edge: Synthesized) -> None:
    """The edge sends an API key (an origin header CloudFront sets over the viewer's) that sign-up and sign-in
    require: a client calling the REST URL directly cannot skip the edge's ACL for them."""
    template = edge.raw("Api")
    every = [m["Properties"] for m in chirp_methods(template).values()]
    methods = {m["OperationName"]: m for m in every if "OperationName" in m}  # CORS preflights have none
    assert methods["signup"]["ApiKeyRequired"] is True and methods["login"]["ApiKeyRequired"] is True
    assert {m.get("OperationName") for m in every if m.get("ApiKeyRequired")} == {"signup", "login"}
    [key] = resources_of(template, "AWS::ApiGateway::ApiKey").values()
    [origin] = _distribution(template)["Origins"]
    [header] = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == "x-api-key"
    # the same secret, resolved by CloudFormation at deploy time, in both places; never a literal in the template
    assert header["HeaderValue"] == key["Properties"]["Value"]
    assert "resolve:secretsmanager" in str(header["HeaderValue"])
    plans = [p["Properties"] for p in resources_of(template, "AWS::ApiGateway::UsagePlan").values()]
    edge_plan = next(p for p in plans if p["UsagePlanName"].endswith("-edge"))
    assert "Quota" not in edge_plan  # every sign-in in the world comes with this one key


def test_access_logs_firehose_streams_the_stage_logs_to_the_log_bucket(edge: Synthesized) -> None:
    template = edge.raw("Api")
    [(name, stream)] = resources_of(template, "AWS::KinesisFirehose::DeliveryStream").items()
    properties = stream["Properties"]
    assert properties["DeliveryStreamName"].startswith("amazon-apigateway-")  # API Gateway takes no other name
    assert properties["DeliveryStreamType"] == "DirectPut"
    s3 = properties["ExtendedS3DestinationConfiguration"]
    assert s3["CompressionFormat"] == "GZIP" and s3["Prefix"] == "apigateway/rest/"
    [(bucket_name, bucket)] = [
        (k, b) for k, b in resources_of(template, "AWS::S3::Bucket").items() if "AccessLogsFirehoseArchive" in k
    ]
    assert s3["BucketARN"] == {"Fn::GetAtt": [bucket_name, "Arn"]}
    [rule] = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 30
    assert _rest_stage(template)["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": [name, "Arn"]}
    assert edge.stacks.api.rest.access_logs.log_group is None


def test_access_logs_off_leaves_the_stage_without_access_logs(
    synth_factory: Callable[[dict[str, Any]], Synthesized],
) -> None:
    off = synth_factory({"backend": "aws", "stream": "kinesis", "access_logs": "off"})
    assert "AccessLogSetting" not in _rest_stage(off.raw("Api"))


def test_an_edge_acl_is_refused_outside_us_east_1_unless_its_arn_is_given(
    layers: tuple[Path, Path], tmp_path: Path
) -> None:
    """A CLOUDFRONT-scope ACL can only be made in us-east-1: a stack elsewhere must be given one made there."""
    env = Environment(account="123456789012", region="eu-west-1")
    with pytest.raises(ValueError, match="edge_web_acl_arn"):
        build_stacks(App(context=EDGE, outdir=str(tmp_path / "a")), layers=layers, env=env, nag=False)
    app = App(context={**EDGE, "edge_web_acl_arn": ACL_ARN}, outdir=str(tmp_path / "b"))
    stacks = build_stacks(app, layers=layers, env=env, nag=False)
    template = app.synth().get_stack_by_name(stacks.api.stack_name).template
    assert _distribution(template)["WebACLId"] == ACL_ARN
    assert not [
        a for a in resources_of(template, "AWS::WAFv2::WebACL").values() if a["Properties"]["Scope"] == "CLOUDFRONT"
    ]


@pytest.mark.parametrize(
    "context",
    [
        {"backend": "aws", "waf_scope": "none"},
        {"backend": "aws", "waf_scope": "some"},
        {"backend": "local", "waf": "false", "waf_scope": "edge"},
        {"waf_scope": "all", "edge_web_acl_arn": ACL_ARN},
        {"waf_scope": "edge", "edge_web_acl_arn": "arn:aws:wafv2:eu-west-1:1:regional/webacl/x/y"},
        {"access_logs": "s3"},
    ],
)
def test_bad_lever_contexts_are_refused(context: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        settings_from_context(App(context=context).node)


def test_every_lever_value_the_planner_calls_built_is_a_context_the_app_accepts() -> None:
    contexts = {"waf_scope": "waf_scope", "access_logs": "access_logs", "write_path": "write_path", "stream": "stream"}
    for option, values in BUILT_VALUES.items():
        if option not in contexts:
            continue
        for value, how in values.items():
            key, given = how.removeprefix("context ").split("=")
            assert key == contexts[option], how
            settings = settings_from_context(App(context={"backend": "aws", key: given}).node)
            assert str(getattr(settings, key)).replace("msk", "msk_serverless") == value


def test_the_edge_url_leaves_the_stage_to_the_origin_path(aws: Synthesized) -> None:
    """RestApiOrigin's origin path is the stage (/prod): a viewer path naming it again would reach /prod/prod/..."""
    template = aws.raw("Api")
    [origin] = _distribution(template)["Origins"]
    assert "Fn::Select" in str(origin["OriginPath"])  # "/" + the stage segment of the REST API's URL
    url = template["Outputs"]["ApiEdgeUrl"]["Value"]["Fn::Join"][1]
    assert url[-1] == "/api/v1" and "prod" not in str(url)


def test_with_the_acl_on_the_edge_the_web_client_signs_in_through_the_edge(edge: Synthesized, aws: Synthesized) -> None:
    """Sign-up and sign-in need the edge's API key once the ACL sits there: the web client's config.json sends them
    to the edge (auth_url), and by default to the REST API like every other call."""

    def config(synth: Synthesized) -> dict[str, str]:
        """config.json as deployed: its URLs are markers the deployment replaces with the stacks' outputs."""
        [deployment] = resources_of(synth.raw("Web"), "Custom::CDKBucketDeployment").values()
        tokens: dict[str, Any] = deployment["Properties"]["SourceMarkers"][-1]
        [path] = Path(synth.assembly.directory).glob("asset.*/config.json")
        raw: dict[str, str] = json.loads(path.read_text().replace("<<", '"<<').replace(">>", '>>"'))
        return {key: json.dumps(tokens.get(value, value), sort_keys=True) for key, value in raw.items()}

    edge_config, default_config = config(edge), config(aws)
    assert default_config["auth_url"] == default_config["api_url"]
    assert edge_config["auth_url"] != edge_config["api_url"] and "Edge" in edge_config["auth_url"]

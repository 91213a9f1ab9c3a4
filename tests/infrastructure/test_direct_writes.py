"""write_path=async: the stream-write routes of the wiring table are Kinesis PutRecord service integrations (no Lambda
in their request path) behind the same authorizer and validator, with the mapping templates chirp.direct_writes
generates and a role that may put records on the one stream and nothing else; every other route stays a Lambda
proxy, the default (sync) has no direct integration at all, and cdk-nag passes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import App
from chirp_cdk.settings import settings_from_context

from chirp import wiring
from chirp.direct_writes import DIRECT_WRITES

from .support import Synthesized, chirp_methods, resources_of


@pytest.fixture(scope="session")
def direct(synth_factory: Callable[[dict[str, Any]], Synthesized]) -> Synthesized:
    return synth_factory({"backend": "aws", "stream": "kinesis", "write_path": "async"})


def _methods(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        m["Properties"]["OperationName"]: m["Properties"]
        for m in chirp_methods(synth.raw("Api")).values()
        if m["Properties"]["HttpMethod"] != "OPTIONS"
    }


def _text(value: Any) -> str:
    """A template value that may be an Fn::Join (the stream name is a token): its literal parts."""
    return json.dumps(value)


def test_stream_write_routes_put_records_and_the_rest_stay_lambda(direct: Synthesized) -> None:
    methods = _methods(direct)
    for _, route in wiring.all_routes():
        props = methods[route.operation]
        integration = props["Integration"]
        if not route.stream_write:
            assert integration["Type"] == "AWS_PROXY", route.operation
            continue
        write = DIRECT_WRITES[route.operation]
        assert integration["Type"] == "AWS", route.operation
        assert "kinesis:action/PutRecord" in _text(integration["Uri"])
        assert integration["PassthroughBehavior"] == "NEVER"
        request = _text(integration["RequestTemplates"]["application/json"])
        assert write.event_type.value in request and "$context.authorizer.principalId" in request
        assert props["AuthorizationType"] == "CUSTOM" and "AuthorizerId" in props  # the same authorizer
        assert "RequestValidatorId" in props
        statuses = {r["StatusCode"]: r for r in integration["IntegrationResponses"]}
        assert set(statuses) == {"202", "400", "503"}
        assert statuses["400"]["SelectionPattern"] == r"4\d{2}"
        assert statuses["202"]["ResponseParameters"]["method.response.header.Cache-Control"] == "'private, no-store'"
        assert {r["StatusCode"] for r in props["MethodResponses"]} == {"202", "400", "503"}


def test_the_gateway_role_may_only_put_records_on_the_stream(direct: Synthesized) -> None:
    template = direct.raw("Api")
    roles = {k: r for k, r in resources_of(template, "AWS::IAM::Role").items() if "DirectWriteRole" in k}
    assert len(roles) == 1
    ((role_id, role),) = roles.items()
    assert "apigateway.amazonaws.com" in _text(role["Properties"]["AssumeRolePolicyDocument"])
    policies = [
        p for p in resources_of(template, "AWS::IAM::Policy").values() if role_id in _text(p["Properties"]["Roles"])
    ]
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert [s["Action"] for s in statements] == ["kinesis:PutRecord"]
    assert "*" not in _text(statements[0]["Resource"])
    credentials = {
        _text(m["Integration"].get("Credentials"))
        for m in _methods(direct).values()
        if m["Integration"]["Type"] == "AWS"
    }
    assert len(credentials) == 1 and role_id in credentials.pop()


def test_the_default_write_path_has_no_direct_integration(aws: Synthesized) -> None:
    assert {m["Integration"]["Type"] for m in _methods(aws).values()} == {"AWS_PROXY"}
    assert "DirectWriteRole" not in json.dumps(aws.raw("Api"))


def test_nag_passes_with_direct_writes(direct: Synthesized) -> None:
    with open(direct.assembly.directory + "/validation-report.json") as handle:
        report = json.load(handle)
    assert [p["conclusion"] for p in report["pluginReports"]] == ["success"]


@pytest.mark.parametrize(
    "context", [{"write_path": "fast"}, {"backend": "aws", "stream": "msk", "write_path": "async"}]
)
def test_bad_write_path_context_is_refused(context: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="write_path"):
        settings_from_context(App(context=context).node)


@pytest.mark.parametrize("variant", ["aws", "msk"])
def test_the_actions_consumer_is_filtered_to_the_intents(variant: str, request: pytest.FixtureRequest) -> None:
    """Lambda event filtering: on either stream the actions consumer is invoked only for intent records, so the
    sync write path (no intents) never invokes it."""
    synth: Synthesized = request.getfixturevalue(variant)
    mappings = [
        m
        for m in resources_of(synth.raw("Api"), "AWS::Lambda::EventSourceMapping").values()
        if "FilterCriteria" in m["Properties"] and "actions" in json.dumps(m["Properties"]["FunctionName"]).lower()
    ]
    assert len(mappings) == 1
    (pattern,) = [json.loads(f["Pattern"]) for f in mappings[0]["Properties"]["FilterCriteria"]["Filters"]]
    payload = "data" if variant == "aws" else "value"
    assert set(pattern[payload]["type"]) == {w.event_type.value for w in DIRECT_WRITES.values()}

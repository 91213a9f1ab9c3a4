"""The Mastodon surface's own REST API: every Mastodon route of the wiring table at the root of its stage, the same
TOKEN authorizer as Chirp's API on the protected ones, multipart bodies passed as binary, gateway errors in
Mastodon's shape, and its base URL in the Mastodon function's environment (what its entities link to)."""

from __future__ import annotations

from typing import Any

from chirp_cdk.mastodon_api import proxy_for, proxy_prefixes

from chirp import wiring

from .support import Synthesized, resources_of


def _mastodon_api(raw: dict[str, Any]) -> str:
    (logical_id,) = [
        key
        for key, api in resources_of(raw, "AWS::ApiGateway::RestApi").items()
        if str(api["Properties"]["Name"]).endswith("-mastodon")
    ]
    return logical_id


def _path(resources: dict[str, Any], logical_id: str, api: str) -> str:
    parts = []
    while True:
        resource = resources[logical_id]["Properties"]
        parts.append(resource["PathPart"])
        parent = resource["ParentId"]
        if "Ref" in parent:
            logical_id = parent["Ref"]
        else:
            assert parent == {"Fn::GetAtt": [api, "RootResourceId"]}
            return "/" + "/".join(reversed(parts))


def test_every_mastodon_route_reaches_the_function_with_the_right_authorization(aws: Synthesized) -> None:
    """Public routes are methods of their own without an authorizer; every other route is answered by the TOKEN
    authorizer's {proxy+} under its deepest public ancestor (the function routes and scope-checks it)."""
    raw = aws.raw("Api")
    api = _mastodon_api(raw)
    assert raw["Resources"][api]["Properties"]["BinaryMediaTypes"] == ["multipart/form-data"]
    resources = resources_of(raw, "AWS::ApiGateway::Resource")
    methods = {}
    for method in resources_of(raw, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        if props["RestApiId"] != {"Ref": api} or props["HttpMethod"] == "OPTIONS":
            continue
        path = _path(resources, props["ResourceId"]["Ref"], api)
        methods[(props["HttpMethod"], path)] = props["AuthorizationType"]
    for _, route in wiring.all_routes("mastodon"):
        if route.auth:
            prefix = proxy_for(route.path)
            assert methods[("ANY", prefix.rstrip("/") + "/{proxy+}")] == "CUSTOM", route
        else:
            assert methods[(route.method, route.path)] == "NONE", route
    assert len(methods) == len([r for _, r in wiring.all_routes("mastodon") if not r.auth]) + len(proxy_prefixes())
    authorizers = [
        a["Properties"]
        for a in resources_of(raw, "AWS::ApiGateway::Authorizer").values()
        if a["Properties"]["RestApiId"] == {"Ref": api}
    ]
    assert [a["Type"] for a in authorizers] == ["TOKEN"]


def test_gateway_errors_speak_mastodon_and_the_function_knows_its_url(aws: Synthesized) -> None:
    raw = aws.raw("Api")
    api = _mastodon_api(raw)
    responses = [
        r["Properties"]
        for r in resources_of(raw, "AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["RestApiId"] == {"Ref": api}
    ]
    unauthorized = next(r for r in responses if r["ResponseType"] == "UNAUTHORIZED")
    assert unauthorized["ResponseTemplates"]["application/json"] == '{"error": "The access token is invalid"}'
    functions = resources_of(raw, "AWS::Lambda::Function").values()
    (mastodon,) = [
        f
        for f in functions
        if f["Properties"].get("Environment", {}).get("Variables", {}).get("CHIRP_FUNCTION") == "mastodon"
    ]
    url = mastodon["Properties"]["Environment"]["Variables"]["CHIRP_MASTODON_URL"]
    assert {"Ref": api} in url["Fn::Join"][1]  # built from the API's id (not its stage: that would be a cycle)

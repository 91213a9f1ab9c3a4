"""REST and WebSocket APIs generated from the wiring table."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from chirp import wiring
from chirp.http import cors_config

from .support import Synthesized, chirp_methods, resources_of


def _methods(synth: Synthesized) -> dict[tuple[str, str], dict]:
    """(METHOD, operation name) -> properties, for Chirp's methods (CORS OPTIONS left out)."""
    out = {}
    for method in chirp_methods(synth.raw("Api")).values():
        props = method["Properties"]
        if props["HttpMethod"] != "OPTIONS":
            out[(props["HttpMethod"], props["OperationName"])] = props
    return out


def test_every_route_is_a_method_with_its_auth(aws: Synthesized) -> None:
    """Given the routes in chirp.wiring
    When the REST API is synthesized
    Then each is a method; authenticated ones use the Lambda authorizer; public ones and signed-out reads (whose
    function checks a token itself) none."""
    methods = _methods(aws)
    routes = wiring.all_routes()
    assert len(methods) == len(routes)
    for _, route in routes:
        props = methods[(route.method, route.operation)]
        guarded = route.auth and not route.optional_auth
        assert props["AuthorizationType"] == ("CUSTOM" if guarded else "NONE"), route.operation
        assert ("AuthorizerId" in props) == guarded, route.operation
        assert props["Integration"]["Type"] == "AWS_PROXY"


def test_token_authorizer_is_cached(aws: Synthesized) -> None:
    """Given a TOKEN authorizer on the Authorization header
    When synthesized
    Then its results are cached and the header is pre-checked for a bearer token."""
    aws.template("Api").has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {
            "Type": "TOKEN",
            "IdentitySource": "method.request.header.Authorization",
            "AuthorizerResultTtlInSeconds": 300,
            "IdentityValidationExpression": Match.string_like_regexp("Bearer"),
        },
    )


def test_requests_are_validated(aws: Synthesized) -> None:
    """Given OpenAPI parameters and bodies derived from the wiring table
    When synthesized
    Then a validator checks body and parameters, search requires q, and signup's body has a model."""
    template = aws.template("Api")
    template.has_resource_properties(
        "AWS::ApiGateway::RequestValidator", {"ValidateRequestBody": True, "ValidateRequestParameters": True}
    )
    methods = _methods(aws)
    assert methods[("GET", "search_tweets")]["RequestParameters"]["method.request.querystring.q"] is True
    assert methods[("GET", "get_tweet")]["RequestParameters"]["method.request.path.tweet_id"] is True
    assert "application/json" in methods[("POST", "signup")]["RequestModels"]
    models = {
        m["Properties"]["Name"]: m["Properties"]
        for m in resources_of(aws.raw("Api"), "AWS::ApiGateway::Model").values()
    }
    signup = models["SignupRequest"]["Schema"]
    assert set(signup["required"]) == {"username", "email", "password"}
    assert signup["$schema"].startswith("http://json-schema.org/draft-04")


def test_stage_throttles_logs_and_traces(aws: Synthesized) -> None:
    """Given the production stage
    When synthesized
    Then it has throttling, JSON access logs, method metrics and X-Ray, and a usage plan covers it."""
    template = aws.template("Api")
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "prod",
            "TracingEnabled": True,
            "AccessLogSetting": {"DestinationArn": Match.any_value(), "Format": Match.string_like_regexp("requestId")},
            "MethodSettings": Match.array_with(
                [Match.object_like({"ThrottlingRateLimit": 1000, "ThrottlingBurstLimit": 2000, "MetricsEnabled": True})]
            ),
        },
    )
    template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "Throttle": {"RateLimit": 1000, "BurstLimit": 2000},
            "ApiStages": Match.array_with([Match.object_like({"Stage": Match.any_value()})]),
        },
    )
    template.resource_count_is("AWS::WAFv2::WebACLAssociation", 2)  # Chirp's REST API and the Mastodon surface's


def test_large_responses_are_compressed_at_the_wiring_tables_threshold(aws: Synthesized) -> None:
    """Given the wiring table's compression threshold
    When the REST API is synthesized
    Then API Gateway compresses bodies from that size on (the local gateway does the same)."""
    aws.template("Api").has_resource_properties(
        "AWS::ApiGateway::RestApi", {"MinimumCompressionSize": wiring.RESPONSE_COMPRESSION_MIN_BYTES}
    )


def test_signed_out_reads_go_through_a_cdn_that_keeps_only_public_answers(aws: Synthesized) -> None:
    """Given routes that signed-out readers may call (public_cache_s in the wiring table)
    When the API stack is synthesized
    Then those methods run no authorizer (the function checks a token if sent), and a CloudFront distribution in front
    of the REST API takes reads only, keeps nothing by default (TTL 0: only Cache-Control public is kept), keys on
    the Authorization header and every query parameter, and forwards all but Host."""
    methods = _methods(aws)
    for _, route in wiring.all_routes():
        if route.optional_auth:
            assert methods[(route.method, route.operation)]["AuthorizationType"] == "NONE", route.operation
    template = aws.template("Api")
    template.has_resource_properties(
        "AWS::CloudFront::CachePolicy",
        {
            "CachePolicyConfig": Match.object_like(
                {
                    "DefaultTTL": 0,
                    "MinTTL": 0,
                    "MaxTTL": max(r.public_cache_s for _, r in wiring.all_routes()),
                    "ParametersInCacheKeyAndForwardedToOrigin": Match.object_like(
                        {
                            "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": ["Authorization"]},
                            "QueryStringsConfig": {"QueryStringBehavior": "all"},
                            "CookiesConfig": {"CookieBehavior": "none"},
                            "EnableAcceptEncodingGzip": True,
                        }
                    ),
                }
            )
        },
    )
    template.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {
            "DistributionConfig": Match.object_like(
                {
                    "DefaultCacheBehavior": Match.object_like(
                        {"AllowedMethods": ["GET", "HEAD", "OPTIONS"], "ViewerProtocolPolicy": "https-only"}
                    )
                }
            )
        },
    )
    assert "ApiEdgeUrl" in template.to_json()["Outputs"]


def test_cors_preflight_for_the_web_client(aws: Synthesized) -> None:
    """Given the web client is served from CloudFront
    When synthesized
    Then every resource answers OPTIONS with the headers the functions allow and expose (chirp.http.cors_config),
    Authorization and Idempotency-Key among them."""
    options = [m for m in chirp_methods(aws.raw("Api")).values() if m["Properties"]["HttpMethod"] == "OPTIONS"]
    assert len(options) >= len({route.path for _, route in wiring.all_routes()})
    functions = cors_config(["https://example.com"])
    assert functions is not None and {"Authorization", "Idempotency-Key"} <= functions.allow_headers
    for method in options:
        params = method["Properties"]["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        allowed = params["method.response.header.Access-Control-Allow-Headers"].strip("'").split(",")
        exposed = params["method.response.header.Access-Control-Expose-Headers"].strip("'").split(",")
        assert set(allowed) == functions.allow_headers
        assert exposed == functions.expose_headers
        assert params["method.response.header.Access-Control-Max-Age"] == f"'{functions.max_age}'"


def test_gateway_responses_use_chirps_error_shape(aws: Synthesized) -> None:
    """Given API Gateway's own errors (no token, denied, unknown route, 4xx, 5xx)
    When synthesized
    Then their bodies are {"error": {"code", "message"}} and an unknown route is a 404."""
    raw = aws.raw("Api")
    [rest] = [
        k for k, v in resources_of(raw, "AWS::ApiGateway::RestApi").items() if v["Properties"]["Name"].endswith("-rest")
    ]
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in resources_of(raw, "AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["RestApiId"] == {"Ref": rest}
    }
    expected = {
        "UNAUTHORIZED": ("401", "unauthorized"),
        "ACCESS_DENIED": ("403", "forbidden"),
        "MISSING_AUTHENTICATION_TOKEN": ("404", "not_found"),
        "DEFAULT_4XX": (None, "bad_request"),
        "DEFAULT_5XX": (None, "internal"),
    }
    for response_type, (status, code) in expected.items():
        props = responses[response_type]
        assert props.get("StatusCode") == status, response_type
        body = props["ResponseTemplates"]["application/json"]
        # API Gateway puts its own message, JSON-quoted, where the template names it
        rendered = json.loads(body.replace("$context.error.messageString", '"gateway says"'))
        assert rendered["error"]["code"] == code and isinstance(rendered["error"]["message"], str), body
        assert "gatewayresponse.header.Access-Control-Allow-Origin" in props["ResponseParameters"]
    sample = responses["MISSING_AUTHENTICATION_TOKEN"]["ResponseTemplates"]["application/json"]
    assert json.loads(sample) == {"error": {"code": "not_found", "message": "no such route"}}


def test_websocket_routes_and_connect_authorizer(aws: Synthesized) -> None:
    """Given the realtime function's WebSocket routes
    When synthesized
    Then $connect, $disconnect and $default exist and only $connect has a REQUEST authorizer (invoked for every
    handshake: the token may be ?token=, ?access_token= or the Authorization header)."""
    template = aws.raw("Api")
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in resources_of(template, "AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) == {r.route_key for r in wiring.websocket_function().ws_routes}
    assert routes["$connect"]["AuthorizationType"] == "CUSTOM"
    assert routes["$disconnect"]["AuthorizationType"] == "NONE"
    assert routes["$default"]["AuthorizationType"] == "NONE"
    aws.template("Api").has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {"AuthorizerType": "REQUEST", "IdentitySource": ["route.request.header.Sec-WebSocket-Key"]},
    )
    aws.template("Api").has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "prod",
            "AutoDeploy": True,
            "AccessLogSettings": Match.object_like({"Format": Match.string_like_regexp("connectionId")}),
            "DefaultRouteSettings": Match.object_like({"DetailedMetricsEnabled": True}),
        },
    )


def test_pushers_get_the_management_endpoint_and_permission(aws: Synthesized) -> None:
    """Given the functions that push (uses ws_management)
    When synthesized
    Then their CHIRP_WS_MANAGEMENT_URL is the stage's https endpoint and they may ManageConnections."""
    ws_api = next(iter(resources_of(aws.raw("Api"), "AWS::ApiGatewayV2::Api")))
    pushers = {fn.name for fn in wiring.FUNCTIONS if "ws_management" in fn.uses}
    seen = set()
    for fn in resources_of(aws.raw("Api"), "AWS::Lambda::Function").values():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        if "CHIRP_WS_MANAGEMENT_URL" in env:
            url = json.dumps(env["CHIRP_WS_MANAGEMENT_URL"])
            assert "https://" in url and ws_api in url and "/prod" in url
            seen.add(env["CHIRP_FUNCTION"])
    assert seen == pushers
    aws.template("Api").has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {"PolicyDocument": {"Statement": [Match.object_like({"Action": "execute-api:ManageConnections"})]}},
    )


def test_outputs_give_the_urls(aws: Synthesized) -> None:
    """Given a deployed stack
    When its outputs are read
    Then they hold the REST URL, the WebSocket URL and the media CDN URL."""
    outputs = aws.raw("Api")["Outputs"]
    assert {"RestApiUrl", "WebSocketUrl", "MediaCdnUrl"} <= set(outputs)
    assert "wss://" in json.dumps(outputs["WebSocketUrl"]["Value"])

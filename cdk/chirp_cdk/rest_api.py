"""The REST API, generated from the wiring table's routes: a cached Lambda TOKEN authorizer, request validation
(required parameters and body models taken from Chirp's OpenAPI document), stage throttling and a usage plan,
JSON access logs, CORS for the web client, and gateway responses in Chirp's error shape."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Size
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from chirp import wiring
from chirp.direct_writes import DIRECT_WRITES
from chirp.errors import (
    ChirpError,
    Forbidden,
    InternalError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from chirp.http import cors_config, error_body
from chirp.openapi import openapi_document
from chirp_cdk.access_logs import access_log_format, rest_access_logs
from chirp_cdk.direct_integrations import put_record_role, stream_integration
from chirp_cdk.settings import DeploymentSettings

BEARER_REGEX = r"^Bearer [-0-9a-zA-Z._~+/]+=*$"

# (response type, the Chirp error whose code and status it answers with, message: None = API Gateway's own)
GATEWAY_RESPONSES: tuple[tuple[apigw.ResponseType, type[ChirpError], str | None], ...] = (
    (apigw.ResponseType.UNAUTHORIZED, Unauthorized, "missing, invalid or expired token"),
    (apigw.ResponseType.ACCESS_DENIED, Forbidden, None),
    (apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, NotFound, "no such route"),
    (apigw.ResponseType.BAD_REQUEST_BODY, ValidationFailed, None),
    (apigw.ResponseType.BAD_REQUEST_PARAMETERS, ValidationFailed, None),
    (apigw.ResponseType.REQUEST_TOO_LARGE, PayloadTooLarge, None),
    (apigw.ResponseType.THROTTLED, RateLimited, None),
    (apigw.ResponseType.QUOTA_EXCEEDED, RateLimited, None),
    (apigw.ResponseType.DEFAULT_4_XX, ChirpError, None),
    (apigw.ResponseType.DEFAULT_5_XX, InternalError, None),
)
# The catch-alls keep the status API Gateway chose (jsii gives a new ResponseType per access: compare the names).
_OWN_STATUS = {apigw.ResponseType.DEFAULT_4_XX.response_type, apigw.ResponseType.DEFAULT_5_XX.response_type}
_GATEWAY_MESSAGE = "$context.error.messageString"  # already JSON-quoted by API Gateway

# JSON Schema keywords API Gateway models (draft 4) understand and that mean the same thing there.
_SCHEMA_KEYWORDS = ("type", "required", "maxLength", "minLength", "maxItems", "minItems", "minimum", "maximum", "enum")


def error_template(code: str, message: str | None) -> str:
    """A gateway response body in Chirp's error shape (``chirp.http.error_body``), with API Gateway's own message
    when ``message`` is None."""
    if message is not None:
        return error_body(code, message)
    placeholder = "\0message\0"  # a string no code contains, swapped for the mapping variable
    return error_body(code, placeholder).replace(json.dumps(placeholder), _GATEWAY_MESSAGE)


def draft4_schema(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """The part of a pydantic JSON schema that API Gateway can check: types, required keys and bounds. The
    function still validates everything (patterns, formats), so the gateway only rejects what is surely wrong."""
    if "$ref" in schema:
        return draft4_schema(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    if "anyOf" in schema:
        types = [s["type"] for s in schema["anyOf"] if isinstance(s.get("type"), str)]
        if len(types) == len(schema["anyOf"]):
            return {"type": types}
        return {}
    out: dict[str, Any] = {key: schema[key] for key in _SCHEMA_KEYWORDS if key in schema}
    if "properties" in schema:
        out["properties"] = {k: draft4_schema(v, components) for k, v in schema["properties"].items()}
    if isinstance(schema.get("items"), dict):
        out["items"] = draft4_schema(schema["items"], components)
    return out


class ChirpRestApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        functions: dict[str, lambda_.Function],
        cors_origins: list[str],
        stream: kinesis.IStream | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self._stream = stream
        self._origin = cors_origins[0] if cors_origins else ""
        # write_path=async: stream-write routes put their intents on Kinesis themselves (chirp_cdk.direct_integrations)
        self.direct_write_role: iam.Role | None = None
        if settings.write_path == "async":
            if stream is None:
                raise ValueError("write_path=async needs the Kinesis stream")
            self.direct_write_role = put_record_role(self, stream)
        cors = cors_config(cors_origins)
        if cors is None:
            raise ValueError("the REST API needs at least one CORS origin (the web client's)")
        self.access_logs = rest_access_logs(self, settings)
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"{settings.prefix}-rest",
            description="Chirp REST API (routes from chirp.wiring)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            deploy_options=apigw.StageOptions(
                stage_name=settings.stage_name,
                throttling_rate_limit=settings.api_rate_limit,
                throttling_burst_limit=settings.api_burst_limit,
                access_log_destination=self.access_logs.destination,
                access_log_format=access_log_format() if self.access_logs.destination is not None else None,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,  # per-method latency for the dashboard and alarms
                tracing_enabled=True,
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=cors_origins,
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=sorted(cors.allow_headers),
                expose_headers=cors.expose_headers,
                max_age=Duration.seconds(cors.max_age or 0),
            ),
            min_compression_size=Size.bytes(wiring.RESPONSE_COMPRESSION_MIN_BYTES),
        )
        self.stage = self.api.deployment_stage
        self.edge_key_secret: secretsmanager.Secret | None = None
        self.edge_key: apigw.IApiKey | None = None
        if settings.waf_scope == "edge":
            self._edge_key(settings)
        self.authorizer = apigw.TokenAuthorizer(
            self,
            "TokenAuthorizer",
            handler=functions[wiring.authorizer_function().name],
            identity_source=apigw.IdentitySource.header("Authorization"),
            validation_regex=BEARER_REGEX,
            results_cache_ttl=Duration.minutes(5),
        )
        self.validator = apigw.RequestValidator(
            self,
            "Validator",
            rest_api=self.api,
            validate_request_body=True,
            validate_request_parameters=True,
        )
        self._routes(functions)
        self._gateway_responses(cors_origins[0], sorted(cors.allow_headers))
        self.usage_plan = self.api.add_usage_plan(
            "UsagePlan",
            name=f"{settings.prefix}-default",
            description="Default throttle for all callers of the Chirp REST API",
            throttle=apigw.ThrottleSettings(rate_limit=settings.api_rate_limit, burst_limit=settings.api_burst_limit),
            quota=apigw.QuotaSettings(limit=50_000_000, period=apigw.Period.DAY),
        )
        self.usage_plan.add_api_stage(stage=self.stage)
        self.web_acl: wafv2.CfnWebACL | None = None
        if settings.waf_scope == "all":
            self._waf()

    def _edge_key(self, settings: DeploymentSettings) -> None:
        """An API key that the API edge alone sends (an origin header CloudFront sets over any the viewer sent): the
        routes that require it answer only requests that came through the edge's web ACL. Its own usage plan has no
        quota and the stage's throttle, since every sign-in in the world shares it."""
        self.edge_key_secret = secretsmanager.Secret(
            self,
            "EdgeKeySecret",
            description="API key the Chirp API edge (CloudFront) sends to the REST API's edge-only routes",
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=40),
        )
        self.edge_key = self.api.add_api_key(
            "EdgeKey",
            api_key_name=f"{settings.prefix}-edge",
            description="Sent by the API edge only (waf_scope=edge)",
            value=self.edge_key_value,
        )
        plan = self.api.add_usage_plan(
            "EdgeUsagePlan",
            name=f"{settings.prefix}-edge",
            description="The API edge's key: sign-up and sign-in from everyone, throttled as the stage is",
            throttle=apigw.ThrottleSettings(rate_limit=settings.api_rate_limit, burst_limit=settings.api_burst_limit),
        )
        plan.add_api_key(self.edge_key)
        plan.add_api_stage(stage=self.stage)

    @property
    def edge_key_value(self) -> str | None:
        """The key as a CloudFormation dynamic reference (resolved at deploy time, never in the template)."""
        if self.edge_key_secret is None:
            return None
        return self.edge_key_secret.secret_value.unsafe_unwrap()

    def _routes(self, functions: dict[str, lambda_.Function]) -> None:
        document = openapi_document()
        components = document["components"]["schemas"]
        # One invoke permission per function for the whole API (scoped to this API's ARN), not one per method: a
        # permission per method of ~180 would take the stack past CloudFormation's 500 resources.
        integrations = {
            name: apigw.LambdaIntegration(fn, allow_test_invoke=False, scope_permission_to_method=False)
            for name, fn in functions.items()
        }
        self.methods: dict[str, apigw.Method] = {}
        self.public_methods: dict[str, apigw.Method] = {}
        for fn, route in wiring.all_routes():
            operation = document["paths"][route.path][route.method.lower()]
            params = {
                f"method.request.{_location(p['in'])}.{p['name']}": bool(p.get("required"))
                for p in operation.get("parameters", [])
            }
            models: dict[str, apigw.IModel] = {}
            body = operation.get("requestBody")
            if body and body.get("required"):
                schema = body["content"]["application/json"]["schema"]
                model_name = schema["$ref"].rsplit("/", 1)[-1] if "$ref" in schema else f"{route.operation}Body"
                models["application/json"] = self._model(model_name, draft4_schema(schema, components))
            resource = self.api.root.resource_for_path(route.path)
            # Signed-out reads (optional_auth) run no authorizer: the function checks a token when one is sent.
            guarded = route.auth and not route.optional_auth
            integration: apigw.Integration = integrations[fn.name]
            method_responses: list[apigw.MethodResponse] | None = None
            if wiring.integration(route, self._settings.write_path) == "stream":
                assert self._stream is not None and self.direct_write_role is not None
                integration, method_responses = stream_integration(
                    DIRECT_WRITES[route.operation],
                    stream=self._stream,
                    role=self.direct_write_role,
                    origin=self._origin,
                )
            # waf_scope=edge: sign-up and sign-in take the API key only the edge sends, so they pass its web ACL
            edge_only = self.edge_key is not None and not route.auth and route.method != "GET"
            self.methods[route.operation] = resource.add_method(
                route.method,
                integration,
                api_key_required=True if edge_only else None,
                method_responses=method_responses,
                operation_name=route.operation,
                authorization_type=apigw.AuthorizationType.CUSTOM if guarded else apigw.AuthorizationType.NONE,
                authorizer=self.authorizer if guarded else None,
                request_validator=self.validator,
                request_parameters=params or None,
                request_models=models or None,
            )
            if not guarded:
                self.public_methods[route.operation] = self.methods[route.operation]

    def _model(self, name: str, schema: dict[str, Any]) -> apigw.Model:
        existing = self.node.try_find_child(f"Model{name}")
        if isinstance(existing, apigw.Model):
            return existing
        return apigw.Model(
            self,
            f"Model{name}",
            rest_api=self.api,
            content_type="application/json",
            model_name=name,
            schema=_json_schema(schema, name),
        )

    def _gateway_responses(self, origin: str, allow_headers: list[str]) -> None:
        headers = {
            "Access-Control-Allow-Origin": f"'{origin}'",
            "Access-Control-Allow-Headers": "'" + ",".join(allow_headers) + "'",
            "Content-Type": "'application/json'",
        }
        for response_type, error, message in GATEWAY_RESPONSES:
            self.api.add_gateway_response(
                f"Gateway{_short(response_type)}",
                type=response_type,
                status_code=None if response_type.response_type in _OWN_STATUS else str(error.status),
                response_headers=headers,
                templates={"application/json": error_template(error.code, message)},
            )

    def _waf(self) -> None:
        self.web_acl = chirp_web_acl(self, "WebAcl", acl_scope="REGIONAL", metric="chirp-rest")
        wafv2.CfnWebACLAssociation(
            self, "WebAclAssociation", resource_arn=self.stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )


def chirp_web_acl(parent: Construct, construct_id: str, *, acl_scope: str, metric: str) -> wafv2.CfnWebACL:
    """Chirp's web ACL (AWS common rules, known bad inputs, a rate limit per IP): ``acl_scope`` REGIONAL on the REST
    stage, CLOUDFRONT on the API edge."""
    rules = [
        _managed_rule("common", 1, "AWSManagedRulesCommonRuleSet"),
        _managed_rule("bad-inputs", 2, "AWSManagedRulesKnownBadInputsRuleSet"),
        wafv2.CfnWebACL.RuleProperty(
            name="rate-per-ip",
            priority=3,
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(limit=3000, aggregate_key_type="IP")
            ),
            visibility_config=_visibility("rate-per-ip"),
        ),
    ]
    return wafv2.CfnWebACL(
        parent,
        construct_id,
        scope=acl_scope,
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        rules=rules,
        visibility_config=_visibility(metric),
    )


def _location(where: str) -> str:
    return {"path": "path", "query": "querystring", "header": "header"}[where]


def _short(response_type: apigw.ResponseType) -> str:
    return "".join(part.title() for part in response_type.response_type.split("_"))


def _json_schema(schema: dict[str, Any], title: str) -> apigw.JsonSchema:
    def convert(node: dict[str, Any]) -> apigw.JsonSchema:
        kwargs: dict[str, Any] = {}
        if "type" in node:
            types = node["type"] if isinstance(node["type"], list) else [node["type"]]
            converted = [apigw.JsonSchemaType[t.upper()] for t in types]
            kwargs["type"] = converted if len(converted) > 1 else converted[0]
        for key, arg in (
            ("required", "required"),
            ("maxLength", "max_length"),
            ("minLength", "min_length"),
            ("maxItems", "max_items"),
            ("minItems", "min_items"),
            ("minimum", "minimum"),
            ("maximum", "maximum"),
            ("enum", "enum"),
        ):
            if key in node:
                kwargs[arg] = node[key]
        if "properties" in node:
            kwargs["properties"] = {k: convert(v) for k, v in node["properties"].items()}
        if "items" in node:
            kwargs["items"] = convert(node["items"])
        return apigw.JsonSchema(**kwargs)

    root = convert(schema)
    return apigw.JsonSchema(
        schema=apigw.JsonSchemaVersion.DRAFT4,
        title=title,
        type=root.type,
        required=root.required,
        properties=root.properties,
    )


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _managed_rule(name: str, priority: int, group: str) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=group
            )
        ),
        visibility_config=_visibility(name),
    )

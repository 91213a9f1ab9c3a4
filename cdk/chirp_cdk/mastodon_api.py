"""The Mastodon-compatible client API's own REST API: Mastodon's paths at the root of its stage (apps expect them at a
host's root, and some clash with Chirp's own), generated from the wiring table's Mastodon routes, behind the same
Lambda TOKEN authorizer as Chirp's REST API. Binary bodies (multipart media uploads) reach the function
base64-encoded; CORS is open to any origin (web apps run anywhere; bearer tokens, never cookies, carry credentials);
gateway errors answer in Mastodon's ``{"error": "..."}`` shape."""

from __future__ import annotations

import json

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from chirp import wiring
from chirp.http import CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_S
from chirp_cdk.access_logs import access_log_format
from chirp_cdk.rest_api import BEARER_REGEX, _managed_rule, _visibility
from chirp_cdk.settings import DeploymentSettings

BINARY_MEDIA_TYPES = ["multipart/form-data"]
_GATEWAY_ERRORS = (
    (apigw.ResponseType.UNAUTHORIZED, "The access token is invalid"),
    (apigw.ResponseType.ACCESS_DENIED, "This action is outside the authorized scopes"),
    (apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "Record not found"),
    (apigw.ResponseType.DEFAULT_4_XX, None),
    (apigw.ResponseType.DEFAULT_5_XX, None),
)


class MastodonRestApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        function: lambda_.IFunction,
        authorizer_function: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        self._stage_name = settings.stage_name
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"{settings.prefix}-mastodon",
            description="Chirp's Mastodon-compatible client API (routes from chirp.wiring, surface mastodon)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=False,  # the account's role is set up by Chirp's own REST API
            binary_media_types=BINARY_MEDIA_TYPES,
            deploy_options=apigw.StageOptions(
                stage_name=settings.stage_name,
                throttling_rate_limit=settings.api_rate_limit,
                throttling_burst_limit=settings.api_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=access_log_format(),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=apigw.Cors.ALL_ORIGINS,
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=sorted(CORS_ALLOW_HEADERS),
                expose_headers=[*CORS_EXPOSE_HEADERS, "Link"],
                max_age=Duration.seconds(CORS_MAX_AGE_S),
            ),
        )
        self.stage = self.api.deployment_stage
        self.authorizer = apigw.TokenAuthorizer(
            self,
            "TokenAuthorizer",
            handler=authorizer_function,
            identity_source=apigw.IdentitySource.header("Authorization"),
            validation_regex=BEARER_REGEX,
            results_cache_ttl=Duration.minutes(5),
        )
        self.validator = apigw.RequestValidator(
            self, "Validator", rest_api=self.api, validate_request_body=True, validate_request_parameters=True
        )
        integration = apigw.LambdaIntegration(function, allow_test_invoke=False, scope_permission_to_method=False)
        # One stack holds at most 500 resources, and a method per Mastodon route (with its resource, CORS preflight
        # and invoke permission) would need ~200. So: the public routes (no token) are methods of their own, and
        # every other route reaches the function through an authorized greedy {proxy+} under the deepest resource
        # the public routes made (API Gateway takes the most specific match at each level); the function routes
        # them from the same wiring table and checks each one's scope.
        self.methods: dict[str, apigw.Method] = {}
        self.public_methods: dict[str, apigw.Method] = {}
        public = [route for _, route in wiring.all_routes("mastodon") if not route.auth]
        for route in public:
            method = self.api.root.resource_for_path(route.path).add_method(
                route.method,
                integration,
                operation_name=route.operation,
                authorization_type=apigw.AuthorizationType.NONE,
                request_validator=self.validator,
            )
            self.methods[route.operation] = method
            self.public_methods[route.operation] = method
        self.proxies: dict[str, apigw.Method] = {}
        for prefix in proxy_prefixes():
            parent = self.api.root.resource_for_path(prefix) if prefix != "/" else self.api.root
            self.proxies[prefix] = parent.add_resource("{proxy+}").add_method(
                "ANY",
                integration,
                authorization_type=apigw.AuthorizationType.CUSTOM,
                authorizer=self.authorizer,
                request_validator=self.validator,
            )
        headers = {"Access-Control-Allow-Origin": "'*'", "Content-Type": "'application/json'"}
        for response_type, message in _GATEWAY_ERRORS:
            text = json.dumps(message) if message else "$context.error.messageString"
            self.api.add_gateway_response(
                f"Gateway{response_type.response_type}",
                type=response_type,
                response_headers=headers,
                templates={"application/json": '{"error": ' + text + "}"},
            )
        self.web_acl: wafv2.CfnWebACL | None = None
        if settings.waf:
            self._waf()

    def _waf(self) -> None:
        """Chirp's REST API's rules, except that a body may be larger than 8 KB (media uploads come whole here)."""
        common = wafv2.CfnWebACL.RuleProperty(
            name="common",
            priority=1,
            override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                    vendor_name="AWS",
                    name="AWSManagedRulesCommonRuleSet",
                    rule_action_overrides=[
                        wafv2.CfnWebACL.RuleActionOverrideProperty(
                            name="SizeRestrictions_BODY", action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                        )
                    ],
                )
            ),
            visibility_config=_visibility("mastodon-common"),
        )
        rate = wafv2.CfnWebACL.RuleProperty(
            name="rate-per-ip",
            priority=3,
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(limit=3000, aggregate_key_type="IP")
            ),
            visibility_config=_visibility("mastodon-rate-per-ip"),
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=[common, _managed_rule("bad-inputs", 2, "AWSManagedRulesKnownBadInputsRuleSet"), rate],
            visibility_config=_visibility("chirp-mastodon"),
        )
        wafv2.CfnWebACLAssociation(
            self, "WebAclAssociation", resource_arn=self.stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )

    @property
    def base_url(self) -> str:
        """The surface's base URL from the API's id alone (not its stage: the function that names it in its
        environment is what the stage's methods integrate, so a reference to the stage would be a cycle)."""
        stack = Stack.of(self)
        return f"https://{self.api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}/{self._stage_name}"


def proxy_prefixes() -> list[str]:
    """Where the authorized {proxy+} resources go: under the deepest resource the public routes made on the way to
    each authorized route (the root when none)."""
    public = {route.path for _, route in wiring.all_routes("mastodon") if not route.auth}
    made = {"/"} | {"/" + "/".join(p.strip("/").split("/")[:n]) for p in public for n in range(1, p.count("/") + 1)}
    prefixes = set()
    for _, route in wiring.all_routes("mastodon"):
        if route.auth:
            parts = route.path.strip("/").split("/")
            ancestors = ["/" + "/".join(parts[:n]) for n in range(len(parts) - 1, 0, -1)]
            prefixes.add(next((a for a in ancestors if a in made), "/"))
    return sorted(prefixes)


def proxy_for(path: str) -> str:
    """The prefix whose {proxy+} answers an authorized route's path."""
    parts = path.strip("/").split("/")
    ancestors = ["/" + "/".join(parts[:n]) for n in range(len(parts) - 1, 0, -1)]
    return next((a for a in ancestors if a in proxy_prefixes()), "/")

"""The CDN in front of the REST API for signed-out reads (wiring routes with ``public_cache_s``): a CloudFront
distribution whose cache policy keeps only what the functions mark ``Cache-Control: public`` (default TTL 0, so an
answer without it is never kept), keyed by path, every query parameter and the Authorization header (a signed-in
request never shares a signed-out answer, and its own answers say ``private, no-store``). Reads only: the edge
exists to take the public read traffic off API Gateway, WAF and Lambda; signed-in clients keep calling the API."""

from __future__ import annotations

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from chirp import wiring
from chirp_cdk.rest_api import chirp_web_acl
from chirp_cdk.settings import EDGE_WAF_REGION, DeploymentSettings

MAX_TTL_S = max(route.public_cache_s for _, route in wiring.all_routes())


class ApiEdge(Construct):
    """With waf_scope=edge it also carries Chirp's web ACL (CLOUDFRONT scope, so made in us-east-1) and passes
    sign-up and sign-in through uncached, adding the API key those routes then require (``origin_key``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: apigw.RestApi,
        log_bucket: s3.IBucket,
        settings: DeploymentSettings,
        origin_key: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.web_acl: wafv2.CfnWebACL | None = None
        self.web_acl_arn: str | None = None
        if settings.waf_scope == "edge":
            self.web_acl_arn = self._edge_web_acl(settings)
        origin = origins.RestApiOrigin(api, custom_headers={"x-api-key": origin_key} if origin_key else None)
        forward = cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER  # API Gateway routes on its own Host
        auth_behaviors: dict[str, cloudfront.BehaviorOptions] = {}
        if settings.waf_scope == "edge":
            auth_path = f"{wiring.API_PREFIX}/auth/*"  # viewer paths: the origin path adds the stage
            auth_behaviors[auth_path] = cloudfront.BehaviorOptions(
                origin=origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=forward,
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
            )
        self.cache_policy = cloudfront.CachePolicy(
            self,
            "PublicReads",
            comment="Chirp public reads: cached only as the function's Cache-Control allows",
            default_ttl=Duration.seconds(0),
            min_ttl=Duration.seconds(0),
            max_ttl=Duration.seconds(MAX_TTL_S),
            header_behavior=cloudfront.CacheHeaderBehavior.allow_list("Authorization"),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.all(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            enable_accept_encoding_gzip=True,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Chirp API edge: signed-out reads",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
                cache_policy=self.cache_policy,
                origin_request_policy=forward,
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
            ),
            additional_behaviors=auth_behaviors or None,
            web_acl_id=self.web_acl_arn,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront-api/",
        )
        # RestApiOrigin's origin path is the stage (/prod): viewer paths start at the API prefix.
        self.url = f"https://{self.distribution.distribution_domain_name}{wiring.API_PREFIX}"

    def _edge_web_acl(self, settings: DeploymentSettings) -> str:
        """A CLOUDFRONT-scope ACL can only be made in us-east-1: in a stack elsewhere, the deployer makes it there
        and gives its ARN (context edge_web_acl_arn). An environment-agnostic synth (no region) makes it here, and
        deploys only in us-east-1."""
        if settings.edge_web_acl_arn:
            return settings.edge_web_acl_arn
        region = Stack.of(self).region
        if not Token.is_unresolved(region) and region != EDGE_WAF_REGION:
            raise ValueError(
                f"waf_scope=edge in {region}: a CloudFront web ACL is made in {EDGE_WAF_REGION}; create one there "
                "(Chirp's rules: rest_api.chirp_web_acl) and pass its ARN as context edge_web_acl_arn, or deploy in "
                f"{EDGE_WAF_REGION}"
            )
        self.web_acl = chirp_web_acl(self, "WebAcl", acl_scope="CLOUDFRONT", metric="chirp-edge")
        return self.web_acl.attr_arn

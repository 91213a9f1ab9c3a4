"""The CDN in front of the REST API for signed-out reads (wiring routes with ``public_cache_s``): a CloudFront
distribution whose cache policy keeps only what the functions mark ``Cache-Control: public`` (default TTL 0, so an
answer without it is never kept), keyed by path, every query parameter and the Authorization header (a signed-in
request never shares a signed-out answer, and its own answers say ``private, no-store``). Reads only: the edge
exists to take the public read traffic off API Gateway, WAF and Lambda; signed-in clients keep calling the API."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from constructs import Construct

from chirp import wiring

MAX_TTL_S = max(route.public_cache_s for _, route in wiring.all_routes())


class ApiEdge(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, api: apigw.RestApi, log_bucket: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
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
                origin=origins.RestApiOrigin(api),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
                cache_policy=self.cache_policy,
                # API Gateway routes on its own Host: forward everything else the viewer sent.
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront-api/",
        )
        stage_path = api.deployment_stage.stage_name
        self.url = f"https://{self.distribution.distribution_domain_name}/{stage_path}{wiring.API_PREFIX}"

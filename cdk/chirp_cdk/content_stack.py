"""Content delivery: the media bucket (uploads by presigned URL, reads through CloudFront), the web client's
bucket, their access-log bucket, and the one CloudFront distribution that serves both."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from chirp_cdk.settings import DeploymentSettings

MEDIA_PATH_PATTERN = "media/*"  # chirp.services.media serves renditions under media/<user>/<id>/...
UPLOADS_PATH_PATTERN = "uploads/*"  # and takes uploads under uploads/<user>/<id>.<ext> (never served)
CONFIG_PATH = "config.json"


class ContentStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: DeploymentSettings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        stateful = RemovalPolicy.RETAIN if settings.is_aws else RemovalPolicy.DESTROY
        self.log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            # CloudFront standard logs are delivered with ACLs.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.DESTROY if not settings.is_aws else RemovalPolicy.RETAIN,
        )
        self.media_bucket = s3.Bucket(
            self,
            "Media",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="s3/media/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(1)
                ),
                # Processing deletes each upload; one it never saw (a notification lost for good) goes after 2 days.
                s3.LifecycleRule(id="expire-unprocessed-uploads", prefix="uploads/", expiration=Duration.days(2)),
                s3.LifecycleRule(
                    id="tier-old-media",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INTELLIGENT_TIERING, transition_after=Duration.days(30)
                        )
                    ],
                ),
            ],
            # Browsers PUT/POST to presigned URLs; the signature, not the origin, authorizes the upload (naming the
            # CloudFront origin here would make the bucket and the distribution depend on each other).
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.PUT, s3.HttpMethods.POST, s3.HttpMethods.GET],
                    allowed_origins=["*"],
                    allowed_headers=["*"],
                    exposed_headers=["ETag"],
                    max_age=3600,
                )
            ],
            removal_policy=stateful,
        )
        self.web_bucket = s3.Bucket(
            self,
            "WebClient",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="s3/web/",
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=False,
        )
        media_origin = origins.S3BucketOrigin.with_origin_access_control(self.media_bucket)
        web_origin = origins.S3BucketOrigin.with_origin_access_control(self.web_bucket)
        self.distribution = cloudfront.Distribution(
            self,
            "Cdn",
            comment="Chirp web client and media",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=web_origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
                compress=True,
            ),
            additional_behaviors={
                MEDIA_PATH_PATTERN: cloudfront.BehaviorOptions(
                    origin=media_origin,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                    response_headers_policy=cloudfront.ResponseHeadersPolicy.CORS_ALLOW_ALL_ORIGINS,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
                ),
                CONFIG_PATH: cloudfront.BehaviorOptions(
                    origin=web_origin,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                ),
            },
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=self.log_bucket,
            log_file_prefix="cloudfront/",
        )
        self.cdn_url = f"https://{self.distribution.distribution_domain_name}"
        # Presigned uploads are signed with the function's role; the media processor reads and deletes each upload
        # and writes (or, for a refused file, never writes) its renditions; GetObject/HeadObject check objects.
        self.media_policy = iam.ManagedPolicy(
            self,
            "MediaAccess",
            description="Chirp functions that use media: objects under media/ and uploads/",
            statements=[
                iam.PolicyStatement(
                    actions=["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                    resources=[
                        self.media_bucket.arn_for_objects(pattern)
                        for pattern in (MEDIA_PATH_PATTERN, UPLOADS_PATH_PATTERN)
                    ],
                )
            ],
        )
        # The web client's deployment (another stack) imports these by name, so its IAM findings name them.
        self.web_bucket_export = f"{self.stack_name}-WebBucketArn"
        self.distribution_export = f"{self.stack_name}-DistributionId"
        CfnOutput(self, "WebBucketArn", value=self.web_bucket.bucket_arn, export_name=self.web_bucket_export)
        CfnOutput(self, "DistributionId", value=self.distribution.distribution_id, export_name=self.distribution_export)
        CfnOutput(self, "MediaCdnUrl", value=self.cdn_url, description="CloudFront URL of media and the web client")

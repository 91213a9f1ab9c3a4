"""Where the REST stage's access logs go (context ``access_logs``): a CloudWatch log group (the default), a Firehose
stream into an S3 bucket of its own, or nowhere. At the design's 21.9 billion requests a day CloudWatch's $0.50 per GiB
ingested is ~$131K/month; Firehose bills ~$0.02-0.03 per GiB, each record rounded up to 5 KB, and the gzip objects
cost cents in S3 (bench/capacity prices both). API Gateway writes to a Firehose stream only if its name starts with
``amazon-apigateway-`` and it takes Direct PUT; access logs go to one destination, CloudWatch or Firehose."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Size
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from chirp_cdk.settings import DeploymentSettings

FIREHOSE_NAME_PREFIX = "amazon-apigateway-"  # API Gateway refuses any other stream name as a log destination
FIREHOSE_S3_PREFIX = "apigateway/rest/"
ARCHIVE_DAYS = 30  # as long as the CloudWatch log group keeps them (bench/capacity prices 30 days of gzip in S3)


@dataclass(frozen=True, slots=True)
class RestAccessLogs:
    """The access-log destination of the REST stage (None when the logs are off) and what holds the logs."""

    destination: apigw.IAccessLogDestination | None
    log_group: logs.LogGroup | None = None
    bucket: s3.Bucket | None = None
    delivery_stream: firehose.DeliveryStream | None = None


def access_log_format() -> apigw.AccessLogFormat:
    """The one line format of every stage's access logs (REST and Mastodon): JSON, no caller identity."""
    return apigw.AccessLogFormat.json_with_standard_fields(
        caller=False,
        http_method=True,
        ip=True,
        protocol=True,
        request_time=True,
        resource_path=True,
        response_length=True,
        status=True,
        user=True,
    )


def rest_access_logs(scope: Construct, settings: DeploymentSettings) -> RestAccessLogs:
    if settings.access_logs == "cloudwatch":
        # The construct id the stage's log group always had: a new one would replace (and delete) the old group.
        group = logs.LogGroup(
            scope, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        return RestAccessLogs(apigw.LogGroupLogDestination(group), log_group=group)
    if settings.access_logs == "off":
        return RestAccessLogs(None)
    holder = Construct(scope, "AccessLogsFirehose")
    # A bucket of its own, in this stack: the stream's role then names it (the log bucket is another stack's).
    bucket = s3.Bucket(
        holder,
        "Archive",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=Duration.days(ARCHIVE_DAYS))],
        removal_policy=RemovalPolicy.RETAIN if settings.is_aws else RemovalPolicy.DESTROY,
    )
    stream = firehose.DeliveryStream(
        holder,
        "Stream",
        delivery_stream_name=f"{FIREHOSE_NAME_PREFIX}{settings.prefix}-rest-access",
        destination=firehose.S3Bucket(
            bucket,
            data_output_prefix=FIREHOSE_S3_PREFIX,
            error_output_prefix="apigateway/rest-errors/",
            compression=firehose.Compression.GZIP,
            # Firehose's largest buffers: fewer, bigger objects (S3 PUTs are billed per object)
            buffering_interval=Duration.minutes(15),
            buffering_size=Size.mebibytes(128),
        ),
        encryption=firehose.StreamEncryption.aws_owned_key(),
    )
    cfn = stream.node.default_child
    assert isinstance(cfn, firehose.CfnDeliveryStream)
    return RestAccessLogs(apigw.FirehoseLogDestination(cfn), bucket=bucket, delivery_stream=stream)

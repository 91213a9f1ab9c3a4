"""The media processor's trigger: S3's object-created notification for the uploads prefix of the media bucket (the
wiring table's ObjectTrigger), invoked asynchronously: Lambda retries a failed invocation twice, then writes it to
the dead-letter bucket (the stream consumers' on-failure destination too), where ``chirp dlq`` finds it.

The bucket is imported here, in the API stack: the notification's custom resource then lives beside the function,
and the content stack (which owns the bucket) does not come to depend on the functions (a cycle)."""

from __future__ import annotations

import jsii
from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct

from chirp.wiring import ObjectTrigger

ASYNC_RETRIES = 2  # Lambda's default for asynchronous invocations, stated
MAX_EVENT_AGE = Duration.hours(6)  # an upload not processed by then is past its client's patience


@jsii.implements(lambda_.IDestination)
class _S3OnFailure:
    """Lambda's S3 on-failure destination; its permissions come from the dead-letter writers' policy (CDK's
    S3Destination would grant read-write, delete included)."""

    def __init__(self, bucket: s3.IBucket) -> None:
        self._bucket = bucket

    def bind(
        self, scope: Construct, fn: lambda_.IFunction, *, type: lambda_.DestinationType
    ) -> lambda_.DestinationConfig:
        return lambda_.DestinationConfig(destination=self._bucket.bucket_arn)


class MediaEvents(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.Function,
        trigger: ObjectTrigger,
        media_bucket: s3.IBucket,
        dead_letters: s3.IBucket,
        dead_letter_writers: iam.IManagedPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        assert function.role is not None
        function.role.add_managed_policy(dead_letter_writers)  # quarantine (the edge) and the on-failure records
        function.add_environment("CHIRP_DEAD_LETTER_BUCKET", dead_letters.bucket_name)
        self.invoke_config = lambda_.EventInvokeConfig(
            self,
            "Async",
            function=function,
            retry_attempts=ASYNC_RETRIES,
            max_event_age=MAX_EVENT_AGE,
            on_failure=_S3OnFailure(dead_letters),
        )
        bucket = s3.Bucket.from_bucket_attributes(
            self, "Media", bucket_arn=media_bucket.bucket_arn, bucket_name=media_bucket.bucket_name
        )
        uploads = s3.NotificationKeyFilter(prefix=trigger.prefix)
        bucket.add_event_notification(s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(function), uploads)

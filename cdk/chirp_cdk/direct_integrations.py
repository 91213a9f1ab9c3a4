"""API Gateway's Kinesis service integrations for the fire-and-forget writes (write_path=async): each stream-write
route of the wiring table puts its intent event on the stream with PutRecord, through a mapping template generated
by chirp.direct_writes (the same description the local gateway builds from), and answers 202 with the optimistic
state. No Lambda runs in their request path; the "actions" stream consumer applies the intents.

The trade, for the README: the answer carries no counts, and the writer sees its like, follow or read marker in
counts, timelines and notifications only once the consumer ran (typically within a second: read-your-writes for
these becomes eventual). Requests the gateway cannot check without a store (the tweet or user exists) are accepted
and change nothing when applied."""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from constructs import Construct

from chirp.direct_writes import (
    ACCEPTED_STATUS,
    RESPONSE_HEADERS,
    UNAVAILABLE_BODY,
    DirectWrite,
    accepted_template,
    refused_template,
    request_template,
)

JSON = "application/json"


def put_record_role(scope: Construct, stream: kinesis.IStream) -> iam.Role:
    """The role API Gateway assumes to put records: write to the one stream, nothing else."""
    role = iam.Role(
        scope,
        "DirectWriteRole",
        assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
        description="API Gateway puts fire-and-forget writes (likes, follows, read markers) on the event stream",
    )
    role.add_to_policy(iam.PolicyStatement(actions=["kinesis:PutRecord"], resources=[stream.stream_arn]))
    return role


def stream_integration(
    write: DirectWrite, *, stream: kinesis.IStream, role: iam.IRole, origin: str
) -> tuple[apigw.AwsIntegration, list[apigw.MethodResponse]]:
    """The integration for one route and the method responses it maps to: 202, 400 (our own checks, refused by
    Kinesis as a ValidationException), 503 (Kinesis throttled or failed: retry)."""
    headers = {f"method.response.header.{name}": f"'{value}'" for name, value in RESPONSE_HEADERS.items()}
    headers["method.response.header.Access-Control-Allow-Origin"] = f"'{origin}'"
    responses = [
        apigw.IntegrationResponse(
            status_code=str(ACCEPTED_STATUS),
            response_templates={JSON: accepted_template(write)},
            response_parameters=headers,
        ),
        apigw.IntegrationResponse(
            status_code="400",
            selection_pattern=r"4\d{2}",
            response_templates={JSON: refused_template(write)},
            response_parameters=headers,
        ),
        apigw.IntegrationResponse(
            status_code="503",
            selection_pattern=r"5\d{2}",
            response_templates={JSON: UNAVAILABLE_BODY},
            response_parameters=headers,
        ),
    ]
    integration = apigw.AwsIntegration(
        service="kinesis",
        action="PutRecord",
        integration_http_method="POST",
        options=apigw.IntegrationOptions(
            credentials_role=role,
            # Only the template's JSON reaches Kinesis; a request of another content type is refused (415).
            passthrough_behavior=apigw.PassthroughBehavior.NEVER,
            request_parameters={"integration.request.header.Content-Type": "'application/x-amz-json-1.1'"},
            request_templates={JSON: request_template(write, stream.stream_name)},
            integration_responses=responses,
        ),
    )
    method_responses = [
        apigw.MethodResponse(status_code=r.status_code, response_parameters={k: True for k in headers})
        for r in responses
    ]
    return integration, method_responses

"""Media bucket, CloudFront and the web client's generated config."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk.assertions import Match

from chirp import wiring

from .support import Synthesized, resources_of


def test_media_bucket_is_private_encrypted_with_lifecycle(aws: Synthesized) -> None:
    """Given the media bucket
    When synthesized
    Then public access is blocked, objects are encrypted, incomplete uploads expire and old media tiers down."""
    aws.template("Content").has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": Match.any_value(),
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [Match.object_like({"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}})]
                )
            },
            "CorsConfiguration": Match.any_value(),
        },
    )


def test_cloudfront_serves_media_and_web_through_oac(aws: Synthesized) -> None:
    """Given one distribution for the web client and media
    When synthesized
    Then media/* goes to the media bucket, both origins use origin access control, and HTTP redirects to HTTPS."""
    template = aws.template("Content")
    template.resource_count_is("AWS::CloudFront::OriginAccessControl", 2)
    dist = next(iter(resources_of(aws.raw("Content"), "AWS::CloudFront::Distribution").values()))["Properties"]
    config = dist["DistributionConfig"]
    patterns = {b["PathPattern"] for b in config["CacheBehaviors"]}
    assert {"media/*", "config.json"} <= patterns
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert all(o.get("OriginAccessControlId") for o in config["Origins"])
    assert config["Logging"]["Bucket"]


def test_web_client_gets_generated_config(aws: Synthesized) -> None:
    """Given the web client reads /config.json
    When the web stack is synthesized
    Then a deployment writes config.json with the REST, WebSocket and media URLs."""
    deployment = next(iter(resources_of(aws.raw("Web"), "Custom::CDKBucketDeployment").values()))["Properties"]
    markers = json.dumps(deployment["SourceMarkers"])
    assert "execute-api" in markers and "wss://" in markers and "ChirpContent" in markers
    configs = list(Path(aws.assembly.directory).glob("asset.*/config.json"))
    assert len(configs) == 1
    config = json.loads(configs[0].read_text().replace("<<marker:", '"').replace(">>", '"').replace('""', '"'))
    assert set(config) == set(wiring.client_config(api_url="", ws_url="", media_url=""))


def test_functions_get_the_cdn_as_media_base(aws: Synthesized) -> None:
    """Given media is read through CloudFront
    When synthesized
    Then the media function's CHIRP_MEDIA_BASE_URL is the distribution's https URL."""
    for fn in resources_of(aws.raw("Api"), "AWS::Lambda::Function").values():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        if env.get("CHIRP_FUNCTION") == "media":
            assert "https://" in json.dumps(env["CHIRP_MEDIA_BASE_URL"])
            assert "Cdn" in json.dumps(env["CHIRP_MEDIA_BASE_URL"])
            return
    raise AssertionError("media function not found")


def test_media_cdn_url_is_an_output(aws: Synthesized) -> None:
    """Given a deployment
    When the content stack's outputs are read
    Then the media CDN URL is one."""
    aws.template("Content").has_output("MediaCdnUrl", Match.any_value())


def test_uploads_trigger_the_media_processor_with_retries_and_dead_letters(aws: Synthesized) -> None:
    """Given the wiring table's object-created trigger (issue 17)
    When synthesized
    Then S3 notifies the media processor of objects created under uploads/ only, a failed invocation is retried
    twice and then recorded in the dead-letter bucket, and uploads nobody processed expire."""
    (trigger,) = [fn.objects for fn in wiring.object_consumers() if fn.objects is not None]
    api = aws.raw("Api")
    (notification,) = resources_of(api, "Custom::S3BucketNotifications").values()
    (config,) = notification["Properties"]["NotificationConfiguration"]["LambdaFunctionConfigurations"]
    assert config["Events"] == ["s3:ObjectCreated:*"]
    assert config["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": trigger.prefix}]
    processor = config["LambdaFunctionArn"]["Fn::GetAtt"][0]
    environment = resources_of(api, "AWS::Lambda::Function")[processor]["Properties"]["Environment"]["Variables"]
    assert environment["CHIRP_FUNCTION"] == "media_processor" and "CHIRP_DEAD_LETTER_BUCKET" in environment
    (invoke,) = resources_of(api, "AWS::Lambda::EventInvokeConfig").values()
    assert invoke["Properties"]["MaximumRetryAttempts"] == 2
    assert invoke["Properties"]["FunctionName"] == {"Ref": processor}
    assert "OnFailure" in invoke["Properties"]["DestinationConfig"]
    aws.template("Content").has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [Match.object_like({"Prefix": trigger.prefix, "ExpirationInDays": 2, "Status": "Enabled"})]
                )
            }
        },
    )

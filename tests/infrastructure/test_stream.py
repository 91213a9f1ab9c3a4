"""The event stream, its consumers' event source mappings and their dead letters."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Match
from chirp_cdk.settings import settings_from_context

from chirp import wiring

from .support import LOCAL_ENDPOINTS, Synthesized, resources_of


def _mappings_by_function(synth: Synthesized) -> dict[str, dict]:
    functions = {
        logical_id: fn["Properties"]["Environment"]["Variables"]["CHIRP_FUNCTION"]
        for logical_id, fn in resources_of(synth.raw("Api"), "AWS::Lambda::Function").items()
        if "CHIRP_FUNCTION" in fn["Properties"].get("Environment", {}).get("Variables", {})
    }
    out = {}
    for mapping in resources_of(synth.raw("Api"), "AWS::Lambda::EventSourceMapping").values():
        props = mapping["Properties"]
        out[functions[props["FunctionName"]["Ref"]]] = props
    return out


def test_kinesis_stream_is_on_demand_and_encrypted(aws: Synthesized) -> None:
    """Given stream=kinesis (the default)
    When synthesized
    Then there is one on-demand, KMS-encrypted data stream."""
    aws.template("Stream").has_resource_properties(
        "AWS::Kinesis::Stream",
        {
            "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
            "StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
        },
    )


def test_each_consumer_has_its_mapping_from_the_wiring(aws: Synthesized) -> None:
    """Given the stream triggers in chirp.wiring
    When synthesized
    Then each consumer has a mapping with its batch size, window, retries (-1: until the record age runs out),
    record age, bisection, partial batch failure reporting and the dead-letter bucket as on-failure destination."""
    mappings = _mappings_by_function(aws)
    assert set(mappings) == {fn.name for fn in wiring.stream_consumers()}
    assert {"fanout", "indexer", "trender", "notifier"} <= set(mappings)
    for spec in wiring.stream_consumers():
        assert spec.stream is not None
        props = mappings[spec.name]
        assert props["BatchSize"] == spec.stream.batch_size
        assert props.get("MaximumBatchingWindowInSeconds", 0) == spec.stream.max_batching_window_s
        assert props["MaximumRetryAttempts"] == spec.stream.max_retries == -1
        assert props["MaximumRecordAgeInSeconds"] == spec.stream.max_record_age_s
        assert props["BisectBatchOnFunctionError"] is spec.stream.bisect_on_error
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        destination = json.dumps(props["DestinationConfig"]["OnFailure"]["Destination"])
        assert "DeadLetters" in destination and "Arn" in destination, destination
        # A consumer that joins later reads what was published before it existed.
        assert props["StartingPosition"] == "TRIM_HORIZON"


def test_records_are_given_up_on_before_the_stream_trims_them(aws: Synthesized) -> None:
    """Given the stream's retention and the mappings' maximum record age
    When synthesized
    Then the stream keeps records 7 days and every mapping hands a batch to the dead-letter bucket before that
    (6 days: the longest outage planned for), so a record that outlived an outage is kept, not trimmed."""
    [stream] = resources_of(aws.raw("Stream"), "AWS::Kinesis::Stream").values()
    retention_s = stream["Properties"]["RetentionPeriodHours"] * 3600
    assert retention_s == 7 * 24 * 3600
    for props in _mappings_by_function(aws).values():
        assert 0 < props["MaximumRecordAgeInSeconds"] < retention_s
        assert retention_s - props["MaximumRecordAgeInSeconds"] >= 12 * 3600  # margin before the trim


def test_dead_letter_bucket_is_private_encrypted_kept_and_alarmed(aws: Synthesized) -> None:
    """Given the dead-letter bucket (on-failure destination and quarantine)
    When synthesized
    Then it is SSE, TLS-only, public access blocked, versioned, replayed letters expire (unreplayed ones stay), no
    SQS dead-letter queue remains, and an alarm fires on any new letter."""
    template = aws.template("Stream")
    template.resource_count_is("AWS::SQS::Queue", 0)
    [bucket] = resources_of(aws.raw("Stream"), "AWS::S3::Bucket").values()
    props = bucket["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {rule["Id"]: rule for rule in props["LifecycleConfiguration"]["Rules"]}
    assert rules["ReplayedLetters"]["TagFilters"] == [{"Key": "chirp-replayed", "Value": "true"}]
    assert not [r for r in rules.values() if "ExpirationInDays" in r and "TagFilters" not in r]  # unreplayed: kept
    policy = json.dumps(resources_of(aws.raw("Stream"), "AWS::S3::BucketPolicy"))
    assert '"aws:SecureTransport": "false"' in policy and '"Effect": "Deny"' in policy
    alarms = resources_of(aws.raw("Observability"), "AWS::CloudWatch::Alarm")
    writes = [a["Properties"] for a in alarms.values() if "PutRequests" in json.dumps(a)]
    assert len(writes) == 1
    assert writes[0]["Threshold"] == 0 and writes[0]["ComparisonOperator"] == "GreaterThanThreshold"
    assert props["MetricsConfigurations"] == [{"Id": "EntireBucket"}]  # the request metrics the alarm reads


def test_consumers_may_only_write_dead_letters(aws: Synthesized) -> None:
    """Given the stream consumers
    When synthesized
    Then each gets CHIRP_DEAD_LETTER_BUCKET and the one writer policy: s3:PutObject under aws/lambda/ (Lambda's
    destination) and quarantine/ (the edge), s3:ListBucket (Lambda's documented need); no read or delete. Other
    functions get neither."""
    [(writers_id, writers)] = [
        (k, v)
        for k, v in resources_of(aws.raw("Stream"), "AWS::IAM::ManagedPolicy").items()
        if k.startswith("DeadLetterWriters")
    ]
    statements = writers["Properties"]["PolicyDocument"]["Statement"]
    assert {st["Action"] for st in statements} == {"s3:PutObject", "s3:ListBucket"}
    put = next(st for st in statements if st["Action"] == "s3:PutObject")
    resources = json.dumps(put["Resource"])
    assert len(put["Resource"]) == 2 and '"/aws/lambda/*"' in resources and '"/quarantine/*"' in resources
    functions = resources_of(aws.raw("Api"), "AWS::Lambda::Function")
    roles = resources_of(aws.raw("Api"), "AWS::IAM::Role")
    # the stream consumers, and the object consumers (the media processor quarantines notifications there too)
    consumers = {fn.name for fn in [*wiring.stream_consumers(), *wiring.object_consumers()]}
    for fn in functions.values():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        if "CHIRP_FUNCTION" not in env:
            continue
        role = roles[fn["Properties"]["Role"]["Fn::GetAtt"][0]]
        has_writer = writers_id in json.dumps(role["Properties"].get("ManagedPolicyArns", []))
        is_consumer = env["CHIRP_FUNCTION"] in consumers
        assert has_writer is is_consumer, env["CHIRP_FUNCTION"]
        assert ("CHIRP_DEAD_LETTER_BUCKET" in env) is is_consumer, env["CHIRP_FUNCTION"]


def test_latency_critical_consumers_read_through_enhanced_fan_out(aws: Synthesized) -> None:
    """Given the wiring table's enhanced_fan_out flags (fan-out and notifier: what users wait for)
    When synthesized
    Then each flagged consumer has its own registered stream consumer and its mapping reads that consumer's ARN;
    the others map to the stream itself (its shared standard throughput)."""
    consumers = resources_of(aws.raw("Stream"), "AWS::Kinesis::StreamConsumer")
    flagged = {fn.name for fn in wiring.stream_consumers() if fn.stream and fn.stream.enhanced_fan_out}
    assert flagged == {"fanout", "notifier"}
    assert sorted(c["Properties"]["ConsumerName"] for c in consumers.values()) == sorted(f"chirp-{n}" for n in flagged)
    for name, props in _mappings_by_function(aws).items():
        source = json.dumps(props["EventSourceArn"])
        if name in flagged:
            assert "ConsumerARN" in source and f"{name}Consumer" in source, (name, source)
        else:
            assert "ConsumerARN" not in source and "Events" in source, (name, source)


def test_the_emulator_deploy_can_turn_enhanced_fan_out_off(
    synth_factory: Callable[[dict[str, Any]], Synthesized],
) -> None:
    """Given backend=local with enhanced_fan_out=false (the emulator lacks AWS::Kinesis::StreamConsumer)
    When synthesized
    Then no stream consumer is declared and every mapping reads the stream; production may not turn it off."""
    local = synth_factory(
        {"backend": "local", "waf": "false", "enhanced_fan_out": "false", "local_endpoints": LOCAL_ENDPOINTS}
    )
    local.template("Stream").resource_count_is("AWS::Kinesis::StreamConsumer", 0)
    for props in _mappings_by_function(local).values():
        assert "ConsumerARN" not in json.dumps(props["EventSourceArn"])
    with pytest.raises(ValueError, match="enhanced_fan_out=false needs backend=local"):
        settings_from_context(App(context={"backend": "aws", "enhanced_fan_out": "false"}).node)


def test_msk_switch_replaces_kinesis(msk: Synthesized) -> None:
    """Given context stream=msk
    When synthesized
    Then an IAM-authenticated MSK Serverless cluster replaces the Kinesis stream and the consumers map to its topic."""
    template = msk.template("Stream")
    template.resource_count_is("AWS::Kinesis::Stream", 0)
    template.has_resource_properties(
        "AWS::MSK::ServerlessCluster", {"ClientAuthentication": {"Sasl": {"Iam": {"Enabled": True}}}}
    )
    mappings = _mappings_by_function(msk)
    assert set(mappings) == {fn.name for fn in wiring.stream_consumers()}
    for props in mappings.values():
        assert props["Topics"] == ["chirp-events"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert "DeadLetters" in json.dumps(props["DestinationConfig"])  # the same S3 bucket as on Kinesis
    for fn in resources_of(msk.raw("Api"), "AWS::Lambda::Function").values():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        if "CHIRP_STREAM_NAME" in env:
            assert env["CHIRP_STREAM_KIND"] == "msk"
            assert "CHIRP_KAFKA_BOOTSTRAP" in env
    assert "OffsetLag" in json.dumps(msk.raw("Observability"))
    template.has_resource_properties("Custom::AWS", Match.any_value())

"""The event stream, its consumers' event source mappings and their dead letters."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from chirp import wiring

from .support import Synthesized, resources_of


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
    """Given the stream triggers in chirp.wiring (fanout, indexer, trender, notifier)
    When synthesized
    Then each consumer has a mapping with its batch size, window, retries, record age, bisection,
    partial batch failure reporting and the dead-letter queue as on-failure destination."""
    mappings = _mappings_by_function(aws)
    assert (
        set(mappings) == {fn.name for fn in wiring.stream_consumers()} == {"fanout", "indexer", "trender", "notifier"}
    )
    for spec in wiring.stream_consumers():
        assert spec.stream is not None
        props = mappings[spec.name]
        assert props["BatchSize"] == spec.stream.batch_size
        assert props.get("MaximumBatchingWindowInSeconds", 0) == spec.stream.max_batching_window_s
        assert props["MaximumRetryAttempts"] == spec.stream.max_retries
        assert props["MaximumRecordAgeInSeconds"] == spec.stream.max_record_age_s
        assert props["BisectBatchOnFunctionError"] is spec.stream.bisect_on_error
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert "Fn::ImportValue" in str(props["DestinationConfig"]["OnFailure"]["Destination"])
        # A consumer that joins later reads what was published before it existed.
        assert props["StartingPosition"] == "TRIM_HORIZON"


def test_dead_letters_are_encrypted_and_alarmed(aws: Synthesized) -> None:
    """Given the on-failure destination
    When synthesized
    Then it is an SSE, TLS-only queue and an alarm fires on any visible message."""
    aws.template("Stream").has_resource_properties("AWS::SQS::Queue", {"SqsManagedSseEnabled": True})
    aws.template("Stream").resource_count_is("AWS::SQS::QueuePolicy", 1)
    alarms = resources_of(aws.raw("Observability"), "AWS::CloudWatch::Alarm")
    dlq = [a["Properties"] for a in alarms.values() if "ApproximateNumberOfMessagesVisible" in json.dumps(a)]
    assert len(dlq) == 1
    assert dlq[0]["Threshold"] == 0 and dlq[0]["ComparisonOperator"] == "GreaterThanThreshold"


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
        assert "DestinationConfig" in props
    for fn in resources_of(msk.raw("Api"), "AWS::Lambda::Function").values():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        if "CHIRP_STREAM_NAME" in env:
            assert env["CHIRP_STREAM_KIND"] == "msk"
            assert "CHIRP_KAFKA_BOOTSTRAP" in env
    assert "OffsetLag" in json.dumps(msk.raw("Observability"))
    template.has_resource_properties("Custom::AWS", Match.any_value())

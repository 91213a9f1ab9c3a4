"""The MSK variant (context stream=msk): the cluster, the IAM policies on its cluster/topic/group ARNs, the Kafka event
source mappings and the network path from the functions to the brokers."""

from __future__ import annotations

import json
from typing import Any

from chirp import wiring

from .support import Synthesized, resources_of

MSK_IAM_PORT = 9098  # MSK's SASL/IAM listener


def _functions(synth: Synthesized) -> dict[str, tuple[str, dict[str, Any]]]:
    """wiring name -> (logical id, properties) of every Chirp function."""
    out = {}
    for logical_id, fn in resources_of(synth.raw("Api"), "AWS::Lambda::Function").items():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        if "CHIRP_FUNCTION" in env:
            out[env["CHIRP_FUNCTION"]] = (logical_id, fn["Properties"])
    return out


def _policy(synth: Synthesized, prefix: str) -> tuple[str, list[dict[str, Any]]]:
    [(logical_id, policy)] = [
        (k, v) for k, v in resources_of(synth.raw("Stream"), "AWS::IAM::ManagedPolicy").items() if k.startswith(prefix)
    ]
    return logical_id, policy["Properties"]["PolicyDocument"]["Statement"]


def _actions_on(statements: list[dict[str, Any]], kind: str) -> set[str]:
    """The actions granted on resources of ``kind`` (cluster, topic, group) of the Chirp cluster."""
    found: set[str] = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        if f":{kind}/chirpstream-events/" in json.dumps(statement["Resource"]):
            actions = statement["Action"]
            found |= {actions} if isinstance(actions, str) else set(actions)
    return found


def _roles_with(synth: Synthesized, policy_id: str) -> set[str]:
    """Logical ids of the Api stack's roles that attach the Stream stack's managed policy ``policy_id``."""
    return {
        logical_id
        for logical_id, role in resources_of(synth.raw("Api"), "AWS::IAM::Role").items()
        if policy_id in json.dumps(role["Properties"].get("ManagedPolicyArns", []))
    }


def _role_of(fn: dict[str, Any]) -> str:
    return str(fn["Role"]["Fn::GetAtt"][0])


def test_the_cluster_takes_only_iam_clients_in_the_private_subnets(msk: Synthesized) -> None:
    [cluster] = resources_of(msk.raw("Stream"), "AWS::MSK::ServerlessCluster").values()
    props = cluster["Properties"]
    assert props["ClientAuthentication"] == {"Sasl": {"Iam": {"Enabled": True}}}
    [vpc] = props["VpcConfigs"]
    assert all("privateSubnet" in json.dumps(s) for s in vpc["SubnetIds"]) and len(vpc["SubnetIds"]) >= 2
    assert "StreamSg" in json.dumps(vpc["SecurityGroups"])


def test_producers_may_write_the_topic_and_nothing_else(msk: Synthesized) -> None:
    policy_id, statements = _policy(msk, "ProducerAccess")
    assert _actions_on(statements, "cluster") == {"kafka-cluster:Connect", "kafka-cluster:DescribeCluster"}
    topic = _actions_on(statements, "topic")
    assert {"kafka-cluster:WriteData", "kafka-cluster:DescribeTopic"} <= topic
    assert "kafka-cluster:ReadData" not in topic and not _actions_on(statements, "group")
    assert all(":topic/chirpstream-events/*/chirp-events" in json.dumps(s["Resource"]) for s in statements[1:])
    producers = {name for name, spec in ((f.name, f) for f in wiring.FUNCTIONS) if "stream" in spec.uses}
    functions = _functions(msk)
    roles = _roles_with(msk, policy_id)
    assert producers and {_role_of(functions[name][1]) for name in producers} <= roles


def test_consumers_may_read_the_topic_and_commit_their_own_groups(msk: Synthesized) -> None:
    policy_id, statements = _policy(msk, "ConsumerAccess")
    assert "kafka-cluster:Connect" in _actions_on(statements, "cluster")
    topic = _actions_on(statements, "topic")
    assert {"kafka-cluster:ReadData", "kafka-cluster:DescribeTopic"} <= topic and "kafka-cluster:WriteData" not in topic
    assert _actions_on(statements, "group") == {"kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"}
    group_arns = [json.dumps(s["Resource"]) for s in statements if ":group/" in json.dumps(s["Resource"])]
    assert all("chirpstream-events/*/chirp-*" in arn for arn in group_arns)
    functions = _functions(msk)
    roles = _roles_with(msk, policy_id)
    consumers = {fn.name for fn in wiring.stream_consumers()}
    assert {_role_of(functions[name][1]) for name in consumers} <= roles
    readers_elsewhere = {name for name, (_, fn) in functions.items() if _role_of(fn) in roles} - consumers
    assert not readers_elsewhere, f"{readers_elsewhere} may read the topic without consuming it"


def test_each_consumer_has_a_kafka_mapping_from_the_wiring(msk: Synthesized) -> None:
    functions = _functions(msk)
    by_logical_id = {logical_id: name for name, (logical_id, _) in functions.items()}
    mappings = {
        by_logical_id[m["Properties"]["FunctionName"]["Ref"]]: m["Properties"]
        for m in resources_of(msk.raw("Api"), "AWS::Lambda::EventSourceMapping").values()
    }
    assert set(mappings) == {fn.name for fn in wiring.stream_consumers()}
    for spec in wiring.stream_consumers():
        assert spec.stream is not None
        props = mappings[spec.name]
        assert "EventsArn" in json.dumps(props["EventSourceArn"])  # the MSK cluster, not a Kinesis stream
        assert props["Topics"] == ["chirp-events"]
        group = props["AmazonManagedKafkaEventSourceConfig"]["ConsumerGroupId"]
        assert group == f"chirp-{spec.name}"  # inside the consumer policy's chirp-* group ARNs
        assert props["StartingPosition"] == "TRIM_HORIZON"
        assert props["BatchSize"] == spec.stream.batch_size
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["BisectBatchOnFunctionError"] is spec.stream.bisect_on_error
        # -1 with an on-failure destination means 10 retries on Kafka (Lambda's rule, not Kinesis's): the mapping
        # asks for the most it takes, so batches wait an outage out until max_record_age_s, as on Kinesis.
        retries = 10_000 if spec.stream.max_retries < 0 else spec.stream.max_retries
        assert props["MaximumRetryAttempts"] == retries
        assert props["MaximumRecordAgeInSeconds"] == spec.stream.max_record_age_s
        # Kafka mappings honour retries, bisection and record age only with provisioned pollers.
        assert props["ProvisionedPollerConfig"]["MinimumPollers"] >= 1
        assert "DeadLetters" in json.dumps(props["DestinationConfig"]["OnFailure"]["Destination"])


def test_producing_functions_reach_the_brokers(msk: Synthesized) -> None:
    """The functions run in the VPC's private subnets with the functions' security group, which the cluster's group
    admits on the IAM port; the mappings' pollers (in the cluster's group) reach it too."""
    network = msk.raw("Network")["Resources"]
    [(stream_sg_id, _)] = [
        (k, v) for k, v in network.items() if v["Type"] == "AWS::EC2::SecurityGroup" and k.startswith("StreamSg")
    ]
    [(functions_sg_id, _)] = [
        (k, v) for k, v in network.items() if v["Type"] == "AWS::EC2::SecurityGroup" and k.startswith("FunctionsSg")
    ]
    ingress = [
        v["Properties"]
        for v in network.values()
        if v["Type"] == "AWS::EC2::SecurityGroupIngress"
        and v["Properties"]["GroupId"] == {"Fn::GetAtt": [stream_sg_id, "GroupId"]}
    ]
    ingress += network[stream_sg_id]["Properties"].get("SecurityGroupIngress", [])
    sources = {
        json.dumps(rule.get("SourceSecurityGroupId"))
        for rule in ingress
        if rule.get("FromPort") == MSK_IAM_PORT and rule.get("ToPort") == MSK_IAM_PORT
    }
    assert any(functions_sg_id in s for s in sources), sources  # the functions
    assert any(stream_sg_id in s for s in sources), sources  # the event source pollers
    for name, (_, fn) in _functions(msk).items():
        if "CHIRP_STREAM_NAME" in fn.get("Environment", {}).get("Variables", {}):
            vpc = json.dumps(fn["VpcConfig"])
            assert "FunctionsSg" in vpc and "privateSubnet" in vpc, name
            assert fn["Environment"]["Variables"]["CHIRP_STREAM_KIND"] == "msk"


def test_the_deployment_creates_the_topic_before_any_function_uses_it(msk: Synthesized) -> None:
    """Given stream=msk (MSK Serverless has no topic resource and no CreateTopic API)
    When synthesized
    Then a custom resource creates chirp-events with the stream's partitions and retention, from a function in the
    VPC with the product's layers and the producers' policy (CreateTopic on the topic ARN), and every Chirp function
    depends on it, so no producer or mapping starts before the topic exists."""
    api = msk.raw("Api")
    [(topic_id, topic)] = [
        (k, v) for k, v in api["Resources"].items() if v["Type"] == "AWS::CloudFormation::CustomResource"
    ]
    assert topic["Properties"]["Topic"] == "chirp-events"
    assert topic["Properties"]["RetentionMs"] == 7 * 24 * 3600 * 1000 and topic["Properties"]["Partitions"] >= 2
    handlers = [
        fn["Properties"]
        for fn in resources_of(api, "AWS::Lambda::Function").values()
        if fn["Properties"].get("Handler") == "index.on_event"
    ]
    [handler] = handlers
    assert handler["VpcConfig"]["SubnetIds"] and len(handler["Layers"]) == 2
    assert handler["Environment"]["Variables"]["CHIRP_STREAM_KIND"] == "msk"
    producer_id, statements = _policy(msk, "ProducerAccess")
    assert "kafka-cluster:CreateTopic" in _actions_on(statements, "topic")
    roles = json.dumps(resources_of(api, "AWS::IAM::Role"))
    assert producer_id in roles  # the handler's role carries the producers' managed policy (imported from Stream)
    for logical_id, _ in _functions(msk).values():
        assert topic_id in api["Resources"][logical_id].get("DependsOn", []), logical_id

"""Design switches change the lines they are about, and nothing else."""

import copy
from typing import Any

import pytest

from chirp.capacity import DESIGN_DOC_CORE_MONTHLY_USD, Inputs, Plan, PriceTable, Scenario, ScenarioError, plan
from chirp.capacity.inputs import Input
from chirp.capacity.scenario import parse_scenario


def _pair(
    seed_data: Any, prices: PriceTable, inputs: Inputs, option: str, before: Any, after: Any
) -> tuple[Plan, Plan]:
    data = copy.deepcopy(seed_data)
    data["designs"] = {"before": {option: before}, "after": {option: after}}
    scenario = parse_scenario(data)
    return plan(scenario, prices, "before", inputs), plan(scenario, prices, "after", inputs)


def _changed_components(a: Plan, b: Plan) -> set[str]:
    costs_a, costs_b = a.by_component(), b.by_component()
    return {name for name in costs_a.keys() | costs_b.keys() if costs_a.get(name) != costs_b.get(name)}


@pytest.mark.parametrize(
    ("option", "before", "after", "components"),
    [
        # an HTTP API takes no WAF web ACL
        ("api", "rest", "http", {"API front", "WAF"}),
        # an ALB has no token authorizer: the function checks the token, so the authorizer's calls (and their
        # token-version reads) go
        ("api", "rest", "alb", {"API front", "Lambda", "Keyspaces"}),
        # a socket fleet of our own: no per-ping function calls, and pushes no longer leave through NAT
        ("websocket", "api_gateway", "fleet", {"WebSocket", "Lambda", "VPC"}),
        # managed pub/sub: keep-alives are not billed and call no function
        ("websocket", "api_gateway", "appsync_events", {"WebSocket", "Lambda"}),
        ("websocket", "api_gateway", "iot_core", {"WebSocket", "Lambda"}),
        ("keyspaces_capacity", "on_demand", "provisioned", {"Keyspaces"}),
        ("cache_engine", "redis", "valkey", {"ElastiCache"}),
        ("media_tiering", "standard", "lifecycle", {"S3 media"}),
        ("lambda_arch", "x86_64", "arm64", {"Lambda"}),
        ("waf_scope", "all", "none", {"WAF"}),
        ("xray_sampled_share", 0.05, 0.001, {"X-Ray"}),
        ("access_logs", "cloudwatch", "off", {"CloudWatch Logs"}),
        ("websocket_ping", "lambda", "mock", {"Lambda"}),
        ("authorizer_cache_ttl_s", 300, 3600, {"Lambda", "Keyspaces"}),
        ("availability_zones", 3, 2, {"Cross-AZ traffic", "VPC"}),
        ("stream_efo_consumers", 4, 2, {"Kinesis"}),
        ("commitment", "none", "3yr", {"Lambda", "ElastiCache", "Neptune", "OpenSearch"}),
        ("compress_responses", False, True, {"Data transfer out"}),
    ],
)
def test_switch_changes_only_its_components(
    seed_data: Any, prices: PriceTable, assumed: Inputs, option: str, before: Any, after: Any, components: set[str]
) -> None:
    # Given two designs that differ in one option
    first, second = _pair(seed_data, prices, assumed, option, before, after)
    # When both are planned
    # Then exactly those components' costs differ, and each got cheaper
    assert _changed_components(first, second) == components
    for component in components:
        assert second.by_component().get(component, 0.0) < first.by_component()[component]


def test_a_commitment_discounts_only_lines_that_offer_one(seed_data: Any, prices: PriceTable, assumed: Inputs) -> None:
    on_demand, committed = _pair(seed_data, prices, assumed, "commitment", "none", "1yr")
    # Compute savings plans cover Lambda duration, not invocations; Keyspaces has no reservation
    assert committed.line("Lambda", "compute GB-seconds").monthly_usd == pytest.approx(
        on_demand.line("Lambda", "compute GB-seconds").monthly_usd * (1 - 0.12)
    )
    assert committed.line("Lambda", "invocations") == on_demand.line("Lambda", "invocations")
    assert committed.by_component()["Keyspaces"] == on_demand.by_component()["Keyspaces"]
    assert "1yr commitment -31%" in committed.line("ElastiCache", "nodes").detail


def test_msk_serverless_replaces_the_kinesis_lines(seed_data: Any, prices: PriceTable, assumed: Inputs) -> None:
    kinesis, msk = _pair(seed_data, prices, assumed, "stream", "kinesis", "msk_serverless")
    assert "Kinesis" not in msk.by_component() and "MSK Serverless" not in kinesis.by_component()
    # MSK sits in the VPC: its traffic no longer goes through the Kinesis interface endpoint
    assert msk.line("VPC", "interface endpoint data").quantity < kinesis.line("VPC", "interface endpoint data").quantity
    # At the design's event rate, four consumers reading everything exceed one serverless cluster's read quota
    assert msk.line("MSK Serverless", "cluster-hours").quantity > msk.prices.hours_per_month


def test_the_bill_has_the_lines_an_audit_found_missing(seed: Scenario, prices: PriceTable, assumed: Inputs) -> None:
    chosen = plan(seed, prices, "chirp-default", assumed)
    for component, item in [
        ("WAF", "requests inspected"),
        ("X-Ray", "traces recorded"),
        ("CloudWatch Logs", "API access logs"),
        ("CloudWatch Logs", "function logs"),
        ("Cross-AZ traffic", "functions <-> cache"),
        ("VPC", "interface endpoint hours"),
        ("VPC", "NAT data: pushes"),
        ("Lambda", "invocations: token authorizer"),
        ("Lambda", "invocations: WebSocket pings"),
    ]:
        assert chosen.line(component, item).monthly_usd > 0, (component, item)
    # WAF inspects every request at $0.60 per million
    requests = chosen.traffic.requests_per_day * prices.hours_per_month / 24
    assert chosen.line("WAF", "requests inspected").monthly_usd == pytest.approx(requests / 1e6 * 0.60)


def test_core_is_compared_like_for_like_with_the_design_documents_core(
    seed: Scenario, prices: PriceTable, assumed: Inputs
) -> None:
    chosen = plan(seed, prices, "chirp-default", assumed)
    assert DESIGN_DOC_CORE_MONTHLY_USD == 714_400 - 25_300 - 127_500
    assert chosen.core_gap_usd == pytest.approx(chosen.core_usd - 561_600)


def test_valkey_changes_the_node_line_and_not_the_node_count(
    seed_data: Any, prices: PriceTable, assumed: Inputs
) -> None:
    # Given Redis OSS vs Valkey for the same cache
    redis, valkey = _pair(seed_data, prices, assumed, "cache_engine", "redis", "valkey")
    # Then node-hours are equal and the cost is 20% lower
    assert redis.line("ElastiCache", "nodes").quantity == valkey.line("ElastiCache", "nodes").quantity
    assert valkey.line("ElastiCache", "nodes").monthly_usd == pytest.approx(
        redis.line("ElastiCache", "nodes").monthly_usd * 0.8, rel=1e-3
    )


def test_timelines_in_the_cache_remove_the_home_timeline_rows(
    seed_data: Any, prices: PriceTable, assumed: Inputs
) -> None:
    # Given per-follower Keyspaces rows vs timelines in the cache
    rows, cache = _pair(seed_data, prices, assumed, "timeline_store", "keyspaces", "cache")
    # Then the home_timeline write line disappears and the cache grows to hold the timelines
    assert rows.line("Keyspaces", "writes: home_timeline rows").monthly_usd > 0
    with pytest.raises(KeyError):
        cache.line("Keyspaces", "writes: home_timeline rows")
    assert cache.line("ElastiCache", "nodes").quantity > 10 * rows.line("ElastiCache", "nodes").quantity
    # and nothing outside timelines (Keyspaces, cache, Lambda fan-out work) moves
    # (cache traffic between zones and the Keyspaces endpoint's bytes follow where timelines live)
    assert _changed_components(rows, cache) <= {"Keyspaces", "ElastiCache", "Lambda", "Cross-AZ traffic", "VPC"}
    assert rows.line("Lambda", "invocations") == cache.line("Lambda", "invocations")


def test_active_only_fan_out_shrinks_the_cache(seed_data: Any, prices: PriceTable, assumed: Inputs) -> None:
    # Given fan-out to every follower vs only followers active in 30 days
    everyone, active = _pair(seed_data, prices, assumed, "fanout_active_only", False, True)
    # Then the cache needs fewer nodes and socket pushes are unchanged (inactive users are never online)
    assert active.line("ElastiCache", "nodes").quantity < everyone.line("ElastiCache", "nodes").quantity
    assert active.line("WebSocket", "messages") == everyone.line("WebSocket", "messages")


def test_media_lines_are_not_core(seed_data: Any, prices: PriceTable, assumed: Inputs) -> None:
    # Given media tiering switched on
    standard, lifecycle = _pair(seed_data, prices, assumed, "media_tiering", "standard", "lifecycle")
    # Then the core cost is identical and only the media cost drops
    assert standard.core_usd == lifecycle.core_usd
    assert lifecycle.media_usd < standard.media_usd


def test_the_api_edge_takes_its_hits_off_every_per_request_line(
    seed_data: Any, prices: PriceTable, assumed: Inputs
) -> None:
    # Given a quarter of profile views and searches made signed out, without and with the edge in front of the API
    data = copy.deepcopy(seed_data)
    data["designs"] = {
        "direct": {"signed_out_read_share": 0.25},
        "edge": {"signed_out_read_share": 0.25, "api_edge": True},
    }
    scenario = parse_scenario(data)
    direct, edge = plan(scenario, prices, "direct", assumed), plan(scenario, prices, "edge", assumed)
    # Then the origin sees the edge's hits fewer requests (hit ratio from the inputs), on every per-request line
    t = edge.traffic
    hits = (t.profile_views_per_day + t.searches_per_day) * 0.25 * assumed["edge_hit_ratio"] * 730 / 24
    for component, item in [("API front", "requests"), ("WAF", "requests inspected"), ("Lambda", "invocations")]:
        assert direct.line(component, item).quantity - edge.line(component, item).quantity == pytest.approx(hits)
    # and every signed-out read (hit or miss) is a CDN request, its bytes leaving from the CDN instead of the API
    assert edge.line("CloudFront API edge", "HTTPS requests").quantity == pytest.approx(
        hits / assumed["edge_hit_ratio"]
    )
    assert (
        edge.line("Data transfer out", "API responses").quantity
        < direct.line("Data transfer out", "API responses").quantity
    )
    assert "CloudFront API edge" not in direct.by_component()


def test_direct_writes_take_likes_retweets_and_follows_off_lambda_and_onto_the_stream(
    seed_data: Any, prices: PriceTable, assumed: Inputs
) -> None:
    sync, direct = _pair(seed_data, prices, assumed, "write_path", "sync", "async")
    t = sync.traffic
    direct_per_month = (t.likes_per_day + t.retweets_per_day + t.follows_per_day) * 730 / 24
    # Lambda API invocations drop by every direct write; the actions consumer adds one batch per 100
    removed = sync.line("Lambda", "invocations").quantity - direct.line("Lambda", "invocations").quantity
    assert removed == pytest.approx(direct_per_month - direct_per_month / assumed["stream_batch_records"])
    # API Gateway still takes every request (and the WAF inspects it); each direct write is one more stream record
    assert direct.line("API front", "requests") == sync.line("API front", "requests")
    assert direct.line("WAF", "requests inspected") == sync.line("WAF", "requests inspected")
    assert direct.by_component()["Kinesis"] > sync.by_component()["Kinesis"]
    assert direct.by_component()["Lambda"] < sync.by_component()["Lambda"]


@pytest.mark.parametrize(("api", "stream"), [("alb", "kinesis"), ("rest", "msk_serverless")])
def test_direct_writes_need_api_gateway_and_kinesis(seed_data: Any, api: str, stream: str) -> None:
    data = copy.deepcopy(seed_data)
    data["designs"] = {"impossible": {"write_path": "async", "api": api, "stream": stream}}
    with pytest.raises(ScenarioError, match="write_path async needs"):
        parse_scenario(data)


def test_measured_response_bytes_move_the_egress_line(seed: Scenario, prices: PriceTable, assumed: Inputs) -> None:
    # Given the assumed 1.5 KB per tweet in a page, and a measured page half as big per tweet
    design = next(iter(seed.designs))
    halved = dict(assumed.values)
    halved["response_bytes_per_tweet"] = Input(assumed["response_bytes_per_tweet"] / 2, "measured: test")
    # When both are planned
    before = plan(seed, prices, design, assumed).by_component()["Data transfer out"]
    after = plan(seed, prices, design, Inputs(halved)).by_component()["Data transfer out"]
    # Then the API's egress falls, though not by half: write responses are not pages of tweets
    assert before / 2 < after < before

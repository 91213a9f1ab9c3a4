"""Issue 20's cost levers in the planner: the web ACL's scope, where access logs go, and same-AZ cache reads; and the
verdict's walk from one design to the cheapest."""

import copy
from typing import Any

import pytest

from chirp.capacity import Inputs, Plan, PriceTable, ScenarioError, plan, plan_all
from chirp.capacity.inputs import Input
from chirp.capacity.report import render_report
from chirp.capacity.scenario import Scenario, parse_scenario

GIB = 2**30
DAYS = 730 / 24
EDGE = {"api_edge": True, "signed_out_read_share": 0.25}
AZ_READY = {"cache_engine": "valkey", "cache_replicas": 1, "availability_zones": 2}


def _pair(
    seed_data: Any, prices: PriceTable, inputs: Inputs, common: dict[str, Any], option: str, before: Any, after: Any
) -> tuple[Plan, Plan]:
    data = copy.deepcopy(seed_data)
    data["designs"] = {"before": {**common, option: before}, "after": {**common, option: after}}
    scenario = parse_scenario(data)
    return plan(scenario, prices, "before", inputs), plan(scenario, prices, "after", inputs)


def _changed(a: Plan, b: Plan) -> set[str]:
    costs_a, costs_b = a.by_component(), b.by_component()
    return {name for name in costs_a.keys() | costs_b.keys() if costs_a.get(name) != costs_b.get(name)}


def test_an_edge_web_acl_inspects_only_signed_out_reads_and_sign_ins(
    seed_data: Any, prices: PriceTable, assumed: Inputs
) -> None:
    # Given the API edge in front of signed-out reads, with the web ACL on the whole API vs on the edge alone
    everything, edge = _pair(seed_data, prices, assumed, EDGE, "waf_scope", "all", "edge")
    # Then the ACL sees every signed-out read (hits too: WAF runs before the cache) and one sign-in per daily user
    t, users = edge.traffic, edge.scenario.users
    signed_out = (t.profile_views_per_day + t.searches_per_day) * 0.25
    sign_ins = users.daily_active * assumed["auth_calls_per_user_per_day"]
    assert edge.line("WAF", "requests inspected").quantity == pytest.approx((signed_out + sign_ins) * DAYS)
    assert edge.line("WAF", "requests inspected").quantity < everything.line("WAF", "requests inspected").quantity / 5
    # and the sign-ins become CDN requests; nothing else changes (they reach the API either way)
    extra = edge.line("CloudFront API edge", "HTTPS requests").quantity
    extra -= everything.line("CloudFront API edge", "HTTPS requests").quantity
    assert extra == pytest.approx(sign_ins * DAYS)
    assert _changed(everything, edge) == {"WAF", "CloudFront API edge"}


def test_an_edge_web_acl_protects_an_http_api_that_takes_no_regional_one(
    seed_data: Any, prices: PriceTable, assumed: Inputs
) -> None:
    regional, edge = _pair(seed_data, prices, assumed, {**EDGE, "api": "http"}, "waf_scope", "all", "edge")
    assert "WAF" not in regional.by_component()
    assert edge.line("WAF", "requests inspected").monthly_usd > 0


def test_an_edge_web_acl_needs_the_edge(seed_data: Any) -> None:
    data = copy.deepcopy(seed_data)
    data["designs"] = {"impossible": {"waf_scope": "edge", "api_edge": False}}
    with pytest.raises(ScenarioError, match="waf_scope edge needs api_edge"):
        parse_scenario(data)


def test_firehose_access_logs_bill_each_line_as_a_5_kb_record_and_store_gzip_in_s3(
    seed_data: Any, prices: PriceTable, assumed: Inputs
) -> None:
    cloudwatch, firehose = _pair(seed_data, prices, assumed, {}, "access_logs", "cloudwatch", "firehose")
    requests = firehose.traffic.requests_per_day * DAYS
    assert firehose.line("Firehose access logs", "ingestion").quantity == pytest.approx(requests * 5 * 1024 / GIB)
    stored = firehose.traffic.requests_per_day * 30 * 450 * assumed["access_log_gzip_ratio"] / GIB
    assert firehose.line("Firehose access logs", "S3 storage").quantity == pytest.approx(stored)
    with pytest.raises(KeyError):
        firehose.line("CloudWatch Logs", "API access logs")
    # Even at 11x the bytes (the 5 KB rounding), Firehose's tiers cost less than CloudWatch's $0.50/GiB
    assert (
        firehose.by_component()["Firehose access logs"]
        < cloudwatch.line("CloudWatch Logs", "API access logs").monthly_usd
    )
    assert _changed(cloudwatch, firehose) == {"CloudWatch Logs", "Firehose access logs"}


def test_a_log_line_over_5_kb_is_billed_as_two_records(seed: Scenario, prices: PriceTable, assumed: Inputs) -> None:
    long_lines = dict(assumed.values)
    long_lines["access_log_bytes_per_request"] = Input(6_000, "assumed: test")
    options = seed.design("chirp-default").model_copy(update={"access_logs": "firehose"})
    short = plan(seed, prices, "chirp-default", assumed, options=options)
    long = plan(seed, prices, "chirp-default", Inputs(long_lines), options=options)
    ratio = (
        long.line("Firehose access logs", "ingestion").quantity
        / short.line("Firehose access logs", "ingestion").quantity
    )
    assert ratio == pytest.approx(2)


def test_same_az_cache_reads_leave_only_the_writes_crossing_zones(
    seed_data: Any, prices: PriceTable, assumed: Inputs
) -> None:
    primary, local = _pair(seed_data, prices, assumed, AZ_READY, "cache_reads", "primary", "same_az_replica")
    inserts = local.traffic.timeline_deliveries_per_day * assumed["cache_bytes_per_timeline_insert"]
    # half the inserts cross (2 AZs), billed out and in
    assert local.line("Cross-AZ traffic", "functions <-> cache").quantity == pytest.approx(inserts * DAYS / GIB)
    assert local.line("Cross-AZ traffic", "functions <-> cache").monthly_usd < (
        primary.line("Cross-AZ traffic", "functions <-> cache").monthly_usd / 10
    )
    assert _changed(primary, local) == {"Cross-AZ traffic"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cache_engine": "redis", "cache_replicas": 1}, "needs valkey"),
        ({"cache_engine": "valkey", "cache_replicas": 1, "availability_zones": 3}, "node of every shard in each AZ"),
    ],
)
def test_same_az_cache_reads_need_valkey_and_a_node_in_every_zone(
    seed_data: Any, options: dict[str, Any], message: str
) -> None:
    data = copy.deepcopy(seed_data)
    data["designs"] = {"impossible": {**options, "cache_reads": "same_az_replica"}}
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(data)


def test_the_verdict_walks_from_path_from_to_the_cheapest_design_line_by_line(
    seed: Scenario, prices: PriceTable, assumed: Inputs
) -> None:
    # Given the seed scenario (its path_from is chirp-lean-3yr)
    report = render_report(plan_all(seed, prices, inputs=assumed))
    verdict = report.split("## Verdict", 1)[1].split("\n## ", 1)[0]
    # Then the verdict names both ends and one row per lever, each labelled built or priced
    assert seed.path_from == "chirp-lean-3yr"
    assert "From **chirp-lean-3yr**" in verdict and "to **chirp-lean-3yr-edge**" in verdict
    assert "| `waf_scope: edge` (was all) | WAF / requests inspected -$" in verdict
    assert "built (context waf_scope=edge)" in verdict
    assert "built (context access_logs=firehose)" in verdict
    cache_row = next(line for line in verdict.splitlines() if line.startswith("| `cache_reads: same_az_replica`"))
    assert "priced, not built" in cache_row and "Cross-AZ traffic / functions <-> cache -$" in cache_row
    # and each step says what it rests on, measured or assumed
    assert "auth_calls_per_user_per_day 1 (assumed)" in verdict
    # and, still over the design document's core, the lines that stay and why
    assert "| Lambda / invocations | $" in verdict and "floor of a Lambda API" in verdict


def test_options_valid_only_together_are_one_step(seed_data: Any, prices: PriceTable, assumed: Inputs) -> None:
    # waf_scope edge alone is invalid without the edge: the walk waits for api_edge and shows both in one step
    data = copy.deepcopy(seed_data)
    data["designs"] = {"start": {}, "end": {**EDGE, "waf_scope": "edge"}}
    data["path_from"] = "start"
    report = render_report(plan_all(parse_scenario(data), prices, inputs=assumed))
    assert "| `waf_scope: edge` (was all), `api_edge: True` (was False) |" in report


def test_path_from_must_name_a_design(seed_data: Any) -> None:
    data = copy.deepcopy(seed_data)
    data["path_from"] = "nowhere"
    with pytest.raises(ScenarioError, match="path_from 'nowhere'"):
        parse_scenario(data)


def test_every_report_table_row_has_its_header_s_columns(seed: Scenario, prices: PriceTable, assumed: Inputs) -> None:
    # a "|" inside a cell (e.g. "context waf_scope=all|edge") would shift every column after it
    report = render_report(plan_all(seed, prices, inputs=assumed))
    columns = None
    for line in report.splitlines():
        if not line.startswith("|"):
            columns = None
            continue
        if columns is None:
            columns = line.count("|")
        assert line.count("|") == columns, line

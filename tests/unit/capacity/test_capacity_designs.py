"""Design switches change the lines they are about, and nothing else."""

import copy
from typing import Any

import pytest

from chirp.capacity import Inputs, Plan, PriceTable, plan
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
    ("option", "before", "after", "component"),
    [
        ("api", "rest", "http", "API front"),
        ("api", "rest", "alb", "API front"),
        ("websocket", "api_gateway", "fleet", "WebSocket"),
        ("keyspaces_capacity", "on_demand", "provisioned", "Keyspaces"),
        ("cache_engine", "redis", "valkey", "ElastiCache"),
        ("media_tiering", "standard", "lifecycle", "S3 media"),
        ("lambda_arch", "x86_64", "arm64", "Lambda"),
    ],
)
def test_switch_changes_only_its_component(
    seed_data: Any, prices: PriceTable, assumed: Inputs, option: str, before: Any, after: Any, component: str
) -> None:
    # Given two designs that differ in one option
    first, second = _pair(seed_data, prices, assumed, option, before, after)
    # When both are planned
    # Then exactly that option's component costs differ, and it got cheaper
    assert _changed_components(first, second) == {component}
    assert second.by_component()[component] < first.by_component()[component]


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
    assert _changed_components(rows, cache) <= {"Keyspaces", "ElastiCache", "Lambda"}
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

"""The counter writes of likes and retweets: one per like unless the design coalesces them on the async write path
(the only one that batches likes), then as many as the measured ``counter_coalescing`` input says (the actions
consumer's batches, bench/workloads/coalescing.py)."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from chirp.capacity import Inputs, PriceTable, load_inputs, plan
from chirp.capacity.inputs import Input
from chirp.capacity.scenario import parse_scenario

WRITES = "writes: likes, retweets, counters, notifications"


def _likes_line_units(
    seed_data: Any, prices: PriceTable, inputs: Inputs, factor: float, write_path: str = "async"
) -> float:
    data = copy.deepcopy(seed_data)
    design: dict[str, Any] = {"counter_coalescing": factor, "write_path": write_path}
    if write_path == "async":
        design["api"] = "http"  # direct writes need API Gateway in front
    data["designs"] = {"d": design}
    lines = plan(parse_scenario(data), prices, "d", inputs).lines
    return next(line.quantity for line in lines if line.component == "Keyspaces" and line.item == WRITES)


def _with(assumed: Inputs, ratio: float) -> Inputs:
    values = dict(assumed.values)
    values["counter_coalescing"] = Input(ratio, "measured: test")
    return Inputs(values)


def test_a_design_that_coalesces_writes_counters_at_the_measured_ratio(
    seed_data: Any, prices: PriceTable, assumed: Inputs
) -> None:
    # Given a design that coalesces (its own factor 10), priced at measured ratios of 1, 2 and 4 likes a counter write
    at = {r: _likes_line_units(seed_data, prices, _with(assumed, r), 10.0) for r in (1.0, 2.0, 4.0)}
    # Then the line is rows + notifications + counters / ratio: from 1 to 2 it sheds half the counters, from 2 to 4 a
    # quarter (the measured ratio, not the design's 10, divides the counter writes)
    assert at[1.0] > at[2.0] > at[4.0]
    assert at[1.0] - at[2.0] == pytest.approx(2 * (at[2.0] - at[4.0]))
    # and a design writing one counter per like ignores the measured ratio
    one_per_like = {r: _likes_line_units(seed_data, prices, _with(assumed, r), 1.0) for r in (1.0, 4.0)}
    assert one_per_like[1.0] == one_per_like[4.0]
    # and so does one that takes likes on the Lambda path (it writes a counter per like, whatever the design says)
    sync = {r: _likes_line_units(seed_data, prices, _with(assumed, r), 10.0, "sync") for r in (1.0, 4.0)}
    assert sync[1.0] == sync[4.0] == one_per_like[1.0]


def test_the_bench_results_carry_the_measured_ratio(tmp_path: Path) -> None:
    results = tmp_path / "bench.json"
    results.write_text(json.dumps({"backend": "embedded", "capacity_inputs": {"counter_coalescing": 1.52}}))
    inputs = load_inputs(results)
    assert inputs["counter_coalescing"] == 1.52
    assert inputs.values["counter_coalescing"].measured
    assert not load_inputs(None).values["counter_coalescing"].measured

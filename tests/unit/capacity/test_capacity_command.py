"""The capacity command writes the report and chart; benchmark results become measured inputs."""

import argparse
import json
from pathlib import Path

import pytest

from chirp.capacity import load_inputs
from chirp.capacity.__main__ import main
from chirp.capacity.command import register


def test_command_writes_report_and_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seed_path: Path, prices_path: Path
) -> None:
    # Given the seed scenario and an empty results directory
    out = tmp_path / "reports"
    # When the command runs for two designs
    code = main(
        ["capacity", "--scenario", str(seed_path), "--prices", str(prices_path), "--out", str(out),
         "--design", "design-doc", "--design", "chirp-default", "--results", str(tmp_path / "none")]
    )  # fmt: skip
    # Then it succeeds, writes seed.md and a PNG, and prints one summary line per design
    assert code == 0
    report = (out / "seed.md").read_text(encoding="utf-8")
    assert "| Component | design-doc | chirp-default |" in report
    assert "chirp-optimized" not in report
    assert (out / "seed.png").read_bytes().startswith(b"\x89PNG")
    printed = capsys.readouterr().out
    assert "design-doc" in printed and "chirp-default" in printed


def test_register_adds_a_capacity_subcommand() -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["capacity", "--scenario", "x.yaml", "--design", "a", "--design", "b"])
    assert args.scenario == Path("x.yaml")
    assert args.design == ["a", "b"]
    assert args.prices == Path("bench/capacity/prices.yaml")


def test_invalid_scenario_exits_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], prices_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nusers: {daily_active: 1}\n", encoding="utf-8")
    code = main(["--scenario", str(bad), "--prices", str(prices_path), "--out", str(tmp_path)])
    assert code == 2
    assert "invalid scenario" in capsys.readouterr().err
    assert not (tmp_path / "bad.md").exists()


def test_benchmark_results_are_used_and_labelled_measured(tmp_path: Path) -> None:
    # Given a benchmark result with capacity_inputs
    results = tmp_path / "results"
    results.mkdir()
    document = {"capacity_inputs": {"timeline_inserts_per_s_per_node": 71_000, "lambda_ms_per_request": {"read": 12}}}
    (results / "fanout.json").write_text(json.dumps(document), encoding="utf-8")
    # When inputs are loaded
    inputs = load_inputs(results)
    # Then those values are measured (with their file) and the others stay assumed
    assert inputs["timeline_inserts_per_s_per_node"] == 71_000
    assert inputs.values["timeline_inserts_per_s_per_node"].measured
    assert inputs.values["lambda_ms_per_request.read"].source.endswith("results/fanout.json")
    assert not inputs.values["lambda_ms_per_request.write"].measured
    assert inputs.values["lambda_ms_per_request.write"].source.startswith("assumed")

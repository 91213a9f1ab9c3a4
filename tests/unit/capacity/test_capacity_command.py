"""The capacity command writes the report and chart; benchmark results become measured inputs."""

import argparse
import json
from pathlib import Path

import pytest

from chirp.capacity import Scenario, load_inputs
from chirp.capacity.__main__ import main
from chirp.capacity.command import register

REPO = Path(__file__).resolve().parents[3]


def test_command_writes_report_and_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seed_path: Path, prices_path: Path
) -> None:
    # Given the seed scenario and a results file of one benchmark run
    out = tmp_path / "reports"
    results = tmp_path / "run.json"
    results.write_text(json.dumps({"backend": "servers", "capacity_inputs": {"lambda_ms_per_request": {"read": 7}}}))
    # When the command runs for two designs
    code = main(
        ["capacity", "--scenario", str(seed_path), "--prices", str(prices_path), "--out", str(out),
         "--design", "design-doc", "--design", "chirp-default", "--inputs", str(results)]
    )  # fmt: skip
    # Then it succeeds, writes seed.md and a PNG, and prints one summary line per design
    assert code == 0
    report = (out / "seed.md").read_text(encoding="utf-8")
    assert "| Component | design-doc | chirp-default |" in report
    assert "chirp-optimized" not in report
    # with the four ways of holding the sockets priced for the cheapest design
    assert "| AppSync Events |" in report and "| IoT Core (MQTT over WebSocket) |" in report
    assert (out / "seed.png").read_bytes().startswith(b"\x89PNG")
    printed = capsys.readouterr().out
    assert "design-doc" in printed and "chirp-default" in printed
    # and it says which measurements it used, in the terminal and in the report
    assert f"inputs: {results.as_posix()}; backend servers" in printed
    assert f"Measured inputs: {results.as_posix()}; backend servers" in report


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
    # Given one benchmark result with capacity_inputs and the machine's load while it ran
    results = tmp_path / "fanout.json"
    document = {
        "backend": "servers",
        "quick": True,
        "machine": {"cores": 2, "load_average_at_start": [0.7, 1, 1], "load_average_at_end": [3.0, 2, 2]},
        "capacity_inputs": {"timeline_inserts_per_s_per_node": 71_000, "lambda_ms_per_request": {"read": 12}},
    }
    results.write_text(json.dumps(document), encoding="utf-8")
    # When inputs are loaded from it
    inputs = load_inputs(results)
    # Then those values are measured (with their file) and the others stay assumed
    assert inputs["timeline_inserts_per_s_per_node"] == 71_000
    assert inputs.values["timeline_inserts_per_s_per_node"].measured
    assert inputs.values["lambda_ms_per_request.read"].source.endswith("fanout.json")
    assert not inputs.values["lambda_ms_per_request.write"].measured
    assert inputs.values["lambda_ms_per_request.write"].source.startswith("assumed")
    # and the origin names the run: backend, quick, cores and the load average at start and end
    assert inputs.origin.endswith("backend servers (quick); 2 cores; 1-min load average 0.7 at start, 3 at end")


def test_a_directory_of_results_is_refused_because_the_choice_must_be_deliberate(tmp_path: Path) -> None:
    # Given a directory holding two runs with different Lambda durations
    for name, ms in (("a.json", 57), ("b.json", 190)):
        (tmp_path / name).write_text(json.dumps({"capacity_inputs": {"lambda_ms_per_request": {"read": ms}}}))
    # When inputs are loaded from the directory, Then it refuses instead of taking whichever sorts last
    with pytest.raises(ValueError, match="name the one results file"):
        load_inputs(tmp_path)


def test_a_results_file_without_capacity_inputs_is_refused(tmp_path: Path) -> None:
    results = tmp_path / "soak.json"
    results.write_text(json.dumps({"backend": "servers"}), encoding="utf-8")
    with pytest.raises(ValueError, match="no capacity_inputs"):
        load_inputs(results)


def test_the_seed_scenario_names_a_results_file_that_exists(seed: Scenario) -> None:
    assert seed.inputs_from is not None
    assert (REPO / seed.inputs_from).is_file()
    assert load_inputs(REPO / seed.inputs_from).values["lambda_ms_per_request.read"].measured

"""The ``chirp capacity`` subcommand: plan a scenario, write the Markdown report and PNG chart."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chirp.capacity.chart import write_chart
from chirp.capacity.inputs import load_inputs
from chirp.capacity.plan import plan_all, scenario_inputs
from chirp.capacity.prices import load_prices
from chirp.capacity.report import render_report, render_summary
from chirp.capacity.scenario import ScenarioError, load_scenario

DEFAULT_PRICES = Path("bench/capacity/prices.yaml")
DEFAULT_OUT = Path("bench/capacity/reports")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``capacity`` subcommand to a CLI's subparsers."""
    parser = subparsers.add_parser(
        "capacity",
        help="size and cost Chirp at scale from a scenario file",
        description="Size every component, cost it at list prices, write <out>/<scenario>.md and .png.",
    )
    parser.add_argument("--scenario", type=Path, required=True, help="scenario YAML")
    parser.add_argument("--prices", type=Path, default=DEFAULT_PRICES, help=f"price table (default {DEFAULT_PRICES})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"report directory (default {DEFAULT_OUT})")
    parser.add_argument(
        "--design", action="append", default=None, help="design to include (repeatable; default: all in the scenario)"
    )
    parser.add_argument(
        "--inputs",
        type=Path,
        default=None,
        help="the benchmark results file whose capacity_inputs to use (default: the scenario's inputs_from)",
    )
    parser.set_defaults(handler=run, func=run)


def run(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(args.scenario)
        prices = load_prices(args.prices)
        inputs = load_inputs(args.inputs) if args.inputs is not None else scenario_inputs(scenario)
        plans = plan_all(scenario, prices, args.design, inputs)
    except (ScenarioError, ValueError, OSError) as exc:
        print(f"chirp capacity: {exc}", file=sys.stderr)
        return 2
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    report = out / f"{scenario.name}.md"
    report.write_text(render_report(plans), encoding="utf-8")
    chart = write_chart(plans, out / f"{scenario.name}.png")
    print(f"inputs: {inputs.origin}")
    print(render_summary(plans))
    print(f"wrote {report} and {chart}")
    return 0

"""The library entry point: a scenario, a design and a price table in, a costed plan out."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from chirp.capacity.inputs import Inputs, load_inputs
from chirp.capacity.operations import size_operations
from chirp.capacity.prices import PriceTable
from chirp.capacity.scenario import Design, Scenario
from chirp.capacity.sizing import Context, Line, size_all
from chirp.capacity.traffic import Traffic, derive_traffic

DESIGN_DOC_MONTHLY_USD = 714_400  # the design document's "Total" for 400M DAU
# Like for like: its total less S3 storage ($25,300) and CDN ($127,500), the media lines this planner keeps apart.
DESIGN_DOC_CORE_MONTHLY_USD = 561_600


@dataclass(frozen=True)
class Plan:
    scenario: Scenario
    design_name: str
    design: Design
    traffic: Traffic
    lines: tuple[Line, ...]
    inputs: Inputs
    prices: PriceTable

    @property
    def core_usd(self) -> float:
        """Everything except media storage and delivery."""
        return sum(line.monthly_usd for line in self.lines if line.core)

    @property
    def media_usd(self) -> float:
        return sum(line.monthly_usd for line in self.lines if not line.core)

    @property
    def total_usd(self) -> float:
        return self.core_usd + self.media_usd

    @property
    def core_gap_usd(self) -> float:
        """Core cost minus the design document's core (its total less media); negative means under budget."""
        return self.core_usd - DESIGN_DOC_CORE_MONTHLY_USD

    def by_component(self, core: bool | None = None) -> dict[str, float]:
        totals: dict[str, float] = defaultdict(float)
        for line in self.lines:
            if core is None or line.core == core:
                totals[line.component] += line.monthly_usd
        return dict(totals)

    def line(self, component: str, item: str) -> Line:
        for line in self.lines:
            if (line.component, line.item) == (component, item):
                return line
        raise KeyError(f"no line {component} / {item} in design {self.design_name}")


def scenario_inputs(scenario: Scenario) -> Inputs:
    """The inputs a scenario names: its ``inputs_from`` results file over the assumptions."""
    return load_inputs(Path(scenario.inputs_from) if scenario.inputs_from else None)


def plan(
    scenario: Scenario,
    prices: PriceTable,
    design: str | None = None,
    inputs: Inputs | None = None,
    *,
    options: Design | None = None,
) -> Plan:
    """Size and cost one design of the scenario (the first one listed if ``design`` is None).

    ``inputs`` defaults to the assumed throughput inputs overridden by the scenario's ``inputs_from`` file;
    ``options`` replaces the named design's options (a what-if of one design).
    """
    name = design if design is not None else next(iter(scenario.designs))
    chosen = options if options is not None else scenario.design(name)
    used_inputs = inputs if inputs is not None else scenario_inputs(scenario)
    traffic = derive_traffic(scenario, chosen)
    context = Context(scenario, chosen, traffic, prices, used_inputs)
    lines = committed([*size_all(context), *size_operations(context)], prices, chosen.commitment)
    return Plan(scenario, name, chosen, traffic, tuple(lines), used_inputs, prices)


def committed(lines: list[Line], prices: PriceTable, term: str) -> list[Line]:
    """Lines under a savings plan / reserved-node term: the discount applies to the lines whose price offers one."""
    out = []
    for line in lines:
        share = prices.commitments.discount(term, line.price_key)
        if share:
            detail = f"{line.detail}; {term} commitment -{share:.0%}".lstrip("; ")
            line = replace(line, monthly_usd=line.monthly_usd * (1 - share), detail=detail)
        out.append(line)
    return out


def plan_all(
    scenario: Scenario, prices: PriceTable, designs: list[str] | None = None, inputs: Inputs | None = None
) -> list[Plan]:
    """Plans for the named designs, or for every design in the scenario, in scenario order."""
    names = designs if designs else list(scenario.designs)
    used_inputs = inputs if inputs is not None else scenario_inputs(scenario)
    return [plan(scenario, prices, name, used_inputs) for name in names]

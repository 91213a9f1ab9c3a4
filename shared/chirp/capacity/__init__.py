"""Executable capacity and cost planner: ``plan(scenario, prices, design) -> Plan``."""

from chirp.capacity.inputs import Inputs, load_inputs
from chirp.capacity.plan import DESIGN_DOC_CORE_MONTHLY_USD, DESIGN_DOC_MONTHLY_USD, Plan, plan, plan_all
from chirp.capacity.prices import PriceTable, load_prices
from chirp.capacity.scenario import Scenario, ScenarioError, load_scenario

__all__ = [
    "DESIGN_DOC_CORE_MONTHLY_USD",
    "DESIGN_DOC_MONTHLY_USD",
    "Inputs",
    "Plan",
    "PriceTable",
    "Scenario",
    "ScenarioError",
    "load_inputs",
    "load_prices",
    "load_scenario",
    "plan",
    "plan_all",
]

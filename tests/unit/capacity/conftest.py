from pathlib import Path
from typing import Any

import pytest
import yaml

from chirp.capacity import Inputs, PriceTable, Scenario, load_inputs, load_prices, load_scenario

REPO = Path(__file__).resolve().parents[3]
SEED = REPO / "bench/capacity/scenarios/seed.yaml"
PRICES = REPO / "bench/capacity/prices.yaml"


@pytest.fixture(scope="session")
def seed() -> Scenario:
    return load_scenario(SEED)


@pytest.fixture(scope="session")
def seed_data() -> Any:
    """The seed's raw data for variants that replace its designs: without path_from, which names a seed design."""
    data = yaml.safe_load(SEED.read_text(encoding="utf-8"))
    data.pop("path_from")
    return data


@pytest.fixture(scope="session")
def prices() -> PriceTable:
    return load_prices(PRICES)


@pytest.fixture(scope="session")
def assumed() -> Inputs:
    """Only the assumed throughput inputs, whatever bench/results holds."""
    return load_inputs(None)


@pytest.fixture(scope="session")
def seed_path() -> Path:
    return SEED


@pytest.fixture(scope="session")
def prices_path() -> Path:
    return PRICES

"""The layering the README states, as import-linter contracts (``[tool.importlinter]`` in pyproject.toml): handlers
-> container -> services | adapters -> ports; adapters only from ``chirp.container``; adapter families independent;
nothing shipped imports the tests; Lambda code never imports the local runtime, the capacity planner or the CLI."""

from __future__ import annotations

import copy
import importlib.util
import os
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter.api import read_configuration
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.independence import IndependenceContract
from importlinter.contracts.layers import LayersContract
from importlinter.contracts.protected import ProtectedContract

import chirp

REPO_ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = REPO_ROOT / "pyproject.toml"
CONTRACT_TYPES = {c.type_name: c for c in (ForbiddenContract, IndependenceContract, LayersContract, ProtectedContract)}


def _config() -> dict[str, Any]:
    return read_configuration(str(PYPROJECT))


def _contract(contract_id: str) -> dict[str, Any]:
    return next(c for c in _config()["contracts_options"] if c["id"] == contract_id)


def test_the_import_rules_hold() -> None:
    """``lint-imports``, as a developer runs it, finds every contract kept."""
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "shared"), str(REPO_ROOT)])}
    result = subprocess.run(
        [str(lint), "--no-cache", str(PYPROJECT)], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(_config()['contracts_options'])} kept, 0 broken." in result.stdout


@pytest.fixture(scope="module")
def graph() -> Iterator[grimp.ImportGraph]:
    config = _config()["session_options"]
    sys.path.insert(0, str(REPO_ROOT))  # functions/ is a top-level package of the repository
    try:
        yield grimp.build_graph(*config["root_packages"], include_external_packages=True, cache_dir=None)
    finally:
        sys.path.remove(str(REPO_ROOT))


@pytest.mark.parametrize(
    ("contract_id", "importer", "imported"),
    [
        ("layers", "chirp.services.feed", "chirp.container"),
        ("layers", "chirp.adapters.redis_cache.trends", "chirp.services.trends"),
        ("layers", "chirp.ports", "chirp.services.stores"),
        ("adapters-via-container", "chirp.local.runtime", "chirp.adapters.embedded.stream"),
        ("adapters-via-container", "functions.tweets.handler", "chirp.adapters.keyspaces"),
        ("adapter-families", "chirp.adapters.kinesis_stream", "chirp.adapters.embedded.stream"),
        ("no-tests", "chirp.http", "support"),
        ("lambda-code-is-not-local", "chirp.services.trends", "chirp.capacity.plan"),
        ("lambda-code-is-not-local", "functions.fanout.handler", "chirp.local.events"),
    ],
)
def test_each_contract_catches_the_import_it_forbids(
    graph: grimp.ImportGraph, contract_id: str, importer: str, imported: str
) -> None:
    """Given the real import graph with one forbidden import added
    When the contract is checked
    Then it is broken (so a passing lint means something)."""
    options = _contract(contract_id)
    contract_class = CONTRACT_TYPES[options["type"]]
    session = _config()["session_options"]

    def kept(g: grimp.ImportGraph) -> bool:
        contract = contract_class(name=options["name"], session_options=session, contract_options=options)
        return bool(contract.check(copy.deepcopy(g), verbose=False).kept)

    assert kept(graph)
    broken = copy.deepcopy(graph)
    broken.add_import(importer=importer, imported=imported)
    assert not kept(broken)


def test_the_lambda_contract_covers_every_module_the_layer_ships() -> None:
    """Given the first-party layer ships every chirp module but the ones layers/build.py leaves out
    When a module is added to chirp
    Then it must be listed as Lambda code in the contract (or be left out of the layer)."""
    spec = importlib.util.spec_from_file_location("layer_build", REPO_ROOT / "layers" / "build.py")
    assert spec is not None and spec.loader is not None
    layer_build = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = layer_build  # its dataclasses look their module up
    try:
        spec.loader.exec_module(layer_build)
    finally:
        del sys.modules[spec.name]
    excluded = {name.removesuffix(".py") for name in layer_build.FIRST_PARTY_EXCLUDED}
    shipped = {f"chirp.{m.name}" for m in pkgutil.iter_modules(chirp.__path__) if m.name not in excluded}
    contract = _contract("lambda-code-is-not-local")
    assert set(contract["source_modules"]) == shipped | {"functions"}
    assert set(contract["forbidden_modules"]) == {f"chirp.{name}" for name in excluded}

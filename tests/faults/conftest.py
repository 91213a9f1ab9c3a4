"""Fault-injection fixtures: one dedicated set of stand-in servers and one local runtime on the servers backend for
the whole fault suite (the shared ``servers`` fixture is never faulted: other suites use it). Each fault test
breaks one server and restores it before it returns; figures are printed in the terminal summary."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faults.faultkit import FIGURES, FaultServerSet, StreamTap

from chirp.local.servers_env import servers_environment
from support.runtime import LocalStack

NAMESPACE = "faults"


@pytest.fixture(scope="session")
def fault_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultServerSet]:
    server_set = FaultServerSet(base_dir=tmp_path_factory.mktemp("fault-servers"))
    server_set.start()
    try:
        yield server_set
    finally:
        server_set.stop()


@pytest.fixture(scope="session")
def fault_env(fault_servers: FaultServerSet) -> dict[str, str]:
    # A small single-upload cap: the probe's video goes in parts without megabytes of bytes per cast.
    return {**servers_environment(fault_servers.endpoints, namespace=NAMESPACE), "CHIRP_MEDIA_MAX_BYTES": "4096"}


@pytest.fixture(scope="session")
def fault_runtime(fault_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = LocalStack(tmp_path_factory.mktemp("fault-runtime") / "data", fault_env).start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def tap(fault_servers: FaultServerSet, fault_env: dict[str, str]) -> StreamTap:
    return StreamTap(fault_servers, fault_env["CHIRP_STREAM_NAME"])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("fault figures")
    for test, values in FIGURES.items():
        terminalreporter.write_line(f"{test}: {json.dumps(values, default=str)}")
    out = os.environ.get("CHIRP_FAULT_FIGURES")
    if out:
        Path(out).write_text(json.dumps(FIGURES, indent=2, default=str))

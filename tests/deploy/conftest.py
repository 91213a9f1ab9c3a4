"""The deploy tests: the CDK app deployed to a local AWS emulator (ministack), its functions pointed at the real
stand-in servers (session fixture ``servers``). Timings and resource counts go to the terminal summary."""

from __future__ import annotations

from typing import Any

from servers.fixtures import servers  # noqa: F401  (session fixture; tests/ is on sys.path)

# Filled by test_deploy_local.py: {"timings": {step: seconds}, "resources": {stack: count}, "gaps": [...]}
REPORT: dict[str, Any] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not REPORT:
        return
    terminalreporter.section("chirp local deploy (ministack)")
    for step, seconds in REPORT.get("timings", {}).items():
        terminalreporter.write_line(f"{step:<34} {seconds:>7.1f} s")
    resources = REPORT.get("resources", {})
    if resources:
        listed = ", ".join(f"{name} {count}" for name, count in resources.items())
        terminalreporter.write_line(f"resources per stack: {listed} (total {sum(resources.values())})")
    for gap in REPORT.get("gaps", []):
        terminalreporter.write_line(f"emulator gap: {gap}")

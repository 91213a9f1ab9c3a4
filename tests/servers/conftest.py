"""Makes the session fixture ``servers`` available to the tests in this folder and reports what the servers cost."""

from __future__ import annotations

from typing import Any

from . import fixtures
from .fixtures import servers  # noqa: F401


def pytest_terminal_summary(terminalreporter: Any) -> None:
    report = fixtures.last_report
    if not report:
        return
    terminalreporter.section("chirp test servers")
    for name, stats in report["stats"].items():
        endpoint = report["endpoints"].get(name, {})
        terminalreporter.write_line(
            f"{name:<11} {endpoint.get('version', '?'):<12} ready in {stats['start_seconds']:>6.2f}s"
            f"  RSS {stats['rss_mb_at_ready']:>7.1f} MB at ready, {stats['rss_mb']:>7.1f} MB at end"
        )

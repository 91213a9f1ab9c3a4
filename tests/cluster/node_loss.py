"""What the node-loss tests share: a workload's outcome log, the loop that runs its operations until told to stop
(a store outage is an outcome; anything else is a failure of the test), and the run of successes since a moment."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from chirp.ports import StoreUnavailable

Outcome = tuple[float, float, str, str]  # (started, seconds, what, "ok" | the error)


@dataclass
class Outcomes:
    outcomes: list[Outcome] = field(default_factory=list)
    unexpected: list[BaseException] = field(default_factory=list)

    def successes_after(self, at: float) -> list[Outcome]:
        return [o for o in self.outcomes if o[0] > at and o[3] == "ok"]

    def consecutive_successes(self, since: float) -> tuple[int, float | None]:
        """The length of the current run of successes among operations started after ``since``, and its start."""
        run, run_start = 0, None
        for started, _seconds, _what, outcome in self.outcomes:
            if started <= since:
                continue
            if outcome == "ok":
                run += 1
                run_start = started if run == 1 else run_start
            else:
                run, run_start = 0, None
        return run, run_start


def run_until_stopped(
    log: Outcomes, operations: Sequence[tuple[str, Callable[[], None]]], stop: threading.Event
) -> None:
    """Run the operations in turn until ``stop``; a StoreUnavailable is recorded (and the client backs off briefly,
    as one honouring Retry-After would), anything else ends the loop and fails the test in the main thread."""
    try:
        while not stop.is_set():
            for what, operation in operations:
                started = time.monotonic()
                try:
                    operation()
                    log.outcomes.append((started, time.monotonic() - started, what, "ok"))
                except StoreUnavailable as exc:
                    log.outcomes.append((started, time.monotonic() - started, what, str(exc)[:160]))
                    time.sleep(0.05)
    except BaseException as exc:
        log.unexpected.append(exc)

"""Cold-start init per function: a fresh Python process per run imports the function's handler with the
environment a deployed function gets (CHIRP_BACKEND=aws, its wiring entry's settings), as Lambda's Init phase does.

    .venv/bin/python bench/cold_start.py [--runs 5] [--out bench/results/cold-start.json]

Stores are never reached during init (the container builds each client on first use), so the figure is the
import and settings cost a cold start pays before the first request; the emulator deploy cannot report Lambda's own
Init Duration (its functions run as plain local processes).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "shared"))

from chirp import wiring  # noqa: E402
from chirp.config import REQUIRED_FOR_RESOURCE  # noqa: E402

PLACEHOLDERS = {"stream_kind": "kinesis", "opensearch_auth": "sigv4"}
PROBE = (
    "import time, importlib, sys; t = time.perf_counter(); importlib.import_module('handler'); "
    "print((time.perf_counter() - t) * 1000); print(len(sys.modules))"
)


def environment(fn: wiring.Function) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIRP_")}
    env.update({"CHIRP_BACKEND": "aws", "CHIRP_FUNCTION": fn.name, "AWS_REGION": "us-east-1"})
    for use in fn.uses:
        for name in REQUIRED_FOR_RESOURCE[use]:
            env[f"CHIRP_{name.upper()}"] = PLACEHOLDERS.get(name, f"placeholder-{name}")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "functions" / fn.name), str(REPO / "shared")])
    return env


def measure(fn: wiring.Function, runs: int) -> dict[str, float]:
    times, modules = [], 0
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", PROBE], env=environment(fn), capture_output=True, text=True, check=True
        ).stdout.split()
        times.append(float(out[0]))
        modules = int(out[1])
    return {
        "init_ms_median": round(statistics.median(times), 1),
        "init_ms_max": round(max(times), 1),
        "modules": modules,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results = {fn.name: measure(fn, args.runs) for fn in wiring.FUNCTIONS}
    print(f"{'function':<14}{'init ms (median)':>18}{'max':>8}{'modules':>9}")
    for name, r in results.items():
        print(f"{name:<14}{r['init_ms_median']:>18}{r['init_ms_max']:>8}{r['modules']:>9}")
    if args.out:
        args.out.write_text(json.dumps({"python": sys.version.split()[0], "functions": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

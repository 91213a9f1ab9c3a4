"""Chirp benchmark harness: ``python bench/run.py --backend embedded|servers|both [--quick] [--out bench/results]``.

Per backend: start the servers (servers backend: all stand-ins; embedded: Redis only, for the baselines), generate
the seeded data set, bulk-load it in-process, start the local runtime as a subprocess on the same data, run the
workloads over HTTP/WebSocket (fan-out and handler timing in-process), run the baselines on the same Redis, and write
``<out>/<date>-<backend>[-quick].json`` / ``.md`` / ``-latency.png`` / ``-fanout.png``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baselines
import charts
import machine
import report
from context import Bench, log
from data import DataSpec, generate
from loaders import load
from memory import MemorySampler
from settle import settle
from stack import REPO, BenchStack
from workloads import coalescing, edge, fanout, handlers, post, realtime, search, timeline, trends

FULL = DataSpec()
QUICK = DataSpec(users=2_000, tweets=10_000, realtime_followers=150)


def run_backend(backend: str, quick: bool, out: Path, *, few_iterations: bool = False) -> Path:
    spec = QUICK if quick else FULL
    doc: dict[str, Any] = {
        "backend": backend,
        "quick": quick,
        "iterations": "quick" if quick or few_iterations else "full",
        "machine": machine.facts(REPO),
        "errors": {},
    }
    stack = BenchStack(backend, celebrity_threshold=spec.celebrity_threshold)
    sampler = MemorySampler()
    started = time.perf_counter()
    try:
        log(f"{backend}: starting servers")
        stack.start_servers()
        assert stack.servers is not None
        for name, stats in stack.servers.stats().items():
            sampler.watch(f"server:{name}", stats.pid, group=True)
        sampler.start()
        doc["server_versions"] = stack.versions()
        container = stack.build_container()
        log(f"{backend}: generating data {spec}")
        data = generate(spec)
        doc["dataset"] = {"spec": spec.__dict__, "summary": data.summary()}
        doc["load_seconds"] = load(container, data, backend, log)
        doc["settle"] = settle({name: stats.pid for name, stats in stack.servers.stats().items()}, log)
        stack.start_runtime()
        assert stack.runtime is not None and stack.runtime.process is not None
        sampler.watch("runtime", stack.runtime.process.pid, group=True)
        bench = Bench(stack, data, quick or few_iterations)
        steps: list[tuple[str, Callable[[Bench], dict[str, Any]]]] = [
            ("timeline", timeline.run),
            ("post", post.run),
            ("fanout", fanout.run),
            ("realtime", realtime.run),
            ("search", search.run),
            ("trends", trends.run),
            ("handlers", handlers.run),
            ("edge", edge.run),
            ("coalescing", coalescing.run),  # last: it adds likes to the data set
        ]
        doc["workloads"] = {}
        for name, fn in steps:
            step_start = time.perf_counter()
            try:
                doc["workloads"][name] = fn(bench)
            except Exception as exc:
                log(f"{backend}: {name} failed: {exc!r}")
                doc["errors"][name] = f"{exc!r}\n{traceback.format_exc()[-1500:]}"
            log(f"{backend}: {name} took {time.perf_counter() - step_start:.1f}s")
        bench.close()
        doc["baselines"] = {}
        for name, fn2 in (
            ("fan_out_on_read", lambda: baselines.fan_out_on_read(bench)),
            (
                "fanout_strategies",
                lambda: baselines.fanout_strategies(
                    stack.endpoints["redis"], 14, container.settings.timeline_cap, 3 if quick else 5
                ),
            ),
            (
                "redis_benchmark",
                lambda: baselines.redis_benchmark(stack.endpoints["redis"], 300_000 if quick else 2_000_000),
            ),
        ):
            try:
                doc["baselines"][name] = fn2()
            except Exception as exc:
                log(f"{backend}: baseline {name} failed: {exc!r}")
                doc["errors"][f"baseline:{name}"] = f"{exc!r}\n{traceback.format_exc()[-1500:]}"
    except Exception as exc:
        log(f"{backend}: run failed: {exc!r}")
        doc["errors"]["run"] = f"{exc!r}\n{traceback.format_exc()[-3000:]}"
    finally:
        doc["memory"] = sampler.stop()
        stack.stop()
    doc["machine"]["load_average_at_end"] = machine.load_average()
    doc["seconds"] = round(time.perf_counter() - started, 1)
    stem = f"{time.strftime('%Y-%m-%d')}-{backend}{'-quick' if quick else ''}"
    doc["results_stem"] = stem
    json_path = finish(doc, out, stem)
    log(f"{backend}: wrote {json_path} in {doc['seconds']}s")
    return json_path


def finish(doc: dict[str, Any], out: Path, stem: str) -> Path:
    """Ratios, capacity inputs and targets from the raw figures; then the JSON, the Markdown and the charts."""
    doc.update(report.derived(doc))
    doc["targets"] = report.targets(doc)
    json_path, _ = report.write(doc, out, stem)
    for chart, suffix in ((charts.latency_chart, "latency"), (charts.fanout_chart, "fanout")):
        try:
            chart(doc, out / f"{stem}-{suffix}.png")
        except Exception as exc:
            log(f"chart failed: {exc!r}")
    return json_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--backend", choices=["embedded", "servers", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="2,000 users, 10,000 tweets, fewer iterations")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument(
        "--few-iterations", action="store_true", help="full data set, quick-mode iteration counts (slow backends)"
    )
    parser.add_argument("--rederive", type=Path, nargs="*", help="recompute ratios/targets/tables/charts of results")
    args = parser.parse_args(argv)
    if args.rederive:
        for path in args.rederive:
            finish(json.loads(path.read_text()), path.parent, path.stem)
            log(f"rederived {path}")
        return 0
    # SIGTERM unwinds like Ctrl-C, so the runtime subprocess (its own session) and the servers are always stopped.
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    backends = ["embedded", "servers"] if args.backend == "both" else [args.backend]
    log(f"load average before the run: {machine.load_average()}")
    paths = [run_backend(backend, args.quick, args.out, few_iterations=args.few_iterations) for backend in backends]
    if len(paths) > 1:
        docs = [json.loads(p.read_text()) for p in paths]
        summary = args.out / f"{time.strftime('%Y-%m-%d')}-side-by-side{'-quick' if args.quick else ''}.md"
        summary.write_text(report.side_by_side(docs))
        log(f"wrote {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

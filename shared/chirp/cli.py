"""The ``chirp`` command: run the local stack, invoke one function on a sample event, seed demo data, inspect and
replay dead letters, plan capacity."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any


def _run(args: argparse.Namespace) -> int:
    from chirp.local.runtime import RuntimeOptions, run

    os.environ["CHIRP_BACKEND"] = args.backend
    data_dir = Path(args.data_dir)
    if args.backend == "servers" and args.start_servers:
        # The servers backend's own data directory: the stand-ins' data and the runtime's mapping state (checkpoints
        # into their stream) stay together, apart from the embedded backend's.
        data_dir = data_dir / "servers"
        _start_servers(data_dir)
    web_root = Path(args.web_root) if args.web_root else None
    run(
        RuntimeOptions(
            host=args.host,
            port=args.port,
            ws_port=args.ws_port,
            data_dir=data_dir,
            web_root=web_root if web_root and web_root.is_dir() else None,
        )
    )
    return 0


def _start_servers(data_dir: Path) -> None:
    """Install and start every stand-in server with its data under ``data_dir`` (kept across runs: a restart finds
    the users, tweets, follows, timelines and search index it left), point the settings at them, and stop them
    cleanly when this process exits (they get SIGTERM also if it is killed)."""
    import atexit
    import time

    from chirp.local.servers_env import servers_environment

    harness = _servers_harness()
    harness.install()
    started = time.monotonic()
    server_set = harness.ServerSet(base_dir=data_dir, persistent=True)
    # Registered first, so it runs last: after the store clients' own exit hooks (the Cassandra driver's, imported
    # while the servers start) have closed their connections.
    atexit.register(server_set.stop)
    endpoints = server_set.start()
    os.environ.update(servers_environment(endpoints))
    urls = {name: ep.url for name, ep in endpoints.items()}
    each = {name: stats.start_seconds for name, stats in server_set.stats().items()}
    report = {"servers": urls, "data": str(data_dir), "seconds": round(time.monotonic() - started, 1), "each": each}
    print(json.dumps(report), flush=True)


def _servers_harness() -> Any:
    """The stand-in servers' harness (tests/servers/harness.py), imported as the tests import it."""
    import importlib

    from chirp.local.functions import functions_dir

    tests = str(functions_dir().parent / "tests")
    if tests not in sys.path:
        sys.path.append(tests)
    return importlib.import_module("servers.harness")


def _invoke(args: argparse.Namespace) -> int:
    from chirp.container import build_embedded, set_container
    from chirp.local.functions import invoke
    from chirp.local.runtime import RuntimeOptions, configure_environment

    configure_environment(RuntimeOptions(data_dir=Path(args.data_dir)))
    from chirp.config import get_settings

    set_container(build_embedded(get_settings()))
    event = json.loads(Path(args.event).read_text())
    print(json.dumps(invoke(args.function, event), indent=2, default=str))
    return 0


def _seed(args: argparse.Namespace) -> int:
    from chirp.seed import seed

    summary = seed(args.url, users=args.users, tweets=args.tweets, seed=args.seed)
    print(json.dumps(summary, indent=2))
    return 0


def _dlq(args: argparse.Namespace) -> int:
    """Dead letters of the local runtime's event source mappings (kept beside the stream, whichever the backend).
    Replay puts each record back on the stream byte for byte, with its partition key, so every consumer sees it
    again (they are idempotent)."""
    from chirp.config import get_settings
    from chirp.container import event_stream
    from chirp.local.event_source import MappingState

    os.environ["CHIRP_DATA_DIR"] = args.data_dir
    get_settings.cache_clear()
    settings = get_settings()
    box = MappingState.for_settings(settings)
    letters = box.dead_letters()
    if args.action == "list":
        for letter in letters:
            print(
                json.dumps(
                    {
                        "id": letter.id,
                        "consumer": letter.consumer,
                        "sequence": letter.record.seq,
                        "partition_key": letter.record.partition_key,
                        "error": letter.error,
                        "data": letter.record.data.encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
                    }
                )
            )
        return 0
    stream = event_stream(settings)
    replayed: set[int] = set()  # several consumers may have dead-lettered the same record: put it back once
    for letter in letters:
        if letter.record.seq not in replayed:
            stream.publish_raw(letter.record.partition_key, letter.record.data)
            replayed.add(letter.record.seq)
        box.mark_replayed(letter.id)
    print(f"replayed {len(replayed)} record(s) from {len(letters)} dead letter(s) onto the stream")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chirp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the local stack")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", 3000)))
    run.add_argument("--ws-port", type=int, default=int(os.environ.get("WS_PORT", 3001)))
    run.add_argument("--backend", default=os.environ.get("CHIRP_BACKEND", "embedded"))
    run.add_argument("--data-dir", default=os.environ.get("CHIRP_DATA_DIR", ".chirp"))
    run.add_argument("--web-root", default=os.environ.get("CHIRP_WEB_ROOT", "web"))
    run.add_argument(
        "--start-servers",
        action="store_true",
        default=os.environ.get("CHIRP_SERVERS_START", "") not in ("", "0", "false"),
        help="with --backend servers: start the stand-in servers, their data in <data-dir>/servers",
    )
    run.set_defaults(func=_run)

    inv = sub.add_parser("invoke", help="run one function on a sample event (embedded backend)")
    inv.add_argument("function")
    inv.add_argument("--event", required=True)
    inv.add_argument("--data-dir", default=os.environ.get("CHIRP_DATA_DIR", ".chirp"))
    inv.set_defaults(func=_invoke)

    seed = sub.add_parser("seed", help="fill a running stack with demo data")
    seed.add_argument("--url", default="http://127.0.0.1:3000")
    seed.add_argument("--users", type=int, default=60)
    seed.add_argument("--tweets", type=int, default=400)
    seed.add_argument("--seed", type=int, default=7)
    seed.set_defaults(func=_seed)

    dlq = sub.add_parser("dlq", help="list or replay stream records that exhausted their retries")
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("--data-dir", default=os.environ.get("CHIRP_DATA_DIR", ".chirp"))
    dlq.set_defaults(func=_dlq)

    importlib.import_module("chirp.capacity.command").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

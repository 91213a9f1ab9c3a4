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
        _start_servers(data_dir, args.stream)
    web_root = Path(args.web_root) if args.web_root else None
    run(
        RuntimeOptions(
            host=args.host,
            port=args.port,
            ws_port=args.ws_port,
            mastodon_port=args.mastodon_port,
            data_dir=data_dir,
            web_root=web_root if web_root and web_root.is_dir() else None,
            in_process=args.in_process,
        )
    )
    return 0


def _start_servers(data_dir: Path, stream: str = "kinesis") -> None:
    """Install and start every stand-in server with its data under ``data_dir`` (kept across runs: a restart finds
    the users, tweets, follows, timelines and search index it left), point the settings at them, and stop them
    cleanly when this process exits (they get SIGTERM also if it is killed). ``stream`` "kafka" runs the MSK
    variant: the Kafka stand-in instead of the Kinesis one."""
    import atexit
    import time

    from chirp.local.servers import harness
    from chirp.local.servers_env import servers_environment

    names = [n for n in harness.ALL_SERVERS if not (stream == "kafka" and n == "kinesis")]
    names += ["kafka"] if stream == "kafka" else []
    harness.install(names)
    started = time.monotonic()
    server_set = harness.ServerSet(base_dir=data_dir, persistent=True)
    # Registered first, so it runs last: after the store clients' own exit hooks (the Cassandra driver's, imported
    # while the servers start) have closed their connections.
    atexit.register(server_set.stop)
    endpoints = server_set.start(names)
    os.environ.update(servers_environment(endpoints))
    urls = {name: ep.url for name, ep in endpoints.items()}
    each = {name: stats.start_seconds for name, stats in server_set.stats().items()}
    report = {"servers": urls, "data": str(data_dir), "seconds": round(time.monotonic() - started, 1), "each": each}
    print(json.dumps(report), flush=True)


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
    """Dead letters: stream records a consumer gave up on, kept whole. Locally the runtime's table (under
    --data-dir, whichever the backend); for a deployment its S3 dead-letter bucket (--bucket: the event source
    mappings' on-failure destination and the consumers' quarantine), replayed onto the Kinesis stream --stream.
    Replay puts each record back on the stream byte for byte, with its partition key, so every consumer sees it
    again (they are idempotent), and marks the letter replayed."""
    from chirp.config import get_settings
    from chirp.container import dead_letter_store, event_stream
    from chirp.object_consumer import is_object_notification

    os.environ["CHIRP_DATA_DIR"] = args.data_dir
    if args.bucket:
        os.environ["CHIRP_DEAD_LETTER_BUCKET"] = args.bucket
        if os.environ.get("CHIRP_BACKEND", "embedded") == "embedded":
            os.environ["CHIRP_BACKEND"] = "servers"  # the deployment's Kinesis stream, not the embedded log
    if args.stream:
        os.environ["CHIRP_STREAM_NAME"] = args.stream
    get_settings.cache_clear()
    settings = get_settings()
    store = dead_letter_store(settings)
    letters = store.list()
    if args.action == "list":
        for letter in letters:
            for record in letter.records:
                print(
                    json.dumps(
                        {
                            "id": letter.id,
                            "consumer": letter.consumer,
                            "reason": letter.reason,
                            "error": letter.error,
                            "failed_at_ms": letter.failed_at_ms,
                            "shard": record.shard,
                            "sequence": record.sequence_number or str(record.seq),
                            "partition_key": record.partition_key,
                            "data": record.data.encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
                        }
                    )
                )
        return 0
    stream = event_stream(settings)
    replayed: set[tuple[int, str]] = set()  # several consumers may have dead-lettered one record: put it back once
    kept = 0
    for letter in letters:
        if any(is_object_notification(record.data) for record in letter.records):
            # An object consumer's letter (the media processor gave up on an upload, and deleted it): an S3
            # notification is no stream event, and the object it names is gone. Kept for the record, not replayed.
            kept += 1
            continue
        for record in letter.records:
            position = (record.shard, record.sequence_number or str(record.seq))
            if position not in replayed:
                stream.publish_raw(record.partition_key, record.data)
                replayed.add(position)
        store.mark_replayed(letter.id)
    print(f"replayed {len(replayed)} record(s) from {len(letters) - kept} dead letter(s) onto the stream")
    if kept:
        print(f"kept {kept} object notification(s) (refused uploads, already deleted: nothing to replay)")
    return 0


def _metrics(args: argparse.Namespace) -> int:
    """The running stack's metrics (its /_chirp/metrics, as the operator page shows them) as a table, or JSON."""
    import time

    from chirp.local.metrics import render

    while True:
        snapshot = _fetch_json(f"{args.url.rstrip('/')}/_chirp/metrics")
        print(json.dumps(snapshot, indent=2) if args.json else render(snapshot), flush=True)
        if not args.watch:
            return 0
        time.sleep(args.watch)


def _fetch_json(url: str) -> Any:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:  # the operator's own stack
        return json.loads(response.read())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chirp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the local stack")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", 3000)))
    run.add_argument("--ws-port", type=int, default=int(os.environ.get("WS_PORT", 3001)))
    run.add_argument(
        "--mastodon-port", type=int, default=None, help="the Mastodon-compatible API's port (default: port + 2)"
    )
    run.add_argument("--backend", default=os.environ.get("CHIRP_BACKEND", "embedded"))
    run.add_argument("--data-dir", default=os.environ.get("CHIRP_DATA_DIR", ".chirp"))
    run.add_argument("--web-root", default=os.environ.get("CHIRP_WEB_ROOT", "web"))
    run.add_argument(
        "--start-servers",
        action="store_true",
        default=os.environ.get("CHIRP_SERVERS_START", "") not in ("", "0", "false"),
        help="with --backend servers: start the stand-in servers, their data in <data-dir>/servers",
    )
    run.add_argument(
        "--stream",
        choices=["kinesis", "kafka"],
        default=os.environ.get("CHIRP_SERVERS_STREAM", "kinesis"),
        help="with --start-servers: the event stream's stand-in (kafka: the MSK variant, CHIRP_STREAM_KIND=msk)",
    )
    run.add_argument(
        "--in-process",
        action="store_true",
        help="servers backend: run every function in the gateway's process, not processes of their own (one process "
        "to debug)",
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
    dlq.add_argument(
        "--bucket",
        default=os.environ.get("CHIRP_DEAD_LETTER_BUCKET", ""),
        help="a deployment's dead-letter bucket (stack output DeadLetterBucket); default: the local table",
    )
    dlq.add_argument("--stream", default="", help="the Kinesis stream to replay onto (default: CHIRP_STREAM_NAME)")
    dlq.set_defaults(func=_dlq)

    metrics = sub.add_parser("metrics", help="a running stack's metrics: the design's monitoring table and more")
    metrics.add_argument("--url", default="http://127.0.0.1:3000")
    metrics.add_argument("--json", action="store_true", help="the raw snapshot")
    metrics.add_argument("--watch", type=float, default=0, help="refresh every this many seconds")
    metrics.set_defaults(func=_metrics)

    importlib.import_module("chirp.capacity.command").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

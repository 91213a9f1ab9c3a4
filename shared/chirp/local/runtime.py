"""The local runtime: stands in for API Gateway (REST + WebSocket + @connections), the Kinesis event source mappings
and Lambda, running the same handler files that are deployed to AWS. On the servers backend the stream consumers run
in a child process (chirp.local.consumers) and the API's functions in worker processes (chirp.local.workers), one
invocation at a time each, as Lambda runs them; the embedded backend keeps them all in this process's threads,
because its timelines, connections, trends and caches live in this process's memory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from chirp import wiring
from chirp.config import Settings, get_settings
from chirp.container import (
    aws_client,
    build,
    dead_letter_store,
    embedded_objects,
    embedded_stream,
    get_container,
    media_source,
    set_container,
)
from chirp.local.consumers import ConsumerProcess
from chirp.local.event_source import open_event_source
from chirp.local.functions import invoke as invoke_function
from chirp.local.functions import load_handler
from chirp.local.mastodon_gateway import MastodonGateway
from chirp.local.metrics import install_collector
from chirp.local.object_events import ObjectEvents, poll_queue, provision_queue
from chirp.local.poller import StreamPoller
from chirp.local.provision import provision
from chirp.local.rest_gateway import RestGateway
from chirp.local.workers import FunctionWorkers
from chirp.local.ws_gateway import WebSocketGateway

log = logging.getLogger("chirp.runtime")


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    host: str = "127.0.0.1"
    port: int = 3000
    ws_port: int = 3001
    mastodon_port: int | None = None  # the Mastodon-compatible API's own port; None: port + 2
    data_dir: Path = Path(".chirp")
    web_root: Path | None = None
    # Every function on this process's threads (one process to debug). The embedded backend always runs them here:
    # its timelines, connections and caches live in this process.
    in_process: bool = False
    # Servers backend: at most this many API function workers (Lambda's concurrency limit).
    max_workers: int = 32


def configure_environment(options: RuntimeOptions) -> None:
    """The environment the functions see, as the CDK app would set it on AWS (explicit values win)."""
    defaults = {
        "CHIRP_DATA_DIR": str(options.data_dir),
        "CHIRP_PUBLIC_URL": f"http://{options.host}:{options.port}",
        "CHIRP_WS_MANAGEMENT_URL": f"http://{options.host}:{options.ws_port}/local",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "chirp",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_NAMESPACE": "Chirp",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    os.environ["CHIRP_WS_MANAGEMENT_URL"] = f"http://{options.host}:{options.ws_port}/local"
    os.environ.setdefault("CHIRP_MASTODON_URL", f"http://{options.host}:{mastodon_port(options)}")
    os.environ.setdefault("CHIRP_MASTODON_STREAMING_URL", f"ws://{options.host}:{options.ws_port}")
    get_settings.cache_clear()


def mastodon_port(options: RuntimeOptions) -> int:
    return options.mastodon_port if options.mastodon_port is not None else options.port + 2


class LocalRuntime:
    def __init__(self, options: RuntimeOptions) -> None:
        configure_environment(options)
        self.options = options
        self.settings: Settings = get_settings()
        self.collector, self._metrics_receiver = install_collector(self.settings.data_dir)  # before the consumers
        container = build(self.settings)
        set_container(container)
        self._executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="lambda")
        self.poller: StreamPoller | None = None
        self.consumers: ConsumerProcess | None = None
        external_stream = embedded_stream(container) is None
        if external_stream:
            provision(container, self.settings)  # the Kinesis stream must exist before its shards are read
        self.workers: FunctionWorkers | None = None
        if external_stream and not options.in_process:
            self.workers = FunctionWorkers(limit=options.max_workers)
            self.consumers = ConsumerProcess()
            self.consumers.spawn()  # starts while this process loads its handlers
        else:
            self.poller = StreamPoller(open_event_source(container), self.invoke)
            add_listener = getattr(container.stores.stream, "add_listener", None)  # in-process publishes wake it
            if add_listener is not None:
                add_listener(self.poller.notify)
        consumers_elsewhere = {fn.name for fn in wiring.stream_consumers()} if self.consumers else set()
        for fn in wiring.FUNCTIONS:
            if fn.name not in consumers_elsewhere:
                load_handler(fn.name)  # import every handler now: a broken one fails at start, not at first request
        ws_url = f"ws://{options.host}:{options.ws_port}"
        self.rest = RestGateway(
            self.invoke,
            objects=embedded_objects(container),
            media=media_source(container),
            web_root=options.web_root,
            client_config=wiring.client_config(
                api_url=f"http://{options.host}:{options.port}/api/v1",
                ws_url=ws_url,
                media_url=self.settings.media_url_base,
            ),
            max_body_bytes=self.settings.max_body_bytes,
            metrics=self.collector.snapshot,
            write_path=self.settings.write_path,
            publish=container.stores.stream.publish,
        )
        self.ws = WebSocketGateway(self.invoke)
        self.mastodon = MastodonGateway(
            self.invoke,
            objects=None,
            media=None,
            web_root=None,
            client_config={},
            max_body_bytes=self.settings.max_body_bytes,
        )
        self._runners: list[web.AppRunner] = []
        # The media store's object-created notifications (S3 event notifications on AWS) run the object consumers.
        settings = self.settings
        self.object_events = ObjectEvents(
            invoke_function, self._executor, lambda: dead_letter_store(settings), settings.media_bucket
        )
        self._object_poll: asyncio.Task[None] | None = None
        self._object_poll_stop = asyncio.Event()
        embedded = embedded_objects(container)
        if embedded is not None:
            embedded.add_listener(self.object_events.object_created)

    async def invoke(self, function: str, event: dict[str, Any]) -> Any:
        if self.workers is not None:
            return await self.workers.invoke(function, event)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, invoke_function, function, event)

    async def start(self) -> None:
        if self.settings.backend == "embedded":  # the servers backend measures the production adapter
            get_container().stores.pusher = self.ws.pusher(asyncio.get_running_loop())
        if self.consumers is not None:
            try:
                # Serve once records posted from now on will be consumed; the workers' cold starts meanwhile.
                await asyncio.gather(
                    self.consumers.wait_ready(), *([self.workers.start()] if self.workers is not None else [])
                )
            except BaseException:
                await self.consumers.stop()
                if self.workers is not None:
                    await self.workers.stop()
                raise
        for app, port in (
            (self.rest.app(), self.options.port),
            (self.ws.app(), self.options.ws_port),
            (self.mastodon.app(), mastodon_port(self.options)),
        ):
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            await web.TCPSite(runner, self.options.host, port, reuse_address=True).start()
            self._runners.append(runner)
        if self.poller is not None:
            await self.poller.start()
        if embedded_objects(get_container()) is None and wiring.object_consumers():
            await self._poll_object_events()

    async def _poll_object_events(self) -> None:
        """Servers backend: moto's S3 notifies an SQS queue of the bucket's new objects; a task relays them."""
        from chirp.container import _aws_client

        s3 = aws_client("s3", self.settings)
        sqs = _aws_client("sqs", self.settings, self.settings.s3_endpoint_url)  # moto serves both
        prefixes = [fn.objects.prefix for fn in wiring.object_consumers() if fn.objects is not None]
        url = await asyncio.to_thread(provision_queue, s3, sqs, self.settings.media_bucket, prefixes)
        self._object_poll = asyncio.create_task(poll_queue(sqs, url, self.object_events, self._object_poll_stop))

    async def stop(self) -> None:
        self._object_poll_stop.set()
        if self._object_poll is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._object_poll
        if self.poller is not None:
            await self.poller.stop()
        if self.consumers is not None:
            await self.consumers.stop()
        if self.workers is not None:
            await self.workers.stop()
        for runner in self._runners:
            await runner.cleanup()
        self._metrics_receiver.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def serve_forever(self) -> None:
        await self.start()
        print(
            f"Chirp local runtime: REST http://{self.options.host}:{self.options.port}/api/v1  "
            f"WebSocket ws://{self.options.host}:{self.options.ws_port}  "
            f"Mastodon API http://{self.options.host}:{mastodon_port(self.options)}  data {self.options.data_dir}",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await self.stop()


def run(options: RuntimeOptions) -> None:
    # The root logger follows the functions' level (POWERTOOLS_LOG_LEVEL; WARNING unless set), as Lambda's
    # application log level does: DEBUG shows the libraries' debug lines too.
    level = os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(LocalRuntime(options).serve_forever())

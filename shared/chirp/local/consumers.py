"""The stream consumers in their own process, as on AWS where each function runs in its own Lambda sandbox: the
local event source mappings (the poller over the stream's shards) invoke the consumer functions here, and they push
to WebSockets through the gateway's ``@connections`` endpoint like the deployed functions do. Sharing the API's
process made every HTTP request wait for the consumers' Python (one GIL), doubling its latency under load.

``ConsumerProcess`` is the gateway's side: start the child, wait until its mappings run, restart it if it dies, stop
it on shutdown. The child is ``python -m chirp.local.consumers``; it stops on SIGINT/SIGTERM and when its stdin
closes (the gateway exited, even by SIGKILL), so it never outlives the runtime."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chirp import wiring
from chirp.config import get_settings
from chirp.container import build, set_container
from chirp.local.event_source import open_event_source
from chirp.local.functions import invoke as invoke_function
from chirp.local.functions import load_handler
from chirp.local.metrics import install_sender
from chirp.local.poller import StreamPoller

log = logging.getLogger("chirp.consumers")
READY = b"ready\n"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0
RESTART_DELAY_S = 1.0
RESTART_DELAY_MAX_S = 30.0


class ConsumerProcess:
    """The child process running the stream consumers, supervised by the gateway's process."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._ready_fd = -1
        self._stopping = False
        self._watcher: asyncio.Task[None] | None = None

    def spawn(self) -> None:
        """Start the child (it inherits the environment the runtime set up); ``wait_ready`` waits for it."""
        read_fd, write_fd = os.pipe()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "chirp.local.consumers", "--ready-fd", str(write_fd)],
                stdin=subprocess.PIPE,  # the child exits when this closes: the gateway is gone
                pass_fds=(write_fd,),
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self._ready_fd = read_fd

    async def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Until the child's mappings run; raises if it exits first or takes longer than ``timeout_s``. Then the
        child is watched, and started again if it dies."""
        await self._await_ready(timeout_s)
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(), name="consumer-process-watch")

    async def _await_ready(self, timeout_s: float) -> None:
        fd, self._ready_fd = self._ready_fd, -1
        try:
            line = await asyncio.wait_for(_read_line(fd), timeout_s)
        finally:
            os.close(fd)
        if line != READY:
            code = self._process.poll() if self._process is not None else None
            raise RuntimeError(f"the stream consumers' process did not start (exit code {code})")

    async def _watch(self) -> None:
        """A consumer process that dies (a crash, the OOM killer) is started again, as Lambda would start a new
        sandbox: the mappings resume from their checkpoints. One that keeps failing is retried less and less often."""
        delay = RESTART_DELAY_S
        while not self._stopping:
            process = self._process
            assert process is not None
            # Polled: a thread blocked in wait() would hold up this loop's shutdown if stop() were never called.
            while (code := process.poll()) is None and not self._stopping:  # noqa: ASYNC110
                await asyncio.sleep(0.5)
            if self._stopping:
                return
            if process.stdin is not None:
                process.stdin.close()
            log.error("the stream consumers' process exited (code %s); starting it again in %.0fs", code, delay)
            await asyncio.sleep(delay)
            if self._stopping:
                return
            try:
                self.spawn()
                await self._await_ready(START_TIMEOUT_S)
                delay = RESTART_DELAY_S
            except Exception:
                log.exception("the stream consumers' process did not start again")
                delay = min(delay * 2, RESTART_DELAY_MAX_S)

    async def stop(self) -> None:
        self._stopping = True
        process = self._process
        if process is not None:
            await asyncio.to_thread(_terminate, process)
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self._ready_fd >= 0:
            os.close(self._ready_fd)
            self._ready_fd = -1


async def _read_line(fd: int) -> bytes:
    """One line from a pipe, or what came before it closed (read from the event loop: nothing left blocked on a
    timeout)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bytes] = loop.create_future()
    line = bytearray()

    def readable() -> None:
        chunk = os.read(fd, 64)
        line.extend(chunk)
        if (not chunk or b"\n" in chunk) and not done.done():
            done.set_result(bytes(line))

    loop.add_reader(fd, readable)
    try:
        return await done
    finally:
        loop.remove_reader(fd)


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        log.warning("the stream consumers' process did not stop within %ss; killing it", STOP_TIMEOUT_S)
        process.kill()
        process.wait()
    if process.stdin is not None:
        process.stdin.close()


# -- the child ---------------------------------------------------------------------------------------------------
async def serve(ready_fd: int | None) -> None:
    install_sender(get_settings().data_dir)  # metrics to the runtime's collector
    container = build(get_settings())
    set_container(container)
    executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="lambda")

    async def invoke(function: str, event: dict[str, Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(executor, invoke_function, function, event)

    for fn in wiring.stream_consumers():
        load_handler(fn.name)  # a broken handler fails at start, not at the first record
    poller = StreamPoller(open_event_source(container), invoke)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if ready_fd is not None:  # started by the gateway
        _stop_when_stdin_closes(loop, stop)
    await poller.start()
    if ready_fd is not None:
        os.write(ready_fd, READY)
        os.close(ready_fd)
    await stop.wait()
    await poller.stop()
    executor.shutdown(wait=True, cancel_futures=True)  # an invocation in flight finishes; queued ones are dropped


def _stop_when_stdin_closes(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """The gateway holds the other end of stdin: end of file means it is gone (read on the loop, no thread)."""
    fd = sys.stdin.fileno()

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            stop.set()

    loop.add_reader(fd, readable)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chirp.local.consumers", description=__doc__)
    parser.add_argument("--ready-fd", type=int, default=None, help="write 'ready' here once the mappings run")
    args = parser.parse_args(argv)
    level = os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s [consumers] %(message)s")
    started = time.monotonic()
    asyncio.run(serve(args.ready_fd))
    log.info("stream consumers stopped after %.0fs", time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())

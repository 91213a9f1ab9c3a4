"""The API's functions in processes of their own on the servers backend, as Lambda runs each concurrent invocation in
an execution environment of its own: a worker process runs one invocation at a time, and a request that finds every
worker busy starts another (a cold start), up to a limit. Threads in the gateway's process shared one GIL instead:
with 8 clients, each home read cost 0.6 ms more CPU than alone (the threads handed the GIL over at every Redis round
trip), a cost Lambda never pays.

``FunctionWorkers`` is the gateway's side. A worker is ``python -m chirp.local.workers`` with one end of a socket
pair; requests and replies are length-prefixed pickles of plain data (the event, the result). A worker exits when its
end of the pair closes (the gateway stopped or died), so it never outlives the runtime; one that dies mid-invocation
fails that invocation (API Gateway answers 502 for a crashed function) and is replaced on demand."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import io
import logging
import os
import pickle
import signal
import socket
import struct
import sys
from typing import Any

from chirp import wiring
from chirp.config import get_settings
from chirp.container import build, set_container
from chirp.local.functions import invoke as invoke_function
from chirp.local.functions import load_handler
from chirp.local.metrics import install_sender

log = logging.getLogger("chirp.workers")
READY = "ready"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 5.0
# Two per core start with the runtime. Beyond that, more processes only share the same cores and cost more CPU per
# request (2 cores, 8 clients: 4 workers served 578-606 home reads/s, 8 workers 438/s), so more start only for
# requests kept waiting.
EAGER = 2 * (os.cpu_count() or 1)
SCALE_AFTER_S = 1.0
_LENGTH = struct.Struct(">I")


class FunctionError(RuntimeError):
    """The function raised, or its process died, during an invocation."""


class _Undelivered(Exception):
    """The worker was gone before it got the request: safe to send it to another."""


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.process = process
        self._reader = reader
        self._writer = writer

    async def call(self, request: object) -> Any:
        try:
            if self.process.returncode is not None:
                raise ConnectionResetError("the worker has exited")
            self._writer.write(_frame(request))
            await self._writer.drain()
        except OSError as exc:  # the worker died while idle (the OOM killer): the request never reached it
            raise _Undelivered from exc
        try:
            reply = await _read_frame(self._reader)
        except ConnectionResetError as exc:  # it closed with the request unread: it died before taking it
            raise _Undelivered from exc
        return pickle.loads(reply)

    def close(self) -> None:
        self._writer.close()


class FunctionWorkers:
    """``warm`` workers started up front (the bench's and a user's first requests find them ready: a cold start
    costs about a second of CPU), at most ``limit`` in all. Idle workers are reused newest first, as Lambda prefers
    a warm environment."""

    def __init__(self, *, warm: int = EAGER, limit: int) -> None:
        self._warm = warm
        self._limit = limit
        self._count = 0  # started or starting
        self._idle: asyncio.LifoQueue[_Worker | BaseException] = asyncio.LifoQueue()
        self._all: set[_Worker] = set()  # started
        self._spawning: set[asyncio.Task[None]] = set()
        self._waiting = 0  # requests waiting for a worker

    async def start(self) -> None:
        await asyncio.gather(*(self._launch() for _ in range(self._warm)))
        for _ in range(self._warm):
            failed = self._idle.get_nowait()
            if isinstance(failed, BaseException):
                raise RuntimeError("a function worker did not start") from failed
            self._idle.put_nowait(failed)

    async def invoke(self, function: str, event: dict[str, Any]) -> Any:
        while True:
            worker = await self._acquire()
            call = asyncio.ensure_future(worker.call((function, event)))
            # A cancelled request (the client went away) still reads its reply: the worker stays in step.
            call.add_done_callback(functools.partial(self._finished, worker))
            try:
                status, value = await asyncio.shield(call)
                break
            except _Undelivered:
                continue  # another worker, or a new one
            except (OSError, EOFError, asyncio.IncompleteReadError) as exc:
                raise FunctionError(f"{function}: its process exited during the invocation") from exc
        if status != "ok":
            raise FunctionError(f"{function}: {value}")
        return value

    async def _acquire(self) -> _Worker:
        """An idle worker. When there is none, a new one for each request waiting beyond those starting: at once up
        to ``EAGER`` workers, beyond that once the request has waited ``SCALE_AFTER_S`` (workers held by long
        polls). Either way the request takes whichever worker is free first."""
        self._waiting += 1
        if self._idle.empty() and self._count < EAGER:
            self._scale_out()
        try:
            got = await asyncio.wait_for(self._idle.get(), SCALE_AFTER_S)
        except TimeoutError:
            self._scale_out()
            got = await self._idle.get()
        finally:
            self._waiting -= 1
        if isinstance(got, BaseException):
            raise FunctionError("a function worker did not start") from got
        return got

    def _finished(self, worker: _Worker, call: asyncio.Future[Any]) -> None:
        if call.cancelled() or call.exception() is not None:
            self._retire(worker)
        else:
            self._idle.put_nowait(worker)

    def _retire(self, worker: _Worker) -> None:
        if worker in self._all:
            self._all.discard(worker)
            self._count -= 1
            worker.close()
            with contextlib.suppress(ProcessLookupError):
                worker.process.kill()

    def _scale_out(self) -> None:
        if self._count < self._limit and len(self._spawning) < self._waiting:
            self._launch()

    def _launch(self) -> asyncio.Task[None]:
        self._count += 1
        task = asyncio.create_task(self._spawn())
        self._spawning.add(task)
        task.add_done_callback(self._spawning.discard)
        return task

    async def _spawn(self) -> None:
        try:
            worker = await _start_worker()
        except Exception as exc:  # the waiter learns why; the next request tries again
            log.exception("a function worker did not start")
            self._count -= 1
            self._idle.put_nowait(exc)
            return
        self._all.add(worker)
        self._idle.put_nowait(worker)

    @property
    def pids(self) -> list[int]:
        """The started workers' process ids."""
        return [w.process.pid for w in self._all]

    async def stop(self) -> None:
        for task in list(self._spawning):
            task.cancel()
        workers, self._all = list(self._all), set()
        for worker in workers:
            worker.close()  # end of file: an idle worker exits at once
        await asyncio.gather(*(_reap(w.process) for w in workers))


async def _start_worker() -> _Worker:
    ours, theirs = socket.socketpair()
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chirp.local.workers",
            "--fd",
            str(theirs.fileno()),
            stdin=asyncio.subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),),
        )
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    reader, writer = await asyncio.open_unix_connection(sock=ours)
    try:
        ready = pickle.loads(await asyncio.wait_for(_read_frame(reader), START_TIMEOUT_S))
    except BaseException:
        writer.close()
        process.kill()
        raise
    if ready != READY:
        raise RuntimeError(f"a function worker answered {ready!r} instead of ready")
    return _Worker(process, reader, writer)


async def _reap(process: asyncio.subprocess.Process) -> None:
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
    except TimeoutError:  # busy (a long poll)
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def _frame(value: object) -> bytes:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(payload)) + payload


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    return await reader.readexactly(length)


# -- the child ---------------------------------------------------------------------------------------------------
def serve(fd: int) -> None:
    install_sender(get_settings().data_dir)  # metrics to the runtime's collector
    set_container(build(get_settings()))
    elsewhere = {fn.name for fn in (*wiring.stream_consumers(), *wiring.object_consumers())}
    for fn in wiring.FUNCTIONS:
        if fn.name not in elsewhere:
            load_handler(fn.name)  # the cold start happens here, before the worker says it is ready
    with socket.socket(fileno=fd) as sock, sock.makefile("rwb") as stream:
        _send(stream, READY)
        while (request := _receive(stream)) is not None:
            function, event = request
            try:
                reply: tuple[str, Any] = ("ok", invoke_function(function, event))
            except Exception as exc:  # the gateway answers as API Gateway does for a function error
                log.exception("%s raised", function)
                reply = ("error", f"{type(exc).__name__}: {exc}")
            _send(stream, reply)


def _send(stream: io.BufferedIOBase, value: object) -> None:
    stream.write(_frame(value))
    stream.flush()


def _receive(stream: io.BufferedIOBase) -> Any:
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        return None  # the gateway closed its end
    (length,) = _LENGTH.unpack(header)
    return pickle.loads(stream.read(length))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chirp.local.workers")
    parser.add_argument("--fd", type=int, required=True, help="this worker's end of the gateway's socket pair")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the gateway stops its workers
    level = os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s [worker] %(message)s")
    serve(args.fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())

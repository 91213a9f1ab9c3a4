"""Where the stream consumers run: on the servers backend (Kinesis or Kafka) in their own process (as Lambda runs each
function in its own sandbox), on the embedded backend in the runtime's (its timelines and connections live in that
process's memory). Either way their effects arrive; a consumers' process that dies is started again; and no process
outlives the runtime, whether it is stopped by Ctrl-C (SIGINT to the whole foreground group, as `make run` gets it),
SIGTERM, or a SIGKILL of the gateway's process alone."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from support.runtime import Client, LocalStack, eventually

CONSUMERS_MODULE = "chirp.local.consumers"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait is missing


def _consumer_processes(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and CONSUMERS_MODULE in _cmdline(int(entry.name)) and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _delivered(reader: Client, author: Client, text: str) -> None:
    posted = author.tweet(text)["tweet_id"]
    eventually(lambda: posted in [t["tweet_id"] for t in reader.home()["tweets"]], timeout=15)


def _gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_consumers_run_apart_on_servers_are_restarted_and_never_outlive_the_runtime(
    backend: str, fresh_data_dir: Path, stack_env: dict[str, str]
) -> None:
    stack = LocalStack(fresh_data_dir, stack_env).start()
    try:
        assert stack.process is not None
        gateway = stack.process.pid
        reader, author = stack.user("reader"), stack.user("author")
        reader.home()  # the reader's timeline exists: fan-out writes to it
        reader.follow("author")
        children = _consumer_processes(gateway)
        if backend == "embedded":
            assert children == []  # in the runtime's process, beside the memory stores they write
            _delivered(reader, author, "delivered in process")
        else:
            assert len(children) == 1, children
            _delivered(reader, author, "delivered from the consumers' process")
            os.kill(children[0], signal.SIGKILL)  # a crash: the gateway starts the consumers again
            assert _gone(children[0])
            eventually(lambda: len(_consumer_processes(gateway)) == 1, timeout=60)
            _delivered(reader, author, "delivered after the consumers' restart")
        consumers = _consumer_processes(gateway)
        os.killpg(gateway, signal.SIGINT)  # Ctrl-C: the terminal signals the whole foreground group
        stack.process.wait(timeout=20)
        assert all(_gone(pid) for pid in consumers), "a consumers' process outlived the runtime (Ctrl-C)"
    finally:
        stack.stop()
    if backend != "embedded":
        stack.start()  # the gateway alone SIGKILLed: nothing tells the consumers, but their stdin closes
        try:
            assert stack.process is not None
            (child,) = _consumer_processes(stack.process.pid)
            stack.process.send_signal(signal.SIGKILL)
            stack.process.wait(timeout=10)
            assert _gone(child), "the consumers' process outlived its SIGKILLed gateway"
        finally:
            stack.stop()

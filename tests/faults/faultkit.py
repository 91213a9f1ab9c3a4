"""Fault injection for the stand-in servers and the stream, without touching the harness: a ``ServerSet`` that can
kill one server (SIGKILL to its process group), freeze and thaw it (SIGSTOP / SIGCONT: a server that accepts
connections but never answers) and restart it on the same ports with the same data directory; timed requests; direct
access to the Kinesis stand-in and to the runtime's event-source-mapping state (checkpoints, dead letters)."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from chirp.config import Settings
from chirp.local.servers.harness import ServerSet, _parent_death_signal, _Running, boto3_client
from support.runtime import Client, LocalStack

# A request that needs a store which does not answer gives up after the store timeout (Settings.store_timeout_s, the
# runtime's own value) and answers 503; this bound allows that timeout plus a small margin for the answer itself.
STORE_TIMEOUT_S = float(os.environ.get("CHIRP_STORE_TIMEOUT_S", Settings.model_fields["store_timeout_s"].default))
RESPONSE_MARGIN_S = 1.0
HANG_GUARD_S = STORE_TIMEOUT_S + RESPONSE_MARGIN_S
FIGURES: dict[str, dict[str, Any]] = {}  # measured figures per test, printed at the end of the session


def figure(test: str, **values: Any) -> None:
    """Record measured figures (latencies, counts) of one fault test; they are reported, not asserted."""
    FIGURES.setdefault(test, {}).update(values)


class FaultServerSet(ServerSet):
    """A ``ServerSet`` whose servers can be killed, frozen, thawed and restarted one at a time."""

    def process_group(self, name: str) -> int:
        return self._running[name].proc.pid

    def kill(self, name: str) -> None:
        """SIGKILL the server's whole process group (no shutdown hooks, no flush) and reap it."""
        running = self._running[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(running.proc.pid, signal.SIGKILL)
        running.proc.wait(timeout=15)

    def freeze(self, name: str) -> None:
        """SIGSTOP the process group: the port stays open, the kernel accepts connections, nothing answers."""
        os.killpg(self._running[name].proc.pid, signal.SIGSTOP)

    def thaw(self, name: str) -> None:
        os.killpg(self._running[name].proc.pid, signal.SIGCONT)

    def restart(self, name: str) -> float:
        """Kill the server if it still runs, then launch it again with the same argv: same ports, same config, same
        data directory (what a restarted node sees). Returns the seconds until its readiness probe answered."""
        old = self._running[name]
        if old.proc.poll() is None:
            self.kill(name)
        in_main_thread = threading.current_thread() is threading.main_thread()
        with open(old.log, "ab") as out:
            proc = subprocess.Popen(
                old.launch.argv,
                cwd=old.log.parent,
                env={**os.environ, **old.launch.env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_parent_death_signal if in_main_thread else None,
            )
        started = time.monotonic()
        with self._lock:
            self._running[name] = _Running(name, proc, old.launch, old.log, started)
        self._cancel.clear()
        self._wait_ready(name)
        return round(time.monotonic() - started, 2)


@dataclass
class Timed:
    """One request made during a fault: what came back and how long it took (or the transport error)."""

    label: str
    status: int
    seconds: float
    retry_after: str | None = None
    error: str = ""
    body: Any = None

    @property
    def hung(self) -> bool:
        return self.status == 0 or self.seconds >= HANG_GUARD_S


def timed(label: str, call: Callable[[], httpx.Response]) -> Timed:
    started = time.monotonic()
    try:
        response = call()
    except httpx.HTTPError as exc:
        return Timed(label, 0, round(time.monotonic() - started, 3), error=repr(exc))
    seconds = round(time.monotonic() - started, 3)
    try:
        body = response.json()
    except ValueError:
        body = response.text[:200]
    return Timed(label, response.status_code, seconds, response.headers.get("Retry-After"), body=body)


def fault_client(stack: LocalStack, token: str | None, timeout: float = HANG_GUARD_S + 3) -> Client:
    """A client whose requests give up a little after the hang guard, so a hung request cannot stall the module."""
    client = stack.client(token)
    client.http.timeout = httpx.Timeout(timeout)
    return client


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.25) -> float:
    """Seconds until ``check()`` held; raises AssertionError after ``timeout`` (a bounded loop)."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if check():
                return round(time.monotonic() - started, 2)
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def ids(tweets: list[dict[str, Any]]) -> list[str]:
    return [t["tweet_id"] for t in tweets]


def home_ids(client: Client) -> list[str] | None:
    """Every tweet id of a home timeline (all pages, bounded), or None when the timeline does not answer 200."""
    found: list[str] = []
    cursor = None
    for _ in range(20):
        response = client.get("/timeline/home", cursor=cursor, count=100)
        if response.status_code != 200:
            return None
        page = response.json()
        found += ids(page["tweets"])
        cursor = page.get("next_cursor")
        if not cursor:
            return found
    return found


def search_ids(client: Client, query: str) -> list[str] | None:
    response = client.get("/search", q=query, count=100)
    return ids(response.json()["tweets"]) if response.status_code == 200 else None


def notifications(client: Client) -> list[dict[str, Any]]:
    """Every notification of the client's user (all pages, bounded)."""
    found: list[dict[str, Any]] = []
    cursor = None
    for _ in range(20):
        response = client.get("/notifications", cursor=cursor, count=100)
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["notifications"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return found


def mention_ids(client: Client) -> list[str]:
    """The tweet ids of the client's mention notifications, one entry per notification (duplicates show)."""
    return [n["tweet_id"] for n in notifications(client) if n["type"] == "mention"]


def trend_counts(client: Client) -> dict[str, int]:
    """Hashtag -> tweet_count of the current trends (the top 30)."""
    response = client.get("/trends", count=30)
    assert response.status_code == 200, response.text
    return {t["hashtag"]: t["tweet_count"] for t in response.json()["trends"]}


# -- the stream -----------------------------------------------------------------------------------------------------


@dataclass
class StreamTap:
    """The runtime's Kinesis stream on the stand-in, for publishing crafted records and reading what is there."""

    servers: FaultServerSet
    stream_name: str
    client: Any = field(init=False)

    def __post_init__(self) -> None:
        self.client = boto3_client("kinesis", self.servers["kinesis"])

    def put(self, data: bytes, partition_key: str) -> str:
        response = self.client.put_records(
            StreamName=self.stream_name, Records=[{"Data": data, "PartitionKey": partition_key}]
        )
        assert not response.get("FailedRecordCount"), response
        return str(response["Records"][0]["SequenceNumber"])

    def records(self) -> Iterator[tuple[str, bytes]]:
        """Every record on every shard, oldest first per shard: (partition key, data). Bounded reads."""
        for _, _, key, data in self.sequenced():
            yield key, data

    def sequenced(self) -> Iterator[tuple[int, int, str, bytes]]:
        """Every record as (shard index, sequence number, partition key, data); shard indexes in list_shards order,
        as the runtime's mapping numbers them."""
        for index, shard in enumerate(self.client.list_shards(StreamName=self.stream_name)["Shards"]):
            iterator = self.client.get_shard_iterator(
                StreamName=self.stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for _ in range(200):
                page = self.client.get_records(ShardIterator=iterator, Limit=1000)
                for record in page["Records"]:
                    yield index, int(record["SequenceNumber"]), record["PartitionKey"], bytes(record["Data"])
                iterator = page.get("NextShardIterator")
                if not iterator or (not page["Records"] and not page.get("MillisBehindLatest")):
                    break

    def find(self, *needles: str) -> list[tuple[str, bytes]]:
        """Records whose data contains every needle."""
        return [(key, data) for key, data in self.records() if all(n.encode() in data for n in needles)]

    def checkpoints(self, data_dir: Path) -> dict[tuple[str, int], int]:
        """The mappings' positions (kept in the runtime's data directory for Kinesis)."""
        return checkpoints(data_dir, self.stream_name)


def dead_letters(data_dir: Path, stream_name: str) -> list[dict[str, Any]]:
    """The dead-letter table of the local runtime's Kinesis event source mappings (servers backend)."""
    path = data_dir / f"mapping-{stream_name}.db"
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(row) for row in db.execute("SELECT * FROM dead_letters ORDER BY id")]
    for row in rows:  # record data is kept byte for byte (a BLOB): "raw" holds those bytes, "data" text to search
        row["raw"] = bytes(row["data"])
        row["data"] = row["raw"].decode("utf-8", "surrogateescape")
    return rows


def checkpoints(data_dir: Path, stream_name: str) -> dict[tuple[str, int], int]:
    """The runtime's event source mapping checkpoints: (consumer, shard index) -> last processed sequence number."""
    path = data_dir / f"mapping-{stream_name}.db"
    if not path.exists():
        return {}
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
        rows = db.execute("SELECT consumer, shard, sequence_number FROM checkpoints").fetchall()
    return {(str(consumer), int(shard)): int(seq) for consumer, shard, seq in rows}

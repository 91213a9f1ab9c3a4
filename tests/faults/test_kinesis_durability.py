"""The Kinesis stand-in in a persistent set (``make run BACKEND=servers``) keeps every record it acknowledged when its
process is killed mid-load, as Kinesis keeps an acknowledged put: the local runtime's checkpoints never point past
what the stream holds, and no post that answered 201 loses its event."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from faults.faultkit import FaultServerSet, figure

from chirp.local.servers.harness import boto3_client

STREAM = "durability"
WRITERS = 3


def _read_all(client: Any) -> set[bytes]:
    """Every record of every shard, from its start to its end."""
    seen: set[bytes] = set()
    for shard in client.list_shards(StreamName=STREAM)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while True:
            page = client.get_records(ShardIterator=iterator, Limit=1000)
            seen.update(r["Data"] for r in page["Records"])
            if not page["Records"] and not page.get("MillisBehindLatest"):
                break
            iterator = page["NextShardIterator"]
    return seen


def test_a_killed_kinesis_stand_in_keeps_every_acknowledged_record(tmp_path: Path) -> None:
    """Given a persistent server set's Kinesis stand-in with a 2-shard stream
    When 3 writers put records one at a time and the process is SIGKILLed while they write
    Then after a restart on the same data every record whose put was acknowledged is in the stream"""
    with FaultServerSet(tmp_path / "servers", persistent=True) as servers:
        ep = servers.start(["kinesis"])["kinesis"]
        client = boto3_client("kinesis", ep)
        client.create_stream(StreamName=STREAM, ShardCount=2)
        client.get_waiter("stream_exists").wait(StreamName=STREAM, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        acknowledged: list[set[bytes]] = [set() for _ in range(WRITERS)]
        started = threading.Barrier(WRITERS + 1)

        def write(writer: int) -> None:
            started.wait()
            for n in range(100_000):
                data = f"{writer}-{n}".encode()
                try:
                    put = client.put_records(StreamName=STREAM, Records=[{"Data": data, "PartitionKey": data.decode()}])
                except Exception:  # the server died: this put may or may not have landed, and the next would fail
                    return
                if put["FailedRecordCount"] == 0:
                    acknowledged[writer].add(data)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
        for thread in threads:
            thread.start()
        started.wait()
        while sum(map(len, acknowledged)) < 300:  # well into the load
            threading.Event().wait(0.01)
        servers.kill("kinesis")
        for thread in threads:
            thread.join(timeout=60)
        servers.restart("kinesis")
        kept = _read_all(boto3_client("kinesis", servers.endpoints["kinesis"]))

    acked = set().union(*acknowledged)
    figure("kinesis_sigkill", acknowledged=len(acked), read_back=len(kept))
    assert acked - kept == set()

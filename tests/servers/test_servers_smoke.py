"""One real round trip per stand-in server, through the same client library the production adapters use."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from chirp.local.servers import harness
from chirp.local.servers.harness import ServerError, ServerSet, boto3_client, cassandra_cluster


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def test_redis_sorted_set_round_trip(servers: ServerSet) -> None:
    import redis

    ep = servers["redis"]
    client = redis.Redis.from_url(
        ep.url, password=ep.extra["password"], ssl_ca_certs=ep.extra["ca_file"], decode_responses=True
    )
    key = _unique("timeline:")
    try:
        assert client.zadd(key, {"t1": 100, "t2": 300, "t3": 200}) == 3
        assert client.zrevrange(key, 0, 1, withscores=True) == [("t2", 300.0), ("t3", 200.0)]
        assert client.zadd(key, {"t1": 400}) == 0  # update, not insert
        assert client.zrevrange(key, 0, 0) == ["t1"]
    finally:
        client.delete(key)
        client.close()
    assert ep.version.startswith(harness.REDIS_SERIES)


def test_cassandra_cql_lwt_and_counters(servers: ServerSet) -> None:
    ep = servers["cassandra"]
    assert ep.version == harness.pinned_versions()["cassandra"]
    keyspace = _unique("chirp_smoke_")
    cluster = cassandra_cluster(ep)
    try:
        session = cluster.connect()
        session.execute(
            f"CREATE KEYSPACE {keyspace} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
        )
        session.set_keyspace(keyspace)
        session.execute("CREATE TABLE users (handle text PRIMARY KEY, user_id text, created_at timestamp)")
        session.execute("CREATE TABLE likes (tweet_id text PRIMARY KEY, n counter)")

        insert = session.prepare("INSERT INTO users (handle, user_id, created_at) VALUES (?, ?, toTimestamp(now()))")
        session.execute(insert, ("carol", "u-1"))
        row = session.execute("SELECT handle, user_id FROM users WHERE handle = %s", ("carol",)).one()
        assert (row.handle, row.user_id) == ("carol", "u-1")

        claim = session.prepare("INSERT INTO users (handle, user_id) VALUES (?, ?) IF NOT EXISTS")
        first = session.execute(claim, ("alice", "u-2")).one()
        second = session.execute(claim, ("alice", "u-3")).one()
        assert first.applied is True
        assert second.applied is False
        assert second.user_id == "u-2"  # the losing writer sees the winner's row

        bump = session.prepare("UPDATE likes SET n = n + ? WHERE tweet_id = ?")
        for delta in (1, 1, 5):
            session.execute(bump, (delta, "t-1"))
        session.execute(bump, (-2, "t-1"))
        assert session.execute("SELECT n FROM likes WHERE tweet_id = 't-1'").one().n == 5
        session.execute(f"DROP KEYSPACE {keyspace}")
    finally:
        cluster.shutdown()


def test_gremlin_string_ids_edges_and_neptune_cardinality(servers: ServerSet) -> None:
    from gremlin_python.process.anonymous_traversal import traversal
    from gremlin_python.process.graph_traversal import __
    from gremlin_python.process.traversal import Cardinality, T

    ep = servers["gremlin"]
    conn = harness.gremlin_connection(ep)  # wss + SigV4, as Neptune with IAM auth
    try:
        g = traversal().with_remote(conn)
        alice, bob = _unique("user-"), _unique("user-")
        edge_id = f"{alice}->{bob}"
        g.add_v("user").property(T.id, alice).property("handle", "alice").iterate()
        g.add_v("user").property(T.id, bob).property("handle", "bob").iterate()
        g.V(alice).add_e("follows").to(__.V(bob)).property(T.id, edge_id).iterate()

        assert g.V(alice, bob).count().next() == 2
        assert g.V(alice).out("follows").id_().to_list() == [bob]
        assert g.E(edge_id).in_v().values("handle").next() == "bob"
        assert g.V(bob).in_("follows").count().next() == 1

        # Neptune's default cardinality is SET: a plain property() call adds a value; single replaces.
        g.V(alice).property("handle", "alice2").iterate()
        assert sorted(g.V(alice).values("handle").to_list()) == ["alice", "alice2"]
        g.V(alice).property(Cardinality.single, "handle", "al").iterate()
        assert g.V(alice).values("handle").to_list() == ["al"]

        g.V(alice, bob).drop().iterate()
        assert g.V(alice, bob).count().next() == 0
        assert g.E(edge_id).count().next() == 0
    finally:
        conn.close()


def test_opensearch_index_bulk_search(servers: ServerSet) -> None:
    from opensearchpy import helpers

    ep = servers["opensearch"]
    client = harness.opensearch_client(ep, admin=True)  # HTTPS + basic auth; admin: any index, any mapping
    index = _unique("tweets-")
    try:
        client.indices.create(
            index=index,
            body={
                "settings": {"number_of_shards": 1, "number_of_replicas": 0},
                "mappings": {
                    "properties": {
                        "text": {"type": "text"},
                        "author": {"type": "keyword"},
                        "created_at": {"type": "date"},
                    }
                },
            },
        )
        docs = [
            {"text": "serverless twitter on a laptop", "author": "alice", "created_at": "2026-01-01T00:00:00Z"},
            {"text": "kinesis fan-out for timelines", "author": "bob", "created_at": "2026-01-02T00:00:00Z"},
            {"text": "serverless search with opensearch", "author": "bob", "created_at": "2026-01-03T00:00:00Z"},
        ]
        ok, errors = helpers.bulk(
            client, ({"_index": index, "_id": str(i), "_source": d} for i, d in enumerate(docs)), refresh=True
        )
        assert (ok, errors) == (3, [])

        result = client.search(
            index=index,
            body={
                "query": {
                    "bool": {"must": [{"match": {"text": "serverless"}}], "filter": [{"term": {"author": "bob"}}]}
                },
                "highlight": {"fields": {"text": {}}},
                "aggs": {"authors": {"terms": {"field": "author"}}},
                "sort": [{"created_at": "desc"}],
            },
        )
        hits = result["hits"]["hits"]
        assert [h["_id"] for h in hits] == ["2"]
        assert hits[0]["highlight"]["text"] == ["<em>serverless</em> search with opensearch"]
        assert result["aggregations"]["authors"]["buckets"] == [{"key": "bob", "doc_count": 1}]
        assert client.count(index=index)["count"] == 3
    finally:
        client.indices.delete(index=index, ignore_unavailable=True)
        client.close()


def test_s3_put_get_and_presigned_put(servers: ServerSet) -> None:
    ep = servers["moto"]
    s3 = boto3_client("s3", ep)
    bucket = _unique("chirp-media-")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"hello", ContentType="text/plain")
    assert s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"hello"

    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "upload.png", "ContentType": "image/png"}, ExpiresIn=300
    )
    assert url.startswith(ep.url)
    request = urllib.request.Request(url, data=b"\x89PNG fake", method="PUT", headers={"Content-Type": "image/png"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    uploaded = s3.get_object(Bucket=bucket, Key="upload.png")
    assert uploaded["Body"].read() == b"\x89PNG fake"
    assert uploaded["ContentType"] == "image/png"


def test_apigateway_management_post_to_connection(servers: ServerSet) -> None:
    ep = servers["moto"]
    api = boto3_client("apigatewaymanagementapi", ep)
    response = api.post_to_connection(ConnectionId="conn-1", Data=json.dumps({"type": "tweet"}).encode())
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_kinesis_put_and_get_records(servers: ServerSet) -> None:
    ep = servers["kinesis"]
    kinesis = boto3_client("kinesis", ep)
    stream = _unique("chirp-events-")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    assert stream in kinesis.list_streams()["StreamNames"]

    records = [{"Data": json.dumps({"n": i}).encode(), "PartitionKey": f"user-{i}"} for i in range(5)]
    put = kinesis.put_records(StreamName=stream, Records=records)
    assert put["FailedRecordCount"] == 0
    assert all(r["SequenceNumber"] for r in put["Records"])

    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    got = kinesis.get_records(ShardIterator=iterator["ShardIterator"], Limit=100)
    assert [json.loads(r["Data"]) for r in got["Records"]] == [{"n": i} for i in range(5)]
    kinesis.delete_stream(StreamName=stream)


def test_kinesis_refuses_unverified_and_unsigned_clients_and_outlives_one_that_hangs_up(servers: ServerSet) -> None:
    """Given the Kinesis stand-in
    When a client trusts only the public CAs, sends an unsigned request, connects without TLS, or sends half a
    request over TLS and closes the connection
    Then the first cannot verify the server, the unsigned request is refused, the plain connection gets no answer,
    and the server still answers the next request"""
    import socket
    import ssl

    import boto3
    import httpx
    from botocore.exceptions import SSLError

    ep = servers["kinesis"]
    public_trust = boto3.client(
        "kinesis", endpoint_url=ep.url, region_name=harness.AWS_REGION, **harness.DUMMY_CREDENTIALS
    )
    with pytest.raises(SSLError):
        public_trust.list_streams()
    unsigned = httpx.post(
        ep.url,
        headers={"X-Amz-Target": "Kinesis_20131202.ListStreams", "Content-Type": "application/x-amz-json-1.1"},
        content=b"{}",
        verify=ssl.create_default_context(cafile=ep.extra["ca_file"]),
    )
    assert unsigned.status_code in (400, 403)
    assert unsigned.json()["__type"].endswith("MissingAuthenticationTokenException")
    with socket.create_connection((ep.host, ep.port), timeout=5) as plain:
        plain.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}")
        assert not plain.recv(4096).startswith(b"HTTP/")  # a TLS alert or a close, never an HTTP answer
    context = ssl.create_default_context(cafile=ep.extra["ca_file"])
    with (
        socket.create_connection((ep.host, ep.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        head = "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: Kinesis_20131202.ListStreams\r\n"
        tls.sendall(f"{head}Content-Type: application/x-amz-json-1.1\r\nContent-Length: 1000\r\n\r\n{{".encode())
    time.sleep(0.3)  # the server sees the reset
    assert isinstance(boto3_client("kinesis", ep).list_streams()["StreamNames"], list)
    assert servers.dead() == {}


def test_stats_cover_every_started_server(servers: ServerSet) -> None:
    stats = servers.stats()
    assert set(stats) == set(servers.endpoints)
    for name, s in stats.items():
        assert s.start_seconds > 0, name
        assert s.rss_mb > 1, name
        assert Path(s.log).is_file(), name
    assert len({e.port for e in servers.endpoints.values()}) == len(servers.endpoints)  # no port shared


# --- the harness's own failure paths (fake servers, no real ones needed) ---------------------------------------------


def _fake(monkeypatch: pytest.MonkeyPatch, script: str, timeout: float) -> None:
    def launch(work: Path) -> harness._Launch:
        (port,) = harness._free_ports(1)
        return harness._Launch(argv=[sys.executable, "-c", script], port=port, url=f"x://{port}", timeout=timeout)

    monkeypatch.setitem(harness._INSTALLERS, "redis", lambda: None)
    monkeypatch.setitem(harness._LAUNCHERS, "redis", launch)


def test_start_reports_early_exit_with_log_tail(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake(monkeypatch, "import sys; print('boom: bad config', flush=True); sys.exit(3)", timeout=30)
    server_set = ServerSet(base_dir=tmp_path)
    with pytest.raises(ServerError, match=r"(?s)redis exited with code 3.*boom: bad config"):
        server_set.start(["redis"])
    assert server_set.endpoints == {}


def test_start_times_out_and_kills_the_process_group(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = (
        "import subprocess, sys, time; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print('child', child.pid, flush=True); time.sleep(60)"
    )
    _fake(monkeypatch, script, timeout=2)
    server_set = ServerSet(base_dir=tmp_path)
    with pytest.raises(ServerError, match=r"(?s)redis not ready after 2s.*child \d+") as info:
        server_set.start(["redis"])
    child_pid = int(str(info.value).rsplit("child ", 1)[1].split()[0])
    # Signals arrive asynchronously: a killed process can still show "R" for a moment while it exits.
    deadline = time.monotonic() + 5
    while not _gone_or_zombie(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone_or_zombie(child_pid)


def _gone_or_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_cli_versions_prints_pins() -> None:
    out = subprocess.run(
        [sys.executable, str(Path(harness.__file__)), "versions"], capture_output=True, text=True, check=True
    )
    versions = json.loads(out.stdout)
    assert set(versions) == set(harness.ALL_SERVERS + harness.OPTIONAL_SERVERS)
    assert versions["kafka"] == "Apache Kafka 4.1.1 (KRaft)"
    assert versions["cassandra"] == "4.1.10"
    assert versions["gremlin"] == "3.7.5"

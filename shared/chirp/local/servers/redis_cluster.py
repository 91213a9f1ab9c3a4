"""Redis Cluster stand-ins, for code that must run on cluster-mode ElastiCache: TLS only (also on the cluster bus and
replication links) and an AUTH password (``requirepass`` and ``masterauth``), like ElastiCache cluster mode with
in-transit encryption and an AUTH token.

- ``redis_cluster(work)``: one node holding every hash slot. Enough to be a real cluster for the client (redis-py's
  RedisCluster discovers it through CLUSTER SLOTS) and for the server to refuse a multi-key command whose keys are in
  different slots (CROSSSLOT).
- ``redis_cluster_set(work, primaries=3, replicas=1)``: primaries with replicas, created by
  ``redis-cli --cluster create --cluster-replicas``, as ElastiCache shards them. ``RedisClusterSet`` kills a node
  (SIGKILL), waits for its replica's promotion, restarts it (it rejoins as a replica of the new primary) and reports
  the nodes' memory. ``cluster-node-timeout`` is short (2 s; ElastiCache's is not settable) so a failover takes
  seconds, not the default 15 s+, and a test can afford one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chirp.local.servers.tls import TlsFiles, random_password, server_tls

HOST = "127.0.0.1"
NODE_TIMEOUT_MS = 2000


@dataclass(frozen=True)
class RedisClusterNode:
    url: str  # rediss://127.0.0.1:<port>/0: pass cluster=True, password= and ca_file= to chirp's connect()
    password: str
    ca_file: str


def _free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def _write_conf(work: Path, tls: TlsFiles, port: int, bus_port: int, password: str) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    conf = work / "redis.conf"
    conf.touch(mode=0o600)  # the password stays off the command line
    conf.write_text(
        "\n".join(
            [
                f"bind {HOST}",
                "port 0",
                f"tls-port {port}",
                f"cluster-port {bus_port}",
                f"tls-cert-file {tls.cert_file}",
                f"tls-key-file {tls.key_file}",
                f"tls-ca-cert-file {tls.ca_file}",
                "tls-auth-clients no",
                "tls-cluster yes",
                "tls-replication yes",
                "repl-diskless-sync-delay 0",  # replicas sync at once (the default waits 5 s for more replicas)
                "cluster-enabled yes",
                f"cluster-node-timeout {NODE_TIMEOUT_MS}",
                f"cluster-config-file {work / 'nodes.conf'}",
                f'requirepass "{password}"',
                f'masterauth "{password}"',
                'save ""',
                "appendonly no",
                f"dir {work}",
                "",
            ]
        )
    )
    return conf


def _admin(port: int, password: str, ca_file: Path) -> Any:
    import redis

    return redis.Redis(
        host=HOST,
        port=port,
        password=password,
        ssl=True,
        ssl_ca_certs=str(ca_file),
        socket_timeout=3,
        socket_connect_timeout=1,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class _Node:
    port: int
    bus_port: int
    work: Path
    process: subprocess.Popen[bytes] | None = None


def _start(node: _Node, password: str, tls: TlsFiles, deadline: float) -> None:
    import redis

    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    conf = _write_conf(node.work, tls, node.port, node.bus_port, password)
    with (node.work / "redis.log").open("ab") as log:
        node.process = subprocess.Popen([server, str(conf)], stdout=log, stderr=subprocess.STDOUT)
    admin = _admin(node.port, password, tls.ca_file)
    try:
        while True:
            try:
                admin.ping()
                return
            except redis.ConnectionError as exc:
                if node.process.poll() is not None or time.monotonic() > deadline:
                    log_text = (node.work / "redis.log").read_text()
                    raise RuntimeError(f"redis cluster node :{node.port} did not start: {log_text}") from exc
                time.sleep(0.05)
    finally:
        admin.close()


def _wait_ok(port: int, password: str, ca_file: Path, deadline: float) -> None:
    admin = _admin(port, password, ca_file)
    try:
        while b"cluster_state:ok" not in admin.execute_command("CLUSTER", "INFO"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis cluster node :{port} did not reach cluster_state:ok")
            time.sleep(0.05)
    finally:
        admin.close()


@contextlib.contextmanager
def redis_cluster(work: Path, *, timeout_s: float = 30.0) -> Iterator[RedisClusterNode]:
    """One node holding all 16,384 slots."""
    tls = server_tls(work)
    port, bus_port = _free_ports(2)
    password = random_password()
    node = _Node(port, bus_port, work / "node")
    deadline = time.monotonic() + timeout_s
    try:
        _start(node, password, tls, deadline)
        admin = _admin(port, password, tls.ca_file)
        admin.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        admin.close()
        _wait_ok(port, password, tls.ca_file, deadline)
        yield RedisClusterNode(url=f"rediss://{HOST}:{port}/0", password=password, ca_file=str(tls.ca_file))
    finally:
        if node.process is not None:
            _stop(node.process)


@dataclass(frozen=True)
class ClusterNodeState:
    """One line of CLUSTER NODES, as seen by some node."""

    node_id: str
    port: int
    role: str  # "master" | "slave"
    failed: bool  # flagged fail (or pfail: suspected) by the node that answered
    primary_id: str | None  # a replica's primary
    slots: int  # how many slots it serves (primaries)


def parse_cluster_nodes(text: str) -> list[ClusterNodeState]:
    states = []
    for line in text.strip().splitlines():
        parts = line.split()
        node_id, address, flags, primary = parts[0], parts[1], parts[2].split(","), parts[3]
        port = int(address.split("@")[0].rsplit(":", 1)[1])
        slots = 0
        for spec in parts[8:]:
            if spec.startswith("["):
                continue  # a slot being migrated
            low, _, high = spec.partition("-")
            slots += int(high or low) - int(low) + 1
        states.append(
            ClusterNodeState(
                node_id=node_id,
                port=port,
                role="master" if "master" in flags else "slave",
                failed="fail" in flags or "fail?" in flags,
                primary_id=None if primary == "-" else primary,
                slots=slots,
            )
        )
    return states


@dataclass
class RedisClusterSet:
    """A running cluster of primaries and replicas; ``url`` is one node's (any node bootstraps the client)."""

    password: str
    ca_file: str
    tls: TlsFiles
    nodes: list[_Node] = field(default_factory=list)
    start_seconds: float = 0.0

    @property
    def url(self) -> str:
        live = [n for n in self.nodes if n.process is not None and n.process.poll() is None]
        return f"rediss://{HOST}:{live[0].port}/0"

    @property
    def endpoint(self) -> RedisClusterNode:
        return RedisClusterNode(url=self.url, password=self.password, ca_file=self.ca_file)

    def cluster_nodes(self, via_port: int | None = None) -> list[ClusterNodeState]:
        """CLUSTER NODES as one live node (``via_port``, else the first live one) sees the cluster."""
        port = via_port if via_port is not None else int(self.url.rsplit(":", 1)[1].split("/")[0])
        admin = _admin(port, self.password, self.tls.ca_file)
        try:
            return parse_cluster_nodes(admin.execute_command("CLUSTER", "NODES").decode())
        finally:
            admin.close()

    def primaries(self) -> list[int]:
        return sorted(s.port for s in self.cluster_nodes() if s.role == "master" and not s.failed and s.slots)

    def replica_of(self, primary_port: int) -> int:
        states = self.cluster_nodes()
        primary = next(s for s in states if s.port == primary_port)
        return next(s.port for s in states if s.primary_id == primary.node_id)

    def synced_replicas(self) -> list[int]:
        """Ports of the live replicas whose link to their primary is up."""
        synced = []
        for node in self.nodes:
            if node.process is None or node.process.poll() is not None:
                continue
            admin = _admin(node.port, self.password, self.tls.ca_file)
            try:
                info = admin.info("replication")
            finally:
                admin.close()
            if info.get("role") == "slave" and info.get("master_link_status") == "up":
                synced.append(node.port)
        return synced

    def kill(self, port: int) -> None:
        """SIGKILL: no shutdown, no last write flushed to a replica, like a node lost to hardware."""
        node = self._node(port)
        assert node.process is not None
        node.process.send_signal(signal.SIGKILL)
        node.process.wait()

    def pause(self, port: int) -> None:
        """SIGSTOP: the node keeps its connections but answers nothing (a stalled or partitioned node)."""
        node = self._node(port)
        assert node.process is not None
        node.process.send_signal(signal.SIGSTOP)

    def resume(self, port: int) -> None:
        node = self._node(port)
        assert node.process is not None
        node.process.send_signal(signal.SIGCONT)

    def wait_healthy(self, replica_port: int, *, timeout_s: float = 30.0) -> None:
        """Block until ``replica_port`` is synced with its primary and no node flags it failed (or suspected)."""
        deadline = time.monotonic() + timeout_s
        while replica_port not in self.synced_replicas() or any(
            s.failed
            for n in self.nodes
            if n.process and n.process.poll() is None
            for s in self.cluster_nodes(n.port)
            if s.port == replica_port
        ):
            if time.monotonic() > deadline:
                raise RuntimeError(f"replica :{replica_port} did not recover")
            time.sleep(0.05)

    def wait_promoted(self, replica_port: int, *, timeout_s: float = 30.0) -> float:
        """Block until ``replica_port`` is a primary serving slots and the cluster is ok again, as the promoted node
        sees it; return the seconds waited."""
        started = time.monotonic()
        deadline = started + timeout_s
        while True:
            try:
                me = next(s for s in self.cluster_nodes(replica_port) if s.port == replica_port)
                if me.role == "master" and me.slots:
                    _wait_ok(replica_port, self.password, self.tls.ca_file, deadline)
                    return time.monotonic() - started
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"replica :{replica_port} was not promoted within {timeout_s} s")
            time.sleep(0.05)

    def restart(self, port: int, *, timeout_s: float = 30.0) -> None:
        """Start a killed node again with its nodes.conf: it rejoins, as a replica of whoever took its slots, and
        syncs from it (it kept no data: no RDB, no AOF)."""
        node = self._node(port)
        deadline = time.monotonic() + timeout_s
        _start(node, self.password, self.tls, deadline)
        admin = _admin(port, self.password, self.tls.ca_file)
        try:
            while True:
                info = admin.info("replication")
                if info.get("role") == "slave" and info.get("master_link_status") == "up":
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"restarted node :{port} did not resync as a replica: {info}")
                time.sleep(0.05)
        finally:
            admin.close()
        _wait_ok(port, self.password, self.tls.ca_file, deadline)

    def rss_mb(self) -> float:
        """Resident memory of all live nodes (from /proc; Linux)."""
        total_kb = 0
        for node in self.nodes:
            if node.process is None or node.process.poll() is not None:
                continue
            for line in Path(f"/proc/{node.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        return total_kb / 1024

    def _node(self, port: int) -> _Node:
        return next(n for n in self.nodes if n.port == port)

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is not None:
                if node.process.poll() is None:
                    node.process.send_signal(signal.SIGCONT)  # a paused node cannot act on SIGTERM
                _stop(node.process)


@contextlib.contextmanager
def redis_cluster_set(
    work: Path, *, primaries: int = 3, replicas: int = 1, timeout_s: float = 60.0
) -> Iterator[RedisClusterSet]:
    """``primaries`` shards of one primary and ``replicas`` replicas each; slots spread evenly by redis-cli."""
    started = time.monotonic()
    deadline = started + timeout_s
    tls = server_tls(work)
    count = primaries * (1 + replicas)
    ports = _free_ports(2 * count)
    cluster = RedisClusterSet(password=random_password(), ca_file=str(tls.ca_file), tls=tls)
    cluster.nodes = [_Node(ports[2 * i], ports[2 * i + 1], work / f"node-{i}") for i in range(count)]
    try:
        for node in cluster.nodes:
            _start(node, cluster.password, tls, deadline)
        cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
        create = subprocess.run(
            [cli, "--tls", "--cacert", str(tls.ca_file), "--cluster", "create"]
            + [f"{HOST}:{n.port}" for n in cluster.nodes]
            + ["--cluster-replicas", str(replicas), "--cluster-yes"],
            env={**os.environ, "REDISCLI_AUTH": cluster.password},  # the password stays off the command line
            capture_output=True,
            text=True,
            timeout=max(1.0, deadline - time.monotonic()),
            check=False,
        )
        if create.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {create.stdout}{create.stderr}")
        for node in cluster.nodes:  # every node agrees: all slots served, replicas attached
            _wait_ok(node.port, cluster.password, tls.ca_file, deadline)
        # A replica that never synced cannot take over; a node that has not heard (gossip) of every replica yet
        # would answer CLUSTER NODES with a partial picture.
        while len(cluster.synced_replicas()) < primaries * replicas or not all(
            sum(1 for s in cluster.cluster_nodes(n.port) if s.role == "slave") == primaries * replicas
            for n in cluster.nodes
        ):
            if time.monotonic() > deadline:
                raise RuntimeError("redis cluster replicas did not sync")
            time.sleep(0.05)
        cluster.start_seconds = time.monotonic() - started
        yield cluster
    finally:
        cluster.stop()

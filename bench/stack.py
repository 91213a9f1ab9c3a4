"""One backend under test: the stand-in servers (servers backend; only Redis, for the baselines, on embedded), an
in-process container on the same data (bulk loading, in-process measurements), and the local runtime as a
subprocess (every API-level measurement goes over real HTTP and WebSocket to it)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from chirp.config import Settings, get_settings  # noqa: E402
from chirp.container import Container, build_embedded, build_servers  # noqa: E402
from chirp.local.servers.harness import ServerSet, pinned_versions  # noqa: E402
from chirp.local.servers_env import servers_environment  # noqa: E402
from chirp.tokens import Principal, TokenCodec  # noqa: E402
from support.runtime import LocalStack  # noqa: E402

# Production-like JIT for the Java stand-ins (the harness starts them C1-only to boot fast on 2 cores) and heap
# room for the full graph in TinkerGraph. Appended after the harness's own flags, so these win.
BENCH_JVM_OPTS = "-Xmx2g -XX:TieredStopAtLevel=4"


@dataclass
class BenchStack:
    backend: str
    celebrity_threshold: int
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="chirp-bench-")))
    servers: ServerSet | None = None
    endpoints: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    container: Container | None = None
    runtime: LocalStack | None = None
    tokens: TokenCodec | None = None

    @property
    def data_dir(self) -> Path:
        return self.work / "data"

    def start_servers(self) -> None:
        os.environ.setdefault("CHIRP_SERVERS_JVM_OPTS", BENCH_JVM_OPTS)
        self.servers = ServerSet(base_dir=self.work)
        names = ["redis"] if self.backend == "embedded" else None  # embedded: Redis only, for the baselines
        self.endpoints = dict(self.servers.start(names))  # endpoints["redis"]: URL, CA file and password

    def build_container(self) -> Container:
        """The in-process container over the same stores the runtime will use (same env, same data dir)."""
        self.env = {
            "CHIRP_BACKEND": self.backend,
            "CHIRP_DATA_DIR": str(self.data_dir),
            "CHIRP_JWT_KEYS": f"bench:{secrets.token_urlsafe(48)}",
            "CHIRP_CELEBRITY_THRESHOLD": str(self.celebrity_threshold),
            "CHIRP_TWEET_RATE_LIMIT": "10000000",
            "CHIRP_SIGNUP_LIMIT_PER_IP": "10000000",
            "CHIRP_LOGIN_LIMIT_PER_IP": "10000000",
            "CHIRP_STREAM_SHARDS": "2",
        }
        if self.backend == "servers":
            self.env.update(servers_environment(self.endpoints, namespace="bench"))
        os.environ.update(self.env)
        os.environ.setdefault("CHIRP_WS_MANAGEMENT_URL", "http://127.0.0.1:9/local")  # never called in-process
        get_settings.cache_clear()
        settings = Settings()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.backend == "embedded":
            self.container = build_embedded(settings)
        else:
            from chirp.local.provision import provision

            self.container = build_servers(settings)
            provision(self.container, settings)
        self.tokens = self.container.tokens
        return self.container

    def start_runtime(self) -> LocalStack:
        self.runtime = LocalStack(self.data_dir, dict(self.env)).start()
        return self.runtime

    def stop_runtime(self) -> None:
        if self.runtime is not None:
            self.runtime.stop()
            self.runtime = None

    def token(self, user_id: int, username: str) -> str:
        assert self.tokens is not None
        return self.tokens.issue(Principal(user_id, username))

    def client(self, user_id: int, username: str, *, timeout: float = 30.0) -> httpx.Client:
        assert self.runtime is not None
        return httpx.Client(
            base_url=self.runtime.api,
            headers={"Authorization": f"Bearer {self.token(user_id, username)}"},
            timeout=timeout,
        )

    def versions(self) -> dict[str, str]:
        found = {name: str(ep.version) for name, ep in self.endpoints.items()}
        with contextlib.suppress(Exception):
            pinned = pinned_versions()
            for name in found:
                found[name] = f"{found[name]} (pinned: {pinned.get(name, '?')})"
        return found

    def stop(self) -> None:
        self.stop_runtime()
        if self.container is not None:
            graph: Any = self.container.stores.graph
            with contextlib.suppress(Exception):
                if hasattr(graph, "close"):
                    graph.close()
        if self.servers is not None:
            self.servers.stop()
            self.servers = None
        shutil.rmtree(self.work, ignore_errors=True)  # the loaded data (~200 MB for a full embedded run)

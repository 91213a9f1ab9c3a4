"""What the multi-node stand-ins (the Cassandra ring, the OpenSearch cluster) share: one process group per node, a
crash as SIGKILL, a restart on the node's own data, RSS per node, and a stop that throws the data away."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Self, TypeVar

from chirp.local.servers.harness import Endpoint, ServerError, _group_rss_mb


@dataclass(kw_only=True)
class NodeProcess:
    index: int
    name: str
    work: Path
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    spawned: float = 0.0
    ready_seconds: float = 0.0

    @property
    def log(self) -> Path:
        return self.work / "server.log"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


N = TypeVar("N", bound=NodeProcess)


class NodeCluster(ABC, Generic[N]):
    """Subclasses start the nodes (``start``) and say how one is spawned and when it listens."""

    heap = ""

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self.nodes: list[N] = []
        self.start_seconds = 0.0
        self._endpoint: Endpoint | None = None

    @property
    def endpoint(self) -> Endpoint:
        """How clients reach the cluster (through its first node), once started."""
        if self._endpoint is None:
            raise ServerError(f"{type(self).__name__} is not started")
        return self._endpoint

    @property
    def directory(self) -> Path:
        return self._dir

    @abstractmethod
    def _spawn(self, node: N) -> None:
        """Start the node's process (in its own process group) on its data directory."""

    @abstractmethod
    def _wait_listening(self, node: N) -> None:
        """Block until the node serves clients; set ``node.ready_seconds``."""

    # ---- faults ------------------------------------------------------------------------------------------------
    def kill(self, index: int) -> None:
        """SIGKILL one node (its whole process group), as a crashed host."""
        node = self.nodes[index]
        if node.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.proc.pid, signal.SIGKILL)
            node.proc.wait(timeout=30)

    def restart(self, index: int) -> float:
        """Start a killed node again on its data; returns seconds until it listens."""
        node = self.nodes[index]
        if node.alive:
            raise ServerError(f"{node.name} is still running")
        self._spawn(node)
        self._wait_listening(node)
        return node.ready_seconds

    # ---- figures and stop ----------------------------------------------------------------------------------------
    def rss_mb(self) -> dict[str, float]:
        return {n.name: _group_rss_mb(n.proc.pid) if n.alive and n.proc is not None else 0.0 for n in self.nodes}

    def stats(self) -> dict[str, Any]:
        rss = self.rss_mb()
        return {
            "start_seconds": self.start_seconds,
            "node_listening_seconds": {n.name: n.ready_seconds for n in self.nodes},
            "rss_mb": rss,
            "rss_mb_total": round(sum(rss.values()), 1),
            "heap": self.heap,
        }

    def stop(self, *, keep: bool = False, grace_s: float = 2.0) -> None:
        """SIGTERM, then SIGKILL after ``grace_s`` (the data is thrown away, so no orderly drain is needed)."""
        for node in self.nodes:
            if node.alive and node.proc is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(node.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for node in self.nodes:
            if node.proc is None:
                continue
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.proc.wait(timeout=5)
        if not keep and not os.environ.get("CHIRP_SERVERS_KEEP"):
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""A local AWS emulator (PyPI ``ministack``) in its own cached venv, and the pinned CDK CLI that deploys to it.

ministack pins botocore, so it never shares the project's venv: it gets one of its own under
``~/.cache/chirp-ministack/<version>-<python tag>/`` (or ``$CHIRP_MINISTACK_CACHE``), created once with
``python3 -m venv`` and pip. Its interpreter is also the one that runs the deployed functions (LAMBDA_EXECUTOR=local
runs each function as a local process of ministack's own Python), so boto3, which the Lambda runtime provides and
the layer leaves out, is installed there too, at the version matching ministack's botocore.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from chirp.local.servers import harness

MINISTACK_VERSION = "1.5.33"
BOTO3_VERSION = "1.43.106"  # ministack 1.5.33 pins botocore==1.43.106; boto3 is released in lockstep
CDK_CLI = "aws-cdk@2.1148.1"  # the Makefile's pin (aws-cdk 3.x refuses aws-cdk-lib 2.275 assemblies)
REGION = "us-east-1"
ACCOUNT = "000000000000"  # ministack's default account id
# The stand-ins' credentials: the deployed functions sign Neptune requests with them (the stand-in's proxy checks
# SigV4 like Neptune), and the emulator accepts any.
DUMMY_CREDENTIALS = {key.upper(): value for key, value in harness.DUMMY_CREDENTIALS.items()}
REPO_ROOT = Path(__file__).resolve().parents[2]


def cache_root() -> Path:
    return Path(os.environ.get("CHIRP_MINISTACK_CACHE") or Path.home() / ".cache" / "chirp-ministack")


def _base_python() -> str:
    """The interpreter ministack (and so every deployed function) runs on: ``$CHIRP_MINISTACK_PYTHON``, or the one
    the project's venv was made from (3.12, Lambda's, when the machine has it: see the Makefile)."""
    return os.environ.get("CHIRP_MINISTACK_PYTHON") or getattr(sys, "_base_executable", "") or sys.executable


def _python_tag(python: str) -> str:
    code = "import sys; print(f'py{sys.version_info[0]}{sys.version_info[1]}')"
    return subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout.strip()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ministack_python() -> Path:
    """The cached venv's interpreter, created (with pinned ministack and boto3) if missing. Idempotent."""
    base = _base_python()
    root = cache_root() / f"{MINISTACK_VERSION}-{_python_tag(base)}"
    python = root / "venv" / "bin" / "python"
    marker = root / ".complete"
    with _locked(cache_root() / ".lock"):
        if marker.exists() and python.exists():
            return python
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        subprocess.run([base, "-m", "venv", str(root / "venv")], check=True, capture_output=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        result = subprocess.run(
            [*pip, f"ministack=={MINISTACK_VERSION}", f"boto3=={BOTO3_VERSION}"], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise RuntimeError(f"installing ministack failed:\n{result.stdout}{result.stderr}")
        marker.write_text(f"ministack=={MINISTACK_VERSION} boto3=={BOTO3_VERSION}\n")
    return python


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Ministack:
    """A running ministack bound to 127.0.0.1 with LAMBDA_EXECUTOR=local; ``stop()`` ends it and its workers."""

    python: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    started_in_s: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def execute_api_url(self) -> str:
        return f"{self.url}/_aws/execute-api"

    def start(self, timeout_s: float = 60.0) -> None:
        # A clean environment: the functions inherit it (no isolation), so nothing of the project's venv leaks in.
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "BIND_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(self.port),
            "LAMBDA_EXECUTOR": "local",
            "MINISTACK_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "LOG_LEVEL": "INFO",
            **DUMMY_CREDENTIALS,
        }
        began = time.monotonic()
        handle = self.log.open("wb")
        self.process = subprocess.Popen(
            [str(self.python), "-m", "ministack"],
            env=env,
            cwd=self.log.parent,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = began + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ministack exited with {self.process.returncode}:\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/_ministack/health", timeout=1.0).status_code == 200:
                    self.started_in_s = time.monotonic() - began
                    return
            time.sleep(0.1)
        raise TimeoutError(f"ministack not ready in {timeout_s}s:\n{self.tail()}")

    def tail(self, lines: int = 80) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@dataclass
class CdkRun:
    argv: list[str]
    seconds: float
    output: str


@dataclass
class Cdk:
    """The pinned CDK CLI (npx) run from the repository root, against ``endpoint`` with dummy credentials."""

    endpoint: str
    log_dir: Path
    runs: list[CdkRun] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AWS_", "CDK_")) and key not in ("PYTEST_CURRENT_TEST",)
        }
        env.update(DUMMY_CREDENTIALS)
        env.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ENDPOINT_URL_S3": self.endpoint,
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "CDK_DISABLE_VERSION_CHECK": "1",
                "CDK_DISABLE_CLI_TELEMETRY": "1",
                "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
                "CI": "true",  # no progress bars, no prompts
            }
        )
        return env

    def __call__(self, *args: str, timeout_s: float = 600.0) -> CdkRun:
        argv = ["npx", "--yes", CDK_CLI, *args]
        began = time.monotonic()
        proc = subprocess.run(
            argv, cwd=REPO_ROOT, env=self.env(), capture_output=True, text=True, timeout=timeout_s, check=False
        )
        run = CdkRun(argv, time.monotonic() - began, proc.stdout + proc.stderr)
        self.runs.append(run)
        (self.log_dir / f"cdk-{len(self.runs)}-{args[0]}.log").write_text(run.output)
        if proc.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} failed ({proc.returncode}):\n" + _tail(run.output, 60))
        return run


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


def context_args(context: Mapping[str, Any]) -> list[str]:
    """``-c key=value`` arguments; objects are passed as JSON (chirp_cdk.settings parses them)."""
    args: list[str] = []
    for key, value in context.items():
        text = json.dumps(value) if isinstance(value, dict | list) else str(value)
        args += ["-c", f"{key}={text}"]
    return args


def resource_counts(assembly: Path, stacks: Sequence[str]) -> dict[str, int]:
    """Resources per stack template in a synthesized cloud assembly."""
    counts: dict[str, int] = {}
    for name in stacks:
        template = json.loads((assembly / f"{name}.template.json").read_text())
        counts[name] = len(template.get("Resources", {}))
    return counts


def stack_names(assembly: Path) -> list[str]:
    manifest = json.loads((assembly / "manifest.json").read_text())
    return sorted(
        name for name, artifact in manifest["artifacts"].items() if artifact["type"] == "aws:cloudformation:stack"
    )

"""Starts the real local runtime (`python -m chirp.cli run`) as a subprocess on free ports and talks to it over
HTTP and WebSocket, as a client would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalStack:
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.env = env or {}
        self.port = free_port()
        self.ws_port = free_port()
        self.mastodon_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"runtime-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def mastodon_url(self) -> str:
        """The Mastodon-compatible API's base URL (its own port, as apps expect it at a host's root)."""
        return f"http://127.0.0.1:{self.mastodon_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    def start(self) -> LocalStack:
        env = {**os.environ, "CHIRP_STREAM_SHARDS": "2", "CHIRP_SIGNUP_LIMIT_PER_IP": "100000", **self.env}
        env.pop("CHIRP_JWT_KEYS", None) if "CHIRP_JWT_KEYS" not in self.env else None
        env.pop("CHIRP_PUBLIC_URL", None)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chirp.cli",
                "run",
                "--port",
                str(self.port),
                "--ws-port",
                str(self.ws_port),
                "--mastodon-port",
                str(self.mastodon_port),
                "--data-dir",
                str(self.data_dir),
                "--web-root",
                str(REPO / "web"),
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"runtime exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.api}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"runtime did not become healthy: {self.log.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None

    def client(self, token: str | None = None) -> Client:
        return Client(self, token)

    def user(self, username: str, password: str = "password-123") -> Client:
        response = httpx.post(
            f"{self.api}/auth/signup",
            json={"username": username, "email": f"{username}@e2e.test", "password": password},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return Client(self, body["token"], user_id=body["user_id"], username=username)


@dataclass
class Client:
    stack: LocalStack
    token: str | None = None
    user_id: str = ""
    username: str = ""
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self.http = httpx.Client(base_url=self.stack.api, headers=headers, timeout=30)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.http.post(path, json=body, headers=headers)

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(path)

    def tweet(self, content: str, **extra: Any) -> dict[str, Any]:
        response = self.post("/tweets", {"content": content, **extra}, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def follow(self, username: str) -> None:
        assert self.post(f"/users/{username}/follow").json()["following"] is True

    def home(self, **params: Any) -> dict[str, Any]:
        response = self.get("/timeline/home", **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def socket(self) -> ClientConnection:
        return connect(f"{self.stack.ws_url}/?token={self.token}", open_timeout=10)


def eventually(check: Any, timeout: float = 5.0, interval: float = 0.05) -> Any:
    """Retries ``check`` until it returns a truthy value (eventual consistency of the stream), or fails."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


def receive(ws: ClientConnection, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {kind!r} message within {timeout}s")
        message: dict[str, Any] = json.loads(ws.recv(timeout=remaining))
        if message.get("type") == kind:
            return message

"""Browser tests of the web client: a local runtime (fresh data dir, free ports) serving web/, Debian's chromium driven
headless by Playwright, and small helpers to set up users and tweets over the REST API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

REPO = Path(__file__).resolve().parents[2]
WEB_ROOT = REPO / "web"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct-horse-9"
DESKTOP = {"width": 1280, "height": 860}
MOBILE = {"width": 390, "height": 844}

expect.set_options(timeout=10_000)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class User:
    username: str
    user_id: str
    token: str
    password: str = PASSWORD


@dataclass
class Chirp:
    """The running local runtime and a REST client for test setup."""

    base_url: str
    api_url: str
    http: httpx.Client = field(repr=False)

    def call(self, method: str, path: str, user: User | None = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {user.token}"} if user else {}
        response = self.http.request(method, self.api_url + path, headers=headers, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def signup(self, prefix: str, display_name: str | None = None) -> User:
        username = f"{prefix[:8]}{uuid.uuid4().hex[:6]}"
        body: dict[str, Any] = {"username": username, "email": f"{username}@example.test", "password": PASSWORD}
        if display_name is not None:
            body["display_name"] = display_name
        data = self.call("POST", "/auth/signup", json=body)
        return User(username=data["username"], user_id=data["user_id"], token=data["token"])

    def follow(self, follower: User, followee: User) -> None:
        self.call("POST", f"/users/{followee.username}/follow", follower)

    def tweet(self, author: User, content: str, **fields: Any) -> dict[str, Any]:
        return self.call("POST", "/tweets", author, json={"content": content, **fields})  # type: ignore[no-any-return]

    def wait_until(self, what: str, check: Callable[[], bool], timeout_s: float = 15.0) -> None:
        """Stream consumers (search index, trends, fan-out) run asynchronously: wait for their effect."""
        deadline = time.monotonic() + timeout_s
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.2)


@pytest.fixture(scope="package")
def chirp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chirp]:
    """The local runtime as a subprocess on free ports with a fresh data dir, serving web/."""
    data_dir = tmp_path_factory.mktemp("chirp-data")
    port, ws_port = _free_port(), _free_port()
    log_path = data_dir / "runtime.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIRP_")}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chirp.cli",
                "run",
                "--port",
                str(port),
                "--ws-port",
                str(ws_port),
                "--data-dir",
                str(data_dir),
                "--web-root",
                str(WEB_ROOT),
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    http = httpx.Client(timeout=30)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the local runtime exited early:\n{log_path.read_text()}")
            try:
                if http.get(f"{base_url}/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the local runtime did not become healthy:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield Chirp(base_url=base_url, api_url=f"{base_url}/api/v1", http=http)
    finally:
        http.close()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


class Browsers:
    """Opens browser contexts (one per simulated person) and closes them at the end of the test."""

    def __init__(self, browser: Browser, chirp: Chirp) -> None:
        self._browser = browser
        self._chirp = chirp
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []

    def page(self, *, mobile: bool = False) -> Page:
        context = self._browser.new_context(
            viewport=MOBILE if mobile else DESKTOP,
            base_url=self._chirp.base_url,
            is_mobile=mobile,
            has_touch=mobile,
            device_scale_factor=2 if mobile else 1,
        )
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page

    def logged_in(self, user: User, *, mobile: bool = False) -> Page:
        """A page where ``user`` logged in through the login form and sees the home timeline."""
        page = self.page(mobile=mobile)
        page.goto("/#/login")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(user.password)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Home", level=1)).to_be_visible()
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def browsers(browser: Browser, chirp: Chirp) -> Iterator[Browsers]:
    opened = Browsers(browser, chirp)
    yield opened
    opened.close()
    assert not opened.errors, f"uncaught errors in the page: {opened.errors}"


def screenshot(page: Page, name: str) -> None:
    """Saved under test-artifacts/screenshots/ (git-ignored); the current set is copied to web/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))

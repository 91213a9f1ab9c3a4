"""Clients nobody on this project wrote drive the Mastodon surface of a running Chirp: Mastodon.py registers an app,
logs in with the password grant, posts, replies, favourites, reblogs, follows, pages the home timeline through Link
headers, searches and reads notifications (the consumers run between, so those reads poll); toot's CLI logs in,
posts and reads its timeline."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from mastodon import Mastodon, MastodonAPIError

from support.runtime import LocalStack

pytestmark = pytest.mark.e2e
T = TypeVar("T")
SCOPES = ["read", "write", "follow"]
PASSWORD = "password-123"


def eventually(read: Callable[[], T], ok: Callable[[T], bool], timeout_s: float = 20.0) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def chirp_user(runtime: LocalStack) -> str:
    name = f"m{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@e2e.test", "password": PASSWORD}
    assert httpx.post(f"{runtime.api}/auth/signup", json=body, timeout=120).status_code == 201
    return name


def logged_in(runtime: LocalStack, username: str, scopes: list[str] = SCOPES) -> Mastodon:
    client_id, client_secret = Mastodon.create_app("chirp-e2e", scopes=scopes, api_base_url=runtime.mastodon_url)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=runtime.mastodon_url)
    api.log_in(username, PASSWORD, scopes=scopes, allow_http=True)
    return api


def test_mastodon_py_session(runtime: LocalStack) -> None:
    """Given two Chirp users logged in through Mastodon.py
    When one posts and the other replies, favourites, reblogs and follows, and she posts more
    Then each client sees what Mastodon's API promises: the instance's limits and streaming URL, the reply in the
    context, counts and flags, every status of the home timeline once across Link-header pages, the status found by
    search, and the mention, favourite, reblog and follow in the author's notifications."""
    alice_name, bob_name = chirp_user(runtime), chirp_user(runtime)
    alice, bob = logged_in(runtime, alice_name), logged_in(runtime, bob_name)

    instance = alice.instance_v2()
    assert instance.configuration.statuses.max_characters == 280
    assert instance.configuration.urls.streaming == runtime.ws_url
    me = alice.account_verify_credentials()
    assert me.username == alice_name

    tag = f"t{uuid.uuid4().hex[:8]}"
    first = alice.status_post(f"hello from Mastodon.py #{tag}")
    assert first.account.id == me.id and f"#<span>{tag}</span>" in first.content
    reply = bob.status_reply(first, "nice one")
    assert str(reply.in_reply_to_id) == str(first.id) and alice_name in reply.content
    assert bob.status_favourite(first).favourited is True
    bob.status_reblog(first)
    assert bob.account_follow(me.id).following is True
    context = alice.status_context(first.id)
    assert [str(s.id) for s in context.descendants] == [str(reply.id)]
    seen = alice.status(first.id)
    assert seen.favourites_count == 1 and seen.replies_count == 1

    posted = [str(first.id)] + [str(alice.status_post(f"post {n}").id) for n in range(5)]
    page = eventually(lambda: bob.timeline_home(limit=2), lambda p: bool(p) and str(p[0].id) == posted[-1])
    home: list[str] = []
    pages = 0
    while page:
        home += [str(s.id) for s in page]
        page = bob.fetch_next(page)
        pages += 1
        assert pages < 20
    assert pages >= 3
    for status_id in posted:
        assert home.count(status_id) == 1

    found = eventually(lambda: alice.search_v2(tag, result_type="statuses"), lambda r: bool(r.statuses))
    assert [str(s.id) for s in found.statuses] == [str(first.id)]

    kinds = eventually(
        lambda: sorted({n.type for n in alice.notifications()}),
        lambda k: {"mention", "favourite", "reblog", "follow"} <= set(k),
    )
    assert {"mention", "favourite", "reblog", "follow"} <= set(kinds), kinds

    bob.status_unfavourite(first)
    assert alice.status(first.id).favourites_count == 0
    alice.status_delete(first.id)
    with pytest.raises(MastodonAPIError):
        alice.status(first.id)


def test_mastodon_py_read_only_token_cannot_post(runtime: LocalStack) -> None:
    """The scope check as a client meets it: a read-only login reads but cannot post (403)."""
    name = chirp_user(runtime)
    reader = logged_in(runtime, name, scopes=["read"])
    assert reader.account_verify_credentials().username == name
    with pytest.raises(MastodonAPIError) as refused:
        reader.status_post("not allowed")
    assert "outside the authorized scopes" in str(refused.value)


def test_toot_cli_logs_in_posts_and_reads_the_timeline(runtime: LocalStack, tmp_path: Path) -> None:
    """Given a Chirp user
    When toot's CLI logs in (its "email" prompt takes the Chirp username), posts, and prints the home timeline
    Then each command succeeds and the timeline shows the post."""
    name = chirp_user(runtime)
    env = {"XDG_CONFIG_HOME": str(tmp_path), "PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)}

    def toot(*args: str) -> str:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("toot")), *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    assert "Successfully logged in" in toot("login_cli", "-i", runtime.mastodon_url, "-e", name, "-p", PASSWORD)
    text = f"hello from toot {uuid.uuid4().hex[:8]}"
    assert "Toot posted" in toot("post", text)
    timeline = eventually(lambda: toot("timeline", "--once"), lambda out: text in out)
    assert text in timeline and f"@{name}" in timeline


def test_mastodon_py_posts_with_media(runtime: LocalStack) -> None:
    """Given a PNG uploaded with Mastodon.py's media_post (multipart, POST /api/v2/media), waited for until processed
    When a status names it
    Then the status carries it as an image attachment with its description, served by the media URL."""
    from io import BytesIO

    from PIL import Image

    image = BytesIO()
    Image.new("RGB", (80, 60), (200, 30, 30)).save(image, format="PNG")
    api = logged_in(runtime, chirp_user(runtime))
    media = api.media_post(image.getvalue(), mime_type="image/png", description="a red box", synchronous=True)
    assert media.url and media.type == "image"
    status = api.status_post("with a picture", media_ids=[media])
    [attachment] = status.media_attachments
    assert str(attachment.id) == str(media.id) and attachment.description == "a red box"
    assert httpx.get(attachment.url, timeout=10).status_code == 200

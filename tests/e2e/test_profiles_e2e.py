"""Profiles and account deletion over real HTTP: GET/PATCH /users/me, the likes tab, password change, and a deleted
account of which nothing stays readable once the stream consumers have erased it."""

import time
import uuid
from typing import Any

import httpx
import pytest

from support.runtime import Client, LocalStack, eventually

PASSWORD = "password-123"  # LocalStack.user's


def uname(prefix: str = "p") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture(autouse=True)
def warm(runtime: LocalStack) -> None:
    """A cold stack opens every store connection on its first signup: not within a client's 5-second timeout."""
    name = uname("warm")
    body = {"username": name, "email": f"{name}@e2e.test", "password": PASSWORD}
    assert httpx.post(f"{runtime.api}/auth/signup", json=body, timeout=120).status_code == 201


def _patch(client: Client, body: dict[str, Any]) -> httpx.Response:
    return client.http.patch("/users/me", json=body)


def test_profile_edit_likes_tab_and_password_change(runtime: LocalStack) -> None:
    ada, bob = runtime.user(uname()), runtime.user(uname())
    tweet = bob.tweet("a tweet to like")
    ada_tweet = ada.tweet("ada's own words")
    me = _patch(ada, {"display_name": "Ada L.", "bio": "Engines", "place": "fr"})
    assert me.status_code == 200, me.text
    assert (me.json()["display_name"], me.json()["bio"], me.json()["place"]) == ("Ada L.", "Engines", "FR")
    assert ada.get("/users/me").json()["email"] == f"{ada.username}@e2e.test"
    assert bob.get(f"/tweets/{ada_tweet['tweet_id']}").json()["display_name"] == "Ada L."
    for bad in ({"display_name": "\u200b\u2060"}, {"bio": "\ufeff"}, {"place": "ZZ"}, {"avatar_media_id": "0" * 32}):
        refused = _patch(ada, bad)
        assert refused.status_code in (400, 404) and set(refused.json()["error"]) == {"code", "message"}, bad
    # The likes tab
    assert ada.post(f"/tweets/{tweet['tweet_id']}/like").status_code == 200
    likes = bob.get(f"/users/{ada.username}/likes").json()
    assert [t["tweet_id"] for t in likes["tweets"]] == [tweet["tweet_id"]] and likes["has_more"] is False
    assert bob.get(f"/users/{ada.username}/likes", cursor="junk").status_code == 400
    # A password change: older tokens stop working (the account routes at once, every route once the gateway's
    # cached decision for a token expires: a token it has not seen yet is refused at once), the new one works
    time.sleep(1.1)  # a token issued in the same second as the signup's would be that very token (cached)
    unseen = httpx.post(f"{runtime.api}/auth/login", json={"username": ada.username, "password": PASSWORD})
    wrong = ada.post("/users/me/password", {"current_password": "not-it-at-all", "new_password": "new-password-9"})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (403, "wrong_password")  # the token is fine
    changed = ada.post("/users/me/password", {"current_password": PASSWORD, "new_password": "new-password-9"})
    assert changed.status_code == 200, changed.text
    assert ada.get("/users/me").status_code == 401
    assert runtime.client(unseen.json()["token"]).get("/timeline/home").status_code == 401
    assert runtime.client(changed.json()["token"]).get("/users/me").json()["display_name"] == "Ada L."


def test_nothing_of_a_deleted_account_is_readable(runtime: LocalStack) -> None:
    ada, bob = runtime.user(uname()), runtime.user(uname())
    word = f"w{uuid.uuid4().hex[:8]}"
    bob.follow(ada.username)
    ada.follow(bob.username)
    bobs = bob.tweet("bob's tweet")
    ada_ids = [ada.tweet(f"{word} number {i} @{bob.username}")["tweet_id"] for i in range(3)]
    assert ada.post(f"/tweets/{bobs['tweet_id']}/like").status_code == 200
    assert ada.post(f"/tweets/{bobs['tweet_id']}/bookmark").status_code == 200
    eventually(lambda: len(bob.get("/search", q=word).json()["tweets"]) == 3, timeout=30)
    eventually(lambda: {t["tweet_id"] for t in bob.home()["tweets"]} >= set(ada_ids), timeout=30)

    refused = ada.http.request("DELETE", "/users/me", json={"password": "wrong-password"})
    assert refused.status_code == 403
    deleted = ada.http.request("DELETE", "/users/me", json={"password": PASSWORD})
    assert deleted.status_code == 200 and deleted.json() == {"username": ada.username, "deleted": True}

    login = {"username": ada.username, "password": PASSWORD}
    assert httpx.post(f"{runtime.api}/auth/login", json=login).status_code == 401
    assert ada.get("/users/me").status_code == 401  # the token died with the account
    assert bob.get(f"/users/{ada.username}").status_code == 404
    assert all(bob.get(f"/tweets/{t}").status_code == 404 for t in ada_ids)

    def erased() -> bool:
        home = {t["tweet_id"] for t in bob.home()["tweets"]}
        notes = bob.get("/notifications").json()["notifications"]
        return (
            not home & set(ada_ids)
            and bob.get("/search", q=word).json()["tweets"] == []
            and bob.get(f"/tweets/{bobs['tweet_id']}").json()["likes_count"] == 0
            and bob.get(f"/users/{bob.username}").json()["follower_count"] == 0
            and bob.get(f"/users/{bob.username}").json()["following_count"] == 0
            and bob.get(f"/users/{bob.username}/followers").json()["users"] == []
            and all(n["actor"]["user_id"] != ada.user_id for n in notes)
        )

    eventually(erased, timeout=60, interval=0.5)
    # The name is free again: a new account, with nothing of the old one
    again = runtime.user(ada.username)
    assert again.user_id != ada.user_id
    profile = bob.get(f"/users/{ada.username}").json()
    assert (profile["tweet_count"], profile["follower_count"], profile["following_count"]) == (0, 0, 0)
    assert bob.get(f"/users/{ada.username}/likes").json()["tweets"] == []

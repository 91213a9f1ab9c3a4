"""Blocks, mutes and "who to follow" over real HTTP against the local runtime (every backend)."""

import uuid

from support.runtime import LocalStack, eventually


def uname(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def _home(client: object) -> list[str]:
    return [t["tweet_id"] for t in client.home()["tweets"]]  # type: ignore[attr-defined]


def test_a_block_hides_two_accounts_from_each_other_and_a_mute_hides_one_from_the_muter(runtime: LocalStack) -> None:
    alice, bob, carol = runtime.user(uname("a")), runtime.user(uname("b")), runtime.user(uname("c"))
    alice.follow(bob.username)
    bob.follow(alice.username)
    alice.follow(carol.username)
    by_bob = bob.tweet(f"hello @{alice.username}")["tweet_id"]
    by_carol = carol.tweet("carol speaks")["tweet_id"]
    eventually(lambda: {by_bob, by_carol} <= set(_home(alice)))

    blocked = alice.post(f"/users/{bob.username}/block")
    assert blocked.status_code == 200 and blocked.json() == {
        "username": bob.username,
        "blocking": True,
        "muting": False,
    }
    assert by_bob not in _home(alice)
    assert alice.get(f"/users/{alice.username}").json()["following_count"] == 1  # bob unfollowed, carol kept
    refused = bob.get(f"/users/{alice.username}")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "blocked")
    follow = bob.post(f"/users/{alice.username}/follow")
    assert (follow.status_code, follow.json()["error"]["code"]) == (403, "blocked")
    assert [u["username"] for u in alice.get("/blocks").json()["users"]] == [bob.username]
    assert alice.get(f"/users/{bob.username}").json()["blocking"] is True

    muted = alice.post(f"/users/{carol.username}/mute")
    assert muted.status_code == 200 and muted.json()["muting"] is True
    later = carol.tweet("carol again")["tweet_id"]
    assert not {by_carol, later} & set(_home(alice))
    assert carol.get(f"/users/{alice.username}").status_code == 200  # a mute is invisible to the muted
    assert [u["username"] for u in alice.get("/mutes").json()["users"]] == [carol.username]
    assert alice.delete(f"/users/{carol.username}/mute").json()["muting"] is False
    eventually(lambda: {by_carol, later} <= set(_home(alice)))
    assert alice.delete(f"/users/{bob.username}/block").json()["blocking"] is False
    assert bob.get(f"/users/{alice.username}").status_code == 200
    assert alice.post(f"/users/{alice.username}/block").status_code == 403


def test_who_to_follow_suggests_the_accounts_your_followees_follow(runtime: LocalStack) -> None:
    me, f1, f2 = runtime.user(uname("m")), runtime.user(uname("f")), runtime.user(uname("g"))
    popular, niche = runtime.user(uname("p")), runtime.user(uname("n"))
    me.follow(f1.username)
    me.follow(f2.username)
    for f in (f1, f2):
        f.follow(popular.username)
    f1.follow(niche.username)
    f1.follow(me.username)
    found = me.get("/users/suggestions", count=5)
    assert found.status_code == 200, found.text
    assert [(u["username"], u["followed_by_followees"]) for u in found.json()["users"]] == [
        (popular.username, 2),
        (niche.username, 1),
    ]
    assert me.get("/users/suggestions", count=0).status_code == 400

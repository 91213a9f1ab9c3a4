"""Discovery in a real browser against the local runtime: the "Who to follow" box (accounts your followees follow,
with a follow button) and the trends box's place selector (localized trends)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import Browsers, Chirp, screenshot


def test_who_to_follow_suggests_and_follows(chirp: Chirp, browsers: Browsers) -> None:
    # Given Erin follows Frank and Gina, who both follow Hank
    erin, frank, gina, hank = (chirp.signup(n) for n in ("erin", "frank", "gina", "hank"))
    for followee in (frank, gina):
        chirp.follow(erin, followee)
        chirp.follow(followee, hank)
    page = browsers.logged_in(erin)

    # Then the sidebar suggests Hank, followed by two people she follows
    box = page.get_by_role("region", name="Who to follow")
    expect(box.get_by_role("link", name=re.compile(hank.username))).to_be_visible()
    expect(box).to_contain_text("Followed by 2 people you follow")
    screenshot(page, "desktop-who-to-follow")

    # When she follows him from the box, Then the button says so and the server agrees
    box.get_by_role("button", name=f"Follow @{hank.username}").click()
    expect(box.get_by_role("button", name=f"Unfollow @{hank.username}")).to_have_text("Following")
    assert chirp.call("GET", f"/users/{hank.username}", erin)["followed_by_me"] is True


def test_trends_can_be_picked_by_place(chirp: Chirp, browsers: Browsers) -> None:
    # Given Ines in France tweets a hashtag, and Jon (no place) another one
    ines, jon = chirp.signup("ines"), chirp.signup("jon")
    chirp.call("PATCH", "/users/me", ines, json={"place": "FR"})
    chirp.tweet(ines, "Bonjour #fromage")
    chirp.tweet(jon, "Hello #everywhere")
    chirp.wait_until(
        "the local trend",
        lambda: any(
            t["hashtag"] == "fromage" for t in chirp.call("GET", "/trends", jon, params={"place": "FR"})["trends"]
        ),
    )
    page = browsers.logged_in(jon)
    trends = page.get_by_role("region", name="Trends")
    expect(trends.get_by_role("link", name=re.compile("#everywhere"))).to_be_visible()

    # When Jon picks France, Then only France's trends are listed
    trends.get_by_label("Trends for").select_option("FR")
    expect(trends.get_by_role("link", name=re.compile("#fromage"))).to_be_visible()
    expect(trends.get_by_role("link", name=re.compile("#everywhere"))).to_have_count(0)


def test_block_and_mute_from_a_profile(chirp: Chirp, browsers: Browsers) -> None:
    # Given Kim and Lee follow each other
    kim, lee = chirp.signup("kim"), chirp.signup("lee")
    chirp.follow(kim, lee)
    chirp.follow(lee, kim)
    page = browsers.logged_in(kim)
    page.goto(f"/#/u/{lee.username}")

    # When Kim mutes Lee, Then the button shows it and they still follow each other
    page.get_by_role("button", name=f"Mute @{lee.username}").click()
    expect(page.get_by_role("button", name=f"Unmute @{lee.username}")).to_be_visible()
    assert chirp.call("GET", f"/users/{lee.username}", kim)["followed_by_me"] is True

    # When she blocks Lee (and confirms), Then they no longer follow each other and Lee sees "You're blocked"
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Block @{lee.username}").click()
    expect(page.get_by_role("button", name=f"Unblock @{lee.username}")).to_be_visible()
    screenshot(page, "desktop-profile-blocked")
    assert chirp.call("GET", f"/users/{lee.username}", kim)["followed_by_me"] is False
    other = browsers.logged_in(lee)
    other.goto(f"/#/u/{kim.username}")
    expect(other.get_by_role("heading", name="You're blocked")).to_be_visible()

"""Retweets in the web client: a retweet arrives live and is shown once, as "@someone retweeted" above the original,
even when a second followee retweets the same tweet."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import Browsers, Chirp, screenshot


def test_a_retweet_shows_who_retweeted_it_once(chirp: Chirp, browsers: Browsers) -> None:
    # Given Bob follows Carol and Dave (not Alice), and his home timeline is open and live
    alice, carol, dave, bob = (chirp.signup(n) for n in ("alice", "carol", "dave", "bob"))
    chirp.follow(bob, carol)
    chirp.follow(bob, dave)
    original = chirp.tweet(alice, "A tweet worth retweeting")
    page = browsers.logged_in(bob)
    expect(page.locator(".live-status")).to_have_text("Live")

    # When Carol, then Dave, retweet Alice's tweet, and then Dave tweets (his events reach Bob in order)
    for retweeter in (carol, dave):
        chirp.call("POST", f"/tweets/{original['tweet_id']}/retweet", retweeter)
    chirp.tweet(dave, "Dave's own news")

    # Then two new tweets wait behind the bar: Dave's push of the tweet Carol retweeted is not a third
    bar = page.locator(".new-tweets-bar")
    expect(bar).to_have_text(re.compile(r"\b2 new tweets$"))
    bar.click()
    expect(page.locator("article.tweet").filter(has_text="Dave's own news")).to_have_count(1)
    cards = page.locator("article.tweet").filter(has_text="A tweet worth retweeting")
    expect(cards).to_have_count(1)
    # live, whichever retweet arrived first (the two retweeters' events travel on different shards)
    either = re.compile(rf"^@({carol.username}|{dave.username}) retweeted$")
    expect(cards.locator(".tweet-social-context")).to_have_text(either)
    expect(cards.locator(".tweet-author")).to_have_text(f"@{alice.username}")
    screenshot(page, "desktop-retweet")

    # And after a reload (the server's page), still once, with who retweeted it first
    page.reload()
    expect(cards).to_have_count(1)
    expect(cards.locator(".tweet-social-context")).to_have_text(f"@{carol.username} retweeted")
    expect(cards.locator('[data-action="retweet"]')).to_have_attribute("aria-label", re.compile("2 retweets"))

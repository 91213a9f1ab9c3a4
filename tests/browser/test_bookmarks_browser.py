"""Bookmarks in the web client: a tweet bookmarked from the home timeline is on the private Bookmarks page, and
removing it there takes it off."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import Browsers, Chirp


def test_bookmark_from_home_then_remove_it_from_bookmarks(chirp: Chirp, browsers: Browsers) -> None:
    # Given Bob follows Alice, who tweeted twice
    alice, bob = chirp.signup("alice"), chirp.signup("bob")
    chirp.follow(bob, alice)
    chirp.tweet(alice, "Keep this one")
    chirp.tweet(alice, "Not this one")
    page = browsers.logged_in(bob)
    keep = page.locator("article.tweet").filter(has_text="Keep this one")
    expect(keep).to_have_count(1)

    # When he bookmarks the first from his home timeline
    keep.locator('[data-action="bookmark"]').click()
    expect(page.locator(".toast")).to_contain_text("Added to your bookmarks")
    expect(keep.locator('[data-action="bookmark"]')).to_have_attribute("aria-pressed", "true")

    # Then the Bookmarks page lists it (and only it), its button pressed
    page.get_by_role("link", name="Bookmarks").click()
    saved = page.locator(".view-bookmarks article.tweet")
    expect(saved).to_have_count(1)
    expect(saved).to_contain_text("Keep this one")
    expect(saved.locator('[data-action="bookmark"]')).to_have_attribute("aria-pressed", "true")
    # And the server agrees; it is Bob's alone
    assert [t["content"] for t in chirp.call("GET", "/bookmarks", bob)["tweets"]] == ["Keep this one"]
    assert chirp.call("GET", "/bookmarks", alice)["tweets"] == []

    # When he removes it there, it is gone after a reload
    saved.locator('[data-action="bookmark"]').click()
    expect(page.locator(".toast").last).to_contain_text("Removed from your bookmarks")
    page.reload()
    expect(page.locator(".view-bookmarks .list-status")).to_have_text(
        "No bookmarks yet. Bookmark a tweet to find it here later."
    )
    expect(page.locator(".view-bookmarks article.tweet")).to_have_count(0)
    assert chirp.call("GET", "/bookmarks", bob)["tweets"] == []

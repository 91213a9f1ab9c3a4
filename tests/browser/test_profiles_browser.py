"""Profiles in the web client: editing one's profile (display name, bio, place, avatar) and seeing it on tweets, the
likes tab, and deleting one's account."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import PASSWORD, Browsers, Chirp, screenshot
from .test_web_client import tiny_png


def test_edit_profile_shows_on_the_profile_and_on_tweets(chirp: Chirp, browsers: Browsers) -> None:
    # Given a user with a tweet, on their own profile
    ada = chirp.signup("ada")
    chirp.tweet(ada, "words by ada")
    page = browsers.logged_in(ada)
    page.get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", name=ada.username, level=1)).to_be_visible()

    # When they edit their display name, bio and place
    page.get_by_role("button", name="Edit profile").click()
    dialog = page.get_by_role("dialog", name="Edit profile")
    expect(dialog.get_by_label("Display name")).to_have_value(ada.username)
    dialog.get_by_label("Display name").fill("Ada <b>Lovelace</b>")
    dialog.get_by_label("Bio").fill("Engines and poetry")
    dialog.get_by_label("Place").select_option("GB")
    screenshot(page, "desktop-profile-edit")
    dialog.get_by_role("button", name="Save").click()

    # Then the profile shows them (as text), and so does their tweet
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", name="Ada <b>Lovelace</b>", level=1)).to_be_visible()
    expect(page.get_by_text("Engines and poetry")).to_be_visible()
    expect(page.locator("article.tweet").filter(has_text="words by ada")).to_contain_text("Ada <b>Lovelace</b>")
    me = chirp.call("GET", "/users/me", ada)
    assert (me["display_name"], me["bio"], me["place"]) == ("Ada <b>Lovelace</b>", "Engines and poetry", "GB")

    # When they try a name of invisible characters, Then the server's reason is shown and nothing changes
    page.get_by_role("button", name="Edit profile").click()
    dialog.get_by_label("Display name").fill("\u200b\u200b")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert").first).to_contain_text("visible")
    assert browsers.errors == []


def test_an_avatar_upload_shows_on_the_profile_and_tweets(chirp: Chirp, browsers: Browsers, tmp_path: object) -> None:
    ada = chirp.signup("avatar")
    chirp.tweet(ada, "a tweet with a face")
    page = browsers.logged_in(ada)
    page.goto(f"/#/u/{ada.username}")
    page.get_by_role("button", name="Edit profile").click()
    dialog = page.get_by_role("dialog", name="Edit profile")
    dialog.get_by_label("Avatar").set_input_files(
        files=[{"name": "face.png", "mimeType": "image/png", "buffer": tiny_png(120, 90)}]
    )
    expect(dialog.get_by_role("button", name="Remove avatar")).to_be_visible(timeout=30_000)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".profile-top img.avatar")).to_be_visible()
    tweet_avatar = page.locator("article.tweet").filter(has_text="a tweet with a face").locator("img.avatar")
    expect(tweet_avatar).to_have_attribute("src", re.compile(r"avatar-96"))
    assert page.evaluate("document.querySelector('article.tweet img.avatar').naturalWidth") == 96


def test_the_likes_tab_and_deleting_the_account(chirp: Chirp, browsers: Browsers) -> None:
    ada, bob = chirp.signup("liker"), chirp.signup("author")
    liked = chirp.tweet(bob, "a tweet worth liking")
    chirp.tweet(bob, "a tweet not liked")
    chirp.call("POST", f"/tweets/{liked['tweet_id']}/like", ada)
    page = browsers.logged_in(ada)

    # The likes tab lists what they liked
    page.goto(f"/#/u/{ada.username}")
    page.get_by_role("link", name="Likes").click()
    feed = page.get_by_role("feed", name=f"Tweets @{ada.username} liked")
    expect(feed.locator("article.tweet")).to_have_count(1)
    expect(feed).to_contain_text("a tweet worth liking")

    # Deleting the account asks for the password, then signs out
    page.goto(f"/#/u/{ada.username}")
    page.get_by_role("button", name="Edit profile").click()
    dialog = page.get_by_role("dialog", name="Edit profile")
    dialog.get_by_text("Delete account").click()
    delete_form = dialog.locator(".danger-zone")
    delete_form.get_by_label("Password").fill("not-my-password")
    delete_form.get_by_role("button", name="Delete my account").click()
    expect(delete_form.get_by_role("alert")).to_have_text("The password is wrong.")
    delete_form.get_by_label("Password").fill(PASSWORD)
    delete_form.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_role("heading", name="Log in to Chirp")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text("Your account was deleted.")
    response = chirp.http.post(f"{chirp.api_url}/auth/login", json={"username": ada.username, "password": PASSWORD})
    assert response.status_code == 401
    assert browsers.errors == []

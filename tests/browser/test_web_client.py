"""The web client in a real browser against the local runtime: sign up / log in / log out, live tweets with the
"N new tweets" bar and gap fill after a dropped WebSocket, likes with rollback, replies and threads, notifications,
search operators, trends, media, quotes, infinite scroll, keyboard use, the mobile layout and XSS attempts."""

from __future__ import annotations

import re
import struct
import zlib
from typing import Any

from playwright.sync_api import Page, Route, WebSocketRoute, expect

from .conftest import Browsers, Chirp, screenshot


def articles(page: Page, text: str | None = None) -> Any:
    feed = page.locator("article.tweet")
    return feed.filter(has_text=text) if text else feed


def tiny_png(width: int = 64, height: int = 48) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes((29, 123, 242)) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_sign_up_log_out_and_log_in_again(browsers: Browsers) -> None:
    # Given a visitor who is not signed in
    page = browsers.page()
    page.goto("/")
    # Then the client sends them to the login page
    expect(page.get_by_role("heading", name="Log in to Chirp")).to_be_visible()
    screenshot(page, "desktop-login")

    # When they create an account through the sign-up form
    page.get_by_role("link", name="Create an account").click()
    username = f"newbie{page.evaluate('Date.now() % 1000000')}"
    page.get_by_label("Username").fill(username)
    page.get_by_label("Display name").fill("New Bie")
    page.get_by_label("Email").fill(f"{username}@example.test")
    page.get_by_label("Password").fill("long-enough-1")
    page.get_by_role("button", name="Create account").click()

    # Then they are on their home timeline, and the token is kept in sessionStorage only
    expect(page.get_by_role("heading", name="Home", level=1)).to_be_visible()
    assert page.evaluate("JSON.parse(sessionStorage.getItem('chirp.session')).username") == username
    assert page.evaluate("localStorage.length") == 0

    # When they log out
    page.get_by_role("button", name=re.compile("Log out")).click()
    # Then they are back on the login page and the token is gone
    expect(page.get_by_role("heading", name="Log in to Chirp")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('chirp.session')") is None

    # When they log in with a wrong password, Then they see why it failed
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")

    # When they log in with the right one, Then they see their timeline again
    page.get_by_label("Password").fill("long-enough-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Home", level=1)).to_be_visible()


def test_follower_sees_a_new_tweet_arrive_live_behind_the_new_tweets_bar(chirp: Chirp, browsers: Browsers) -> None:
    # Given Alice and Bob, each in their own browser, and Bob follows Alice from her profile page
    alice, bob = chirp.signup("alice"), chirp.signup("bob")
    chirp.tweet(alice, "An older tweet from Alice")
    alice_page = browsers.logged_in(alice)
    bob_page = browsers.logged_in(bob)
    bob_page.goto(f"/#/u/{alice.username}")
    bob_page.get_by_role("button", name=f"Follow @{alice.username}").click()
    expect(bob_page.get_by_role("button", name=f"Unfollow @{alice.username}")).to_be_visible()
    expect(bob_page.locator(".profile-counts")).to_contain_text("1 Followers")
    expect(bob_page.locator(".profile-header")).not_to_contain_text("null")
    expect(articles(bob_page).first.locator(".tweet-actions")).to_have_text("ReplyRetweetLikeQuoteBookmark")
    screenshot(bob_page, "desktop-profile")
    bob_page.get_by_role("link", name="Home", exact=True).click()
    expect(articles(bob_page, "An older tweet from Alice")).to_have_count(1)
    expect(bob_page.locator(".live-status")).to_have_text("Live")

    # When Alice writes a tweet, the counter counts code points and stops her at 280
    box = alice_page.get_by_label("Tweet text")
    box.fill("🐦" * 275)
    expect(alice_page.locator(".counter")).to_have_text("5")
    box.fill("🐦" * 285)
    expect(alice_page.locator(".counter")).to_have_text("-5")
    expect(alice_page.get_by_role("button", name="Tweet", exact=True)).to_be_disabled()
    box.fill("Hello followers, this is live #chirpday")
    expect(alice_page.locator(".counter")).to_have_text(str(280 - len("Hello followers, this is live #chirpday")))
    alice_page.get_by_role("button", name="Tweet", exact=True).click()
    expect(articles(alice_page, "Hello followers, this is live")).to_have_count(1)

    # Then Bob's page shows the "1 new tweet" bar without moving the list under him
    bar = bob_page.locator(".new-tweets-bar")
    expect(bar).to_have_text(re.compile(r"\b1 new tweet$"))
    expect(articles(bob_page, "Hello followers, this is live")).to_have_count(0)
    assert articles(bob_page).first.inner_text().find("An older tweet from Alice") >= 0
    screenshot(bob_page, "desktop-new-tweets-bar")

    # When he clicks the bar, Then the tweet is shown at the top, with its hashtag as a link
    bar.click()
    expect(bar).to_be_hidden()
    first = articles(bob_page).first
    expect(first).to_contain_text("Hello followers, this is live")
    expect(first.get_by_role("link", name="#chirpday")).to_have_attribute("href", "#/search?q=%23chirpday")
    screenshot(bob_page, "desktop-home")


def test_dropped_websocket_reconnects_and_fills_the_gap(chirp: Chirp, browsers: Browsers) -> None:
    # Given Bob follows Alice and his browser's WebSocket goes through a proxy the test controls
    alice, bob = chirp.signup("alice"), chirp.signup("bob")
    chirp.follow(bob, alice)
    chirp.tweet(alice, "Before the outage")
    blocked = {"now": False}
    open_sockets: list[WebSocketRoute] = []

    def proxy(ws: WebSocketRoute) -> None:
        if blocked["now"]:
            ws.close(code=1011, reason="network down")
            return
        ws.connect_to_server()
        open_sockets.append(ws)

    page = browsers.page()
    page.route_web_socket(re.compile(r"^ws://127\.0\.0\.1:\d+/"), proxy)
    page.goto("/#/login")
    page.get_by_label("Username").fill(bob.username)
    page.get_by_label("Password").fill(bob.password)
    page.get_by_role("button", name="Log in").click()
    expect(articles(page, "Before the outage")).to_have_count(1)
    expect(page.locator(".live-status")).to_have_text("Live")

    # When the connection drops and Alice tweets while it is down
    blocked["now"] = True
    open_sockets[-1].close(code=1006, reason="dropped")
    expect(page.locator(".live-status")).to_have_text("Reconnecting…")
    chirp.tweet(alice, "Posted during the outage")
    page.wait_for_timeout(300)
    expect(page.locator(".new-tweets-bar")).to_be_hidden()

    # And the network comes back
    blocked["now"] = False

    # Then the client reconnects, fetches the missed tweet and offers it in the bar
    expect(page.locator(".live-status")).to_have_text("Live", timeout=20_000)
    bar = page.locator(".new-tweets-bar")
    expect(bar).to_have_text(re.compile(r"\b1 new tweet$"))
    bar.click()
    expect(articles(page).first).to_contain_text("Posted during the outage")
    expect(articles(page, "Posted during the outage")).to_have_count(1)


def test_like_reply_thread_and_notifications_with_unread_badge(chirp: Chirp, browsers: Browsers) -> None:
    # Given Bob follows Alice, who tweeted, and both are signed in
    alice, bob = chirp.signup("alice"), chirp.signup("bob")
    chirp.follow(bob, alice)
    tweet = chirp.tweet(alice, "Who wants coffee?")
    alice_page = browsers.logged_in(alice)
    badge = alice_page.locator(".nav .badge")
    expect(badge).to_have_text("1")  # Bob's follow
    alice_page.get_by_role("link", name=re.compile("Notifications")).click()
    expect(alice_page.locator(".notification", has_text="followed you")).to_have_count(1)
    expect(badge).to_be_hidden()
    alice_page.get_by_role("link", name="Home", exact=True).click()
    bob_page = browsers.logged_in(bob)
    card = articles(bob_page, "Who wants coffee?")

    # When Bob likes the tweet, Then the button shows it at once and the server keeps it
    card.get_by_role("button", name=re.compile("^Like")).click()
    expect(card.get_by_role("button", name=re.compile("^Unlike"))).to_have_attribute("aria-pressed", "true")
    expect(card.locator(".action-like .count")).to_have_text("1")
    bob_page.reload()
    expect(articles(bob_page, "Who wants coffee?").locator(".action-like")).to_have_attribute("aria-pressed", "true")

    # When Bob replies through the reply dialog
    articles(bob_page, "Who wants coffee?").get_by_role("button", name=re.compile("^Reply")).click()
    dialog = bob_page.get_by_role("dialog", name=f"Reply to @{alice.username}")
    expect(dialog).to_be_visible()
    dialog.get_by_label(f"Reply to @{alice.username}").fill("Yes please, a flat white")
    dialog.get_by_role("button", name="Reply", exact=True).click()
    expect(dialog).to_be_hidden()

    # Then the thread shows the tweet and the reply under it
    bob_page.goto(f"/#/t/{tweet['tweet_id']}")
    expect(bob_page.locator(".thread-main")).to_contain_text("Who wants coffee?")
    expect(bob_page.get_by_role("feed", name="Replies")).to_contain_text("Yes please, a flat white")
    screenshot(bob_page, "desktop-thread")

    # And Alice's unread badge counts the like and the reply, live
    expect(badge).to_have_text("2")
    expect(alice_page.get_by_role("link", name=re.compile(r"Notifications \(2 unread\)"))).to_be_visible()

    # When she opens her notifications, Then she sees both and the badge clears
    alice_page.get_by_role("link", name=re.compile("Notifications")).click()
    liked = alice_page.locator(".notification", has_text="liked your tweet")
    expect(liked).to_contain_text(f"@{bob.username}")
    expect(liked.locator(".notification-snippet")).to_have_text("Who wants coffee?")
    expect(alice_page.locator(".notification", has_text="replied to your tweet")).to_have_count(1)
    expect(badge).to_be_hidden()
    screenshot(alice_page, "desktop-notifications")


def test_like_is_instant_and_rolls_back_when_the_api_refuses(chirp: Chirp, browsers: Browsers) -> None:
    # Given Bob sees Alice's tweet, and the like endpoint will fail
    alice, bob = chirp.signup("alice"), chirp.signup("bob")
    chirp.follow(bob, alice)
    chirp.tweet(alice, "Like me if you can")
    page = browsers.logged_in(bob)
    held: list[Route] = []
    page.route(re.compile(r"/api/v1/tweets/\d+/like$"), lambda route: held.append(route))
    card = articles(page, "Like me if you can")

    # When he clicks Like, Then the button is pressed before the API has answered
    card.get_by_role("button", name=re.compile("^Like")).click()
    like = card.locator(".action-like")
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(like.locator(".count")).to_have_text("1")
    assert len(held) == 1

    # When the API refuses, Then the like is rolled back and he is told why
    held[0].fulfill(
        status=503,
        content_type="application/json",
        body='{"error": {"code": "service_unavailable", "message": "try again later"}}',
    )
    expect(like).to_have_attribute("aria-pressed", "false")
    expect(like.locator(".count")).to_have_text("")
    expect(page.locator(".toast-error")).to_contain_text("Could not like: try again later")


def test_search_with_operators_and_trends_sidebar(chirp: Chirp, browsers: Browsers) -> None:
    # Given tweets by Carol and Dave, indexed for search and counted in trends
    carol, dave = chirp.signup("carol"), chirp.signup("dave")
    chirp.tweet(carol, "Launching the rocket today #moonshot")
    chirp.tweet(carol, "The rocket launch is delayed by weather")
    chirp.tweet(dave, "Rocket science is hard #moonshot")
    chirp.wait_until(
        "the search index",
        lambda: len(chirp.call("GET", "/search", carol, params={"q": "rocket"})["tweets"]) == 3,
    )
    chirp.wait_until(
        "the trend",
        lambda: any(t["hashtag"] == "moonshot" for t in chirp.call("GET", "/trends", carol)["trends"]),
    )
    page = browsers.logged_in(carol)

    # When Carol searches for her own rocket tweets with from:
    page.get_by_role("link", name="Explore").click()
    page.get_by_label("Search query").fill(f"from:{carol.username} rocket")
    page.get_by_label("Search query").press("Enter")
    # Then only her two tweets are listed
    results = page.get_by_role("feed", name=re.compile("Tweets matching"))
    expect(results.locator("article")).to_have_count(2)
    expect(results.locator(".tweet-author")).to_have_text([f"@{carol.username}"] * 2)
    screenshot(page, "desktop-search")

    # When she searches an exact phrase, Then only the tweet with those words in that order matches
    page.get_by_label("Search query").fill('"rocket science"')
    page.get_by_role("button", name="Search", exact=True).click()
    expect(results.locator("article")).to_have_count(1)
    expect(results).to_contain_text("Rocket science is hard")

    # When she searches with a date range, Then since: and until: filter by day
    page.get_by_label("Search query").fill("rocket since:2000-01-01")
    page.get_by_label("Search query").press("Enter")
    expect(results.locator("article")).to_have_count(3)
    page.get_by_label("Search query").fill("rocket until:2000-01-01")
    page.get_by_label("Search query").press("Enter")
    expect(page.get_by_text("No tweets match this search.")).to_be_visible()

    # When she clicks the hashtag in the trends sidebar, Then she sees both #moonshot tweets
    sidebar = page.get_by_role("region", name="Trends")
    expect(sidebar.get_by_role("link", name=re.compile("#moonshot"))).to_be_visible()
    sidebar.get_by_role("link", name=re.compile("#moonshot")).click()
    expect(page.get_by_role("heading", name="Search: #moonshot")).to_be_visible()
    expect(results.locator("article")).to_have_count(2)
    expect(results).to_contain_text("Launching the rocket today")
    expect(results).to_contain_text("Rocket science is hard")


def test_tweets_and_names_with_html_are_shown_as_text(chirp: Chirp, browsers: Browsers) -> None:
    # Given Mallory, whose display name and tweet carry HTML and script, and Victor who follows her
    attack = "<img src=x onerror=window.__xss=1>"
    mallory = chirp.signup("mallory", display_name=f"<b>Mal</b>{attack}")
    victor = chirp.signup("victor")
    chirp.follow(victor, mallory)
    chirp.tweet(mallory, f"{attack} <script>window.__xss=2</script> <a href=javascript:alert(1)>click</a>")

    # When Victor reads his timeline and Mallory's profile
    page = browsers.logged_in(victor)
    card = articles(page, "onerror")
    expect(card).to_have_count(1)

    # Then the markup is shown literally, nothing was injected and nothing ran
    content = card.locator(".tweet-content")
    expect(content).to_have_text(f"{attack} <script>window.__xss=2</script> <a href=javascript:alert(1)>click</a>")
    assert content.locator("img, script, a, b").count() == 0
    page.goto(f"/#/u/{mallory.username}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"<b>Mal</b>{attack}")
    expect(articles(page, "onerror")).to_have_count(1)
    assert page.locator("main img").count() == 0
    assert page.evaluate("window.__xss") is None


def test_attach_an_image_and_quote_a_tweet(chirp: Chirp, browsers: Browsers, tmp_path: Any) -> None:
    # Given Alice on her home timeline with an image file
    alice = chirp.signup("alice")
    image = tmp_path / "blue.png"
    image.write_bytes(tiny_png())
    page = browsers.logged_in(alice)

    # When she attaches it and tweets
    page.get_by_label("Tweet text").fill("Look at this blue #pixels")
    page.locator(".composer input[type=file]").set_input_files(str(image))
    expect(page.get_by_role("img", name="Selected image blue.png")).to_be_visible()
    page.get_by_role("button", name="Tweet", exact=True).click()

    # Then the tweet shows the processed image's thumbnail, served from the media store, in its own dimensions
    card = articles(page, "Look at this blue")
    picture = card.get_by_role("img", name="Attached image")
    expect(picture).to_have_attribute("src", re.compile(r"/media/.+/thumb$"))
    expect(picture).to_have_attribute("width", "64")
    page.wait_for_function("img => img.complete && img.naturalWidth === 64", arg=picture.element_handle())

    # When she quotes it with a comment
    card.get_by_role("button", name="Quote").click()
    dialog = page.get_by_role("dialog", name="Quote tweet")
    dialog.get_by_label("Quote tweet comment").fill("Still the best pixel")
    dialog.get_by_role("button", name="Tweet", exact=True).click()
    expect(dialog).to_be_hidden()

    # Then the new tweet embeds the quoted one
    quoting = articles(page, "Still the best pixel")
    expect(quoting.locator(".tweet-quote")).to_contain_text("Look at this blue #pixels")
    expect(quoting.get_by_role("link", name=f"Quoted tweet by @{alice.username}")).to_be_visible()


def test_post_four_images_and_see_their_thumbnails(chirp: Chirp, browsers: Browsers, tmp_path: Any) -> None:
    # Given Alice with four images of different sizes (one larger than a thumbnail)
    alice = chirp.signup("alice")
    sizes = [(64, 48), (80, 60), (900, 600), (120, 90)]
    paths = []
    for i, (width, height) in enumerate(sizes):
        path = tmp_path / f"pic{i}.png"
        path.write_bytes(tiny_png(width, height))
        paths.append(str(path))
    page = browsers.logged_in(alice)

    # When she attaches all four and tweets
    page.get_by_label("Tweet text").fill("Four #pixels at once")
    page.locator(".composer input[type=file]").first.set_input_files(paths)
    for i in range(4):
        expect(page.get_by_role("img", name=f"Selected image pic{i}.png")).to_be_visible()
    page.get_by_role("button", name="Tweet", exact=True).click()

    # Then the tweet shows four thumbnails (the large one scaled to 400 px), each linking to its rendition
    card = articles(page, "Four #pixels at once")
    pictures = card.get_by_role("img", name="Attached image")
    expect(pictures).to_have_count(4)
    for i in range(4):
        expect(pictures.nth(i)).to_have_attribute("src", re.compile(r"/media/.+/thumb$"))
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=pictures.nth(i).element_handle())
    widths = [pictures.nth(i).evaluate("img => img.naturalWidth") for i in range(4)]
    assert widths == [64, 80, 400, 120]
    expect(card.locator(".tweet-media a").first).to_have_attribute("href", re.compile(r"/media/.+/large$"))


def tiny_mp4(duration_ms: int) -> bytes:
    """The boxes the media processor checks (ftyp, mdat, then moov with its mvhd); not playable, which is fine."""
    ftyp = struct.pack(">I4s4sI4s", 20, b"ftyp", b"isom", 512, b"isom")
    mvhd = struct.pack(">I4sB3xIIII", 108, b"mvhd", 0, 0, 0, 1000, duration_ms) + bytes(80)
    moov = struct.pack(">I4s", 8 + len(mvhd), b"moov") + mvhd
    return ftyp + struct.pack(">I4s", 16, b"mdat") + bytes(8) + moov


def test_post_a_video(chirp: Chirp, browsers: Browsers, tmp_path: Any) -> None:
    # Given Alice with a short MP4
    alice = chirp.signup("alice")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(tiny_mp4(4200))
    page = browsers.logged_in(alice)

    # When she attaches it, tries to add an image too, and tweets
    page.get_by_label("Tweet text").fill("A #clip")
    page.locator(".composer input[type=file]").first.set_input_files(str(clip))
    expect(page.get_by_label("Selected video clip.mp4")).to_be_visible()
    image = tmp_path / "extra.png"
    image.write_bytes(tiny_png())
    page.locator(".composer input[type=file]").first.set_input_files(str(image))
    expect(page.locator(".composer .form-error")).to_have_text("A tweet takes up to 4 images or one video.")
    page.get_by_role("button", name="Tweet", exact=True).click()

    # Then the tweet carries the processed video, served from the media store
    card = articles(page, "A #clip")
    expect(card.locator(".tweet-media video")).to_have_attribute("src", re.compile(r"/media/.+/video$"))


def test_expired_or_rejected_token_returns_to_login(chirp: Chirp, browsers: Browsers) -> None:
    # Given Alice is signed in
    alice = chirp.signup("alice")
    page = browsers.logged_in(alice)

    # When the API starts rejecting her token (expired or revoked) and she moves on
    page.evaluate(
        """() => {
            const s = JSON.parse(sessionStorage.getItem('chirp.session'));
            s.token = s.token.slice(0, -4) + 'AAAA';
            sessionStorage.setItem('chirp.session', JSON.stringify(s));
        }"""
    )
    page.reload()

    # Then she is back on the login page, told why, and the token is forgotten
    expect(page.get_by_role("heading", name="Log in to Chirp")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text("Your session has expired. Please log in again.")
    assert page.evaluate("sessionStorage.getItem('chirp.session')") is None

    # Given a stored session whose expiry time has passed, When the page loads, Then it asks to log in
    page = browsers.logged_in(alice)
    page.evaluate(
        """() => {
            const s = JSON.parse(sessionStorage.getItem('chirp.session'));
            s.expiresAt = Date.now() - 1000;
            sessionStorage.setItem('chirp.session', JSON.stringify(s));
        }"""
    )
    page.reload()
    expect(page.get_by_role("heading", name="Log in to Chirp")).to_be_visible()


def test_home_timeline_scrolls_infinitely_by_cursor(chirp: Chirp, browsers: Browsers) -> None:
    # Given Erin has 45 tweets, more than two pages
    erin = chirp.signup("erin")
    for n in range(1, 46):
        chirp.tweet(erin, f"Tweet number {n:02d}")
    page = browsers.logged_in(erin)

    # Then the first page shows the newest 20
    expect(articles(page)).to_have_count(20)
    expect(articles(page).first).to_contain_text("Tweet number 45")

    # When she scrolls to the end, twice, Then the next pages load until the oldest tweet
    articles(page).last.scroll_into_view_if_needed()
    expect(articles(page)).to_have_count(40)
    articles(page).last.scroll_into_view_if_needed()
    expect(articles(page)).to_have_count(45)
    expect(articles(page).last).to_contain_text("Tweet number 01")
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()


def test_keyboard_only_use_and_labels(chirp: Chirp, browsers: Browsers) -> None:
    # Given Bob follows Alice, who tweeted
    alice, bob = chirp.signup("alice"), chirp.signup("bob")
    chirp.follow(bob, alice)
    chirp.tweet(alice, "Keyboard users welcome")
    page = browsers.logged_in(bob)
    expect(articles(page, "Keyboard users welcome")).to_have_count(1)

    # Then every control has a name a screen reader can announce
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('button, a[href], input, textarea, select')]
            .filter(el => !el.closest('[hidden]'))
            .filter(el => !(el.getAttribute('aria-label') || el.textContent.trim() || el.labels?.length
                            || el.getAttribute('aria-labelledby')))
            .map(el => el.outerHTML.slice(0, 80))"""
    )
    assert unnamed == []

    # When he tabs from the top of a freshly loaded page, the skip link comes first and jumps to the content
    page.reload()
    expect(articles(page, "Keyboard users welcome")).to_have_count(1)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Home", level=1)).to_be_focused()

    # When he writes a tweet with the keyboard only and sends it with Ctrl+Enter
    page.keyboard.press("Tab")
    expect(page.get_by_label("Tweet text")).to_be_focused()
    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Control+Enter")
    expect(articles(page).first).to_contain_text("Typed without a mouse")

    # And tabs on to the Like button of Alice's tweet and presses Space
    like = articles(page, "Keyboard users welcome").locator(".action-like")
    for _ in range(40):
        page.keyboard.press("Tab")
        if like.evaluate("el => el === document.activeElement"):
            break
    expect(like).to_be_focused()
    page.keyboard.press("Space")

    # Then the tweet is liked and focus stays on the button
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(like).to_be_focused()


def test_mobile_layout(chirp: Chirp, browsers: Browsers) -> None:
    # Given Bob on a phone-sized screen, following Alice, who tweeted with a mention and a link
    alice, bob = chirp.signup("alice"), chirp.signup("bob")
    chirp.follow(bob, alice)
    chirp.tweet(alice, f"Morning @{bob.username}! Notes at https://example.com/notes #standup")
    page = browsers.page(mobile=True)
    page.goto("/#/login")
    screenshot(page, "mobile-login")
    page.get_by_label("Username").fill(bob.username)
    page.get_by_label("Password").fill(bob.password)
    page.get_by_role("button", name="Log in").click()
    card = articles(page, "Morning")
    expect(card).to_have_count(1)

    # Then there is one column: navigation at the bottom, no sidebar, nothing wider than the screen
    nav = page.get_by_role("navigation", name="Main")
    box = nav.bounding_box()
    assert box is not None and box["y"] > 844 - 100
    expect(page.get_by_role("region", name="Trends")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # And the mention, link and hashtag are links
    expect(card.get_by_role("link", name=f"@{bob.username}")).to_have_attribute("href", f"#/u/{bob.username}")
    expect(card.get_by_role("link", name="example.com/notes")).to_have_attribute("href", "https://example.com/notes")
    expect(card.get_by_role("link", name="#standup")).to_be_visible()
    screenshot(page, "mobile-home")

    # When he opens Explore, Then trends are shown there instead of in a sidebar
    nav.get_by_role("link", name="Explore").click()
    expect(page.get_by_role("heading", name="Explore")).to_be_visible()
    expect(page.get_by_role("region", name="Trends")).to_be_visible()
    screenshot(page, "mobile-explore")

"""The mapping of Chirp's objects to Mastodon's entities: content HTML, reblogs, notification types, scopes and the
pagination Link header (pure functions; the handler tests drive them through the API)."""

from __future__ import annotations

from typing import Any

from chirp import api_models as api
from chirp.mastodon import entities, scopes
from chirp.mastodon.html import content_html
from chirp.mastodon.pagination import Page, link_header

BASE = "https://social.example"


def _tweet(**overrides: Any) -> api.Tweet:
    tweet: api.Tweet = {
        "tweet_id": "400000000000000000",
        "user_id": "300000000000000000",
        "username": "ann",
        "display_name": "Ann",
        "avatar_url": None,
        "content": "hi",
        "created_at": "2026-11-30T12:00:00.000Z",
        "likes_count": 2,
        "retweets_count": 1,
        "replies_count": 0,
        "media_urls": [],
        "media": [],
        "hashtags": [],
        "mentions": [],
        "urls": [],
        "reply_to": None,
        "quote_tweet": None,
        "liked_by_user": True,
        "retweeted_by_user": False,
        "retweet_of": None,
    }
    return {**tweet, **overrides}  # type: ignore[typeddict-item]


def test_content_escapes_first_and_links_only_what_the_text_rules_found() -> None:
    html = content_html(
        "a<script>x</script> @Bob @nobody #Tag #2024 https://x.example/a?b=1&c=2). line\ntwo",
        base_url=BASE,
        mentions=["bob"],
        hashtags=["tag"],
        urls=["https://x.example/a?b=1&c=2"],
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert f'<a href="{BASE}/@Bob" class="u-url mention">@<span>Bob</span></a>' in html
    assert "@nobody" in html and "@<span>nobody" not in html  # not a mention the tweet has
    assert f'href="{BASE}/tags/tag"' in html and "#2024" in html and "#<span>2024" not in html
    assert '<a href="https://x.example/a?b=1&amp;c=2" rel="nofollow noopener noreferrer" target="_blank">' in html
    assert "</a>). line<br />two</p>" in html


def test_a_retweet_entry_is_a_reblog_of_the_original() -> None:
    original = _tweet(tweet_id="400000000000000001", content="the original")
    entry = _tweet(tweet_id="400000000000000002", username="cal", content="", retweet_of=original)
    status = entities.status(entry, base_url=BASE)
    assert status["id"] == "400000000000000002" and status["account"]["username"] == "cal"
    assert status["content"] == "" and status["reblog"]["id"] == "400000000000000001"
    assert status["reblog"]["content"] == "<p>the original</p>"
    assert status["favourited"] is True and status["favourites_count"] == 2


def test_notification_types_in_mastodons_words() -> None:
    for chirp_type, mastodon_type in [("like", "favourite"), ("retweet", "reblog"), ("reply", "mention")]:
        note: api.Notification = {
            "notification_id": "500000000000000000",
            "type": chirp_type,  # type: ignore[typeddict-item]
            "actor": {"user_id": "300000000000000001", "username": "dee"},
            "tweet_id": None,
            "created_at": "2026-11-30T12:00:00.000Z",
            "read": False,
        }
        rendered = entities.notification(note, base_url=BASE)
        assert rendered["type"] == mastodon_type and rendered["account"]["acct"] == "dee"


def test_scopes_cover_granular_top_level_and_legacy_follow() -> None:
    assert scopes.covers(["read"], "read:statuses")
    assert scopes.covers(["read:statuses"], "read:statuses")
    assert not scopes.covers(["read:accounts"], "read:statuses")
    assert scopes.covers(["follow"], "write:follows") and not scopes.covers(["follow"], "write:statuses")
    assert not scopes.covers(["write"], "read:notifications")
    assert scopes.unknown(scopes.parse("read admin:write")) == ["admin:write"]


def test_link_header_keeps_other_parameters_and_replaces_the_paging_ones() -> None:
    page = Page(items=[], next_max_id="10", prev_min_id="20")
    link = link_header(f"{BASE}/api/v1/timelines/home", {"limit": "2", "max_id": "99", "local": "true"}, page)
    assert link == (
        f'<{BASE}/api/v1/timelines/home?limit=2&local=true&max_id=10>; rel="next", '
        f'<{BASE}/api/v1/timelines/home?limit=2&local=true&min_id=20>; rel="prev"'
    )
    assert link_header(BASE, {}, Page(items=[])) is None

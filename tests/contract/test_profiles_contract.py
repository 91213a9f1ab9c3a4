"""Contract of what profiles and account deletion ask of the record ports — editing and deleting users, a user's
likes newest like first, forgetting a user's bookmarks and notifications — on the embedded SQLite adapters and the
Keyspaces adapters on a real Cassandra (the builders and fixture are the records contract's)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from contract.held_keyspace import HeldKeyspace, held_keyspace
from contract.test_records_contract import Records, fresh_user, notification

from chirp.adapters.embedded.records import (
    RecordsDatabase,
    SqliteEngagementStore,
    SqliteMediaCatalog,
    SqliteNotificationStore,
    SqliteTweetStore,
    SqliteUserStore,
)
from chirp.errors import ValidationFailed
from chirp.ids import new_id
from chirp.model import now_ms


@pytest.fixture(scope="module")
def cassandra_holder() -> Iterator[HeldKeyspace]:
    yield from held_keyspace("profiles")


@pytest.fixture
def records(backend: str, server_set: Any, tmp_path: Path, cassandra_holder: HeldKeyspace) -> Records:
    if backend == "embedded":
        db = RecordsDatabase(tmp_path / "records.db")
        return Records(
            users=SqliteUserStore(db),
            tweets=SqliteTweetStore(db),
            engagement=SqliteEngagementStore(db),
            notifications=SqliteNotificationStore(db),
            media=SqliteMediaCatalog(db),
        )
    kb = cassandra_holder.backend(server_set)
    return Records(
        users=kb.users, tweets=kb.tweets, engagement=kb.engagement, notifications=kb.notifications, media=kb.media
    )


def test_an_update_changes_the_profile_fields_and_keeps_the_identity(records: Records) -> None:
    user = fresh_user()
    records.users.create(user)
    edited = replace(
        user,
        email=user.email.lower(),
        display_name="Ada 👩🏽‍💻",
        bio="Analytical engines\nand poetry",
        avatar_media_id="m-123",
        place="GB",
        password_hash="scrypt$new",
        token_version=3,
    )
    records.users.update(edited)
    assert records.users.get(user.user_id) == edited
    assert records.users.get_by_username(user.username.upper()) == edited
    # Back to no avatar and worldwide
    cleared = replace(edited, avatar_media_id="", place=None)
    records.users.update(cleared)
    assert records.users.get_many([user.user_id]) == {user.user_id: cleared}


def test_a_new_user_has_no_avatar_no_place_and_token_version_zero(records: Records) -> None:
    user = fresh_user()
    records.users.create(user)
    found = records.users.get(user.user_id)
    assert found is not None
    assert (found.avatar_media_id, found.place, found.token_version) == ("", None, 0)


def test_updating_a_user_that_does_not_exist_creates_nothing(records: Records) -> None:
    ghost = fresh_user()
    records.users.update(ghost)
    assert records.users.get(ghost.user_id) is None
    assert records.users.get_by_username(ghost.username) is None


def test_delete_removes_the_user_and_frees_username_and_email(records: Records) -> None:
    user, other = fresh_user(), fresh_user()
    records.users.create(user)
    records.users.create(other)
    records.users.delete(user)
    records.users.delete(user)  # a redelivered deletion changes nothing
    assert records.users.get(user.user_id) is None
    assert records.users.get_by_username(user.username) is None
    assert records.users.get_many([user.user_id, other.user_id]).keys() == {other.user_id}
    # The name and the address can be taken again, by a new account
    again = fresh_user(username=user.username.upper(), email=user.email)
    records.users.create(again)
    assert records.users.get_by_username(user.username) == replace(again, email=again.email.lower())


def test_likes_page_newest_like_first_across_pages_and_ties(records: Records) -> None:
    user, other = new_id(), new_id()
    tweets = [new_id() for _ in range(7)]
    base = now_ms()
    # Liked out of tweet order; two likes share a millisecond (the page boundary falls between them)
    times = [base + 50, base + 10, base + 30, base + 30, base + 20, base + 60, base + 40]
    for tweet_id, at in zip(tweets, times, strict=True):
        assert records.engagement.add_like(tweet_id, user, at) is True
    records.engagement.add_like(tweets[0], other, base)
    assert records.engagement.add_like(tweets[0], user, base + 99) is False  # a repeat keeps the first like's time
    expected = [t for _, t in sorted(zip(times, tweets, strict=True), key=lambda p: (p[0], p[1]), reverse=True)]
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(5):
        page = records.engagement.likes_page(user, cursor=cursor, limit=2)
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected
    assert records.engagement.likes_page(other, cursor=None, limit=10).items == [tweets[0]]
    # An unlike takes the tweet off the tab; the others keep their order
    assert records.engagement.remove_like(tweets[5], user) is True
    assert records.engagement.remove_like(tweets[5], user) is False
    assert records.engagement.likes_page(user, cursor=None, limit=10).items == [t for t in expected if t != tweets[5]]
    assert records.engagement.likes_page(new_id(), cursor=None, limit=10).items == []


def test_a_malformed_likes_cursor_is_a_validation_error(records: Records) -> None:
    for bad in ("abc", "12", "1:x"):
        with pytest.raises(ValidationFailed):
            records.engagement.likes_page(new_id(), cursor=bad, limit=5)


def test_bulk_loaded_likes_are_on_the_likers_tabs(records: Records) -> None:
    user = new_id()
    tweets = [new_id() for _ in range(3)]
    base = now_ms()
    records.engagement.bulk_load_likes([(t, user, base + i) for i, t in enumerate(tweets)])
    assert records.engagement.likes_page(user, cursor=None, limit=10).items == list(reversed(tweets))


def test_forget_bookmarks_drops_only_that_users(records: Records) -> None:
    user, other = new_id(), new_id()
    tweet_id = new_id()
    records.engagement.add_bookmark(user, tweet_id, now_ms())
    records.engagement.add_bookmark(other, tweet_id, now_ms())
    records.engagement.forget_bookmarks(user)
    records.engagement.forget_bookmarks(user)
    assert records.engagement.bookmark_ids(user, before=None, limit=10) == []
    assert records.engagement.bookmarked_by(other, [tweet_id]) == {tweet_id}


def test_forget_user_drops_that_users_notifications_and_unread_count(records: Records) -> None:
    user, other = new_id(), new_id()
    records.notifications.add(notification(user, "like:1:2"))
    records.notifications.add(notification(user, "follow:3"))
    records.notifications.add(notification(other, "like:1:2"))
    records.notifications.forget_user(user)
    records.notifications.forget_user(user)
    assert records.notifications.page(user, before=None, limit=10) == []
    assert records.notifications.unread_count(user) == 0
    assert records.notifications.unread_count(other) == 1


def test_forget_likes_counts_each_like_down_once_in_batches(records: Records) -> None:
    user, other = new_id(), new_id()
    tweets = [new_id() for _ in range(5)]
    base = now_ms()
    for i, tweet_id in enumerate(tweets):
        records.engagement.add_like(tweet_id, user, base + i)
        records.engagement.add_like(tweet_id, other, base + i)
    records.engagement.forget_tweet(tweets[0])  # a liked tweet deleted since: its like leaves no count to move
    counted, more = records.engagement.forget_likes(user, limit=3)
    assert (counted, more) == ([tweets[4], tweets[3], tweets[2]], True)
    counted, more = records.engagement.forget_likes(user, limit=3)
    assert (counted, more) == ([tweets[1]], False)
    assert records.engagement.forget_likes(user, limit=3) == ([], False)  # a redelivery changes nothing
    assert records.engagement.likes_page(user, cursor=None, limit=10).items == []
    assert records.engagement.liked_by(user, tweets) == set()
    counts = records.engagement.counts(tweets[1:])
    assert {t: c.likes for t, c in counts.items()} == dict.fromkeys(tweets[1:], 1)  # the other user's likes stay

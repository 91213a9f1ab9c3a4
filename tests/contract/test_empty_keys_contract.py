"""Empty string keys, on every record, graph and search port method that takes a string key, behave the same on
every adapter and never reach a store as a store error (Cassandra refuses an empty partition key: "Key may not be
empty", which the servers backend once answered as a 500 on ``POST /auth/login`` with an empty username).

The rule (``chirp.ports.require_keys`` / ``present_keys``): a lookup by an empty key names nothing (None, an empty
result, the first page); a write with an empty key is refused with ``ValidationFailed`` (400) before any store is
touched, so nothing is half-written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contract import test_graph_contract, test_search_contract
from contract.held_keyspace import HeldKeyspace, held_keyspace

from chirp.adapters.embedded.records import (
    RecordsDatabase,
    SqliteMediaCatalog,
    SqliteNotificationStore,
    SqliteUserStore,
)
from chirp.errors import ValidationFailed
from chirp.ids import new_id
from chirp.model import MediaRecord, NotificationRecord, NotificationType, UserRecord, now_ms
from chirp.ports import GraphStore, SearchIndex

# The stores as the graph and search suites build them (as production configures them).
graph = test_graph_contract.graph
index = test_search_contract.index


@pytest.fixture(scope="module")
def keyspace_holder() -> Iterator[HeldKeyspace]:
    yield from held_keyspace("emptykeys")


@pytest.fixture
def records(backend: str, server_set: Any, tmp_path: Path, keyspace_holder: HeldKeyspace) -> dict[str, Any]:
    if backend == "embedded":
        db = RecordsDatabase(tmp_path / "records.db")
        return {
            "users": SqliteUserStore(db),
            "notifications": SqliteNotificationStore(db),
            "media": SqliteMediaCatalog(db),
        }
    kb = keyspace_holder.backend(server_set)
    return {"users": kb.users, "notifications": kb.notifications, "media": kb.media}


def user(**overrides: Any) -> UserRecord:
    tag = uuid.uuid4().hex[:10]
    fields: dict[str, Any] = {
        "user_id": new_id(),
        "username": f"u_{tag}",
        "email": f"{tag}@example.com",
        "display_name": "Empty Keys",
        "password_hash": "scrypt$abc",
        "created_at_ms": now_ms(),
    }
    return UserRecord(**(fields | overrides))


def media(media_id: str) -> MediaRecord:
    return MediaRecord(
        media_id=media_id, owner_id=new_id(), content_type="image/png", size=10, key=f"m/{media_id}", created_at_ms=1
    )


# ---- records -------------------------------------------------------------------------------------------------------


def test_a_user_looked_up_by_an_empty_username_is_absent(records: dict[str, Any]) -> None:
    assert records["users"].get_by_username("") is None


@pytest.mark.parametrize("field", ["username", "email"])
def test_a_user_with_an_empty_username_or_email_is_refused_and_nothing_is_written(
    records: dict[str, Any], field: str
) -> None:
    refused = user(**{field: ""})
    with pytest.raises(ValidationFailed):
        records["users"].create(refused)
    assert records["users"].get(refused.user_id) is None
    # nothing was claimed: the same username (or email) with a proper partner key is free
    fresh = user()
    records["users"].create(user(username=refused.username or fresh.username, email=refused.email or fresh.email))


def test_a_bulk_load_with_an_empty_username_is_refused(records: dict[str, Any]) -> None:
    refused = user(username="")
    with pytest.raises(ValidationFailed):
        records["users"].bulk_load_users([user(), refused])
    assert records["users"].get(refused.user_id) is None


def test_media_with_an_empty_id_is_refused_and_an_empty_id_names_nothing(records: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        records["media"].create(media(""))
    real = uuid.uuid4().hex
    records["media"].create(media(real))
    assert records["media"].get_many([""]) == {}
    assert set(records["media"].get_many(["", real, ""])) == {real}


def test_a_notification_with_an_empty_dedupe_key_is_refused(records: dict[str, Any]) -> None:
    owner = new_id()
    refused = NotificationRecord(
        notification_id=new_id(),
        user_id=owner,
        type=NotificationType.LIKE,
        actor_id=new_id(),
        actor_username="actor",
        tweet_id=new_id(),
        created_at_ms=now_ms(),
        dedupe_key="",
    )
    with pytest.raises(ValidationFailed):
        records["notifications"].add(refused)
    assert records["notifications"].page(owner, before=None, limit=10) == []
    assert records["notifications"].unread_count(owner) == 0


# ---- graph ---------------------------------------------------------------------------------------------------------


def test_an_empty_graph_cursor_is_the_first_page(graph: GraphStore) -> None:
    star, fan = new_id(), new_id()
    graph.follow(fan, star, 1)
    assert graph.followers_page(star, cursor="", limit=10).items == [fan]
    assert graph.following_page(fan, cursor="", limit=10).items == [star]


# ---- search --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "@", " "])
def test_a_user_search_for_an_empty_prefix_finds_nobody(index: SearchIndex, prefix: str) -> None:
    index.index_users([user()])
    index.refresh()
    assert index.search_users(prefix, limit=10) == []

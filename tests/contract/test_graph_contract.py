"""GraphStore contract: the embedded SQLite adapter and the Neptune adapter (on TinkerPop Gremlin Server +
TinkerGraph) must behave the same. Every test draws fresh user ids, so tests share one graph server safely."""

from __future__ import annotations

import itertools
import secrets
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chirp.adapters.embedded.graph import SqliteGraphStore
from chirp.adapters.neptune import NeptuneGraphStore
from chirp.local.servers.harness import DUMMY_CREDENTIALS
from chirp.model import SafetySets
from chirp.ports import GraphStore, StoreUnavailable

NewIds = Callable[[int], list[int]]


@pytest.fixture
def graph(backend: str, server_set: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphStore]:
    if backend == "embedded":
        yield SqliteGraphStore(tmp_path / "graph.db")
        return
    # As production connects to Neptune with IAM auth: wss, every upgrade SigV4-signed with the credentials of the
    # default chain (here the stand-in's, from the environment, like a Lambda role's), reads on the reader endpoint
    # (the same server here: one Gremlin Server, so the suite sees both connections behave the same).
    ep = server_set.endpoint("gremlin")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_CREDENTIALS["aws_secret_access_key"])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    store = NeptuneGraphStore(
        ep.url,
        reader_url=ep.url.replace("127.0.0.1", "localhost"),
        iam_auth=True,
        region=ep.extra["region"],
        ca_file=ep.extra["ca_file"],
    )
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def new_ids() -> NewIds:
    """Fresh user ids, above 2**31 (snowflake-sized: they must survive as longs) and unique per test."""
    counter = itertools.count((secrets.randbits(30) << 30) + 2**40)

    def take(n: int) -> list[int]:
        return [next(counter) for _ in range(n)]

    return take


def all_pages(fetch: Callable[[str | None], Any]) -> list[int]:
    items: list[int] = []
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        items.extend(page.items)
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


def test_follow_is_idempotent_and_counts_are_exact(graph: GraphStore, new_ids: NewIds) -> None:
    alice, bob = new_ids(2)
    assert graph.counts(alice) == (0, 0)
    assert graph.follow(alice, bob, 1_000) is True
    assert graph.follow(alice, bob, 2_000) is False  # re-delivery: no second edge, no second count
    assert graph.counts(alice) == (0, 1)
    assert graph.counts(bob) == (1, 0)
    assert graph.followers_page(bob, cursor=None, limit=10).items == [alice]
    assert graph.following_page(alice, cursor=None, limit=10).items == [bob]


def test_unfollow_removes_the_edge_once(graph: GraphStore, new_ids: NewIds) -> None:
    alice, bob, carol = new_ids(3)
    assert graph.unfollow(alice, bob) is False  # never followed: nothing to remove, counts untouched
    graph.follow(alice, bob, 1_000)
    graph.follow(carol, bob, 1_001)
    assert graph.unfollow(alice, bob) is True
    assert graph.unfollow(alice, bob) is False
    assert graph.counts(alice) == (0, 0)
    assert graph.counts(bob) == (1, 0)
    assert graph.followers_page(bob, cursor=None, limit=10).items == [carol]
    assert graph.following_among(alice, [bob]) == set()
    assert graph.following_page(alice, cursor=None, limit=10).items == []


def test_refollow_after_unfollow_is_new_and_newest(graph: GraphStore, new_ids: NewIds) -> None:
    star, a, b = new_ids(3)
    graph.follow(a, star, 1_000)
    graph.follow(b, star, 2_000)
    graph.unfollow(a, star)
    assert graph.follow(a, star, 3_000) is True
    assert graph.followers_page(star, cursor=None, limit=10).items == [a, b]
    assert graph.counts(star) == (2, 0)


def test_counts_stay_exact_through_a_mix_of_follows_and_unfollows(graph: GraphStore, new_ids: NewIds) -> None:
    star, *fans = new_ids(13)
    for i, fan in enumerate(fans):
        assert graph.follow(fan, star, 10_000 + i) is True
        assert graph.follow(fan, star, 20_000 + i) is False
    for fan in fans[:5]:
        assert graph.unfollow(fan, star) is True
    for fan in fans[:2]:
        assert graph.follow(fan, star, 30_000) is True
    assert graph.counts(star) == (9, 0)
    assert all(graph.counts(fan) == (0, 1) for fan in fans[:2] + fans[5:])
    assert all(graph.counts(fan) == (0, 0) for fan in fans[2:5])
    assert sorted(all_pages(lambda c: graph.followers_page(star, cursor=c, limit=4))) == sorted(fans[:2] + fans[5:])


def test_follower_counts_batch(graph: GraphStore, new_ids: NewIds) -> None:
    a, b, c, nobody = new_ids(4)
    graph.follow(a, b, 1)
    graph.follow(c, b, 2)
    graph.follow(b, a, 3)
    graph.follow(c, a, 4)
    graph.unfollow(c, a)
    assert graph.follower_counts([a, b, c, nobody, b]) == {a: 1, b: 2, c: 0, nobody: 0}
    assert graph.follower_counts([]) == {}


def test_self_follow_counts_on_both_sides(graph: GraphStore, new_ids: NewIds) -> None:
    (me,) = new_ids(1)
    assert graph.follow(me, me, 1) is True
    assert graph.counts(me) == (1, 1)
    assert graph.unfollow(me, me) is True
    assert graph.counts(me) == (0, 0)


def test_followers_page_is_newest_first_across_pages(graph: GraphStore, new_ids: NewIds) -> None:
    star, *fans = new_ids(8)
    for i, fan in enumerate(fans):
        graph.follow(fan, star, 1_000 + i)
    newest_first = list(reversed(fans))
    first = graph.followers_page(star, cursor=None, limit=3)
    assert first.items == newest_first[:3]
    assert first.has_more
    second = graph.followers_page(star, cursor=first.next_cursor, limit=3)
    assert second.items == newest_first[3:6]
    third = graph.followers_page(star, cursor=second.next_cursor, limit=3)
    assert third.items == newest_first[6:]
    assert third.next_cursor is None


def test_a_page_that_ends_exactly_at_the_last_item_has_no_cursor(graph: GraphStore, new_ids: NewIds) -> None:
    star, a, b = new_ids(3)
    graph.follow(a, star, 1)
    graph.follow(b, star, 2)
    page = graph.followers_page(star, cursor=None, limit=2)
    assert page.items == [b, a]
    assert page.next_cursor is None


def test_paging_is_stable_while_follows_arrive_and_leave(graph: GraphStore, new_ids: NewIds) -> None:
    star, *fans = new_ids(12)
    early, late = fans[:8], fans[8:]
    for i, fan in enumerate(early):
        graph.follow(fan, star, 1_000 + i)
    first = graph.followers_page(star, cursor=None, limit=3)
    assert first.items == early[::-1][:3]
    # Between pages: new follows arrive (newer than anything paged so far) and one not-yet-paged fan leaves.
    for i, fan in enumerate(late):
        graph.follow(fan, star, 2_000 + i)
    graph.unfollow(early[0], star)
    rest = all_pages(lambda c: graph.followers_page(star, cursor=c or first.next_cursor, limit=3))
    assert rest == early[::-1][3:7]  # no duplicates of page one, nothing skipped, the new follows not mixed in
    assert graph.followers_page(star, cursor=None, limit=3).items == late[::-1][:3]


def test_follows_at_the_same_millisecond_page_without_loss_or_duplicates(graph: GraphStore, new_ids: NewIds) -> None:
    star, *fans = new_ids(9)
    for fan in fans:
        graph.follow(fan, star, 5_000)
    pages: list[list[int]] = []
    cursor: str | None = None
    while True:
        page = graph.followers_page(star, cursor=cursor, limit=3)
        pages.append(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    seen = [fan for items in pages for fan in items]
    assert sorted(seen) == sorted(fans)
    assert [len(items) for items in pages] == [3, 3, 2]


def test_following_page_and_following_ids_are_newest_first(graph: GraphStore, new_ids: NewIds) -> None:
    me, *stars = new_ids(6)
    for i, star in enumerate(stars):
        graph.follow(me, star, 100 + i)
    assert all_pages(lambda c: graph.following_page(me, cursor=c, limit=2)) == stars[::-1]
    assert graph.following_ids(me, limit=3) == stars[::-1][:3]
    assert graph.following_ids(me, limit=100) == stars[::-1]
    graph.unfollow(me, stars[-1])
    assert graph.following_ids(me, limit=1) == [stars[-2]]


def test_empty_pages_and_unknown_users(graph: GraphStore, new_ids: NewIds) -> None:
    (ghost,) = new_ids(1)
    for page in (
        graph.followers_page(ghost, cursor=None, limit=10),
        graph.following_page(ghost, cursor=None, limit=10),
    ):
        assert page.items == []
        assert page.next_cursor is None
    assert graph.following_ids(ghost, limit=10) == []
    assert graph.following_among(ghost, []) == set()
    assert graph.followees_with_min_followers(ghost, 0, limit=10) == []
    assert graph.counts(ghost) == (0, 0)


def test_an_unreadable_cursor_starts_from_the_top(graph: GraphStore, new_ids: NewIds) -> None:
    star, a, b = new_ids(3)
    graph.follow(a, star, 1)
    graph.follow(b, star, 2)
    assert graph.followers_page(star, cursor="not-a-cursor", limit=10).items == [b, a]


def test_following_among(graph: GraphStore, new_ids: NewIds) -> None:
    me, a, b, c, d = new_ids(5)
    graph.follow(me, a, 1)
    graph.follow(me, c, 2)
    graph.follow(b, me, 3)  # the other direction does not count
    assert graph.following_among(me, [a, b, c, d, a]) == {a, c}
    assert graph.following_among(me, [b, d]) == set()
    assert graph.following_among(a, [me]) == set()


def test_following_among_many_candidates(graph: GraphStore, new_ids: NewIds) -> None:
    me, *others = new_ids(451)
    followed = others[::7]
    for i, other in enumerate(followed):
        graph.follow(me, other, i)
    assert graph.following_among(me, others) == set(followed)


def test_follower_ids_streams_every_follower_once_in_bounded_batches(graph: GraphStore, new_ids: NewIds) -> None:
    star, *fans = new_ids(23)
    for i, fan in enumerate(fans):
        graph.follow(fan, star, 1_000 + i % 3)  # some share a millisecond: no order is promised, none needed
    graph.follow(star, fans[0], 2_000)  # the other direction is not a follower
    graph.unfollow(fans[5], star)
    batches = list(graph.follower_ids(star, batch_size=4))
    assert all(1 <= len(batch) <= 4 for batch in batches)
    streamed = [fan for batch in batches for fan in batch]
    assert len(streamed) == len(set(streamed))
    assert set(streamed) == set(fans) - {fans[5]}
    assert [f for batch in graph.follower_ids(star, batch_size=100) for f in batch] != []
    assert len(list(graph.follower_ids(star, batch_size=100))) == 1


def test_follower_ids_of_a_user_nobody_follows_is_empty(graph: GraphStore, new_ids: NewIds) -> None:
    ghost, loner, other = new_ids(3)
    graph.follow(loner, other, 1)
    assert list(graph.follower_ids(ghost, batch_size=10)) == []
    assert list(graph.follower_ids(loner, batch_size=10)) == []


def test_followees_with_min_followers(graph: GraphStore, new_ids: NewIds) -> None:
    me, small, mid, big, fan1, fan2, fan3 = new_ids(7)
    graph.follow(me, big, 10)
    graph.follow(me, small, 11)
    graph.follow(me, mid, 12)
    for fan in (fan1, fan2, fan3):
        graph.follow(fan, big, 20)
    graph.follow(fan1, mid, 21)
    # followers: big 4, mid 2, small 1 -- newest follow of ``me`` first
    assert graph.followees_with_min_followers(me, 2, limit=10) == [mid, big]
    assert graph.followees_with_min_followers(me, 1, limit=10) == [mid, small, big]
    assert graph.followees_with_min_followers(me, 1, limit=2) == [mid, small]
    assert graph.followees_with_min_followers(me, 4, limit=10) == [big]
    assert graph.followees_with_min_followers(me, 5, limit=10) == []
    graph.unfollow(fan2, big)
    assert graph.followees_with_min_followers(me, 4, limit=10) == []
    assert graph.followees_with_min_followers(fan1, 2, limit=10) == [mid, big]


def test_following_with_follower_counts_in_one_read(graph: GraphStore, new_ids: NewIds) -> None:
    me, small, mid, big, fan1, fan2, fan3 = new_ids(7)
    graph.follow(me, big, 10)
    graph.follow(me, small, 11)
    graph.follow(me, mid, 12)
    for fan in (fan1, fan2, fan3):
        graph.follow(fan, big, 20)
    graph.follow(fan1, mid, 21)
    # newest follow of ``me`` first, each followee's exact follower count
    assert graph.following_with_follower_counts(me, limit=10) == [(mid, 2), (small, 1), (big, 4)]
    assert graph.following_with_follower_counts(me, limit=2) == [(mid, 2), (small, 1)]
    graph.unfollow(fan2, big)
    graph.unfollow(me, small)
    assert graph.following_with_follower_counts(me, limit=10) == [(mid, 2), (big, 3)]
    assert graph.following_with_follower_counts(fan3, limit=10) == [(big, 3)]
    (ghost,) = new_ids(1)
    assert graph.following_with_follower_counts(ghost, limit=10) == []


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_neptune_unreachable_raises_store_unavailable() -> None:
    """Adapter-specific (no embedded twin): a graph server that is not there is StoreUnavailable, not a crash."""
    store = NeptuneGraphStore(f"ws://127.0.0.1:{_closed_port()}/gremlin", timeout_s=5)
    try:
        with pytest.raises(StoreUnavailable):
            store.follow(1, 2, 3)
        with pytest.raises(StoreUnavailable):
            store.counts(1)
    finally:
        store.close()


def test_bulk_loaded_follows_page_and_count_like_follows(graph: GraphStore, new_ids: NewIds) -> None:
    star, me, early, *fans = new_ids(9)
    graph.follow(early, star, 100)
    at = dict(zip(fans, [1_003, 1_000, 1_005, 1_001, 1_004, 1_002], strict=True))  # given out of time order
    graph.bulk_load_follows([(fan, star, at[fan]) for fan in fans] + [(me, fans[0], 2_000), (me, star, 2_001)])
    newest_first = sorted(fans, key=lambda fan: at[fan], reverse=True)
    assert all_pages(lambda c: graph.followers_page(star, cursor=c, limit=3)) == [me, *newest_first, early]
    assert graph.counts(star) == (len(fans) + 2, 0)  # added to what the star had
    assert graph.counts(me) == (0, 2) and graph.counts(fans[0]) == (1, 1)
    assert graph.following_ids(me, limit=10) == [star, fans[0]]
    assert graph.following_among(me, [star, early, *fans]) == {star, fans[0]}
    assert graph.follower_counts([star, fans[0], early]) == {star: len(fans) + 2, fans[0]: 1, early: 0}
    assert graph.followees_with_min_followers(me, 2, limit=10) == [star]
    assert graph.follow(fans[1], star, 3_000) is False  # a loaded edge is an ordinary edge
    assert graph.unfollow(fans[1], star) is True
    assert graph.counts(star) == (len(fans) + 1, 0) and graph.counts(fans[1]) == (0, 0)
    graph.bulk_load_follows([])


# -- blocks, mutes and who to follow ---------------------------------------------------------------------------
def test_a_block_is_an_edge_seen_from_both_sides(graph: GraphStore, new_ids: NewIds) -> None:
    a, b, c = new_ids(3)
    assert graph.safety_sets(a, limit=100) == SafetySets()  # a user the graph has never seen
    assert graph.add_relation(a, b, "blocks", 1000) is True
    assert graph.add_relation(a, b, "blocks", 2000) is False  # idempotent
    assert graph.add_relation(a, c, "mutes", 3000) is True
    assert graph.safety_sets(a, limit=100) == SafetySets(blocking=frozenset({b}), muting=frozenset({c}))
    assert graph.safety_sets(b, limit=100) == SafetySets(blocked_by=frozenset({a}))
    assert graph.safety_sets(c, limit=100) == SafetySets(muted_by=frozenset({a}))


def test_relations_are_separate_from_follows_and_from_each_other(graph: GraphStore, new_ids: NewIds) -> None:
    a, b = new_ids(2)
    graph.follow(a, b, 1000)
    graph.add_relation(a, b, "mutes", 2000)
    assert graph.counts(b) == (1, 0)  # a mute moves no follow count
    assert graph.following_ids(a, limit=10) == [b]  # nor is it a follow
    assert graph.remove_relation(a, b, "blocks") is False  # a mute is not a block
    assert graph.remove_relation(a, b, "mutes") is True
    assert graph.remove_relation(a, b, "mutes") is False
    assert graph.safety_sets(a, limit=100) == SafetySets()
    assert graph.following_ids(a, limit=10) == [b]


def test_relation_ids_list_newest_first(graph: GraphStore, new_ids: NewIds) -> None:
    a, b, c, d = new_ids(4)
    graph.add_relation(a, b, "blocks", 1000)
    graph.add_relation(a, c, "blocks", 3000)
    graph.add_relation(a, d, "blocks", 2000)
    graph.add_relation(a, b, "mutes", 4000)
    assert graph.relation_ids(a, "blocks", limit=10) == [c, d, b]
    assert graph.relation_ids(a, "blocks", limit=2) == [c, d]
    assert graph.relation_ids(a, "mutes", limit=10) == [b]
    assert graph.relation_ids(b, "blocks", limit=10) == []


def test_suggestions_rank_by_followees_in_common(graph: GraphStore, new_ids: NewIds) -> None:
    me, f1, f2, f3, popular, niche, known = new_ids(7)
    for at, followee in enumerate((f1, f2, f3, known), start=1):
        graph.follow(me, followee, at)
    for f in (f1, f2, f3):
        graph.follow(f, popular, 100)
    graph.follow(f1, niche, 100)
    graph.follow(f2, known, 100)  # already followed: never suggested
    graph.follow(f3, me, 100)  # oneself: never suggested
    assert graph.suggestions(me, sample=10, limit=10) == [(popular, 3), (niche, 1)]
    assert graph.suggestions(me, sample=10, limit=1) == [(popular, 3)]


def test_suggestions_leave_out_blocks_either_way(graph: GraphStore, new_ids: NewIds) -> None:
    me, f1, blocked, blocker, fine = new_ids(5)
    graph.follow(me, f1, 1)
    for other in (blocked, blocker, fine):
        graph.follow(f1, other, 2)
    graph.add_relation(me, blocked, "blocks", 3)
    graph.add_relation(blocker, me, "blocks", 3)
    graph.add_relation(me, fine, "mutes", 3)  # a mute does not hide a suggestion
    assert graph.suggestions(me, sample=10, limit=10) == [(fine, 1)]


def test_suggestions_sample_only_the_newest_followees(graph: GraphStore, new_ids: NewIds) -> None:
    me, old, new, via_old, via_new = new_ids(5)
    graph.follow(me, old, 1000)
    graph.follow(me, new, 2000)
    graph.follow(old, via_old, 10)
    graph.follow(new, via_new, 10)
    assert graph.suggestions(me, sample=1, limit=10) == [(via_new, 1)]
    assert graph.suggestions(new_ids(1)[0], sample=10, limit=10) == []  # no followees, no suggestions

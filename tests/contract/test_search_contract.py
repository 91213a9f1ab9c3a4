"""SearchIndex contract: the embedded SQLite FTS5 adapter and the OpenSearch adapter (on a real OpenSearch node) must
behave the same. Each test gets its own index prefix on the shared server; ``settle`` forces the refresh that
OpenSearch otherwise does within its refresh interval (the embedded index is searchable at once)."""

from __future__ import annotations

import itertools
import secrets
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chirp.adapters.embedded.search import SqliteSearchIndex
from chirp.adapters.opensearch_index import REFRESH_INTERVAL, OpenSearchIndex
from chirp.ids import CHIRP_EPOCH_MS, TIME_SHIFT
from chirp.model import SearchHit, TweetRecord, UserRecord
from chirp.ports import SearchIndex, StoreUnavailable
from chirp.query import parse_query
from chirp.text import parse_tweet_text
from servers.fixtures import opensearch_index

_sequence = itertools.count(secrets.randbits(8))


@pytest.fixture
def index(backend: str, server_set: Any, tmp_path: Path) -> Iterator[SearchIndex]:
    if backend == "embedded":
        yield SqliteSearchIndex(tmp_path / "search.db")
        return
    search = opensearch_index(server_set.endpoint("opensearch"), prefix=f"ct{secrets.token_hex(6)}-tweets")
    search.ensure_setup()
    try:
        yield search
    finally:
        search.close()


def settle(index: SearchIndex) -> None:
    index.refresh()


def tid(when: datetime) -> int:
    """A tweet id minted at ``when`` (UTC); ids minted later are larger."""
    ms = int(when.timestamp() * 1000)
    return ((ms - CHIRP_EPOCH_MS) << TIME_SHIFT) | (next(_sequence) & 0x3FFFFF)


def at(day: str, hour: int = 12, minute: int = 0) -> datetime:
    y, m, d = (int(p) for p in day.split("-"))
    return datetime(y, m, d, hour, minute, tzinfo=UTC)


def tweet(tweet_id: int, content: str, *, username: str = "alice", user_id: int = 1) -> TweetRecord:
    text = parse_tweet_text(content)
    return TweetRecord(
        tweet_id=tweet_id,
        user_id=user_id,
        username=username,
        content=text.content,
        created_at_ms=(tweet_id >> TIME_SHIFT) + CHIRP_EPOCH_MS,
        hashtags=text.hashtags,
        mentions=text.mentions,
        urls=text.urls,
    )


Search = Callable[..., list[int]]


@pytest.fixture
def search(index: SearchIndex) -> Search:
    def run(raw: str, *, limit: int = 50, before: int | None = None, order: str = "recent") -> list[int]:
        return [hit.tweet_id for hit in index.search(parse_query(raw), limit=limit, before=before, order=order)]

    return run


def load(index: SearchIndex, *tweets: TweetRecord) -> list[int]:
    index.index_tweets(list(tweets))
    settle(index)
    return [t.tweet_id for t in tweets]


# --------------------------------------------------------------------------------------------------------- words


def test_words_must_all_match_newest_first(index: SearchIndex, search: Search) -> None:
    a, b, c, d = load(
        index,
        tweet(tid(at("2025-03-01")), "The quick brown fox"),
        tweet(tid(at("2025-03-02")), "a quick reply"),
        tweet(tid(at("2025-03-03")), "Quick! brown bread"),
        tweet(tid(at("2025-03-04")), "nothing to see"),
    )
    assert search("quick") == [c, b, a]
    assert search("QUICK brown") == [c, a]
    assert search("quick missing") == []
    assert search("see") == [d]


def test_words_match_whole_tokens_split_on_punctuation(index: SearchIndex, search: Search) -> None:
    a, b = load(
        index,
        tweet(tid(at("2025-03-01")), "don't panic, it's fine"),
        tweet(tid(at("2025-03-02")), "well-known snake_case words"),
    )
    assert search("don") == [a]
    assert search("panic") == [a]
    assert search("pan") == []  # no prefix matching
    assert search("known") == [b]
    assert search("snake") == [b]
    assert search("case") == [b]


def test_phrases_match_adjacent_words_in_order(index: SearchIndex, search: Search) -> None:
    a, b, c = load(
        index,
        tweet(tid(at("2025-03-01")), "the quick brown fox"),
        tweet(tid(at("2025-03-02")), "Quick, brown! and more"),
        tweet(tid(at("2025-03-03")), "brown quick"),
    )
    assert search('"quick brown"') == [b, a]
    assert search('"quick brown" fox') == [a]
    assert search('"brown fox"') == [a]
    assert search('"fox brown"') == []
    assert search('"the quick brown fox"') == [a]  # longer than a pair: every adjacent pair, in order
    assert search('"quick brown fox"') == [a]
    assert search('"the brown fox"') == []  # all three words in a, but not as a run
    assert search('"brown quick"') == [c]


def test_a_word_of_several_tokens_matches_them_adjacent(index: SearchIndex, search: Search) -> None:
    a, b = load(
        index,
        tweet(tid(at("2025-03-01")), "well-known snake_case words"),
        tweet(tid(at("2025-03-02")), "snake charmers and case files"),
    )
    assert search("snake_case") == [a]
    assert search('"known snake"') == [a]
    assert search("snake case") == [b, a]
    assert search("words -snake_case") == []
    assert search('snake -"snake case"') == [b]


# --------------------------------------------------------------------------------------------------------- tags


def test_hashtags_all_must_be_present_and_are_exact(index: SearchIndex, search: Search) -> None:
    a, b, c = load(
        index,
        tweet(tid(at("2025-03-01")), "launch day #Python #AWS"),
        tweet(tid(at("2025-03-02")), "more #python"),
        tweet(tid(at("2025-03-03")), "#pythonic is not #python's tag"),
    )
    assert search("#python") == [c, b, a]
    assert search("#PYTHON #aws") == [a]
    assert search("#pythonic") == [c]
    assert search("#pyth") == []
    assert search("python") == [c, b, a]  # the word in the text matches too ("#python's" has the word python)


def test_mentions_all_must_be_present(index: SearchIndex, search: Search) -> None:
    a, b, _ = load(
        index,
        tweet(tid(at("2025-03-01")), "hi @Bob and @carol"),
        tweet(tid(at("2025-03-02")), "hey @bob"),
        tweet(tid(at("2025-03-03")), "bob without the at"),
    )
    assert search("@bob") == [b, a]
    assert search("@BOB @carol") == [a]
    assert search("@dave") == []


def test_from_users_is_any_of_and_case_insensitive(index: SearchIndex, search: Search) -> None:
    a, b, c = load(
        index,
        tweet(tid(at("2025-03-01")), "one", username="Alice", user_id=1),
        tweet(tid(at("2025-03-02")), "two", username="bob", user_id=2),
        tweet(tid(at("2025-03-03")), "three", username="carol", user_id=3),
    )
    assert search("from:alice") == [a]
    assert search("from:ALICE from:bob") == [b, a]
    assert search("from:bob two") == [b]
    assert search("from:bob three") == []
    assert search("from:dave") == []
    assert c not in search("from:alice from:bob")


# --------------------------------------------------------------------------------------------------------- time


def test_since_is_inclusive_and_until_exclusive_across_months(index: SearchIndex, search: Search) -> None:
    jan_end = tid(at("2025-01-31", 23, 59))
    feb_first = tid(datetime(2025, 2, 1, tzinfo=UTC))  # exactly midnight
    feb_mid = tid(at("2025-02-15"))
    mar_first = tid(datetime(2025, 3, 1, tzinfo=UTC))
    apr = tid(at("2025-04-10"))
    load(index, *(tweet(i, "release notes") for i in (jan_end, feb_first, feb_mid, mar_first, apr)))
    assert search("release since:2025-02-01") == [apr, mar_first, feb_mid, feb_first]
    assert search("release until:2025-03-01") == [feb_mid, feb_first, jan_end]
    assert search("release since:2025-02-01 until:2025-03-01") == [feb_mid, feb_first]
    assert search("release since:2025-05-01") == []
    assert search("release until:2024-06-01") == []


# --------------------------------------------------------------------------------------------------------- exclusion


def test_excluded_words_phrases_and_hashtags(index: SearchIndex, search: Search) -> None:
    a, b, c, d = load(
        index,
        tweet(tid(at("2025-03-01")), "coffee with milk"),
        tweet(tid(at("2025-03-02")), "coffee black #morning"),
        tweet(tid(at("2025-03-03")), "coffee, milk later"),
        tweet(tid(at("2025-03-04")), "coffee with sugar"),
    )
    assert search("coffee -milk") == [d, b]
    assert search("coffee -milk -sugar") == [b]  # any excluded word excludes
    assert search('coffee -"with milk"') == [d, c, b]
    assert search("coffee -#morning") == [d, c, a]
    assert search("coffee -MILK -#Morning") == [d]


def test_excluded_authors_leave_every_order_and_page_full(index: SearchIndex) -> None:
    a, b, c, d, e = load(
        index,
        tweet(tid(at("2025-03-01")), "tea time #brew", username="alice", user_id=1),
        tweet(tid(at("2025-03-02")), "tea again #brew", username="bob", user_id=2),
        tweet(tid(at("2025-03-03")), "tea tea tea #brew", username="carol", user_id=3),
        tweet(tid(at("2025-03-04")), "more tea #brew", username="bob", user_id=2),
        tweet(tid(at("2025-03-05")), "tea for alice #brew", username="alice", user_id=1),
    )

    def found(
        raw: str, *, exclude: set[int], limit: int = 10, before: int | None = None, order: str = "recent"
    ) -> list[int]:
        query = parse_query(raw)
        hits = index.search(query, limit=limit, before=before, order=order, exclude_authors=frozenset(exclude))
        return [hit.tweet_id for hit in hits]

    assert found("tea", exclude=set()) == [e, d, c, b, a]
    assert found("tea", exclude={2}) == [e, c, a]
    assert found("tea", exclude={2}, limit=2) == [e, c]  # left out by the index: the page of 2 is full
    assert found("tea", exclude={2}, limit=2, before=c) == [a]
    assert found("#brew", exclude={1, 2}) == [c]
    assert found("from:bob", exclude={2}) == []
    assert found('"tea again"', exclude={1, 3}) == [b]
    ranked = found("tea", exclude={2, 99}, order="relevance")
    assert ranked[0] == c and set(ranked) == {a, c, e}  # carol's text scores highest; bob's tweets are out
    assert found("tea", exclude={1, 2, 3}, order="relevance") == []


# --------------------------------------------------------------------------------------------------------- order


def test_recent_pages_with_before(index: SearchIndex, search: Search) -> None:
    ids = load(index, *(tweet(tid(at("2025-03-01", 10, i)), f"paging item {i}") for i in range(7)))
    newest_first = ids[::-1]
    first = search("paging", limit=3)
    assert first == newest_first[:3]
    second = search("paging", limit=3, before=first[-1])
    assert second == newest_first[3:6]
    third = search("paging", limit=3, before=second[-1])
    assert third == newest_first[6:]
    assert search("paging", limit=3, before=third[-1]) == []
    assert search("paging", limit=3, before=newest_first[0] + 1) == newest_first[:3]


def test_recent_pages_with_filters_across_months_cover_every_match_once(index: SearchIndex, search: Search) -> None:
    """Cursor paging (``before`` = the last id of a page) combined with time, author and hashtag filters, over
    tweets in several monthly indices: the pages concatenate to the unpaged result, with no gaps and no repeats."""
    days = ["2025-01-30", "2025-01-31", "2025-02-01", "2025-02-14", "2025-02-28", "2025-03-01", "2025-03-02"]
    tweets = []
    for d, day in enumerate(days):
        for h in range(3):
            author = ("alice", 1) if (d + h) % 2 else ("bob", 2)
            tag = " #even" if (d * 3 + h) % 2 == 0 else ""
            tweets.append(
                tweet(tid(at(day, 8 + h)), f"cursor test {d} {h}{tag}", username=author[0], user_id=author[1])
            )
    load(index, *tweets)
    for raw in (
        "cursor",
        "cursor since:2025-01-31 until:2025-03-02",
        "from:alice cursor",
        "#even since:2025-02-01",
        "test -#even",
    ):
        everything = search(raw, limit=100)
        assert everything, raw
        pages: list[int] = []
        before = None
        while True:
            page = search(raw, limit=4, before=before)
            assert len(page) <= 4
            pages += page
            if len(page) < 4:
                break
            before = page[-1]
        assert pages == everything, raw
        assert len(set(pages)) == len(pages)


def test_before_outside_the_ids_in_the_index(index: SearchIndex, search: Search) -> None:
    a, b = load(index, tweet(tid(at("2025-03-01")), "bounds one"), tweet(tid(at("2025-03-02")), "bounds two"))
    assert search("bounds", before=2**63 - 1) == [b, a]  # the largest id a cursor can hold
    assert search("bounds", before=b) == [a]
    assert search("bounds", before=a) == []
    assert search("bounds", before=1) == []
    assert search("bounds", before=b, order="relevance") == [a]  # relevance order honours before too


def test_relevance_orders_by_text_score(index: SearchIndex) -> None:
    weak = tweet(tid(at("2025-03-03")), "a long tweet that mentions rust only once among many other words here")
    strong = tweet(tid(at("2025-03-01")), "rust rust rust")
    twin_old = tweet(tid(at("2025-03-02", 8)), "rust and go")
    twin_new = tweet(tid(at("2025-03-02", 9)), "rust and go")
    load(index, weak, strong, twin_old, twin_new)
    hits = index.search(parse_query("rust"), limit=10, before=None, order="relevance")
    assert [h.tweet_id for h in hits] == [strong.tweet_id, twin_new.tweet_id, twin_old.tweet_id, weak.tweet_id]
    assert all(h.text_score > 0 for h in hits)
    assert hits[0].text_score > hits[1].text_score == hits[2].text_score > hits[3].text_score
    recent = index.search(parse_query("rust"), limit=10, before=None, order="recent")
    assert [h.tweet_id for h in recent] == [weak.tweet_id, twin_new.tweet_id, twin_old.tweet_id, strong.tweet_id]
    assert all(h.text_score >= 0 for h in recent)  # recent order need not score (the embedded index skips it)


def test_relevance_without_text_is_recent_with_zero_scores(index: SearchIndex) -> None:
    a, b = load(index, tweet(tid(at("2025-03-01")), "x #tag"), tweet(tid(at("2025-03-02")), "y y y #tag"))
    hits = index.search(parse_query("#tag"), limit=10, before=None, order="relevance")
    assert hits == [SearchHit(tweet_id=b, text_score=0.0), SearchHit(tweet_id=a, text_score=0.0)]


def test_limit_is_respected(index: SearchIndex, search: Search) -> None:
    ids = load(index, *(tweet(tid(at("2025-03-01", 9, i)), "many") for i in range(12)))
    assert search("many", limit=5) == ids[::-1][:5]
    assert search("many", limit=5, order="relevance") == ids[::-1][:5]  # equal scores: newest first


# --------------------------------------------------------------------------------------------------------- writes


def test_indexing_is_idempotent(index: SearchIndex, search: Search) -> None:
    original = tweet(tid(at("2025-03-01")), "hello idempotent world")
    index.index_tweets([original])
    index.index_tweets([original])  # re-delivery
    index.index_tweets([original, original])  # twice in one batch
    settle(index)
    assert index.tweet_count() == 1
    assert search("idempotent") == [original.tweet_id]
    edited = tweet(original.tweet_id, "hello replaced words #fresh")
    load(index, edited)
    assert index.tweet_count() == 1
    assert search("idempotent") == []
    assert search("replaced #fresh") == [original.tweet_id]


def test_deleted_tweets_are_gone(index: SearchIndex, search: Search) -> None:
    a, b, c = load(
        index,
        tweet(tid(at("2025-01-15")), "ephemeral one #gone"),
        tweet(tid(at("2025-02-15")), "ephemeral two #gone"),
        tweet(tid(at("2025-03-15")), "ephemeral three"),
    )
    assert index.tweet_count() == 3
    index.delete_tweets([a, c])
    index.delete_tweets([a, tid(at("2025-06-01")), tid(at("2031-01-01"))])  # already gone / never indexed
    index.delete_tweets([])
    settle(index)
    assert search("ephemeral") == [b]
    assert search("#gone") == [b]
    assert index.tweet_count() == 1
    index.delete_tweets([b])
    settle(index)
    assert search("ephemeral") == []
    assert index.tweet_count() == 0


def test_empty_index(index: SearchIndex, search: Search) -> None:
    assert index.tweet_count() == 0
    assert search("anything") == []
    assert search("#tag @someone from:nobody") == []
    assert index.search_users("al", limit=10) == []
    index.index_tweets([])
    index.index_users([])
    assert index.tweet_count() == 0


def test_tweet_count_counts_documents(index: SearchIndex) -> None:
    load(index, *(tweet(tid(at(f"2025-0{m}-10")), f"month {m}") for m in range(1, 6)))
    assert index.tweet_count() == 5


# --------------------------------------------------------------------------------------------------------- unicode


def test_accents_and_case_fold(index: SearchIndex, search: Search) -> None:
    a, b, c = load(
        index,
        tweet(tid(at("2025-03-01")), "Déjà vu at the Café"),
        tweet(tid(at("2025-03-02")), "cafe au lait, naïve ÉCOLE"),
        tweet(tid(at("2025-03-03")), "Über München"),
    )
    assert search("cafe") == [b, a]
    assert search("CAFÉ") == [b, a]
    assert search("deja") == [a]
    assert search('"déjà vu"') == [a]
    assert search("école naive") == [b]
    assert search("uber munchen") == [c]
    assert search("ÜBER") == [c]


def test_emoji_and_non_latin_scripts(index: SearchIndex, search: Search) -> None:
    a, b, c = load(
        index,
        tweet(tid(at("2025-03-01")), "party🎉time 🚀 launch"),
        tweet(tid(at("2025-03-02")), "東京タワー 見学 #旅行"),
        tweet(tid(at("2025-03-03")), "Привет мир 👋"),
    )
    assert search("party") == [a]
    assert search("time launch") == [a]
    assert search("東京タワー") == [b]
    assert search("#旅行") == [b]
    assert search("привет МИР") == [c]
    assert search("мир -party") == [c]


# --------------------------------------------------------------------------------------------------------- users


def user(user_id: int, username: str, display_name: str) -> UserRecord:
    return UserRecord(
        user_id=user_id,
        username=username,
        email=f"{username}@example.com",
        display_name=display_name,
        password_hash="x",
        created_at_ms=0,
    )


def users_settled(index: SearchIndex, *users: UserRecord) -> None:
    index.index_users(list(users))
    settle(index)


def test_search_users_by_username_or_display_name_prefix(index: SearchIndex) -> None:
    users_settled(
        index,
        user(1, "alexander", "Alex the Great"),
        user(2, "Alex", "Someone Else"),
        user(3, "al", "Al Bundy"),
        user(4, "bob", "Álvaro Alto"),
        user(5, "zed", "Zed alpha"),
    )
    assert index.search_users("alex", limit=10) == [2, 1]  # exact username first, then shorter, then alphabetical
    assert index.search_users("AL", limit=10) == [3, 2, 1]
    assert index.search_users("@al", limit=2) == [3, 2]
    assert index.search_users("álv", limit=10) == [4]  # display names match case-insensitively, accents kept
    assert index.search_users("someone e", limit=10) == [2]
    assert index.search_users("alpha", limit=10) == []  # a prefix of the whole display name, not of a word
    assert index.search_users("  ", limit=10) == []
    assert index.search_users("nobody", limit=10) == []


def test_reindexing_a_user_replaces_the_names(index: SearchIndex) -> None:
    users_settled(index, user(7, "oldname", "Old Display"))
    users_settled(index, user(7, "newname", "Fresh Display"), user(7, "newname", "Fresh Display"))
    assert index.search_users("old", limit=10) == []
    assert index.search_users("new", limit=10) == [7]
    assert index.search_users("fresh", limit=10) == [7]


# --------------------------------------------------------------------------------------------------------- failures


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_opensearch_unreachable_raises_store_unavailable() -> None:
    """Adapter-specific (no embedded twin): a cluster that is not there is StoreUnavailable, not a crash."""
    search = OpenSearchIndex(f"http://127.0.0.1:{_closed_port()}", prefix="unreachable", timeout_s=2)
    with pytest.raises(StoreUnavailable):
        search.index_tweets([tweet(tid(at("2025-03-01")), "lost")])
    with pytest.raises(StoreUnavailable):
        search.search(parse_query("lost"), limit=10, before=None, order="recent")
    with pytest.raises(StoreUnavailable):
        search.tweet_count()


def test_opensearch_tweet_indices_are_sorted_newest_first(servers: Any) -> None:
    """Adapter-specific: each monthly index is sorted by tweet_id descending (what lets a recent-order search stop
    after a page of matches per segment), refreshes on its own interval, and indexes word pairs for phrases."""
    from chirp.local.servers.harness import opensearch_client

    ep = servers.endpoint("opensearch")
    prefix = f"ct{secrets.token_hex(6)}-tweets"
    search = opensearch_index(ep, prefix=prefix)
    admin = opensearch_client(ep, admin=True)
    try:
        tweet_id = tid(at("2025-03-01"))
        search.index_tweets([tweet(tweet_id, "sorted")])
        name = search.index_name(tweet_id)
        settings = admin.indices.get_settings(index=name)[name]["settings"]["index"]
        assert (settings["sort"]["field"], settings["sort"]["order"]) == ("tweet_id", "desc")
        assert settings["refresh_interval"] == REFRESH_INTERVAL
        mapping = admin.indices.get_mapping(index=name)[name]["mappings"]["properties"]
        assert mapping["tweet_id"]["type"] == "long"  # a numeric doc-value field: sort and search_after
        assert mapping["content"]["index_phrases"] is True
        assert admin.indices.exists_alias(name=prefix, index=name)
    finally:
        admin.close()
        search.close()


def test_opensearch_before_any_setup_reads_as_empty(servers: Any) -> None:
    """Adapter-specific: reads on a prefix whose alias and indices do not exist yet are empty, not errors; the first
    write sets the prefix up."""
    search = opensearch_index(servers.endpoint("opensearch"), prefix=f"ct{secrets.token_hex(6)}-tweets")
    try:
        assert search.tweet_count() == 0
        assert search.search(parse_query("nothing"), limit=10, before=None, order="relevance") == []
        assert search.search_users("no", limit=10) == []
        search.delete_tweets([tid(at("2025-03-01"))])
        first = tweet(tid(at("2025-03-01")), "first write")
        search.index_tweets([first])
        search.refresh()
        assert search.tweet_count() == 1
        assert [h.tweet_id for h in search.search(parse_query("first"), limit=10, before=None, order="recent")] == [
            first.tweet_id
        ]
    finally:
        search.close()


def test_a_reindexed_user_is_found_by_the_new_name_and_a_deleted_one_not_at_all(index: SearchIndex) -> None:
    users_settled(index, user(11, "ada", "Ada Lovelace"), user(12, "adam", "Adam Smith"))
    users_settled(index, user(11, "ada", "Countess"))  # a display-name change replaces the document
    assert index.search_users("lovel", limit=10) == []
    assert index.search_users("count", limit=10) == [11]
    index.delete_users([11, 99])
    index.delete_users([11])  # idempotent; unknown ids are ignored
    index.delete_users([])
    settle(index)
    assert index.search_users("ada", limit=10) == [12]
    assert index.search_users("count", limit=10) == []

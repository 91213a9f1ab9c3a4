"""The search query language."""

from datetime import UTC, datetime

import pytest

from chirp.errors import ValidationFailed
from chirp.query import parse_query


def test_every_operator_is_parsed() -> None:
    q = parse_query('machine "deep learning" #AI @Bob from:alice since:2026-01-01 until:2026-02-01 -spam -#ads')
    assert q.words == ["machine"]
    assert q.phrases == [["deep", "learning"]]
    assert q.hashtags == ["ai"]
    assert q.mentions == ["bob"]
    assert q.from_users == ["alice"]
    assert q.since == datetime(2026, 1, 1, tzinfo=UTC)
    assert q.until == datetime(2026, 2, 1, tzinfo=UTC)
    assert q.excluded_words == ["spam"]
    assert q.excluded_hashtags == ["ads"]


def test_an_unterminated_quote_is_a_phrase_to_the_end() -> None:
    assert parse_query('"open phrase here').phrases == [["open", "phrase", "here"]]


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "-onlyexcluded",
        "since:2026-13-01 word",
        "from:not-a-user",
        "word since:2026-02-01 until:2026-01-01",
        "x" * 501,
    ],
)
def test_invalid_queries_are_400s(raw: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_query(raw)


def test_punctuation_around_words_is_dropped() -> None:
    assert parse_query("hello, world!").words == ["hello", "world"]


@pytest.mark.parametrize("raw", ['""', "!!!", "\U000f2169", "#"])
def test_symbols_alone_are_a_query_that_matches_nothing(raw: str) -> None:
    assert parse_query(raw).unsearchable is True

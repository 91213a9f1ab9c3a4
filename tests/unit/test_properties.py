"""Property-based tests (Hypothesis) for the text rules and the search query parser."""

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from chirp.errors import ValidationFailed
from chirp.query import parse_query
from chirp.text import extract_hashtags, extract_mentions, has_visible_char, normalize, parse_tweet_text

any_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=400)


@given(any_text)
@settings(max_examples=400)
def test_any_text_is_accepted_iff_1_to_280_code_points_after_normalizing_and_visible(raw: str) -> None:
    normalized = normalize(raw)
    try:
        parsed = parse_tweet_text(raw)
    except ValidationFailed as err:
        assert err.code in ("content_empty", "content_too_long", "content_invisible")
        assert len(normalized) == 0 or len(normalized) > 280 or not has_visible_char(normalized)
    else:
        assert has_visible_char(parsed.content)
        assert parsed.content == normalized and 1 <= len(parsed.content) <= 280
        assert unicodedata.is_normalized("NFC", parsed.content)


@given(any_text)
def test_normalizing_is_idempotent(raw: str) -> None:
    assert normalize(normalize(raw)) == normalize(raw)


@given(any_text)
def test_extracted_terms_are_distinct_lowercase_and_present(raw: str) -> None:
    text = normalize(raw)
    tags, mentions = extract_hashtags(text), extract_mentions(text)
    assert len(tags) == len(set(tags)) and len(mentions) == len(set(mentions))
    assert all(tag == tag.casefold() and tag and not tag.isdigit() for tag in tags)
    assert all(m == m.lower() and m.lower() in text.lower() for m in mentions)


@given(st.lists(st.sampled_from(["#Tag", "@user_1", "word", " ", "#", "@", "x#y", "a@b.c", "\uff03全角"]), max_size=30))
def test_hashtags_found_are_in_the_text(parts: list[str]) -> None:
    text = "".join(parts)
    for tag in extract_hashtags(text):
        assert tag in unicodedata.normalize("NFC", text).casefold()


@given(st.text(max_size=600))
@settings(max_examples=600)
def test_any_query_parses_or_is_a_400(raw: str) -> None:
    try:
        query = parse_query(raw)
    except ValidationFailed as err:
        assert err.status == 400
    else:
        assert query.has_positive_terms or query.unsearchable
        assert all(w == w.casefold() for w in query.words)


operators = st.sampled_from(
    [
        "from:alice",
        "since:2026-01-01",
        "until:2026-12-31",
        "#ai",
        "@bob",
        '"a phrase"',
        "-spam",
        "-#ads",
        "word",
        "since:bad",
        "from:",
        '"',
        "-",
        "until:2026-02-30",
    ]
)


@given(st.lists(operators, min_size=1, max_size=8))
def test_operator_soup_parses_or_is_a_400(tokens: list[str]) -> None:
    try:
        parse_query(" ".join(tokens))
    except ValidationFailed as err:
        assert err.code == "invalid_query"

"""Tweet text rules: code-point length, normalization, extraction."""

import pytest

from chirp.errors import ValidationFailed
from chirp.text import extract_hashtags, extract_mentions, extract_urls, parse_tweet_text, validate_username


def test_length_is_counted_in_code_points_after_trimming() -> None:
    # Given 280 emoji (each one code point, two UTF-16 units) surrounded by whitespace
    text = "  " + "😀" * 280 + "\n"
    # When it is parsed
    parsed = parse_tweet_text(text)
    # Then it is accepted, trimmed
    assert parsed.content == "😀" * 280


def test_281_code_points_are_rejected() -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_tweet_text("a" * 281)
    assert err.value.code == "content_too_long"


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\x00\x01"])
def test_empty_content_is_rejected(text: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_tweet_text(text)
    assert err.value.code == "content_empty"


def test_combining_sequences_are_normalized_to_nfc() -> None:
    # "é" as e + combining accent (2 code points) becomes one code point
    assert parse_tweet_text("e\u0301").content == "\u00e9"


def test_hashtags_are_casefolded_distinct_and_ordered() -> None:
    assert extract_hashtags("#Python rocks #python #AWS_2024 #2024 mid#word (#café)") == ["python", "aws_2024", "café"]


def test_hashtags_inside_urls_are_ignored() -> None:
    assert extract_hashtags("see https://example.com/page#section and #real") == ["real"]


def test_mentions_are_lowercased_and_not_taken_from_emails() -> None:
    assert extract_mentions("hi @Alice and @bob_99, mail me at carol@example.com @alice") == ["alice", "bob_99"]


def test_urls_lose_trailing_punctuation() -> None:
    assert extract_urls("read https://chirp.dev/a?b=1. or (http://x.io/y)") == [
        "https://chirp.dev/a?b=1",
        "http://x.io/y",
    ]


@pytest.mark.parametrize("name", ["", "a" * 16, "bad name", "émile", "semi;colon"])
def test_invalid_usernames_are_rejected(name: str) -> None:
    with pytest.raises(ValidationFailed):
        validate_username(name)

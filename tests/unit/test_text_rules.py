"""Tweet text rules: code-point length, normalization, extraction."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chirp.errors import ValidationFailed
from chirp.text import (
    extract_hashtags,
    extract_mentions,
    extract_urls,
    has_visible_char,
    parse_tweet_text,
    validate_username,
)


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


INVISIBLE_SAMPLES = [
    "\u200b",  # zero-width space
    "\u200b\u200c\u200d\u2060",  # zero-width space, non-joiner, joiner, word joiner
    " \ufeff \u00a0 ",  # BOM and no-break spaces
    "\u202e\u2066\u2069",  # bidi override and isolates
    "\u00ad\u180e",  # soft hyphen, Mongolian vowel separator
    "\u3164\u115f\u1160\uffa0",  # Hangul fillers
    "\u2800\u2800",  # blank Braille cells
]


@pytest.mark.parametrize("text", INVISIBLE_SAMPLES)
def test_text_nobody_can_see_is_not_a_tweet(text: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_tweet_text(text)
    assert err.value.code in ("content_empty", "content_invisible")


@pytest.mark.parametrize("text", ["a\u200b", "\u200d😀", "\u0301", "ㅤ한", "\u2800⠁"])
def test_one_visible_character_is_enough(text: str) -> None:
    assert parse_tweet_text(text).content


def _invisible(code_point: int) -> bool:
    """Unicode's own definition: control, format, separator (or blank) characters and the fillers."""
    char = chr(code_point)
    fillers = {0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800}
    return unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp") or char.isspace() or code_point in fillers


def test_the_written_out_visible_pattern_is_unicodes_definition_on_every_bmp_code_point() -> None:
    # The pattern is spelled out for the OpenAPI document; recompute it from unicodedata so it cannot drift
    disagree = [
        hex(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF and has_visible_char(chr(c)) == _invisible(c)
    ]
    assert disagree == []


@given(st.text(alphabet=st.sampled_from("".join(INVISIBLE_SAMPLES) + " \t\n"), max_size=40))
def test_any_mix_of_invisible_characters_is_refused(text: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_tweet_text(text)


@given(st.text(max_size=20), st.characters(categories=["L", "N", "P", "S"]), st.text(max_size=20))
def test_any_text_with_a_letter_digit_punctuation_or_symbol_is_visible(before: str, char: str, after: str) -> None:
    assert has_visible_char(before + char + after) or char in "\u115f\u1160\u3164\uffa0\u2800"

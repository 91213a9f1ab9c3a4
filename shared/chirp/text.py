"""Tweet text rules: normalization, length in Unicode code points, hashtag / mention / URL extraction."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from chirp.errors import ValidationFailed

MAX_TWEET_CODE_POINTS = 280
USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
# Addresses are ASCII here (the same pattern is in the OpenAPI document, so client and server agree).
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
EMAIL_RE = re.compile(EMAIL_PATTERN)

# A hashtag starts after a non-word character (or the start) and is made of Unicode word characters; it must hold
# at least one non-digit (like Twitter: "#2024" is not a hashtag).
_HASHTAG_RE = re.compile(r"(?<![\w&#])[#\uff03](\w{1,100})")
_MENTION_RE = re.compile(r"(?<![\w@])[@\uff20]([A-Za-z0-9_]{1,15})(?![\w@])")
_URL_RE = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}'\""
# Control characters other than newline and tab are not text.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A character someone can see: not blank, not a control or format character (zero-width spaces and joiners, bidi
# marks, the soft hyphen ...), not a Hangul filler or the blank Braille cell. Unicode's Cc, Cf, Zs, Zl and Zp in the
# BMP plus those fillers, written out so that the OpenAPI document states the very pattern the server applies (JSON
# Schema's regex dialect has no Unicode classes); tests/unit/test_text_rules.py recomputes it from unicodedata.
VISIBLE_CHAR_PATTERN = (
    r"[^\u0000-\u0020\u007f-\u00a0\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u115f-\u1160\u1680"
    r"\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2064\u2066-\u206f\u2800\u3000\u3164\ufeff\uffa0\ufff9-\ufffb]"
)
_VISIBLE_RE = re.compile(VISIBLE_CHAR_PATTERN)


@dataclass(frozen=True, slots=True)
class TweetText:
    content: str
    hashtags: list[str]
    mentions: list[str]
    urls: list[str]


def normalize(raw: str) -> str:
    """NFC-normalize, drop control characters, trim surrounding whitespace."""
    return _CONTROL_RE.sub("", unicodedata.normalize("NFC", raw)).strip()


def has_visible_char(text: str) -> bool:
    """Whether ``text`` has a character someone can see (VISIBLE_CHAR_PATTERN)."""
    return _VISIBLE_RE.search(text) is not None


def code_points(text: str) -> int:
    return len(text)


def parse_tweet_text(raw: str) -> TweetText:
    """Validate and analyse tweet content; raises ValidationFailed when empty or longer than 280 code points."""
    content = normalize(raw)
    length = code_points(content)
    if length == 0:
        raise ValidationFailed("content must not be empty", code="content_empty")
    if not has_visible_char(content):
        raise ValidationFailed("content has no visible character, only invisible ones", code="content_invisible")
    if length > MAX_TWEET_CODE_POINTS:
        raise ValidationFailed(
            f"content is {length} characters; the limit is {MAX_TWEET_CODE_POINTS}", code="content_too_long"
        )
    return TweetText(
        content=content,
        hashtags=extract_hashtags(content),
        mentions=extract_mentions(content),
        urls=extract_urls(content),
    )


def normalize_hashtag(tag: str) -> str:
    return unicodedata.normalize("NFC", tag.lstrip("#\uff03")).casefold()


def extract_hashtags(text: str) -> list[str]:
    """Distinct hashtags in order of first appearance, case-folded, without '#'."""
    seen: dict[str, None] = {}
    without_urls = _URL_RE.sub(" ", text)
    for match in _HASHTAG_RE.finditer(without_urls):
        tag = match.group(1)
        if tag.isdigit() or tag.strip("_") == "":
            continue
        seen.setdefault(normalize_hashtag(tag), None)
    return list(seen)


def extract_mentions(text: str) -> list[str]:
    """Distinct mentioned usernames in order of first appearance, lower-cased, without '@'."""
    seen: dict[str, None] = {}
    without_urls = _URL_RE.sub(" ", text)
    for match in _MENTION_RE.finditer(without_urls):
        seen.setdefault(match.group(1).lower(), None)
    return list(seen)


def extract_urls(text: str) -> list[str]:
    urls: list[str] = []
    for match in _URL_RE.finditer(text):
        url = match.group(0).rstrip(_URL_TRAILING)
        if len(url) > len("https://") and url not in urls:
            urls.append(url)
    return urls


def normalize_username(raw: str) -> str:
    return raw.strip().lstrip("@").lower()


def validate_username(raw: str) -> str:
    """Usernames are 1-15 ASCII letters, digits or underscores; they are unique case-insensitively."""
    name = raw.strip()
    if not USERNAME_RE.fullmatch(name):
        raise ValidationFailed("username must be 1-15 letters, digits or underscores", code="invalid_username")
    return name

"""The search query language: words, "quoted phrases", #hashtag, @mention, from:user, since:/until:YYYY-MM-DD and
-excluded terms. Any input either parses into a SearchQuery or raises ValidationFailed (HTTP 400)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from chirp.errors import ValidationFailed
from chirp.text import USERNAME_RE, normalize, normalize_hashtag

MAX_QUERY_LENGTH = 500
_TOKEN_RE = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD_RE = re.compile(r"\w+")


@dataclass(slots=True)
class SearchQuery:
    words: list[str] = field(default_factory=list)
    phrases: list[list[str]] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    from_users: list[str] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    excluded_words: list[str] = field(default_factory=list)
    excluded_phrases: list[list[str]] = field(default_factory=list)
    excluded_hashtags: list[str] = field(default_factory=list)
    unsearchable: bool = False

    @property
    def has_positive_terms(self) -> bool:
        return bool(self.words or self.phrases or self.hashtags or self.mentions or self.from_users)

    def text_terms(self) -> list[str]:
        """Every word that should score text relevance (words and words of phrases)."""
        terms = list(self.words)
        for phrase in self.phrases:
            terms.extend(phrase)
        return terms


def words_of(text: str) -> list[str]:
    return [w.casefold() for w in _WORD_RE.findall(normalize(text))]


def _parse_day(value: str, operator: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{operator}: expects a date as YYYY-MM-DD", code="invalid_query") from None
    if len(value) != 10:
        raise ValidationFailed(f"{operator}: expects a date as YYYY-MM-DD", code="invalid_query")
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _username(value: str, operator: str) -> str:
    name = value.lstrip("@")
    if not USERNAME_RE.fullmatch(name):
        raise ValidationFailed(f"{operator} expects a username", code="invalid_query")
    return name.lower()


def parse_query(raw: str) -> SearchQuery:
    if len(raw) > MAX_QUERY_LENGTH:
        raise ValidationFailed(f"query is longer than {MAX_QUERY_LENGTH} characters", code="invalid_query")
    query = SearchQuery()
    for match in _TOKEN_RE.finditer(normalize(raw)):
        negated, phrase, token = match.group(1), match.group(2), match.group(3)
        if phrase is not None:
            words = words_of(phrase)
            if words:
                (query.excluded_phrases if negated else query.phrases).append(words)
            continue
        _add_token(query, token)
    operators = query.excluded_words or query.excluded_phrases or query.excluded_hashtags or query.since or query.until
    if not query.has_positive_terms and normalize(raw) and not operators:
        query.unsearchable = True  # only symbols or punctuation: nothing can match, which is an empty result
        return query
    if not query.has_positive_terms:
        raise ValidationFailed(
            "query needs at least one word, phrase, #hashtag, @mention or from:", code="invalid_query"
        )
    if query.since and query.until and query.since >= query.until:
        raise ValidationFailed("since: must be before until:", code="invalid_query")
    return query


def _add_token(query: SearchQuery, token: str) -> None:
    negated = token.startswith("-") and len(token) > 1
    body = token[1:] if negated else token
    lowered = body.lower()
    if lowered.startswith("from:"):
        query.from_users.append(_username(body[5:], "from:"))
    elif lowered.startswith("since:"):
        query.since = _parse_day(body[6:], "since:")
    elif lowered.startswith("until:"):
        query.until = _parse_day(body[6:], "until:")
    elif body.startswith(("#", "\uff03")) and len(body) > 1:
        words = _WORD_RE.findall(body[1:])
        if words:
            tag = normalize_hashtag(words[0])
            (query.excluded_hashtags if negated else query.hashtags).append(tag)
    elif body.startswith(("@", "\uff20")) and len(body) > 1 and not negated:
        words = _WORD_RE.findall(body[1:])
        if words and USERNAME_RE.fullmatch(words[0]):
            query.mentions.append(words[0].lower())
    else:
        for word in words_of(body):
            (query.excluded_words if negated else query.words).append(word)

"""Mastodon's pagination: ``max_id`` / ``since_id`` / ``min_id`` / ``limit`` in, an RFC 8288 ``Link`` header out
(``rel="next"`` to older items with max_id, ``rel="prev"`` to newer ones with min_id), which clients follow as they
are (Mastodon.py's fetch_next / fetch_previous)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

DEFAULT_LIMIT = 20
MAX_LIMIT = 40  # Mastodon's cap for statuses and notifications pages


@dataclass(frozen=True, slots=True)
class Paging:
    """A page request: ``max_id`` (older than), ``since_id`` / ``min_id`` (newer than), at most ``limit`` items.
    The ids are Chirp's (snowflakes) except for account lists, whose max_id carries the graph's opaque cursor."""

    max_id: str | None = None
    since_id: str | None = None
    min_id: str | None = None
    limit: int = DEFAULT_LIMIT

    @property
    def newer_than(self) -> str | None:
        return self.min_id or self.since_id


@dataclass(frozen=True, slots=True)
class Page:
    """One page's items (entities) and where its neighbours start: ``next_max_id`` for older items (None: the
    last page), ``prev_min_id`` for newer ones (None: no prev link)."""

    items: list[dict[str, object]]
    next_max_id: str | None = None
    prev_min_id: str | None = None


def link_header(url: str, query: Mapping[str, str], page: Page) -> str | None:
    """The ``Link`` header of a page at ``url`` asked with ``query`` (the other parameters are kept, the paging ones
    replaced); None when there is nothing to link to."""
    kept = {k: v for k, v in query.items() if k not in ("max_id", "since_id", "min_id")}
    links = []
    if page.next_max_id is not None:
        links.append(f'<{url}?{urlencode({**kept, "max_id": page.next_max_id})}>; rel="next"')
    if page.prev_min_id is not None:
        links.append(f'<{url}?{urlencode({**kept, "min_id": page.prev_min_id})}>; rel="prev"')
    return ", ".join(links) or None

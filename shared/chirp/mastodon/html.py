"""Status content as Mastodon clients expect it: safe HTML made from the plain text. Everything is escaped first;
only the mentions, hashtags and URLs that Chirp's own text rules found in the tweet (chirp.text) become links."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from chirp.text import normalize_hashtag

# Candidates only: a token becomes a link when the tweet's extracted lists hold it (one set of text rules).
_TOKEN_RE = re.compile(
    r"(?P<url>https?://[^\s<>\"]+)|(?<![\w@])[@\uff20](?P<mention>[A-Za-z0-9_]{1,15})(?![\w@])"
    r"|(?<![\w&#])[#\uff03](?P<tag>\w{1,100})",
    re.IGNORECASE,
)


def content_html(
    text: str,
    *,
    base_url: str,
    mentions: Sequence[str] = (),
    hashtags: Sequence[str] = (),
    urls: Sequence[str] = (),
    account_urls: Mapping[str, str] | None = None,
) -> str:
    """``text`` as one ``<p>`` of escaped HTML with line breaks, linking the given mentions (lower-case usernames),
    hashtags (case-folded) and URLs. ``account_urls`` maps a mentioned username to its profile URL (default:
    ``{base_url}/@username``)."""
    mentioned = {m.lower() for m in mentions}
    tags = set(hashtags)
    links = set(urls)
    out: list[str] = []
    pos = 0
    for match in _TOKEN_RE.finditer(text):
        found = _link(match, base_url, mentioned, tags, links, account_urls or {})
        if found is None:
            continue
        rendered, length = found
        out.append(_escape(text[pos : match.start()]))
        out.append(rendered)
        pos = match.start() + length
    out.append(_escape(text[pos:]))
    return "<p>" + "".join(out) + "</p>"


def _link(
    match: re.Match[str],
    base_url: str,
    mentioned: set[str],
    tags: set[str],
    links: set[str],
    account_urls: Mapping[str, str],
) -> tuple[str, int] | None:
    """The link for one candidate and how many characters of the text it covers; None: it stays text."""
    if (url := match.group("url")) is not None:
        trimmed = url.rstrip(".,;:!?)]}'\"")  # trailing punctuation ends the sentence, as chirp.text says
        if trimmed not in links:
            return None
        safe = html.escape(trimmed, quote=True)
        return f'<a href="{safe}" rel="nofollow noopener noreferrer" target="_blank">{safe}</a>', len(trimmed)
    if (name := match.group("mention")) is not None:
        if name.lower() not in mentioned:
            return None
        href = html.escape(account_urls.get(name.lower(), f"{base_url}/@{name}"), quote=True)
        link = f'<a href="{href}" class="u-url mention">@<span>{html.escape(name)}</span></a>'
        return f'<span class="h-card">{link}</span>', len(match.group(0))
    tag = match.group("tag")
    if tag is None or normalize_hashtag(tag) not in tags:
        return None
    href = html.escape(f"{base_url}/tags/{quote(normalize_hashtag(tag))}", quote=True)
    return f'<a href="{href}" class="mention hashtag" rel="tag">#<span>{html.escape(tag)}</span></a>', len(
        match.group(0)
    )


def _escape(text: str) -> str:
    return html.escape(text, quote=True).replace("\n", "<br />")

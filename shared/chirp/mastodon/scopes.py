"""OAuth scopes as Mastodon defines them (https://docs.joinmastodon.org/api/oauth-scopes/): what a client may ask
for, and whether a granted set covers the scope a route needs (``wiring.Route.scope``)."""

from __future__ import annotations

from collections.abc import Iterable

TOP_LEVEL = ("read", "write", "follow", "push", "profile")
_GRANULAR = {
    "read": (
        "accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists", "mutes", "notifications",
        "search", "statuses",
    ),
    "write": (
        "accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows", "lists", "media",
        "mutes", "notifications", "reports", "statuses",
    ),
}  # fmt: skip
# Mastodon's legacy "follow" scope: what it grants besides the top-level ones.
_FOLLOW_GRANTS = frozenset(
    {"read:follows", "write:follows", "read:blocks", "write:blocks", "read:mutes", "write:mutes"}
)
KNOWN = frozenset(TOP_LEVEL) | {f"{top}:{what}" for top, whats in _GRANULAR.items() for what in whats}
DEFAULT = "read"  # what a client gets when it asks for nothing (Mastodon's default scope)


def parse(raw: str | None, *, default: str = DEFAULT) -> list[str]:
    """The scopes of a space- (or comma- or plus-) separated string, in order, without repeats; unknown ones are
    left in for ``unknown`` to report."""
    text = (raw or "").replace(",", " ").replace("+", " ").strip() or default
    return list(dict.fromkeys(text.split()))


def unknown(scopes: Iterable[str]) -> list[str]:
    return [s for s in scopes if s not in KNOWN]


def covers(granted: Iterable[str], needed: str) -> bool:
    """Whether the granted scopes allow a route that needs ``needed`` ("" needs nothing)."""
    if not needed:
        return True
    have = set(granted)
    return needed in have or needed.split(":")[0] in have or ("follow" in have and needed in _FOLLOW_GRANTS)


def within(requested: Iterable[str], allowed: Iterable[str]) -> bool:
    """Whether every requested scope is one the app registered (or is covered by one of them)."""
    registered = list(allowed)
    return all(covers(registered, scope) for scope in requested)

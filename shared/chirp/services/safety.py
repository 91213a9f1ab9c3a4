"""The read side of blocks and mutes: each user's safety sets (cached beside their timeline, dropped on every change;
a home read gets them in the same round trip as its page, ``TimelineStore.home_view``) and the rules that hide
accounts.

A block hides the two accounts from each other everywhere: timelines, replies, search, notifications (none is made
from one for the other), profiles (the blocked viewer gets 403 ``blocked``, as Twitter says "you're blocked"), and no
follow either way. A mute hides the muted account from the muter's home timeline, live pushes and notifications
only; the muted one notices nothing."""

from __future__ import annotations

from contextlib import suppress

from chirp import api_models as api
from chirp.errors import Forbidden
from chirp.model import SafetySets
from chirp.observability import metrics
from chirp.ports import StoreUnavailable
from chirp.services.stores import Stores

MAX_SAFETY_SCAN = 10_000  # blocks (mutes) of one user read into the sets; beyond it, the newest


class Safety:
    def __init__(self, stores: Stores) -> None:
        self._s = stores

    def sets(self, user_id: int, *, known: SafetySets | None = None) -> SafetySets:
        """The cached sets, or the graph's (then cached). A cache outage falls back to the graph: never unsafe.
        ``known``: the cached sets, already read with other cache state (``TimelineStore.home_view``)."""
        if known is not None:
            return known
        try:
            cached = self._s.timelines.safety(user_id)
        except StoreUnavailable:
            return self._s.graph.safety_sets(user_id, limit=MAX_SAFETY_SCAN)
        if cached is not None:
            return cached
        metrics.count("SafetyCacheMisses")
        found = self._s.graph.safety_sets(user_id, limit=MAX_SAFETY_SCAN)
        with suppress(StoreUnavailable):
            self._s.timelines.set_safety(user_id, found)
        return found

    def changed(self, *user_ids: int) -> None:
        """A block or mute between these users changed: their cached sets are stale. A cache outage fails the
        request (503): the edge is written, and the client's retry drops the sets then."""
        self._s.timelines.forget_safety(list(user_ids))

    def hidden(self, viewer_id: int | None, *, home: bool = False, known: SafetySets | None = None) -> frozenset[int]:
        """Accounts whose tweets the viewer does not see (signed out: none); ``home``: the home timeline's and
        notifications' rule, which hides mutes too."""
        if viewer_id is None:
            return frozenset()
        sets = self.sets(viewer_id, known=known)
        return sets.hidden_home if home else sets.hidden

    def visible(
        self, viewer_id: int | None, tweets: list[api.Tweet], *, home: bool = False, known: SafetySets | None = None
    ) -> list[api.Tweet]:
        """The tweets the viewer may see: those whose author is hidden drop out, and retweets of their tweets."""
        hidden = self.hidden(viewer_id, home=home, known=known)
        if not hidden:
            return tweets
        return [t for t in tweets if not {int(t["user_id"]), *_original_author(t)} & hidden]

    def refuse_if_blocked(self, viewer_id: int | None, other_id: int) -> None:
        """403 when ``other_id`` blocked the viewer (what Twitter shows a blocked viewer: "you're blocked")."""
        if viewer_id is not None and other_id in self.sets(viewer_id).blocked_by:
            raise Forbidden("this account has blocked you", code="blocked")


def _original_author(tweet: api.Tweet) -> list[int]:
    """The author of the tweet a retweet entry carries (none for a tweet)."""
    original = tweet.get("retweet_of")
    return [int(original["user_id"])] if original else []

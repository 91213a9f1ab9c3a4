"""Tweet and user search over the search index. ``recent`` pages by id; ``top`` re-ranks the most relevant
candidates with engagement and authority and pages by offset."""

from __future__ import annotations

import time

from chirp import api_models as api
from chirp.errors import ValidationFailed
from chirp.ids import id_time_ms
from chirp.model import TweetCounts
from chirp.query import parse_query
from chirp.services.safety import Safety
from chirp.services.search_ranking import top_score
from chirp.services.social import SocialService
from chirp.services.stores import Stores
from chirp.services.views import TweetHydrator
from chirp.tokens import Principal

TOP_CANDIDATES = 500
# Whitespace as JSON Schema (ECMA-262) regexes know it, and '@': the document's pattern for q is [^@\s].
_BLANK_OR_AT = (
    "@\t\n\v\f\r \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


class SearchService:
    def __init__(self, stores: Stores, social: SocialService) -> None:
        self._s = stores
        self._social = social
        self._hydrator = TweetHydrator(stores)
        self._safety = Safety(stores)

    def search(
        self, viewer: Principal | None, q: str, *, kind: str, count: int, cursor: str | None
    ) -> api.SearchResult:
        started = time.perf_counter()
        if kind not in ("recent", "top"):
            raise ValidationFailed("type must be 'recent' or 'top'", code="invalid_type")
        query = parse_query(q)
        viewer_id = viewer.user_id if viewer else None
        tweets: list[api.Tweet] = []  # hydrated in one pass: one cache lookup and one fill for the page
        next_cursor: str | None = None
        if query.unsearchable:
            pass  # nothing can match symbols alone
        elif kind == "recent":
            before = _int_cursor(cursor)
            # The index leaves out the viewer's blocks (search results hold no retweet entries: the author is all
            # that hides one), so a page is full and the cursor after it skips nothing.
            hidden = self._safety.hidden(viewer_id)
            hits = self._s.search.search(query, limit=count + 1, before=before, order="recent", exclude_authors=hidden)
            ids = [h.tweet_id for h in hits]
            tweets = self._hydrator.by_ids(viewer_id, ids[:count])
            next_cursor = str(ids[count - 1]) if len(ids) > count else None
        else:
            offset = _int_cursor(cursor) or 0
            hidden = self._safety.hidden(viewer_id)
            hits = self._s.search.search(
                query, limit=TOP_CANDIDATES, before=None, order="relevance", exclude_authors=hidden
            )
            ranked = self._rank(hits_by_id={h.tweet_id: h.text_score for h in hits})
            tweets = self._hydrator.by_ids(viewer_id, ranked[offset : offset + count])
            next_cursor = str(offset + count) if len(ranked) > offset + count else None
        return {
            "tweets": tweets,
            "next_cursor": next_cursor,
            "search_metadata": {
                "query": q,
                "result_type": kind,
                "count": len(tweets),
                "completed_in": round(time.perf_counter() - started, 4),
            },
        }

    def _rank(self, hits_by_id: dict[int, float]) -> list[int]:
        if not hits_by_id:
            return []
        tweets = self._s.tweets.get_many(list(hits_by_id))
        counts = self._s.engagement.counts(list(tweets))
        followers = self._s.graph.follower_counts(list({t.user_id for t in tweets.values()}))
        max_text = max(hits_by_id.values())
        now_ms = time.time() * 1000
        scored = []
        for tweet_id, tweet in tweets.items():
            c = counts.get(tweet_id, TweetCounts())
            score = top_score(
                text=hits_by_id[tweet_id],
                max_text=max_text,
                age_s=(now_ms - id_time_ms(tweet_id)) / 1000,
                likes=c.likes,
                retweets=c.retweets,
                followers=followers.get(tweet.user_id, 0),
            )
            scored.append((score, tweet_id))
        scored.sort(reverse=True)
        return [tweet_id for _, tweet_id in scored]

    def users(self, viewer: Principal, q: str, *, count: int) -> api.UserList:
        if len(q) > 50 or not q.strip(_BLANK_OR_AT):
            raise ValidationFailed(
                "q must be 1-50 characters with something besides spaces and @", code="invalid_query"
            )
        prefix = q.strip().lstrip("@")
        ids = self._s.search.search_users(prefix, limit=count) if prefix else []
        hidden = self._safety.hidden(viewer.user_id)
        return {"users": self._social.user_list(viewer, [u for u in ids if u not in hidden])}


def _int_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 19:
        raise ValidationFailed("cursor is not valid", code="invalid_cursor")
    return int(cursor)

"""Turning records into the API's JSON objects, hydrated in batches (counts, viewer flags)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple, cast

from chirp import api_models as api
from chirp.model import AuthorCard, NotificationRecord, TweetCounts, TweetRecord, UserRecord
from chirp.observability import metrics
from chirp.ports import CachedTweets, CacheStats, StoreUnavailable
from chirp.services.avatars import avatar_url
from chirp.services.stores import Stores


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Byline(NamedTuple):
    """What a tweet shows of its author beyond the username (hydrated from the user, see ``TweetHydrator.bylines``)."""

    display_name: str
    avatar_url: str | None


def tweet_json(
    tweet: TweetRecord,
    counts: TweetCounts,
    *,
    liked: bool,
    retweeted: bool,
    retweet_of: api.Tweet | None = None,
    byline: Byline | None = None,
) -> api.Tweet:
    """``retweet_of``: the hydrated original of a retweet entry (whose own counts and flags are the original's).
    ``byline``: the author's display name and avatar (without one: the username and no avatar)."""
    return {
        "tweet_id": str(tweet.tweet_id),
        "user_id": str(tweet.user_id),
        "username": tweet.username,
        "display_name": byline.display_name if byline else tweet.username,
        "avatar_url": byline.avatar_url if byline else None,
        "content": tweet.content,
        "created_at": iso(tweet.created_at_ms),
        "likes_count": max(0, counts.likes),
        "retweets_count": max(0, counts.retweets),
        "replies_count": max(0, counts.replies),
        "media_urls": list(tweet.media_urls),
        "media": cast("list[api.MediaItem]", [dict(item) for item in tweet.media]),
        "hashtags": list(tweet.hashtags),
        "mentions": list(tweet.mentions),
        "urls": list(tweet.urls),
        "reply_to": str(tweet.reply_to) if tweet.reply_to else None,
        "quote_tweet": str(tweet.quote_tweet) if tweet.quote_tweet and retweet_of is None else None,
        "liked_by_user": liked,
        "retweeted_by_user": retweeted,
        "retweet_of": retweet_of,
    }


def user_summary(user: UserRecord, *, follower_count: int, followed_by_me: bool) -> api.UserSummary:
    return {
        "user_id": str(user.user_id),
        "username": user.username,
        "display_name": user.display_name,
        "follower_count": follower_count,
        "followed_by_me": followed_by_me,
    }


def notification_json(n: NotificationRecord) -> api.Notification:
    return {
        "notification_id": str(n.notification_id),
        "type": n.type,
        "actor": {"user_id": str(n.actor_id), "username": n.actor_username},
        "tweet_id": str(n.tweet_id) if n.tweet_id else None,
        "created_at": iso(n.created_at_ms),
        "read": n.read,
    }


class TweetHydrator:
    """Loads tweets by id with counts and the viewer's like/retweet flags; deleted tweets drop out.

    Cache-aside over ``Stores.tweet_cache``: one cache round trip for a page, then one batched store read per table
    for whatever it missed (tweets, counters, likes, retweets: at most four, however long the page), then one round
    trip to fill the cache. When the cache is unavailable the store answers everything and nothing is filled: reads
    still work (they are slower)."""

    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    def records(self, tweet_ids: Sequence[int]) -> list[TweetRecord]:
        """The tweets that exist, in the order asked."""
        found = self._lookup(tweet_ids, None, objects=True, counts=False)
        tweets, loaded = self._tweets(tweet_ids, found)
        self._fill(found, tweets=loaded)
        return [t for t in (tweets.get(tweet_id) for tweet_id in tweet_ids) if t is not None]

    def hydrate(self, viewer_id: int | None, tweets: Sequence[TweetRecord]) -> list[api.Tweet]:
        """API objects of tweets already loaded."""
        ids = [t.tweet_id for t in tweets]
        found = self._lookup(ids, viewer_id, objects=False, counts=True)
        return self._render(viewer_id, list(tweets), found, loaded={})

    def by_ids(self, viewer_id: int | None, tweet_ids: Sequence[int]) -> list[api.Tweet]:
        """API objects of the tweets that exist, in the order asked."""
        found = self._lookup(tweet_ids, viewer_id, objects=True, counts=True)
        counts = self._prefetch_counts(tweet_ids, found)
        tweets, loaded = self._tweets(tweet_ids, found)
        records = [t for t in (tweets.get(tweet_id) for tweet_id in tweet_ids) if t is not None]
        return self._render(viewer_id, records, found, loaded=loaded, counts_read=counts)

    def claim_new(self, tweet: TweetRecord) -> bool | None:
        """Cache a tweet about to be posted (``TweetCache.fill_new``, zero counts): True, or False when its id is
        taken, or None when the cache is unavailable (nothing claimed; reads go to the store)."""
        try:
            return self._stores.tweet_cache.fill_new(tweet)
        except StoreUnavailable:
            return None

    def fresh(self, tweet: TweetRecord) -> api.Tweet:
        """The API object of a tweet just posted (and cached by ``claim_new``): nobody has liked, retweeted or
        answered it yet, so only its author's byline is read."""
        byline = self.bylines([tweet.user_id]).get(tweet.user_id)
        return tweet_json(tweet, TweetCounts(), liked=False, retweeted=False, byline=byline)

    def bylines(self, user_ids: Sequence[int]) -> dict[int, Byline]:
        """The display names and avatars of these authors: the tweet cache's author cards, then one batched user
        read for the misses (which fills the cards). A user that does not exist (a deleted account) has none."""
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}
        cache = self._stores.tweet_cache
        try:
            cards = cache.authors(ids)
            cached = True
        except StoreUnavailable:
            cards, cached = {}, False
        missing = [u for u in ids if u not in cards]
        if missing:
            read = [AuthorCard.of(user) for user in self._stores.users.get_many(missing).values()]
            cards.update((card.user_id, card) for card in read)
            if cached and read:
                with suppress(StoreUnavailable):
                    cache.fill_authors(read)
        base = self._stores.media_url_base
        return {
            user_id: Byline(card.display_name, avatar_url(base, user_id, card.avatar_media_id))
            for user_id, card in cards.items()
        }

    # -- the three steps ---------------------------------------------------------------------------------------
    def _prefetch_counts(self, tweet_ids: Sequence[int], found: CachedTweets) -> Future[dict[int, TweetCounts]] | None:
        """When the page goes to the store for tweets the cache lacked, the counters it lacked are read at the same
        time (a cold page's store reads in two waves, not five in a row; a warm page starts no thread)."""
        if all(t in found.tweets or t in found.deleted for t in tweet_ids):
            return None
        wanted = [t for t in dict.fromkeys(tweet_ids) if t not in found.counts and t not in found.deleted]
        return _pool().submit(self._stores.engagement.counts, wanted) if wanted else None

    def _lookup(self, tweet_ids: Sequence[int], viewer_id: int | None, *, objects: bool, counts: bool) -> CachedTweets:
        if not tweet_ids:
            return CachedTweets()
        try:
            found = self._stores.tweet_cache.lookup(tweet_ids, viewer_id=viewer_id, objects=objects, counts=counts)
        except StoreUnavailable:
            return _UNAVAILABLE
        seen = CacheStats().counted(found, len(tweet_ids), objects=objects, counts=counts, viewer=viewer_id is not None)
        metrics.count("HydrationCacheHits", seen.hits)
        metrics.count("HydrationCacheMisses", seen.misses)
        return found

    def _tweets(
        self, tweet_ids: Sequence[int], found: CachedTweets
    ) -> tuple[dict[int, TweetRecord], dict[int, TweetRecord]]:
        """(every live tweet, those of them read from the store): the cache's, plus its misses in one batched store
        read; tombstoned tweets are left out without asking the store."""
        missing = [t for t in dict.fromkeys(tweet_ids) if t not in found.tweets and t not in found.deleted]
        loaded = self._stores.tweets.get_many(missing) if missing else {}
        return {**found.tweets, **loaded}, loaded

    def _render(
        self,
        viewer_id: int | None,
        records: list[TweetRecord],
        found: CachedTweets,
        *,
        loaded: dict[int, TweetRecord],
        counts_read: Future[dict[int, TweetCounts]] | None = None,
    ) -> list[api.Tweet]:
        """``counts_read``: the counters the cache lacked, already being read (``_prefetch_counts``). A page that
        went to the store reads its authors' cards and the viewer's flags at the same time too."""
        engagement = self._stores.engagement
        originals = self._originals(viewer_id, records)
        records = [t for t in records if t.retweet_of is None or t.retweet_of in originals]  # original deleted: gone
        authors = [t.user_id for t in records]
        cold = bool(loaded) or counts_read is not None
        bylines_read = _pool().submit(self.bylines, authors) if cold and authors else None
        ids = list(dict.fromkeys(t.tweet_id for t in records if t.retweet_of is None))
        counts = dict(found.counts)
        count_misses = [t for t in ids if t not in counts]
        if count_misses:
            read = counts_read.result() if counts_read is not None else engagement.counts(count_misses)
            counts.update({t: read.get(t, TweetCounts()) for t in count_misses})
        liked, retweeted = dict(found.liked), dict(found.retweeted)
        like_misses: list[int] = []
        retweet_misses: list[int] = []
        if viewer_id is not None:
            # a tweet nobody liked (retweeted) needs no flag read: the counters just read say so (flags_from_counts)
            like_misses = [t for t in ids if t not in liked and counts[t].likes > 0]
            retweet_misses = [t for t in ids if t not in retweeted and counts[t].retweets > 0]
            likes_read = (
                _pool().submit(engagement.liked_by, viewer_id, like_misses) if like_misses and retweet_misses else None
            )
            if retweet_misses:
                yes = engagement.retweeted_by(viewer_id, retweet_misses)
                retweeted.update({t: t in yes for t in retweet_misses})
            if like_misses:
                yes = likes_read.result() if likes_read is not None else engagement.liked_by(viewer_id, like_misses)
                liked.update({t: t in yes for t in like_misses})
        bylines = bylines_read.result() if bylines_read is not None else self.bylines(authors)
        records = [t for t in records if t.user_id in bylines]  # the author's account is gone: so are their tweets
        if found is not _UNAVAILABLE:
            self._fill(
                found,
                tweets=loaded,
                counts={t: (counts[t], found.count_versions.get(t, "")) for t in count_misses},
                viewer_id=viewer_id,
                liked={t: liked[t] for t in like_misses},
                retweeted={t: retweeted[t] for t in retweet_misses},
            )
        return [
            retweet_json(t, originals[t.retweet_of], byline=bylines[t.user_id])
            if t.retweet_of is not None
            else tweet_json(
                t,
                counts[t.tweet_id],
                liked=liked.get(t.tweet_id, False),
                retweeted=retweeted.get(t.tweet_id, False),
                byline=bylines[t.user_id],
            )
            for t in records
        ]

    def _originals(self, viewer_id: int | None, records: Sequence[TweetRecord]) -> dict[int, api.Tweet]:
        """The live originals of the retweet entries among ``records``, hydrated for the viewer (one batch)."""
        wanted = [t.retweet_of for t in records if t.retweet_of is not None]
        if not wanted:
            return {}
        return {int(o["tweet_id"]): o for o in self.by_ids(viewer_id, wanted)}

    def _fill(
        self,
        found: CachedTweets,
        *,
        tweets: dict[int, TweetRecord],
        counts: dict[int, tuple[TweetCounts, str]] | None = None,
        viewer_id: int | None = None,
        liked: dict[int, bool] | None = None,
        retweeted: dict[int, bool] | None = None,
    ) -> None:
        if found is _UNAVAILABLE or not (tweets or counts or liked or retweeted):
            return
        with suppress(StoreUnavailable):  # the response is right either way; the next read fills
            self._stores.tweet_cache.fill(
                tweets=list(tweets.values()), counts=counts, viewer_id=viewer_id, liked=liked, retweeted=retweeted
            )


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    """Store reads of one page in flight at once (a cold page's counters, flags and authors' cards)."""
    return ThreadPoolExecutor(max_workers=16, thread_name_prefix="hydration")  # a Lambda uses 3; locally 64 share it


def retweet_json(entry: TweetRecord, original: api.Tweet, *, byline: Byline | None = None) -> api.Tweet:
    """A retweet entry shows the original's counts and the viewer's flags on it: acting on the entry is acting on
    the original."""
    counts = TweetCounts(
        likes=original["likes_count"], retweets=original["retweets_count"], replies=original["replies_count"]
    )
    return tweet_json(
        entry,
        counts,
        liked=original["liked_by_user"],
        retweeted=original["retweeted_by_user"],
        retweet_of=original,
        byline=byline,
    )


_UNAVAILABLE = CachedTweets()
"""What a lookup knew when the cache could not be reached: nothing, and nothing will be filled."""

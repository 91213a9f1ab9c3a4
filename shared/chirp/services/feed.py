"""FeedManager: the one owner of home-timeline rules — fan-out on write for ordinary authors, merge on read for
celebrities, insert, trim, merge on follow, unmerge on unfollow, removal of deleted tweets, rebuild of missing
(inactive) timelines, and the per-reader cache of the celebrities a home read merges.

Who calls it: the request path (home reads, follow/unfollow, delete — the author's own timeline at once) and the
fan-out consumer (``DeliveryService``), which streams an author's followers through ``audience`` and hands each batch
to ``add_to_followers`` / ``remove_from`` / ``celebrity_changed``. Calls go one way: FeedManager never calls back.

Read path: a home read whose timeline exists touches the cache only: its page, truncation mark, cached celebrity
list and block/mute sets (``TimelineStore.home_view``, one round trip: the keys share the reader's slot), then those
celebrities' recent-tweet lists (``Stores.author_timelines``, one round trip for all). The graph and the durable
stores are read when a cache misses (then filled), when a timeline is rebuilt, and for pages older than a
truncated timeline or list holds.

Celebrity lists stay right: a reader's own follow/unfollow of a celebrity drops its cached list at once; when an
author crosses the threshold, a CELEBRITY_CHANGED event makes the fan-out consumer drop the lists of every follower
(and, when the author stops being a celebrity, merge its recent tweets into their timelines, which merge-on-read
had provided until then). Crossings are seen from the exact follower count read right after the follow or
unfollow, within ``CROSSING_WINDOW`` of the threshold (a racing follow may skip the exact value; a repeated
invalidation is harmless); any other miss heals when the cached list expires."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

from chirp import api_models as api
from chirp.config import Settings
from chirp.model import CelebrityChanged, EventType, SafetySets, TweetRecord
from chirp.observability import metrics
from chirp.ports import HomeView
from chirp.services.safety import Safety
from chirp.services.stores import Stores
from chirp.services.views import TweetHydrator

MAX_FOLLOWING_SCAN = 5000
FOLLOW_MERGE_TWEETS = 100
CROSSING_WINDOW = 3
DEMOTION_MERGE_TWEETS = 20  # an author that stops being a celebrity: its tweets fanned out to followers at once
WRITES_IN_FLIGHT = 4  # timeline write batches at once (each one Redis round trip per 1,000 followers)


@dataclass(frozen=True, slots=True)
class TimelinePage:
    tweet_ids: list[int]
    next_cursor: int | None


@dataclass(frozen=True, slots=True)
class HomeRead:
    tweets: list[api.Tweet]
    next_cursor: int | None  # the last entry read, shown or not


def celebrity_followees(stores: Stores, user_id: int, threshold: int) -> list[int]:
    """The celebrities ``user_id`` follows: the reader's cached list, or the graph's answer (then cached)."""
    cached = stores.timelines.celebrities(user_id)
    if cached is not None:
        return cached
    found = stores.graph.followees_with_min_followers(user_id, threshold, limit=MAX_FOLLOWING_SCAN)
    stores.timelines.set_celebrities(user_id, found)
    return found


class FeedManager:
    def __init__(self, stores: Stores, settings: Settings) -> None:
        self._s = stores
        self._hydrator = TweetHydrator(stores)  # entry records (from the tweet cache): which entries are retweets
        self._safety = Safety(stores)  # the reader's blocks and mutes (cached beside the timeline)
        self._threshold = settings.celebrity_threshold
        self._cap = settings.timeline_cap
        self._batch = settings.fanout_page_size
        self.chunk_followers = settings.fanout_chunk_followers  # audience share of one fan-out invocation

    # -- reads -------------------------------------------------------------------------------------------------
    def celebrity_followees(self, user_id: int) -> list[int]:
        return celebrity_followees(self._s, user_id, self._threshold)

    def is_celebrity(self, user_id: int) -> bool:
        return self._follower_count(user_id) >= self._threshold

    def celebrities_among(self, user_ids: Sequence[int]) -> set[int]:
        """One graph read for a batch of authors."""
        if not user_ids:
            return set()
        counts = self._s.graph.follower_counts(list(dict.fromkeys(user_ids)))
        return {u for u, n in counts.items() if n >= self._threshold}

    def _follower_count(self, user_id: int) -> int:
        return self._s.graph.follower_counts([user_id]).get(user_id, 0)

    def home(self, user_id: int, *, before: int | None, after: int | None, count: int) -> TimelinePage:
        """Newest first. ``before`` is the cursor of the previous page; ``after`` limits to newer tweets (poll). The
        page's entries are hydrated, then passed through ``visible``; the cursor is the last entry read, shown or
        not, so pages never overlap or skip."""
        return self._home(user_id, before=before, after=after, count=count)[0]

    def _home(
        self, user_id: int, *, before: int | None, after: int | None, count: int
    ) -> tuple[TimelinePage, SafetySets | None]:
        """``home``, and the reader's block/mute sets: the cache's (read in the same round trip), or, when it had
        none (a reader back after a while), the graph's, read while the page is merged (a rebuild reads the graph
        and the store too: the two waits overlap)."""
        view = self._s.timelines.home_view(user_id, before=before, after=after, limit=count + 1)
        safety = _read_pool().submit(self._safety.sets, user_id) if view.safety is None else None
        ordered = self._merged(user_id, view, before=before, after=after, want=count + 1, reading=True)
        page = ordered[:count]
        cursor = page[-1] if len(ordered) > count and page else None
        return TimelinePage(tweet_ids=page, next_cursor=cursor), view.safety if safety is None else safety.result()

    def read_home(self, user_id: int, *, before: int | None, after: int | None, count: int) -> HomeRead:
        """A page of the home timeline as every client surface shows it: hydrated for the reader, then ``visible``.
        Chirp's API and the Mastodon surface both read it here, so neither can skip a rule. A page whose timeline
        exists costs three cache round trips (four when the reader follows celebrities): the reader's state
        (``home_view``), the celebrities' lists, the tweet cache, the authors' cards."""
        page, safety = self._home(user_id, before=before, after=after, count=count)
        tweets = self.visible(user_id, self._hydrator.by_ids(user_id, page.tweet_ids), safety=safety)
        return HomeRead(tweets=tweets, next_cursor=page.next_cursor)

    def visible(
        self, user_id: int, tweets: Sequence[api.Tweet], *, safety: SafetySets | None = None
    ) -> list[api.Tweet]:
        """A hydrated page of the home timeline as the reader sees it: Mastodon's rule for reblogs, applied on read
        so that fan-out, rebuilds, follow merges and celebrity merges all obey it. A retweet entry is left out when
        the reader's timeline holds the original or an older entry retweeting it: a tweet shows once, where it
        first reached the timeline, and undoing that retweet shows the next one. A page without retweets costs
        nothing; otherwise one timeline read covers all of its retweets (the entries between the oldest original
        and the newest retweet: at most the cap of them, Mastodon's window too), their records from the tweet
        cache.

        Blocks and mutes first: an entry by (or retweeting) an account the reader blocks, is blocked by or mutes is
        left out (their cached sets: no store read; ``safety``: those sets, already read)."""
        tweets = self._safety.visible(user_id, list(tweets), home=True, known=safety)
        retweets = {int(t["tweet_id"]): int(t["retweet_of"]["tweet_id"]) for t in tweets if t["retweet_of"]}
        if not retweets:
            return tweets
        span = self._entries(
            user_id, before=max(retweets), after=min(retweets.values()) - 1, want=self._cap, reading=False
        )
        originals = {**retweets, **{t.tweet_id: t.retweet_of for t in self._hydrator.records(span) if t.retweet_of}}
        first: dict[int, int] = {}  # original -> its oldest retweet entry in the timeline
        for entry_id in sorted(originals):
            first.setdefault(originals[entry_id], entry_id)
        present = set(span) | {int(t["tweet_id"]) for t in tweets}
        hidden = {e for e, original in retweets.items() if original in present or first[original] != e}
        return [t for t in tweets if int(t["tweet_id"]) not in hidden]

    def _entries(
        self, user_id: int, *, before: int | None, after: int | None, want: int, reading: bool = True
    ) -> list[int]:
        """The newest ``want`` entries of the home timeline in (after, before), merged (materialized timeline,
        durable index past it, celebrities), newest first. ``reading``: a reader's request (counted)."""
        view = self._s.timelines.home_view(user_id, before=before, after=after, limit=want)
        return self._merged(user_id, view, before=before, after=after, want=want, reading=reading)

    def _merged(
        self, user_id: int, view: HomeView, *, before: int | None, after: int | None, want: int, reading: bool
    ) -> list[int]:
        """``_entries`` from the reader's cached state just read."""
        ids = view.ids
        if reading:
            metrics.count("TimelineCacheMisses" if ids is None else "TimelineCacheHits")  # a miss rebuilds it
        celebrities = view.celebrities
        truncated = view.truncated
        if ids is None:
            celebrities, built = self._rebuild(user_id)
            # The page from the ids just built, not read back (a round trip less); a tweet fanned out meanwhile is
            # in the timeline for the next read.
            ids = [i for i in built if (before is None or i < before) and (after is None or i > after)][:want]
            truncated = len(built) >= self._cap
        merged = set(ids)
        if len(ids) < want and truncated:
            # Older than the materialized timeline holds: the durable per-author index.
            floor = min(ids) if ids else before
            authors = [*self._fanned_out_followees(user_id, celebrities), user_id]
            merged.update(
                self._s.tweets.recent_ids_by_authors(authors, limit=want - len(ids), before=floor, after=after)
            )
        if celebrities is None:
            celebrities = self.celebrity_followees(user_id)
        if celebrities:
            merged.update(self._celebrity_tweets(celebrities, want=want, before=before, after=after))
        return sorted(merged, reverse=True)[:want]

    def wait_for_newer(self, user_id: int, *, since_id: int, timeout_s: float, count: int) -> list[int]:
        """Long-poll: returns as soon as the home timeline holds tweets newer than ``since_id``, or [] at timeout."""
        deadline = time.monotonic() + timeout_s
        delay = 0.05
        while True:
            page = self.home(user_id, before=None, after=since_id, count=count)
            if page.tweet_ids or time.monotonic() >= deadline:
                return page.tweet_ids
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.5)

    def _celebrity_tweets(
        self, celebrities: list[int], *, want: int, before: int | None, after: int | None
    ) -> set[int]:
        """Celebrities' tweets in (after, before), from their own recent-tweet lists (one round trip for all). A
        missing list is built from the store; an author whose list is too short for the range and truncated is read
        from the store."""
        lists = self._s.author_timelines
        found: set[int] = set()
        from_store: list[int] = []
        for author, ids in lists.page_many(celebrities, before=before, after=after, limit=want).items():
            if ids is None:
                ids = [
                    i for i in self._build_author_list(author) if (before is None or i < before) and i > (after or 0)
                ]
                ids = ids[:want]
            if len(ids) < want and lists.truncated(author):
                from_store.append(author)
            else:
                found.update(ids)
        if from_store:
            found.update(self._s.tweets.recent_ids_by_authors(from_store, limit=want, before=before, after=after))
        return found

    def _build_author_list(self, author_id: int) -> list[int]:
        """An author's recent-tweet list from the store, then the tweets stored meanwhile (their delivery skipped the
        list because it did not exist yet). Returns its ids, newest first."""
        ids = self._s.tweets.author_tweet_ids(author_id, before=None, limit=self._cap)
        self._s.author_timelines.build(author_id, ids, truncated=len(ids) >= self._cap)
        newest = ids[0] if ids else None
        caught_up = self._s.tweets.recent_ids_by_authors([author_id], limit=self._cap, after=newest)
        if caught_up:
            self._s.author_timelines.merge(author_id, caught_up)
        return sorted({*ids, *caught_up}, reverse=True)

    def _fanned_out_followees(self, user_id: int, celebrities: list[int] | None = None) -> list[int]:
        """The followees whose tweets fan-out wrote (``celebrities``: the reader's, if already known)."""
        followees = self._s.graph.following_ids(user_id, limit=MAX_FOLLOWING_SCAN)
        merged_on_read = set(self.celebrity_followees(user_id) if celebrities is None else celebrities)
        return [f for f in followees if f not in merged_on_read]

    def rebuild(self, user_id: int) -> list[int]:
        """Materialize a timeline from followees' recent tweets; returns the celebrities the reader follows (merged
        on read, so left out). One graph read gives the followees with their follower counts.

        The timeline is created first, empty and marked truncated, then filled from one graph read and one store
        read (a build adds, never replaces): a tweet whose fan-out ran before the timeline existed (and skipped it)
        was stored before the read, so the read has it; one fanned out later finds the timeline. Likewise a follow
        applied before the graph read is in it, and one applied after merges into the timeline. No catch-up read.
        Should the fill never happen (a crash), the mark makes reads fall back to the durable per-author index, so
        the timeline is never silently short. Not covered: an unfollow applied between the graph read and the fill
        (its tweets come back until they age out), and the celebrity list written from a graph read that a follow
        of a celebrity overtook (stale until its TTL)."""
        return self._rebuild(user_id)[0]

    def _rebuild(self, user_id: int) -> tuple[list[int], list[int]]:
        """``rebuild``: (the celebrities, the ids the timeline was built with, newest first)."""
        # Created before the graph read: a follow applied after that read finds the timeline and merges into it.
        self._s.timelines.build(user_id, [], truncated=True)
        followees = self._s.graph.following_with_follower_counts(user_id, limit=MAX_FOLLOWING_SCAN)
        if len(followees) < MAX_FOLLOWING_SCAN:
            celebrities = [f for f, followers in followees if followers >= self._threshold]
            self._s.timelines.set_celebrities(user_id, celebrities)
        else:  # more follows than one scan reads: the celebrities among all of them
            celebrities = self.celebrity_followees(user_id)
        skip = set(celebrities)
        authors = [*(f for f, _ in followees if f not in skip), user_id]
        ids = self._s.tweets.recent_ids_by_authors(authors, limit=self._cap)
        self._s.timelines.build(user_id, ids, truncated=len(ids) >= self._cap)
        return celebrities, ids

    # -- the request path --------------------------------------------------------------------------------------
    def on_follow(self, follower_id: int, followee_id: int) -> None:
        followers = self._follower_count(followee_id)
        if followers >= self._threshold:
            self._s.timelines.forget_celebrities([follower_id])  # merged on read from now on
            if followers < self._threshold + CROSSING_WINDOW:
                self._celebrity_changed(followee_id, celebrity=True)
            return
        recent = self._s.tweets.author_tweet_ids(followee_id, before=None, limit=FOLLOW_MERGE_TWEETS)
        if recent:
            self._s.timelines.merge(follower_id, recent, truncated=len(recent) >= FOLLOW_MERGE_TWEETS)

    def on_unfollow(self, follower_id: int, followee_id: int) -> None:
        followers = self._follower_count(followee_id)
        if followers + 1 >= self._threshold:  # a celebrity before this unfollow: in the cached list
            self._s.timelines.forget_celebrities([follower_id])
        if self._threshold - CROSSING_WINDOW <= followers < self._threshold:
            self._celebrity_changed(followee_id, celebrity=False)
        oldest = self._s.timelines.oldest(follower_id)
        if oldest is None:
            return
        theirs = self._s.tweets.recent_ids_by_authors([followee_id], limit=self._cap, after=oldest - 1)
        if theirs:
            self._s.timelines.remove([follower_id], theirs)

    def _celebrity_changed(self, user_id: int, *, celebrity: bool) -> None:
        changed = CelebrityChanged(user_id=user_id, celebrity=celebrity)
        self._s.stream.publish([changed.event(EventType.CELEBRITY_CHANGED, user_id)])

    def on_tweet_deleted(self, tweet: TweetRecord) -> None:
        """The author's own timeline (and recent-tweet list) at once: they see their delete; followers' timelines
        through the fan-out consumer."""
        self.remove_own(tweet)

    # -- the fan-out consumer ----------------------------------------------------------------------------------
    def audience(self, author_id: int) -> Iterator[list[int]]:
        """The author's followers as one streamed read, in batches of the fan-out page size, in no order."""
        return self._s.graph.follower_ids(author_id, batch_size=self._batch)

    def add_to_own(self, tweet: TweetRecord) -> int:
        """The author's own timeline and recent-tweet list (kept for celebrities: only lists that exist are
        written). Returns the timelines written (0 or 1)."""
        self._s.author_timelines.add_if_exists([tweet.user_id], tweet.tweet_id)
        return self._s.timelines.add_if_exists([tweet.user_id], tweet.tweet_id)

    def remove_own(self, tweet: TweetRecord) -> None:
        self._s.author_timelines.remove([tweet.user_id], [tweet.tweet_id])
        self._s.timelines.remove([tweet.user_id], [tweet.tweet_id])

    def add_to_followers(self, tweet_id: int, follower_ids: Sequence[int]) -> int:
        """Write a new tweet into these followers' timelines (those that exist); set inserts: redelivery is harmless."""
        return self._s.timelines.add_if_exists(follower_ids, tweet_id)

    def start_add_to_followers(self, tweet_id: int, follower_ids: Sequence[int]) -> Future[int]:
        """``add_to_followers`` in the background: a few batches in flight keep Redis busy while the next batch
        streams in (measured, 100,000 followers on a loaded box: 1.0-2.4 s instead of 1.8-3.4 s one at a time)."""
        return _write_pool().submit(self.add_to_followers, tweet_id, follower_ids)

    def remove_from(self, tweet_id: int, user_ids: Sequence[int]) -> None:
        self._s.timelines.remove(user_ids, [tweet_id])

    def fan_out(self, tweet: TweetRecord, *, celebrity: bool | None = None) -> int:
        """All of a new tweet's timeline writes in this process: the author's own and (ordinary authors) every
        active follower's, batch by batch as the followers stream in. Returns the number of timelines written.
        Celebrities cost O(1) writes: their tweets are merged on read. (The fan-out consumer does the same, with
        pushes, and hands large audiences to parallel invocations.)"""
        written = self.add_to_own(tweet)
        if celebrity if celebrity is not None else self.is_celebrity(tweet.user_id):
            return written
        writes = [self.start_add_to_followers(tweet.tweet_id, f) for f in self.audience(tweet.user_id)]
        return written + sum(w.result() for w in writes)

    def celebrity_changed(self, author_id: int, follower_ids: Sequence[int], *, celebrity: bool) -> None:
        """The author crossed the threshold: these followers' cached lists are stale. An author that stopped being
        a celebrity is no longer merged on read, so its recent tweets join their timelines now."""
        self._s.timelines.forget_celebrities(follower_ids)
        if not celebrity:
            for tweet_id in self._s.tweets.author_tweet_ids(author_id, before=None, limit=DEMOTION_MERGE_TWEETS):
                self._s.timelines.add_if_exists(follower_ids, tweet_id)


@lru_cache(maxsize=1)
def _read_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="home-reads")  # one per request; locally many share it


@lru_cache(maxsize=1)
def _write_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=WRITES_IN_FLIGHT, thread_name_prefix="timeline-writes")

"""FeedManager: the one owner of home-timeline semantics — fan-out on write for ordinary authors, merge on read for
celebrities, insert, trim, merge on follow, unmerge on unfollow, rebuild of missing (inactive) timelines."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from chirp.config import Settings
from chirp.model import TweetRecord
from chirp.services.stores import Stores

MAX_FOLLOWING_SCAN = 5000
FOLLOW_MERGE_TWEETS = 100


@dataclass(frozen=True, slots=True)
class TimelinePage:
    tweet_ids: list[int]
    next_cursor: int | None


class FeedManager:
    def __init__(self, stores: Stores, settings: Settings) -> None:
        self._s = stores
        self._threshold = settings.celebrity_threshold
        self._cap = settings.timeline_cap
        self._page_size = settings.fanout_page_size

    # -- reads -------------------------------------------------------------------------------------------------
    def celebrity_followees(self, user_id: int) -> list[int]:
        return self._s.graph.followees_with_min_followers(user_id, self._threshold, limit=MAX_FOLLOWING_SCAN)

    def is_celebrity(self, user_id: int) -> bool:
        return self._s.graph.follower_counts([user_id]).get(user_id, 0) >= self._threshold

    def home(self, user_id: int, *, before: int | None, after: int | None, count: int) -> TimelinePage:
        """Newest first. ``before`` is the cursor of the previous page; ``after`` limits to newer tweets (poll)."""
        want = count + 1
        ids = self._s.timelines.page(user_id, before=before, after=after, limit=want)
        if ids is None:
            self.rebuild(user_id)
            ids = self._s.timelines.page(user_id, before=before, after=after, limit=want) or []
        merged = set(ids)
        if len(ids) < want:
            # The materialized timeline is capped: older pages come from the durable per-author index.
            floor = min(ids) if ids else before
            authors = [*self._fanned_out_followees(user_id), user_id]
            merged.update(
                self._s.tweets.recent_ids_by_authors(authors, limit=want - len(ids), before=floor, after=after)
            )
        celebrities = self.celebrity_followees(user_id)
        if celebrities:
            merged.update(self._s.tweets.recent_ids_by_authors(celebrities, limit=want, before=before, after=after))
        ordered = sorted(merged, reverse=True)
        page = ordered[:count]
        return TimelinePage(tweet_ids=page, next_cursor=page[-1] if len(ordered) > count and page else None)

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

    def _fanned_out_followees(self, user_id: int) -> list[int]:
        followees = self._s.graph.following_ids(user_id, limit=MAX_FOLLOWING_SCAN)
        celebrities = set(self.celebrity_followees(user_id))
        return [f for f in followees if f not in celebrities]

    def rebuild(self, user_id: int) -> None:
        """Materialize a timeline from followees' recent tweets, then catch up on tweets stored meanwhile (their
        fan-out skipped this timeline because it did not exist yet)."""
        authors = [*self._fanned_out_followees(user_id), user_id]
        ids = self._s.tweets.recent_ids_by_authors(authors, limit=self._cap)
        self._s.timelines.build(user_id, ids)
        newest = ids[0] if ids else None
        caught_up = self._s.tweets.recent_ids_by_authors(authors, limit=self._cap, after=newest)
        if caught_up:
            self._s.timelines.merge(user_id, caught_up)

    # -- writes ------------------------------------------------------------------------------------------------
    def fan_out(
        self,
        tweet: TweetRecord,
        *,
        celebrity: bool | None = None,
        on_followers: Callable[[list[int]], None] | None = None,
    ) -> int:
        """Write a new tweet into its author's and (for ordinary authors) every active follower's timeline. Returns
        the number of timelines written. Celebrities cost O(1) writes: their tweets are merged on read."""
        written = self._s.timelines.add_if_exists([tweet.user_id], tweet.tweet_id)
        if celebrity if celebrity is not None else self.is_celebrity(tweet.user_id):
            return written
        cursor: str | None = None
        while True:
            page = self._s.graph.followers_page(tweet.user_id, cursor=cursor, limit=self._page_size)
            if page.items:
                written += self._s.timelines.add_if_exists(page.items, tweet.tweet_id)
                if on_followers is not None:
                    on_followers(page.items)
            if page.next_cursor is None:
                return written
            cursor = page.next_cursor

    def remove_tweet(self, tweet_id: int, author_id: int) -> None:
        """Take a deleted tweet out of its author's and every follower's timeline."""
        self._s.timelines.remove([author_id], [tweet_id])
        cursor: str | None = None
        while True:
            page = self._s.graph.followers_page(author_id, cursor=cursor, limit=self._page_size)
            if page.items:
                self._s.timelines.remove(page.items, [tweet_id])
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def on_follow(self, follower_id: int, followee_id: int) -> None:
        if self.is_celebrity(followee_id):
            return  # merged on read
        recent = self._s.tweets.author_tweet_ids(followee_id, before=None, limit=FOLLOW_MERGE_TWEETS)
        if recent:
            self._s.timelines.merge(follower_id, recent)

    def on_unfollow(self, follower_id: int, followee_id: int) -> None:
        oldest = self._s.timelines.oldest(follower_id)
        if oldest is None:
            return
        theirs = self._s.tweets.recent_ids_by_authors([followee_id], limit=self._cap, after=oldest - 1)
        if theirs:
            self._s.timelines.remove([follower_id], theirs)

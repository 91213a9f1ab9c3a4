"""Erasing a deleted account (the ``account_deleted`` event, applied by the eraser consumer).

The request that deleted the account removed the user row (so its tokens, profile and tweets are unreadable at
once); this removes the rest, stage by stage, a batch at a time:

1. ``account``: the user row, in case the request failed after publishing; the account's author card.
2. ``followers``: every follow of the account goes, and with it the account's tweets from each follower's home
   timeline (as an unfollow does). Before the tweets go: the unfollow finds them by author.
3. ``following``: every follow by the account (the followees' counts go down).
4. ``safety``: its blocks and mutes, both ways.
5. ``tweets``: each tweet is deleted as its author would (store, cache tombstone, reply count, counters), and its
   ``tweet_deleted`` event takes it out of search, trends and any timeline still holding it.
6. ``likes``: each like taken back, its tweet's count down by one.
7. ``media``: everything it uploaded (the upload, its renditions and thumbnail, its avatar crops) and the records.
8. ``bookmarks``, ``notifications`` (to them; those *from* them drop out of reads because their actor is gone),
   ``connections`` (open WebSockets unregistered) and the account's own timelines.

A stage that has more than one batch of work does one batch and puts the event back on the stream with the stage
it reached (like the fan-out's FOLLOWER_CHUNK), so one invocation stays short however big the account is. Every
step is idempotent: a redelivered event repeats nothing that counts twice.

Its retweets go with its tweets: a retweet entry is the account's own record, and deleting it is the un-retweet."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aws_lambda_powertools import Logger

from chirp.errors import NotFound
from chirp.model import AccountDeleted, Event, EventType
from chirp.services.avatars import AVATAR_SIZES, avatar_key
from chirp.services.feed import FeedManager
from chirp.services.realtime import RealtimeService
from chirp.services.stores import Stores
from chirp.services.tweets import TweetService
from chirp.tokens import Principal

logger = Logger(service="chirp")

BATCH = 200  # items of one stage per invocation
STAGES = (
    "account",
    "followers",
    "following",
    "safety",
    "tweets",
    "likes",
    "media",
    "bookmarks",
    "notifications",
    "connections",
)


class AccountEraser:
    def __init__(self, stores: Stores, tweets: TweetService, feed: FeedManager, realtime: RealtimeService) -> None:
        self._s = stores
        self._tweets = tweets
        self._feed = feed
        self._realtime = realtime

    def on_events(self, events: Sequence[Event]) -> list[BaseException | None]:
        """One batch, in order; each event's outcome: None (done, or not ours), or the exception that failed it
        (retried, then quarantined by the consumer edge: a malformed event no retry mends)."""
        outcomes: list[BaseException | None] = [None] * len(events)
        for index, event in enumerate(events):
            if event.type not in AccountDeleted.TYPES:
                continue
            try:
                self.erase(AccountDeleted.read(event))
            except Exception as exc:
                outcomes[index] = exc
        return outcomes

    def erase(self, deleted: AccountDeleted) -> None:
        """Run the stages from the one the event names; stop after a stage with more to do, re-publishing the
        event at that stage."""
        start = STAGES.index(deleted.stage) if deleted.stage in STAGES else 0
        steps: dict[str, Callable[[AccountDeleted], bool]] = {
            "account": self._account,
            "followers": self._followers,
            "following": self._following,
            "safety": self._safety,
            "tweets": self._tweets_of,
            "likes": self._likes,
            "media": self._media,
            "bookmarks": self._bookmarks,
            "notifications": self._notifications,
            "connections": self._connections,
        }
        for stage in STAGES[start:]:
            if steps[stage](deleted):
                more = deleted.model_copy(update={"stage": stage})
                self._s.stream.publish([more.event(EventType.ACCOUNT_DELETED, deleted.user_id)])
                return
        logger.info("account erased", extra={"user_id": deleted.user_id})

    # Each stage returns whether work remains after its batch. A batch that changed nothing says no (whatever is
    # left could not be removed: another batch would not do better), so no event goes round forever.
    def _account(self, deleted: AccountDeleted) -> bool:
        user = self._s.users.get(deleted.user_id)
        if user is not None:
            self._s.users.delete(user)
        if deleted.avatar_media_id:
            for size in AVATAR_SIZES:
                self._s.objects.delete(avatar_key(deleted.user_id, deleted.avatar_media_id, size))
        self._s.tweet_cache.author_changed([deleted.user_id])
        return False

    def _followers(self, deleted: AccountDeleted) -> bool:
        page = self._s.graph.followers_page(deleted.user_id, cursor=None, limit=BATCH)
        removed = 0
        for follower in page.items:
            if self._s.graph.unfollow(follower, deleted.user_id):
                removed += 1
                self._feed.on_unfollow(follower, deleted.user_id)
                self._realtime.unsubscribe_user(follower, [deleted.user_id])
        return page.has_more and removed > 0

    def _following(self, deleted: AccountDeleted) -> bool:
        page = self._s.graph.following_page(deleted.user_id, cursor=None, limit=BATCH)
        removed = sum(self._s.graph.unfollow(deleted.user_id, followee) for followee in page.items)
        return page.has_more and removed > 0

    def _safety(self, deleted: AccountDeleted) -> bool:
        """Blocks and mutes, both ways (the others' cached safety sets are dropped: the account is not theirs to hide
        any more)."""
        user_id = deleted.user_id
        sets = self._s.graph.safety_sets(user_id, limit=BATCH)
        graph = self._s.graph
        removed = sum(graph.remove_relation(user_id, other, "blocks") for other in sets.blocking)
        removed += sum(graph.remove_relation(other, user_id, "blocks") for other in sets.blocked_by)
        removed += sum(graph.remove_relation(user_id, other, "mutes") for other in sets.muting)
        removed += sum(graph.remove_relation(other, user_id, "mutes") for other in sets.muted_by)
        touched = sets.blocking | sets.blocked_by | sets.muting | sets.muted_by
        self._s.timelines.forget_safety([user_id, *touched])
        full = any(len(s) >= BATCH for s in (sets.blocking, sets.blocked_by, sets.muting, sets.muted_by))
        return full and removed > 0

    def _tweets_of(self, deleted: AccountDeleted) -> bool:
        author = Principal(deleted.user_id, deleted.username)
        ids = self._s.tweets.author_tweet_ids(deleted.user_id, before=None, limit=BATCH + 1)
        for tweet_id in ids[:BATCH]:
            try:
                # A retweet entry's delete is the un-retweet (the original's count goes down, the entry goes).
                self._tweets.delete(author, tweet_id)
            except NotFound:  # deleted meanwhile (a redelivery, the author's own delete, an entry's un-retweet)
                continue
        left = self._s.tweets.author_tweet_ids(deleted.user_id, before=None, limit=BATCH + 1)
        return len(ids) > BATCH and left != ids

    def _likes(self, deleted: AccountDeleted) -> bool:
        counted, more = self._s.engagement.forget_likes(deleted.user_id, limit=BATCH)
        if counted:
            self._s.tweet_cache.counts_changed(counted)
        return more

    def _media(self, deleted: AccountDeleted) -> bool:
        """Objects first, then the records: a stop in between leaves records whose objects are gone, found again by
        the redelivery (deleting a missing object is no error)."""
        media = self._s.media.owned_by(deleted.user_id, limit=BATCH)
        for m in media:
            for key in dict.fromkeys(k for k in (m.key, m.rendition_key, m.thumbnail_key) if k):
                self._s.objects.delete(key)
            for size in AVATAR_SIZES:
                self._s.objects.delete(avatar_key(deleted.user_id, m.media_id, size))
        self._s.media.forget(media)
        return len(media) == BATCH

    def _bookmarks(self, deleted: AccountDeleted) -> bool:
        self._s.engagement.forget_bookmarks(deleted.user_id)
        return False

    def _notifications(self, deleted: AccountDeleted) -> bool:
        self._s.notifications.forget_user(deleted.user_id)
        return False

    def _connections(self, deleted: AccountDeleted) -> bool:
        for connection_id in self._s.connections.connections_of([deleted.user_id]).get(deleted.user_id, []):
            self._realtime.disconnect(connection_id)
        self._s.timelines.drop([deleted.user_id])
        self._s.author_timelines.drop([deleted.user_id])
        return False

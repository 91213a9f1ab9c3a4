"""The actions consumer: applies the intents that API Gateway (write path "async", chirp.direct_writes) put straight
onto the stream — likes, retweets, follows and read markers — through the same service methods the Lambda path
calls, so the rows, counts, timelines and the facts they publish (TWEET_LIKED, USER_FOLLOWED, ... from which the
notifier makes notifications) are the Lambda path's own.

Idempotent: an intent sets a state (liked or not, following or not, read up to a point), and the stores report
whether anything changed, so a redelivered record, a duplicate or a client's retry counts nothing twice and
publishes no second fact. An intent whose target is gone changes nothing: a like of a deleted (or never posted)
tweet is dropped before any row is written, as is a follow of a user who does not exist. One actor's intents share a
partition key (the actor), so a like and its unlike apply in the order they were sent.

A batch asks once which of its tweets are live (one tweet-cache round trip, then one store read for the rest).

Counter coalescing: the batch's likes (and retweets) of one tweet are applied together
(EngagementStore.set_engagements): each row by its own guarded write, in the batch's order, then the tweet's counter
moved once by their net change — one counter write per tweet and kind per batch instead of one per like. The count
is written before any intent of the batch reports success or publishes its fact. At least once: a redelivered intent
finds its row already set and counts nothing; a group whose rows or counter write fail is set back by the store and
its intents fail (the others of the batch go on), so their retry applies and counts them afresh (the store's
docstring says why it mends its own rows rather than recount on a retry, and what window remains)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_lambda_powertools import Logger

from chirp.ids import min_id_for_time_ms
from chirp.model import EngagementRequested, Event, EventType, FollowRequested, ReadRequested, TweetRecord
from chirp.observability import metrics
from chirp.ports import EngagementChange, EngagementKind
from chirp.services.social import SocialService
from chirp.services.stores import Stores
from chirp.services.tweets import TweetService
from chirp.services.views import TweetHydrator
from chirp.tokens import Principal

logger = Logger(service="chirp")
Outcome = BaseException | None


class ActionsService:
    def __init__(self, stores: Stores, tweets: TweetService, social: SocialService) -> None:
        self._s = stores
        self._tweets = tweets
        self._social = social

    def on_events(self, events: Sequence[Event]) -> list[Outcome]:
        """One batch, in order; the outcome of each event: None (applied, or nothing to do), or the exception that
        failed it (retried, then quarantined by the consumer edge). Events other than intents are not ours."""
        outcomes: list[Outcome] = [None] * len(events)
        engagements: dict[int, EngagementRequested] = {}
        for index, event in enumerate(events):
            if event.type in EngagementRequested.TYPES:
                try:
                    engagements[index] = EngagementRequested.read(event)
                except ValueError as exc:  # malformed: no retry mends it, the edge quarantines it
                    outcomes[index] = exc
        live = self._live({e.tweet_id for e in engagements.values()})
        rows = self._set_rows(events, engagements, live)
        for index, event in enumerate(events):
            if outcomes[index] is not None:
                continue
            try:
                if index in engagements:
                    self._engage(event, engagements[index], live, rows.get(index))
                elif event.type in FollowRequested.TYPES:
                    self._follow(FollowRequested.read(event))
                elif event.type in ReadRequested.TYPES:
                    self._read(event, ReadRequested.read(event))
            except Exception as exc:
                outcomes[index] = exc
        return outcomes

    def _live(self, tweet_ids: set[int]) -> dict[int, TweetRecord]:
        if not tweet_ids:
            return {}
        return {t.tweet_id: t for t in TweetHydrator(self._s).records(sorted(tweet_ids))}

    def _set_rows(
        self, events: Sequence[Event], engagements: dict[int, EngagementRequested], live: dict[int, TweetRecord]
    ) -> dict[int, bool | Exception]:
        """The rows of the batch's engagements with live tweets, one store call (so one counter write) per tweet and
        kind, each group in the batch's order: per intent, whether its row changed, or what failed its group."""
        groups: dict[tuple[int, EngagementKind], list[int]] = {}
        for index, intent in engagements.items():  # in the batch's order
            if intent.tweet_id in live:
                groups.setdefault((intent.tweet_id, _kind(events[index])), []).append(index)
        rows: dict[int, bool | Exception] = {}
        moved = counter_writes = 0
        for (tweet_id, kind), indexes in groups.items():
            changes = [
                EngagementChange(engagements[i].actor_id, engagements[i].on, events[i].occurred_at_ms) for i in indexes
            ]
            try:
                changed = self._s.engagement.set_engagements(kind, tweet_id, changes)
            except Exception as exc:  # the store set the group's rows back: the retry counts them afresh
                rows.update(dict.fromkeys(indexes, exc))
            else:
                rows.update(zip(indexes, changed, strict=True))
                moved += sum(changed)
                counter_writes += sum((1 if c.on else -1) for c, m in zip(changes, changed, strict=True) if m) != 0
        if groups:  # their ratio is the coalescing the planner prices (counter_coalescing)
            metrics.count("EngagementRowsChanged", moved)
            metrics.count("EngagementCounterWrites", counter_writes)
        return rows

    def _engage(
        self, event: Event, intent: EngagementRequested, live: dict[int, TweetRecord], row: bool | Exception | None
    ) -> None:
        tweet = live.get(intent.tweet_id)
        if tweet is None:  # deleted or never posted: no row, no count, no notification
            logger.info("intent for a tweet that is gone", extra={"tweet_id": intent.tweet_id, "type": event.type})
            return
        if isinstance(row, Exception):
            raise row
        actor = _actor(intent.actor_id, intent.actor_username)
        self._tweets.engage(actor, tweet, on=intent.on, kind=_kind(event), changed=row)

    def _follow(self, intent: FollowRequested) -> None:
        followee = self._s.users.get_by_username(intent.followee_username)
        if followee is None or followee.user_id == intent.actor_id:
            logger.info("follow intent with no one to follow", extra={"username": intent.followee_username})
            return
        self._social.set_following(_actor(intent.actor_id, intent.actor_username), followee, on=intent.on)

    def _read(self, event: Event, intent: ReadRequested) -> None:
        # "All" means all the reader could have seen: notifications made up to the request, not those the notifier
        # made while this intent waited on the stream (notification ids are time-ordered snowflakes).
        up_to = intent.up_to
        if up_to is None:
            up_to = min_id_for_time_ms(event.occurred_at_ms + 1) - 1
        self._s.notifications.mark_read(intent.actor_id, up_to=up_to)


def _kind(event: Event) -> EngagementKind:
    return "like" if event.type == EventType.LIKE_REQUESTED else "retweet"


def _actor(user_id: int, username: str) -> Principal:
    return Principal(user_id=user_id, username=username)

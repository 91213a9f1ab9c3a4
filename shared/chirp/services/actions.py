"""The actions consumer: applies the intents that API Gateway (write path "async", chirp.direct_writes) put straight
onto the stream — likes, retweets, follows and read markers — through the same service methods the Lambda path
calls, so the rows, counts, timelines and the facts they publish (TWEET_LIKED, USER_FOLLOWED, ... from which the
notifier makes notifications) are the Lambda path's own.

Idempotent: an intent sets a state (liked or not, following or not, read up to a point), and the stores report
whether anything changed, so a redelivered record, a duplicate or a client's retry counts nothing twice and
publishes no second fact. An intent whose target is gone changes nothing: a like of a deleted (or never posted)
tweet is dropped before any row is written, as is a follow of a user who does not exist. One actor's intents share a
partition key (the actor), so a like and its unlike apply in the order they were sent.

A batch asks once which of its tweets are live (one tweet-cache round trip, then one store read for the rest)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_lambda_powertools import Logger

from chirp.ids import min_id_for_time_ms
from chirp.model import EngagementRequested, Event, EventType, FollowRequested, ReadRequested, TweetRecord
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
        for index, event in enumerate(events):
            if outcomes[index] is not None:
                continue
            try:
                if index in engagements:
                    self._engage(event, engagements[index], live)
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

    def _engage(self, event: Event, intent: EngagementRequested, live: dict[int, TweetRecord]) -> None:
        tweet = live.get(intent.tweet_id)
        if tweet is None:  # deleted or never posted: no row, no count, no notification
            logger.info("intent for a tweet that is gone", extra={"tweet_id": intent.tweet_id, "type": event.type})
            return
        kind = "like" if event.type == EventType.LIKE_REQUESTED else "retweet"
        self._tweets.engage(_actor(intent.actor_id, intent.actor_username), tweet, on=intent.on, kind=kind)

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


def _actor(user_id: int, username: str) -> Principal:
    return Principal(user_id=user_id, username=username)

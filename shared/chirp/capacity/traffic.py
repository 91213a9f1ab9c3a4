"""Traffic and storage derived from a scenario: the design document's capacity estimation, computed."""

from __future__ import annotations

from dataclasses import dataclass

from chirp.capacity.scenario import Design, Scenario

SECONDS_PER_DAY = 86_400
DAYS_PER_YEAR = 365


@dataclass(frozen=True)
class Traffic:
    """Daily volumes (events/day), rates (events/s) and storage (bytes, decimal units in reports)."""

    tweets_per_day: float
    retweets_per_day: float
    likes_per_day: float
    follows_per_day: float
    timeline_views_per_day: float
    profile_views_per_day: float
    searches_per_day: float
    peak_to_average: float
    fanout_followers_per_tweet: float  # mean followers of a tweet that is fanned out on write (celebrities count 0)
    celebrity_tweet_share: float
    active_follower_share: float  # monthly-active / registered
    timeline_deliveries_per_day: float  # timeline inserts (or Keyspaces home_timeline rows) per day
    concurrent_sockets: float  # average open sockets
    media_uploads_per_day: float
    tweets_stored_bytes: float
    media_stored_bytes: float
    users_stored_bytes: float
    graph_stored_bytes: float

    @staticmethod
    def per_second(per_day: float) -> float:
        return per_day / SECONDS_PER_DAY

    @property
    def tweets_per_s(self) -> float:
        return self.per_second(self.tweets_per_day)

    @property
    def timeline_views_per_s(self) -> float:
        return self.per_second(self.timeline_views_per_day)

    @property
    def likes_per_s(self) -> float:
        return self.per_second(self.likes_per_day)

    @property
    def reads_per_day(self) -> float:
        return self.timeline_views_per_day + self.profile_views_per_day + self.searches_per_day

    @property
    def writes_per_day(self) -> float:
        return self.tweets_per_day + self.likes_per_day + self.retweets_per_day + self.follows_per_day

    @property
    def requests_per_day(self) -> float:
        return self.reads_per_day + self.writes_per_day

    @property
    def stream_records_per_day(self) -> float:
        """Every write becomes one stream event."""
        return self.writes_per_day


def derive_traffic(scenario: Scenario, design: Design) -> Traffic:
    users, act, content, followers = scenario.users, scenario.activity, scenario.content, scenario.followers
    dau = users.daily_active
    tweets = dau * act.tweets
    written = [b for b in followers.distribution if b.min_followers < followers.celebrity_threshold]
    fanout_followers = sum(b.tweet_share * b.mean_followers for b in written)
    celebrity_share = 1.0 - sum(b.tweet_share for b in written)
    active_share = users.monthly_active / users.registered
    deliveries = tweets * fanout_followers * (active_share if design.fanout_active_only else 1.0)
    days_kept = DAYS_PER_YEAR * scenario.retention.years
    media_uploads = tweets * content.media_share
    return Traffic(
        tweets_per_day=tweets,
        retweets_per_day=dau * act.retweets,
        likes_per_day=dau * act.likes,
        follows_per_day=dau * act.follows,
        timeline_views_per_day=dau * act.timeline_views,
        profile_views_per_day=dau * act.profile_views,
        searches_per_day=dau * act.searches,
        peak_to_average=act.peak_to_average,
        fanout_followers_per_tweet=fanout_followers,
        celebrity_tweet_share=celebrity_share,
        active_follower_share=active_share,
        timeline_deliveries_per_day=deliveries,
        concurrent_sockets=dau * users.online_hours_per_day / 24,
        media_uploads_per_day=media_uploads,
        tweets_stored_bytes=tweets * days_kept * content.tweet_bytes,
        media_stored_bytes=media_uploads * days_kept * content.media_bytes,
        users_stored_bytes=users.monthly_active * content.user_bytes,
        graph_stored_bytes=users.monthly_active * followers.mean_per_user * content.graph_edge_bytes,
    )

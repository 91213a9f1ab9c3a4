"""The scenario a capacity plan is computed from: traffic inputs plus named designs.

A scenario file holds the workload (users, activity per user, follower distribution, content sizes,
retention, regions) once, a ``base_design`` with the design options, and ``designs``: named variants
that override some of those options. Every model forbids unknown keys, so a typo in a scenario is an
error rather than a silently ignored setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ScenarioError(ValueError):
    """A scenario file that cannot be planned, with a message saying which field and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Users(_Strict):
    daily_active: int = Field(gt=0, description="users active on a given day (DAU)")
    monthly_active: int = Field(gt=0, description="users active within 30 days (MAU); they keep a cached timeline")
    registered: int = Field(gt=0, description="all accounts; followers who are not monthly-active are 'inactive'")
    online_hours_per_day: float = Field(gt=0, le=24, description="hours a daily user keeps a live socket open")

    @model_validator(mode="after")
    def _ordered(self) -> Users:
        if not self.daily_active <= self.monthly_active <= self.registered:
            raise ValueError("users must satisfy daily_active <= monthly_active <= registered")
        return self


class Activity(_Strict):
    """Actions per daily active user per day."""

    tweets: float = Field(ge=0)
    retweets: float = Field(ge=0)
    likes: float = Field(ge=0)
    follows: float = Field(ge=0)
    timeline_views: float = Field(ge=0)
    profile_views: float = Field(ge=0)
    searches: float = Field(ge=0)
    peak_to_average: float = Field(ge=1, description="peak rate / daily average rate")


class FollowerBucket(_Strict):
    """Tweets whose author has between min_followers (inclusive) and max_followers (exclusive) followers."""

    min_followers: int = Field(ge=0)
    max_followers: int | None = Field(default=None, description="None for the open-ended top bucket")
    tweet_share: float = Field(ge=0, le=1, description="share of all tweets written by authors in this bucket")
    mean_followers: float = Field(ge=0)

    @model_validator(mode="after")
    def _mean_inside(self) -> FollowerBucket:
        upper = self.max_followers if self.max_followers is not None else float("inf")
        if not self.min_followers <= self.mean_followers < upper:
            raise ValueError(
                f"mean_followers {self.mean_followers:g} lies outside [{self.min_followers}, {self.max_followers})"
            )
        return self


class Followers(_Strict):
    mean_per_user: float = Field(gt=0, description="follow edges / registered-or-monthly users (graph size)")
    celebrity_threshold: int = Field(gt=0, description="authors at or above this are merged on read")
    distribution: list[FollowerBucket] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Followers:
        total = sum(b.tweet_share for b in self.distribution)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"follower distribution tweet_share must sum to 1, got {total:.6f}")
        boundaries = {b.min_followers for b in self.distribution}
        if self.celebrity_threshold not in boundaries:
            raise ValueError(
                f"celebrity_threshold {self.celebrity_threshold} must be a bucket min_followers boundary "
                f"(one of {sorted(boundaries)}) so each bucket is wholly fanned out on write or merged on read"
            )
        return self


class Content(_Strict):
    tweet_bytes: int = Field(gt=0, description="stored bytes per tweet row (design doc: 1.5 KB)")
    media_share: float = Field(ge=0, le=1, description="share of tweets carrying media")
    media_bytes: int = Field(ge=0, description="bytes per media object")
    media_views_per_upload: float = Field(ge=0, description="media bytes served per byte uploaded")
    user_bytes: int = Field(gt=0)
    graph_edge_bytes: int = Field(gt=0)
    like_row_bytes: int = Field(gt=0)
    notification_row_bytes: int = Field(gt=0)
    index_row_bytes: int = Field(gt=0, description="(user_id, created_at, tweet_id) rows: user_tweets, home_timeline")
    stream_record_bytes: int = Field(gt=0, description="mean Kinesis record size")
    write_response_bytes: int = Field(gt=0)


class Retention(_Strict):
    years: int = Field(gt=0, description="tweets, likes and media are kept this long; costs are for its last month")
    notification_days: int = Field(gt=0)


class Design(_Strict):
    """Design options: the switches that a named design may override."""

    timeline_store: Literal["keyspaces", "cache"] = Field(
        description="keyspaces: one home_timeline row per follower per tweet (design doc); cache: Redis sorted sets"
    )
    fanout_active_only: bool = Field(description="skip followers not active within 30 days")
    api: Literal["rest", "http", "alb"]
    websocket: Literal["api_gateway", "fleet", "appsync_events", "iot_core"]
    keyspaces_capacity: Literal["on_demand", "provisioned"]
    cache_engine: Literal["redis", "valkey"]
    media_tiering: Literal["standard", "lifecycle"]
    lambda_arch: Literal["x86_64", "arm64"]
    lambda_memory_mb: int = Field(ge=128, le=10240)
    page_tweets: int = Field(gt=0, description="tweets per timeline/profile/search page")
    compress_responses: bool = Field(
        description="gzip JSON responses (the ratio is the response_wire_over_raw input, measured by make bench)"
    )
    tweet_cache_hit_rate: float = Field(ge=0, le=1, description="share of tweet hydrations served from the cache")
    timeline_cap: int = Field(gt=0, description="ids kept per cached home timeline")
    timeline_entry_bytes: int = Field(gt=0, description="cache memory per timeline entry (encoding dependent)")
    cache_replicas: int = Field(ge=0, description="replicas per cache shard")
    home_timeline_ttl_days: int = Field(gt=0, description="TTL of Keyspaces home_timeline rows")
    keyspaces_hot_days: int | None = Field(
        default=None, description="tweets/likes older than this move to an S3 archive; None keeps all in Keyspaces"
    )
    counter_coalescing: float = Field(
        ge=1, description="like/retweet events folded into one counter/notification write"
    )
    pitr: bool
    search_hot_months: int = Field(gt=0)
    search_retention_months: int | None = Field(default=None, description="None keeps the whole retention searchable")
    # The stream and the lines a real bill has besides the stores (defaults: what the CDK app deploys today).
    stream: Literal["kinesis", "msk_serverless"] = "kinesis"
    stream_retention_hours: int = Field(default=24, ge=24, le=8760, description="how long the stream keeps records")
    stream_efo_consumers: int = Field(default=4, ge=0, description="consumers with enhanced fan-out (Kinesis)")
    waf_scope: Literal["all", "edge", "none"] = Field(
        default="all",
        description="all: a regional web ACL inspects every API request; edge: a CloudFront-scope ACL on the API edge "
        "only (signed-out reads, sign-up and sign-in; signed-in calls rely on the authorizer and per-user rate limits)",
    )
    xray_sampled_share: float = Field(
        default=0.05, ge=0, le=1, description="share of requests traced (X-Ray's default rule: 1/s + 5%)"
    )
    access_logs: Literal["cloudwatch", "firehose", "off"] = Field(
        default="cloudwatch", description="REST stage access logs: CloudWatch Logs, a Firehose stream to S3, or none"
    )
    websocket_ping: Literal["lambda", "mock"] = Field(
        default="lambda", description="a client ping invokes a function, or a mock integration answers it"
    )
    authorizer_cache_ttl_s: int = Field(default=300, ge=0, description="REST token authorizer result cache")
    availability_zones: int = Field(default=2, ge=1, description="AZs the functions and the cache span")
    cache_reads: Literal["primary", "same_az_replica"] = Field(
        default="primary",
        description="same_az_replica: cache reads go to a node in the caller's AZ (a client with AZ affinity)",
    )
    write_path: Literal["sync", "async"] = Field(
        default="sync", description="async: likes, retweets and follows go from API Gateway straight to the stream"
    )
    api_edge: bool = Field(default=False, description="signed-out reads go through the CloudFront API edge")
    signed_out_read_share: float = Field(
        default=0.0, ge=0, le=1, description="share of profile views and searches made signed out (shared links)"
    )
    commitment: Literal["none", "1yr", "3yr"] = Field(
        default="none", description="savings plans / reserved nodes for the lines that offer them"
    )

    @model_validator(mode="after")
    def _buildable(self) -> Design:
        if self.write_path == "async" and self.api == "alb":
            raise ValueError("write_path async needs API Gateway (rest or http): an ALB cannot put to the stream")
        if self.write_path == "async" and self.stream != "kinesis":
            raise ValueError("write_path async needs the Kinesis stream: API Gateway cannot write to MSK")
        if self.waf_scope == "edge" and not self.api_edge:
            raise ValueError("waf_scope edge needs api_edge: the web ACL sits on the edge distribution")
        if self.cache_reads == "same_az_replica":
            if self.cache_replicas + 1 < self.availability_zones:
                raise ValueError("cache_reads same_az_replica needs a node of every shard in each AZ (cache_replicas)")
            if self.cache_engine != "valkey":
                raise ValueError("cache_reads same_az_replica needs valkey: AZ-affinity reads need ElastiCache Valkey")
        return self


class Scenario(_Strict):
    name: str
    description: str = ""
    regions: list[str] = Field(min_length=1, description="stateful stores are replicated into every region")
    users: Users
    activity: Activity
    followers: Followers
    content: Content
    retention: Retention
    inputs_from: str | None = Field(
        default=None, description="the one benchmark results file whose capacity_inputs to use (repository path)"
    )
    base_design: Design
    designs: dict[str, dict[str, Any]] = Field(min_length=1)
    path_from: str | None = Field(
        default=None, description="the design the verdict walks from, one option at a time, to the cheapest design"
    )

    @model_validator(mode="after")
    def _designs_valid(self) -> Scenario:
        for name in self.designs:
            self.design(name)
        if self.path_from is not None and self.path_from not in self.designs:
            raise ValueError(f"path_from {self.path_from!r} is not one of the designs {sorted(self.designs)}")
        return self

    def design(self, name: str) -> Design:
        """The base design with the named variant's overrides applied (validated)."""
        if name not in self.designs:
            raise ScenarioError(f"unknown design {name!r}; the scenario defines {sorted(self.designs)}")
        merged = {**self.base_design.model_dump(), **self.designs[name]}
        try:
            return Design.model_validate(merged)
        except ValidationError as exc:
            raise ScenarioError(f"design {name!r}: {_describe(exc)}") from exc


def _describe(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors())


def parse_scenario(data: Any) -> Scenario:
    """Validate already-loaded scenario data, raising ScenarioError with every problem listed."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"invalid scenario: {_describe(exc)}") from exc


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario YAML file."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    try:
        return parse_scenario(data)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from exc

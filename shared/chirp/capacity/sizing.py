"""Per-component sizing: monthly quantities and their list-price cost, one ``Line`` per billed item.

Units: a month is ``hours_per_month`` (730) hours; storage and transfer are billed per GiB (2^30 bytes);
Lambda memory is MB/1024 GB. Storage lines are the steady state in the last month of the retention period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from chirp.capacity.inputs import Inputs
from chirp.capacity.prices import PriceTable
from chirp.capacity.scenario import Design, Scenario
from chirp.capacity.traffic import DAYS_PER_YEAR, Traffic

GIB = 2**30
MIB = 2**20
KIB = 1024
STREAM_CONSUMERS = ("fan-out", "search indexer", "trends", "notifier")
CACHE_NODE = "cache_r7g_4xlarge"
CACHE_NODE_GIB = 105.81
TIMELINE_KEY_OVERHEAD_BYTES = 90  # key, dict entry and sorted-set header per cached timeline
TRENDS_CACHE_BYTES = 10e9  # design doc: "real-time aggregations: 10 GB"
HOT_TWEET_CACHE_SHARE = 0.2  # design doc: cache the hottest 20% of the last 24 hours of tweets
RATE_LIMIT_BYTES_PER_USER = 64
SOCKET_REGISTRY_BYTES = 200
KINESIS_PUT_UNIT_BYTES = 25 * KIB
MEDIA_STANDARD_DAYS = 30  # lifecycle: Standard for 30 days (the IA minimum), then Standard-IA
MEDIA_IA_DAYS = 90  # then Glacier Instant Retrieval after 90 days


@dataclass(frozen=True)
class Line:
    component: str
    item: str
    quantity: float  # per month, in `unit`
    unit: str
    monthly_usd: float
    detail: str = ""
    core: bool = True  # False for media storage and delivery
    price_key: str = ""  # the price-table entry it was costed with (commitment discounts are keyed by it)


@dataclass(frozen=True)
class Context:
    scenario: Scenario
    design: Design
    traffic: Traffic
    prices: PriceTable
    inputs: Inputs

    @property
    def hours(self) -> float:
        return self.prices.hours_per_month

    @property
    def days(self) -> float:
        return self.prices.hours_per_month / 24

    @property
    def regions(self) -> int:
        return len(self.scenario.regions)

    @property
    def days_kept(self) -> int:
        return DAYS_PER_YEAR * self.scenario.retention.years

    @property
    def edge_reads_per_day(self) -> float:
        """Signed-out profile views and searches sent to the CDN in front of the API (its hits and misses)."""
        d, t = self.design, self.traffic
        return (t.profile_views_per_day + t.searches_per_day) * d.signed_out_read_share if d.api_edge else 0.0

    @property
    def edge_hits_per_day(self) -> float:
        return self.edge_reads_per_day * self.inputs["edge_hit_ratio"]

    @property
    def edge_auth_calls_per_day(self) -> float:
        """Sign-ins and sign-ups routed through the edge (waf_scope edge) so its web ACL sees them; never cached."""
        if self.design.waf_scope != "edge":
            return 0.0
        return self.scenario.users.daily_active * self.inputs["auth_calls_per_user_per_day"]

    @property
    def origin_reads_per_day(self) -> float:
        """Reads that reach API Gateway and a function (the edge's misses included)."""
        return self.traffic.reads_per_day - self.edge_hits_per_day

    @property
    def origin_requests_per_day(self) -> float:
        return self.traffic.requests_per_day - self.edge_hits_per_day

    @property
    def direct_writes_per_day(self) -> float:
        """Likes, retweets and follows that API Gateway puts straight on the stream (write_path async): no function
        in the request path; the ``actions`` consumer applies them in batches."""
        t = self.traffic
        return t.likes_per_day + t.retweets_per_day + t.follows_per_day if self.design.write_path == "async" else 0.0

    @property
    def stream_records_per_day(self) -> float:
        """Every write's event, plus one intent record per direct write."""
        return self.traffic.stream_records_per_day + self.direct_writes_per_day

    @property
    def function_requests_per_day(self) -> float:
        """API requests that invoke a function (the edge's hits and the direct writes do not)."""
        return self.origin_requests_per_day - self.direct_writes_per_day

    def monthly(self, per_day: float) -> float:
        return per_day * self.days

    def peak_per_s(self, per_day: float) -> float:
        return per_day / 86_400 * self.traffic.peak_to_average

    def line(
        self, component: str, item: str, price_key: str, quantity: float, detail: str = "", core: bool = True
    ) -> Line:
        price = self.prices[price_key]
        return Line(component, item, quantity, price.unit, price.cost(quantity), detail, core, price_key)


def _units(size_bytes: float, unit_bytes: float) -> int:
    return max(1, math.ceil(size_bytes / unit_bytes))


def wire_over_raw(c: Context) -> float:
    return c.inputs["response_wire_over_raw"] if c.design.compress_responses else 1.0


def counter_coalescing(c: Context) -> float:
    """Likes and retweets per counter write: the input (measured by make bench: the actions consumer's batches)
    where the design coalesces and takes likes on the async write path (the only path that batches them), else 1.
    Notifications are not folded by the product ("N people liked" is not built): one per like or retweet."""
    coalesces = c.design.counter_coalescing > 1 and c.design.write_path == "async"
    return c.inputs["counter_coalescing"] if coalesces else 1.0


def page_bytes(c: Context) -> float:
    """Raw bytes of one page of tweets as the API writes it (measured: the bench's home page JSON)."""
    return c.design.page_tweets * c.inputs["response_bytes_per_tweet"]


def response_bytes_per_day(c: Context) -> float:
    """Bytes the API sends to clients itself (reads served through the edge leave from CloudFront instead)."""
    t, content = c.traffic, c.scenario.content
    direct_reads = t.reads_per_day - c.edge_reads_per_day
    raw = direct_reads * page_bytes(c) + t.writes_per_day * content.write_response_bytes
    return raw * wire_over_raw(c)


def api_edge(c: Context) -> list[Line]:
    """The CDN in front of the API for signed-out reads: a request charge for every one, egress at CDN rates."""
    if not c.edge_reads_per_day:
        return []
    d = c.design
    reads = c.monthly(c.edge_reads_per_day)
    requests = reads + c.monthly(c.edge_auth_calls_per_day)
    gib = reads * page_bytes(c) * wire_over_raw(c) / GIB
    detail = f"{d.signed_out_read_share:.0%} of profile views and searches signed out"
    if c.edge_auth_calls_per_day:
        detail += f"; sign-ins {c.monthly(c.edge_auth_calls_per_day):.3g} (waf_scope edge)"
    return [
        c.line("CloudFront API edge", "HTTPS requests", "cloudfront.https_requests", requests, detail),
        c.line("CloudFront API edge", "egress", "cloudfront.egress", gib),
    ]


def api_front(c: Context) -> list[Line]:
    d = c.design
    requests = c.monthly(c.origin_requests_per_day)
    if d.api == "rest":
        return [c.line("API front", "requests", "apigw.rest.requests", requests, "API Gateway REST API")]
    if d.api == "http":
        return [c.line("API front", "requests", "apigw.http.requests", requests, "API Gateway HTTP API")]
    new_connections_per_s = c.origin_requests_per_day / 86_400 / c.inputs["requests_per_connection"]
    processed_gib_per_hour = response_bytes_per_day(c) / 24 / GIB
    lcus = max(new_connections_per_s / 25, processed_gib_per_hour / 0.4)
    return [
        c.line("API front", "load balancer hours", "alb.hours", c.regions * c.hours, "one ALB per region"),
        c.line(
            "API front",
            "LCU-hours",
            "alb.lcu_hours",
            lcus * c.hours,
            f"{lcus:,.0f} LCU: max({new_connections_per_s:,.0f} new conn/s / 25, "
            f"{processed_gib_per_hour:,.0f} GiB/h / 0.4 for Lambda targets)",
        ),
    ]


def data_transfer(c: Context) -> list[Line]:
    gib = c.monthly(response_bytes_per_day(c)) / GIB
    d = c.design
    detail = (
        f"{d.page_tweets} tweets x {c.inputs['response_bytes_per_tweet']:,.0f} B per read page, "
        f"wire/raw {wire_over_raw(c):g}"
    )
    return [c.line("Data transfer out", "API responses", "internet.egress", gib, detail)]


def authorizer_calls_per_day(c: Context) -> float:
    """Token-authorizer invocations: API Gateway caches a token's answer for the TTL, so a user pays at most one
    call per TTL window of activity (the ALB path has no authorizer: the function checks the token itself)."""
    d, users, t = c.design, c.scenario.users, c.traffic
    if d.api == "alb":
        return 0.0
    per_user = t.requests_per_day / users.daily_active
    if d.authorizer_cache_ttl_s:
        per_user = min(per_user, users.online_hours_per_day * 3600 / d.authorizer_cache_ttl_s)
    return users.daily_active * per_user


def ping_calls_per_month(c: Context) -> float:
    """Client keep-alive pings that invoke a function (a mock integration answers them without one)."""
    d = c.design
    return heartbeats_per_month(c) if d.websocket == "api_gateway" and d.websocket_ping == "lambda" else 0.0


def lambda_functions(c: Context) -> list[Line]:
    t, d, inp = c.traffic, c.design, c.inputs
    api = c.monthly(c.function_requests_per_day)
    batches = c.monthly(c.traffic.stream_records_per_day) / inp["stream_batch_records"] * len(STREAM_CONSUMERS)
    # The actions consumer: one batch per stream_batch_records direct writes, each write costing a write's work.
    batches += c.monthly(c.direct_writes_per_day) / inp["stream_batch_records"]
    authorizer = c.monthly(authorizer_calls_per_day(c))
    pings = ping_calls_per_month(c)
    memory_gb = d.lambda_memory_mb / 1024
    api_seconds = (
        c.monthly(
            c.origin_reads_per_day * inp["lambda_ms_per_request.read"]
            + t.writes_per_day * inp["lambda_ms_per_request.write"]  # direct writes: the same work, in the consumer
        )
        / 1000
    )
    stream_seconds = batches * inp["lambda_ms_per_request.stream_batch"] / 1000
    fanout_seconds = c.monthly(t.timeline_deliveries_per_day) / inp["timeline_inserts_per_s_per_lambda"]
    side_seconds = (
        authorizer * inp["lambda_ms_per_request.authorizer"] + pings * inp["lambda_ms_per_request.ping"]
    ) / 1000
    gb_seconds = (api_seconds + stream_seconds + fanout_seconds + side_seconds) * memory_gb
    lines = [
        c.line(
            "Lambda", "invocations", "lambda.requests", api + batches, f"API {api:.3g} + stream batches {batches:.3g}"
        ),
        c.line(
            "Lambda",
            "compute GB-seconds",
            f"lambda.gb_seconds.{d.lambda_arch}",
            gb_seconds,
            f"{d.lambda_arch}, {d.lambda_memory_mb} MB; API {api_seconds:.3g} s, stream {stream_seconds:.3g} s, "
            f"fan-out {fanout_seconds:.3g} s, authorizer + pings {side_seconds:.3g} s",
        ),
    ]
    if authorizer:
        lines.append(
            c.line(
                "Lambda",
                "invocations: token authorizer",
                "lambda.requests",
                authorizer,
                f"results cached {d.authorizer_cache_ttl_s} s per token",
            )
        )
    if pings:
        lines.append(
            c.line(
                "Lambda",
                "invocations: WebSocket pings",
                "lambda.requests",
                pings,
                f"one per open socket every {inp['websocket_heartbeat_minutes']:g} min",
            )
        )
    return lines


def online_share(c: Context) -> float:
    """Share of monthly-active followers with a socket open at a given moment."""
    users = c.scenario.users
    return users.daily_active / users.monthly_active * users.online_hours_per_day / 24


def pushes_per_day(c: Context) -> float:
    """Tweets pushed to followers' open sockets (fan-out on write only)."""
    t = c.traffic
    return t.tweets_per_day * t.fanout_followers_per_tweet * t.active_follower_share * online_share(c)


def heartbeats_per_month(c: Context) -> float:
    socket_minutes = c.traffic.concurrent_sockets * 60 * c.hours
    return socket_minutes / c.inputs["websocket_heartbeat_minutes"]


def websocket(c: Context) -> list[Line]:
    t, d, inp = c.traffic, c.design, c.inputs
    socket_minutes = t.concurrent_sockets * 60 * c.hours
    if d.websocket == "fleet":
        peak_sockets = t.concurrent_sockets * t.peak_to_average
        instances = math.ceil(peak_sockets / inp["websocket_connections_per_instance"]) + 1
        nlcus = t.concurrent_sockets / 100_000  # one NLCU per 100,000 active TCP connections
        return [
            c.line(
                "WebSocket",
                "socket fleet instances",
                "ec2.c7g_2xlarge.hours",
                instances * c.hours,
                f"{instances} x c7g.2xlarge for {peak_sockets:,.0f} peak sockets (N+1)",
            ),
            c.line("WebSocket", "NLB hours", "nlb.hours", c.regions * c.hours),
            c.line("WebSocket", "NLCU-hours", "nlb.nlcu_hours", nlcus * c.hours, f"{nlcus:,.0f} NLCU (active sockets)"),
        ]
    pushes = pushes_per_day(c)
    notifications = (t.likes_per_day + t.retweets_per_day) * online_share(c)  # one per like (not folded)
    if d.websocket in ("appsync_events", "iot_core"):
        return _managed_pubsub(c, socket_minutes, c.monthly(pushes + notifications))
    heartbeats = heartbeats_per_month(c)
    messages = c.monthly(pushes + notifications) + heartbeats
    return [
        c.line(
            "WebSocket",
            "connection-minutes",
            "apigw.websocket.connection_minutes",
            socket_minutes,
            f"{t.concurrent_sockets:,.0f} average open sockets",
        ),
        c.line(
            "WebSocket",
            "messages",
            "apigw.websocket.messages",
            messages,
            f"pushes {c.monthly(pushes):.3g}, notifications {c.monthly(notifications):.3g}, pings {heartbeats:.3g}",
        ),
    ]


PUBLISHES_PER_BATCH = 5  # AppSync Events takes up to 5 events per publish request; IoT publishes one per message


def _managed_pubsub(c: Context, socket_minutes: float, deliveries: float) -> list[Line]:
    """AppSync Events or IoT Core instead of API Gateway WebSocket: per connection-minute and per operation/message,
    a publish (from the fan-out) and a delivery (to the socket) each counted; their keep-alives are not billed."""
    if c.design.websocket == "appsync_events":
        publishes = deliveries / PUBLISHES_PER_BATCH
        return [
            c.line("WebSocket", "connection-minutes", "appsync_events.connection_minutes", socket_minutes),
            c.line(
                "WebSocket",
                "operations",
                "appsync_events.operations",
                publishes + deliveries,
                f"publishes {publishes:.3g} (5 events each) + deliveries {deliveries:.3g}",
            ),
        ]
    return [
        c.line("WebSocket", "connection-minutes", "iot_core.connection_minutes", socket_minutes),
        c.line(
            "WebSocket",
            "messages",
            "iot_core.messages",
            deliveries * 2,
            f"publish + delivery of {deliveries:.3g} pushes",
        ),
    ]


def stream_peak_records_per_s(c: Context) -> float:
    return c.peak_per_s(c.stream_records_per_day)


def kinesis(c: Context) -> list[Line]:
    d, content = c.design, c.scenario.content
    peak_records = stream_peak_records_per_s(c)
    shards = math.ceil(max(peak_records / 1000, peak_records * content.stream_record_bytes / MIB))
    records = c.monthly(c.stream_records_per_day)
    efo = min(d.stream_efo_consumers, len(STREAM_CONSUMERS))
    lines = [
        c.line("Kinesis", "shard-hours", "kinesis.shard_hours", shards * c.hours, f"{shards:,} shards"),
        c.line(
            "Kinesis",
            "PUT payload units",
            "kinesis.put_payload_units",
            records * _units(content.stream_record_bytes, KINESIS_PUT_UNIT_BYTES),
        ),
    ]
    if d.stream_retention_hours > 24:
        lines.append(
            c.line(
                "Kinesis",
                "extended retention",
                "kinesis.extended_retention_shard_hours",
                shards * c.hours,
                f"{min(d.stream_retention_hours, 168)} h retention",
            )
        )
    if d.stream_retention_hours > 168:
        kept_gib = c.stream_records_per_day * content.stream_record_bytes * (d.stream_retention_hours - 168) / 24
        lines.append(
            c.line("Kinesis", "long-term retention", "kinesis.long_term_retention", kept_gib / GIB, "beyond 7 days")
        )
    if efo:
        lines += [
            c.line(
                "Kinesis",
                "enhanced fan-out consumer-shard-hours",
                "kinesis.efo_consumer_shard_hours",
                efo * shards * c.hours,
                f"{efo} of {len(STREAM_CONSUMERS)} consumers ({', '.join(STREAM_CONSUMERS)}) with enhanced fan-out",
            ),
            c.line(
                "Kinesis",
                "enhanced fan-out data",
                "kinesis.efo_data",
                efo * records * content.stream_record_bytes / GIB,
            ),
        ]
    return lines


# MSK Serverless quotas per cluster (write/read MiB/s) and per partition (write MiB/s).
MSK_SERVERLESS_IN_MIB_S = 200
MSK_SERVERLESS_OUT_MIB_S = 400
MSK_SERVERLESS_PARTITION_IN_MIB_S = 5


def msk_serverless(c: Context) -> list[Line]:
    d, content = c.design, c.scenario.content
    consumers = len(STREAM_CONSUMERS)
    peak_in = stream_peak_records_per_s(c) * content.stream_record_bytes / MIB
    clusters = math.ceil(max(peak_in / MSK_SERVERLESS_IN_MIB_S, peak_in * consumers / MSK_SERVERLESS_OUT_MIB_S))
    partitions = max(clusters, math.ceil(peak_in / MSK_SERVERLESS_PARTITION_IN_MIB_S))
    written_gib = c.monthly(c.stream_records_per_day) * content.stream_record_bytes / GIB
    retained_gib = c.stream_records_per_day * content.stream_record_bytes * d.stream_retention_hours / 24 / GIB
    return [
        c.line(
            "MSK Serverless",
            "cluster-hours",
            "msk_serverless.cluster_hours",
            clusters * c.hours,
            f"{clusters} clusters for {peak_in:,.0f} MiB/s peak in, x{consumers} out",
        ),
        c.line("MSK Serverless", "partition-hours", "msk_serverless.partition_hours", partitions * c.hours),
        c.line("MSK Serverless", "data in", "msk_serverless.data_in", written_gib),
        c.line(
            "MSK Serverless", "data out", "msk_serverless.data_out", written_gib * consumers, f"{consumers} consumers"
        ),
        c.line(
            "MSK Serverless",
            "storage",
            "msk_serverless.storage",
            retained_gib,
            f"{d.stream_retention_hours} h retained",
        ),
    ]


def event_stream(c: Context) -> list[Line]:
    return kinesis(c) if c.design.stream == "kinesis" else msk_serverless(c)


def _keyspaces_throughput(c: Context, item: str, units_per_day: float, kind: str) -> Line:
    """kind is 'write' (WRU) or 'read' (RRU); provisioned capacity follows the daily average at the target."""
    if c.design.keyspaces_capacity == "on_demand":
        key = "keyspaces.write_request_units" if kind == "write" else "keyspaces.read_request_units"
        return c.line("Keyspaces", item, key, c.monthly(units_per_day), f"{units_per_day / 86_400:,.0f} units/s")
    capacity = units_per_day / 86_400 / c.inputs["keyspaces_target_utilization"]
    key = "keyspaces.wcu_hours" if kind == "write" else "keyspaces.rcu_hours"
    return c.line("Keyspaces", item, key, capacity * c.hours, f"{capacity:,.0f} provisioned units")


def keyspaces(c: Context) -> list[Line]:
    t, d, content = c.traffic, c.design, c.scenario.content
    regions = c.regions
    tweet_wru = _units(content.tweet_bytes, KIB) + _units(content.index_row_bytes, KIB)  # tweets + user_tweets
    like_wru = _units(content.like_row_bytes, KIB)
    notification_wru = _units(content.notification_row_bytes, KIB)
    notifications_per_day = t.likes_per_day + t.retweets_per_day  # one per like or retweet (not folded)
    engagement = (
        t.likes_per_day * like_wru * 2  # the like row and its likes_by_user row (the Likes tab)
        + t.retweets_per_day * tweet_wru
        + (t.likes_per_day + t.retweets_per_day) / counter_coalescing(c)  # counter updates
        + notifications_per_day * notification_wru
    )
    posts = t.tweets_per_day * tweet_wru + t.follows_per_day * 2  # follower/following counters
    lines = [
        _keyspaces_throughput(c, "writes: likes, retweets, counters, notifications", engagement * regions, "write"),
        _keyspaces_throughput(c, "writes: tweets, user_tweets, follow counters", posts * regions, "write"),
    ]
    home_rows_per_day = t.timeline_deliveries_per_day if d.timeline_store == "keyspaces" else 0.0
    if home_rows_per_day:
        home_wru = home_rows_per_day * _units(content.index_row_bytes, KIB)
        lines.append(_keyspaces_throughput(c, "writes: home_timeline rows", home_wru * regions, "write"))
    hydrations = c.origin_reads_per_day * d.page_tweets * (1 - d.tweet_cache_hit_rate)
    reads = hydrations * 0.5 * _units(content.tweet_bytes, 4 * KIB)  # LOCAL_ONE
    if d.timeline_store == "keyspaces":
        reads += t.timeline_views_per_day * 0.5 * _units(d.page_tweets * content.index_row_bytes, 4 * KIB)
    reads += authorizer_calls_per_day(c) * 0.5  # the token's version: one small point read per uncached token
    lines.append(_keyspaces_throughput(c, "reads (LOCAL_ONE)", reads, "read"))

    hot_days = min(d.keyspaces_hot_days or c.days_kept, c.days_kept)
    stored = (
        t.tweets_per_day * hot_days * (content.tweet_bytes + content.index_row_bytes)
        + t.likes_per_day * hot_days * content.like_row_bytes * 2  # likes and likes_by_user
        + t.users_stored_bytes
        + notifications_per_day * c.scenario.retention.notification_days * content.notification_row_bytes
        + home_rows_per_day * d.home_timeline_ttl_days * content.index_row_bytes
    ) * regions
    stored_gib = stored / GIB
    lines.append(
        c.line("Keyspaces", "storage", "keyspaces.storage", stored_gib, f"{stored / 1e12:,.0f} TB, {hot_days} days hot")
    )
    if d.pitr:
        lines.append(c.line("Keyspaces", "point-in-time recovery", "keyspaces.pitr", stored_gib))
    ttl_per_day = notifications_per_day * notification_wru + home_rows_per_day * _units(content.index_row_bytes, KIB)
    if d.keyspaces_hot_days is not None:
        ttl_per_day += t.tweets_per_day * tweet_wru + t.likes_per_day * like_wru
    lines.append(c.line("Keyspaces", "TTL deletes", "keyspaces.ttl_deletes", c.monthly(ttl_per_day) * regions))
    return lines


def tweet_archive(c: Context) -> list[Line]:
    """Tweets and likes older than keyspaces_hot_days, exported to S3 as compressed Parquet."""
    d, t, content = c.design, c.traffic, c.scenario.content
    if d.keyspaces_hot_days is None or d.keyspaces_hot_days >= c.days_kept:
        return []
    archived_days = c.days_kept - d.keyspaces_hot_days
    raw = archived_days * (t.tweets_per_day * content.tweet_bytes + t.likes_per_day * content.like_row_bytes)
    gib = raw * c.inputs["archive_compression"] / GIB
    return [c.line("S3 tweet archive", "Standard-IA storage", "s3.standard_ia", gib, f"{archived_days} days archived")]


def elasticache(c: Context) -> list[Line]:
    t, d, users, inp = c.traffic, c.design, c.scenario.users, c.inputs
    timeline_bytes, peak_inserts, detail = 0.0, 0.0, "tweet cache, trends, rate limits, sockets"
    if d.timeline_store == "cache":
        holders = users.monthly_active if d.fanout_active_only else users.registered
        window = 30 if d.fanout_active_only else c.days_kept
        entries = min(d.timeline_cap, t.timeline_deliveries_per_day / holders * window)
        timeline_bytes = holders * (entries * d.timeline_entry_bytes + TIMELINE_KEY_OVERHEAD_BYTES)
        peak_inserts = c.peak_per_s(t.timeline_deliveries_per_day)
        detail = (
            f"timelines {timeline_bytes / 1e12:,.1f} TB ({holders:,.0f} users x {entries:,.0f} ids x "
            f"{d.timeline_entry_bytes} B); {detail}"
        )
    other = (
        t.tweets_per_day * c.scenario.content.tweet_bytes * HOT_TWEET_CACHE_SHARE
        + TRENDS_CACHE_BYTES
        + users.daily_active * RATE_LIMIT_BYTES_PER_USER
        + t.concurrent_sockets * t.peak_to_average * SOCKET_REGISTRY_BYTES
    )
    usable_gib = CACHE_NODE_GIB * inp["cache_usable_memory_fraction"]
    shards_for_memory = math.ceil((timeline_bytes + other) / GIB / usable_gib)
    shards_for_inserts = math.ceil(peak_inserts / inp["timeline_inserts_per_s_per_node"])
    shards = max(shards_for_memory, shards_for_inserts, 1)
    nodes = shards * (1 + d.cache_replicas) * c.regions
    return [
        c.line(
            "ElastiCache",
            "nodes",
            f"elasticache.{d.cache_engine}.{CACHE_NODE}.hours",
            nodes * c.hours,
            f"{d.cache_engine} {nodes:,} x cache.r7g.4xlarge = {shards:,} shards (memory needs {shards_for_memory:,}, "
            f"inserts need {shards_for_inserts:,}) x {1 + d.cache_replicas} x {c.regions} region(s); {detail}",
        )
    ]


def neptune(c: Context) -> list[Line]:
    t, inp = c.traffic, c.inputs
    queries_per_day = t.tweets_per_day * (1 - t.celebrity_tweet_share) + t.follows_per_day * 2
    peak = c.peak_per_s(queries_per_day)
    readers = max(1, math.ceil(peak / inp["neptune_queries_per_s_per_instance"]))
    instances = (1 + readers) * c.regions
    stored_gib = t.graph_stored_bytes * inp["neptune_storage_factor"] * c.regions / GIB
    return [
        c.line(
            "Neptune",
            "instances",
            "neptune.db_r5_4xlarge.hours",
            instances * c.hours,
            f"{instances} x db.r5.4xlarge (writer + {readers} reader) for {peak:,.0f} peak queries/s",
        ),
        c.line("Neptune", "storage", "neptune.storage", stored_gib),
        c.line("Neptune", "I/O", "neptune.io", c.monthly(queries_per_day) * inp["neptune_ios_per_query"]),
    ]


def opensearch(c: Context) -> list[Line]:
    t, d, inp = c.traffic, c.design, c.inputs
    searchable = d.search_retention_months or c.scenario.retention.years * 12
    hot_months = min(d.search_hot_months, searchable)
    warm_months = searchable - hot_months
    month_gib = c.monthly(t.tweets_per_day) * inp["search_index_bytes_per_tweet"] / GIB
    hot_gib = month_gib * hot_months * 2  # one replica
    nodes_for_storage = math.ceil(hot_gib / inp["opensearch_hot_gib_per_node"])
    nodes_for_queries = math.ceil(c.peak_per_s(t.searches_per_day) / inp["opensearch_queries_per_s_per_node"])
    data_nodes = max(nodes_for_storage, nodes_for_queries, 2) * c.regions
    lines = [
        c.line(
            "OpenSearch",
            "data nodes",
            "opensearch.r6g_4xlarge.hours",
            data_nodes * c.hours,
            f"{data_nodes} x r6g.4xlarge.search (storage needs {nodes_for_storage}, queries need {nodes_for_queries})",
        ),
        c.line("OpenSearch", "master nodes", "opensearch.m6g_large.hours", 3 * c.regions * c.hours),
        c.line("OpenSearch", "hot storage (gp3)", "opensearch.gp3", hot_gib * c.regions, f"{hot_months} months x 2"),
    ]
    if warm_months > 0:
        lines += [
            c.line("OpenSearch", "UltraWarm nodes", "opensearch.ultrawarm1_medium.hours", 2 * c.regions * c.hours),
            c.line(
                "OpenSearch",
                "warm/cold storage",
                "opensearch.managed_storage",
                month_gib * warm_months * c.regions,
                f"{warm_months} months",
            ),
        ]
    return lines


def media(c: Context) -> list[Line]:
    t, d, content = c.traffic, c.design, c.scenario.content
    uploads = t.media_uploads_per_day
    per_day_gib = uploads * content.media_bytes / GIB
    lines = [c.line("S3 media", "PUT requests", "s3.put_requests", c.monthly(uploads), core=False)]
    if d.media_tiering == "standard":
        lines.append(
            c.line("S3 media", "Standard storage", "s3.standard", per_day_gib * c.days_kept, "all media", core=False)
        )
    else:
        ia_days = min(MEDIA_IA_DAYS, c.days_kept) - MEDIA_STANDARD_DAYS
        glacier_days = max(0, c.days_kept - MEDIA_IA_DAYS)
        lines += [
            c.line(
                "S3 media", "Standard storage", "s3.standard", per_day_gib * MEDIA_STANDARD_DAYS, "first 30 days", False
            ),
            c.line("S3 media", "Standard-IA storage", "s3.standard_ia", per_day_gib * ia_days, "days 30-90", False),
            c.line(
                "S3 media", "Glacier IR storage", "s3.glacier_ir", per_day_gib * glacier_days, "after 90 days", False
            ),
            c.line("S3 media", "transitions to IA", "s3.transition_standard_ia", c.monthly(uploads), core=False),
            c.line("S3 media", "transitions to Glacier IR", "s3.transition_glacier_ir", c.monthly(uploads), core=False),
        ]
    views = uploads * content.media_views_per_upload
    lines += [
        c.line(
            "CloudFront media",
            "egress",
            "cloudfront.egress",
            c.monthly(views) * content.media_bytes / GIB,
            f"{content.media_views_per_upload:g} views per upload",
            core=False,
        ),
        c.line("CloudFront media", "HTTPS requests", "cloudfront.https_requests", c.monthly(views), core=False),
    ]
    return lines


COMPONENTS = (
    api_front,
    api_edge,
    lambda_functions,
    data_transfer,
    websocket,
    event_stream,
    keyspaces,
    tweet_archive,
    elasticache,
    neptune,
    opensearch,
    media,
)


def size_all(c: Context) -> list[Line]:
    return [line for component in COMPONENTS for line in component(c)]

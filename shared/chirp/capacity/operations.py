"""The lines a real bill has besides the stores and the request path: the web application firewall, tracing, logs,
traffic between availability zones, and the VPC's way out (interface endpoints and NAT gateways). Each follows
what the CDK app deploys (cdk/chirp_cdk: rest_api.py's web ACL, functions.py's active tracing, network_stack.py's
endpoints and NAT gateways) and is switched by a design option, so a design can price leaving one out."""

from __future__ import annotations

import math

from chirp.capacity.sizing import GIB, STREAM_CONSUMERS, Context, Line, pushes_per_day

WAF_RULES = 3  # rest_api.py: AWS common rule set, known bad inputs, rate per IP
INTERFACE_ENDPOINTS = 4  # network_stack.py: Secrets Manager, Kinesis, Keyspaces, STS
KEYSPACES_WRITE_BYTES = 1024  # one write request unit per engagement or tweet write


def waf(c: Context) -> list[Line]:
    """waf_scope all: a regional ACL inspects every request reaching the API (an HTTP API takes none). edge: a
    CloudFront-scope ACL inspects only what goes through the API edge, hits included (WAF runs before the cache):
    signed-out reads and sign-ins; signed-in calls meet the token authorizer and Chirp's per-user rate limits."""
    d = c.design
    if d.waf_scope == "none" or (d.waf_scope == "all" and d.api == "http"):
        return []
    if d.waf_scope == "edge":
        inspected = c.monthly(c.edge_reads_per_day + c.edge_auth_calls_per_day)
        detail = "CloudFront-scope ACL on the API edge: signed-out reads + sign-ins"
    else:
        inspected = c.monthly(c.origin_requests_per_day)
        detail = "regional ACL on the API: every request"
    return [
        c.line("WAF", "web ACLs", "waf.web_acls", c.regions),
        c.line("WAF", "rules", "waf.rules", c.regions * WAF_RULES, f"{WAF_RULES} rules per ACL"),
        c.line("WAF", "requests inspected", "waf.requests", inspected, detail),
    ]


def xray(c: Context) -> list[Line]:
    traces = c.monthly(c.origin_requests_per_day) * c.design.xray_sampled_share
    if not traces:
        return []
    return [c.line("X-Ray", "traces recorded", "xray.traces_recorded", traces, f"{c.design.xray_sampled_share:.0%}")]


def logs(c: Context) -> list[Line]:
    d, inp = c.design, c.inputs
    requests = c.monthly(c.origin_requests_per_day)
    batches = c.monthly(c.stream_records_per_day) / inp["stream_batch_records"] * len(STREAM_CONSUMERS)
    function_gib = (c.monthly(c.function_requests_per_day) + batches) * inp["function_log_bytes_per_request"] / GIB
    lines = [
        c.line(
            "CloudWatch Logs",
            "function logs",
            "cloudwatch.logs.ingest_lambda",
            function_gib,
            "one INFO line per request or batch",
        )
    ]
    if d.access_logs == "cloudwatch":
        access_gib = requests * inp["access_log_bytes_per_request"] / GIB
        lines.append(c.line("CloudWatch Logs", "API access logs", "cloudwatch.logs.ingest", access_gib))
    elif d.access_logs == "firehose":
        lines += firehose_access_logs(c, requests)
    return lines


FIREHOSE_RECORD_BYTES = 5 * 1024  # Direct PUT ingestion is billed per record rounded up to 5 KB
ACCESS_LOG_DAYS = 30  # chirp_cdk.access_logs: the archive bucket's lifecycle rule, as the log group keeps them


def firehose_access_logs(c: Context, requests: float) -> list[Line]:
    """Access logs through a Firehose stream to S3: ingestion billed per record rounded up to 5 KB (one log line per
    record is assumed: API Gateway's batching is not documented), then gzip objects in S3 kept for 30 days."""
    line_bytes = c.inputs["access_log_bytes_per_request"]
    billed_gib = requests * math.ceil(line_bytes / FIREHOSE_RECORD_BYTES) * FIREHOSE_RECORD_BYTES / GIB
    stored_gib = requests / c.days * ACCESS_LOG_DAYS * line_bytes * c.inputs["access_log_gzip_ratio"] / GIB
    return [
        c.line(
            "Firehose access logs",
            "ingestion",
            "firehose.ingest",
            billed_gib,
            f"{line_bytes:,.0f} B lines billed as 5 KB records",
        ),
        c.line("Firehose access logs", "S3 storage", "s3.standard", stored_gib, f"gzip, kept {ACCESS_LOG_DAYS} days"),
    ]


def cache_read_bytes_per_day(c: Context) -> float:
    """Bytes of hydrated pages the functions read from the cache."""
    d, content = c.design, c.scenario.content
    return c.origin_reads_per_day * d.page_tweets * content.tweet_bytes * d.tweet_cache_hit_rate


def cache_write_bytes_per_day(c: Context) -> float:
    """Timeline inserts: writes, which only the shard's primary takes."""
    t, d = c.traffic, c.design
    return (
        t.timeline_deliveries_per_day * c.inputs["cache_bytes_per_timeline_insert"]
        if d.timeline_store == "cache"
        else 0
    )


def cache_bytes_per_day(c: Context) -> float:
    """Bytes between the functions and the cache: hydrated pages and timeline inserts."""
    return cache_read_bytes_per_day(c) + cache_write_bytes_per_day(c)


def cross_az(c: Context) -> list[Line]:
    """A function in one AZ reading a cache primary in another pays each direction; with n AZs, (n-1)/n of the calls
    cross. cache_reads same_az_replica keeps reads in the caller's AZ (priced, not built: redis-py picks no replica
    by AZ; Valkey GLIDE's AZ affinity does), writes still cross to the primary; replication between cache nodes is
    not billed. Keyspaces and the AWS APIs are reached through endpoints (priced below), not across zones."""
    d = c.design
    crossing = (d.availability_zones - 1) / d.availability_zones
    read_crossing = 0.0 if d.cache_reads == "same_az_replica" else crossing
    crossing_bytes = cache_read_bytes_per_day(c) * read_crossing + cache_write_bytes_per_day(c) * crossing
    gib = c.monthly(crossing_bytes) / GIB
    if not gib:
        return []
    detail = f"{crossing:.0%} of cache traffic crosses zones, billed out and in"
    if d.cache_reads == "same_az_replica":
        detail = f"reads from a node in the caller's AZ; {crossing:.0%} of writes cross, billed out and in"
    return [c.line("Cross-AZ traffic", "functions <-> cache", "ec2.cross_az", gib * 2, detail)]


def network(c: Context) -> list[Line]:
    t, d, content, inp = c.traffic, c.design, c.scenario.content, c.inputs
    zones = d.availability_zones * c.regions
    keyspaces_bytes = (
        c.origin_reads_per_day * d.page_tweets * content.tweet_bytes * (1 - d.tweet_cache_hit_rate)
        + t.writes_per_day * KEYSPACES_WRITE_BYTES
    )
    stream_bytes = c.stream_records_per_day * content.stream_record_bytes if d.stream == "kinesis" else 0.0
    lines = [
        c.line(
            "VPC",
            "interface endpoint hours",
            "vpc.interface_endpoint_hours",
            INTERFACE_ENDPOINTS * zones * c.hours,
            f"{INTERFACE_ENDPOINTS} endpoints x {zones} AZs",
        ),
        c.line(
            "VPC",
            "interface endpoint data",
            "vpc.interface_endpoint_data",
            c.monthly(keyspaces_bytes + stream_bytes) / GIB,
            "Keyspaces reads/writes" + (" and Kinesis puts" if stream_bytes else ""),
        ),
        c.line("VPC", "NAT gateway hours", "vpc.nat_gateway_hours", zones * c.hours, f"one per AZ ({zones})"),
    ]
    if d.websocket != "fleet":
        # The @connections API (and the managed pub/sub services, priced the same way) has no interface endpoint in
        # the CDK app: every push leaves through a NAT gateway.
        push_gib = c.monthly(pushes_per_day(c)) * inp["push_bytes"] / GIB
        lines.append(c.line("VPC", "NAT data: pushes", "vpc.nat_gateway_data", push_gib, "@connections posts"))
    return lines


OPERATIONS = (waf, xray, logs, cross_az, network)


def size_operations(c: Context) -> list[Line]:
    return [line for component in OPERATIONS for line in component(c)]

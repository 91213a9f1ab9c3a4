"""The lines a real bill has besides the stores and the request path: the web application firewall, tracing, logs,
traffic between availability zones, and the VPC's way out (interface endpoints and NAT gateways). Each follows
what the CDK app deploys (cdk/chirp_cdk: rest_api.py's web ACL, functions.py's active tracing, network_stack.py's
endpoints and NAT gateways) and is switched by a design option, so a design can price leaving one out."""

from __future__ import annotations

from chirp.capacity.sizing import GIB, STREAM_CONSUMERS, Context, Line, pushes_per_day

WAF_RULES = 3  # rest_api.py: AWS common rule set, known bad inputs, rate per IP
INTERFACE_ENDPOINTS = 4  # network_stack.py: Secrets Manager, Kinesis, Keyspaces, STS
KEYSPACES_WRITE_BYTES = 1024  # one write request unit per engagement or tweet write


def waf(c: Context) -> list[Line]:
    d = c.design
    if not d.waf or d.api == "http":  # WAF attaches to REST APIs, ALBs and CloudFront, not to HTTP APIs
        return []
    return [
        c.line("WAF", "web ACLs", "waf.web_acls", c.regions),
        c.line("WAF", "rules", "waf.rules", c.regions * WAF_RULES, f"{WAF_RULES} rules per ACL"),
        c.line("WAF", "requests inspected", "waf.requests", c.monthly(c.origin_requests_per_day)),
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
    if d.access_logs:
        access_gib = requests * inp["access_log_bytes_per_request"] / GIB
        lines.append(c.line("CloudWatch Logs", "API access logs", "cloudwatch.logs.ingest", access_gib))
    return lines


def cache_bytes_per_day(c: Context) -> float:
    """Bytes between the functions and the cache: hydrated pages and timeline inserts."""
    t, d, content, inp = c.traffic, c.design, c.scenario.content, c.inputs
    pages = c.origin_reads_per_day * d.page_tweets * content.tweet_bytes * d.tweet_cache_hit_rate
    inserts = (
        t.timeline_deliveries_per_day * inp["cache_bytes_per_timeline_insert"] if d.timeline_store == "cache" else 0
    )
    return pages + inserts


def cross_az(c: Context) -> list[Line]:
    """A function in one AZ reading a cache primary in another pays each direction; with n AZs, (n-1)/n of the calls
    cross. Keyspaces and the AWS APIs are reached through endpoints (priced below), not across zones."""
    d = c.design
    crossing = (d.availability_zones - 1) / d.availability_zones
    gib = c.monthly(cache_bytes_per_day(c)) * crossing / GIB
    if not gib:
        return []
    return [
        c.line(
            "Cross-AZ traffic",
            "functions <-> cache",
            "ec2.cross_az",
            gib * 2,
            f"{crossing:.0%} of cache traffic crosses zones, billed out and in",
        )
    ]


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

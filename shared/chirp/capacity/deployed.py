"""What Chirp's own CDK app deploys for each design option of the planner: the built product, next to which the
designs price alternatives. A design value that differs from this column is priced, not built (an ALB front, a
socket fleet, provisioned Keyspaces, an S3 archive, counter coalescing...). tests/unit/capacity checks the entries
that the CDK app states as constants or settings."""

from __future__ import annotations

DEPLOYED: dict[str, str] = {
    "timeline_store": "cache",
    "fanout_active_only": "True",
    "api": "rest",
    "websocket": "api_gateway",
    "keyspaces_capacity": "on_demand",
    "cache_engine": "redis",
    "media_tiering": "lifecycle (Intelligent-Tiering after 30 days)",
    "lambda_arch": "arm64",
    "lambda_memory_mb": "per function (wiring: 256-1024)",
    "page_tweets": "20",
    "compress_responses": "True (1 KB minimum)",
    "tweet_cache_hit_rate": "measured by make bench",
    "timeline_cap": "800 (CHIRP_TIMELINE_CAP)",
    "timeline_entry_bytes": "Redis defaults",
    "cache_replicas": "1 (context cache_replicas_per_shard)",
    "home_timeline_ttl_days": "- (no Keyspaces timelines)",
    "keyspaces_hot_days": "None (no archive)",
    "counter_coalescing": "1.0 (one counter write per like)",
    "pitr": "True",
    "search_hot_months": "- (one index per month, all kept)",
    "search_retention_months": "None",
    "stream": "kinesis (context stream=msk: MSK)",
    "stream_retention_hours": "168",
    "stream_efo_consumers": "2 (fanout, notifier)",
    "waf_scope": "all (context waf_scope=all or edge)",
    "xray_sampled_share": "0.01 (context xray_sampling_rate)",
    "access_logs": "cloudwatch (context access_logs=cloudwatch, firehose or off)",
    "websocket_ping": "lambda",
    "authorizer_cache_ttl_s": "300",
    "availability_zones": "2 (context nat_gateways)",
    "cache_reads": "primary (redis-py: no AZ-affinity reads)",
    "write_path": "sync (context write_path=async)",
    "api_edge": "True (ApiEdge distribution)",
    "signed_out_read_share": "- (traffic, not deployment)",
    "commitment": "- (a purchase, not deployment)",
}

# Option values the CDK app builds when asked (a context value), beside its defaults above: the report labels a lever
# "built" when its value is here or is the default, "priced, not built" otherwise. tests/infrastructure checks that
# each context is accepted and changes the template.
BUILT_VALUES: dict[str, dict[str, str]] = {
    "waf_scope": {"all": "context waf_scope=all", "edge": "context waf_scope=edge"},
    "access_logs": {
        "cloudwatch": "context access_logs=cloudwatch",
        "firehose": "context access_logs=firehose",
        "off": "context access_logs=off",
    },
    "write_path": {"sync": "context write_path=sync", "async": "context write_path=async"},
    "stream": {"kinesis": "context stream=kinesis", "msk_serverless": "context stream=msk"},
    "api_edge": {"True": "ApiEdge distribution"},
}

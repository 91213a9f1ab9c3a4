"""ElastiCache (Redis) adapters: timelines, WebSocket connections and celebrity subscriptions, trends, rate limits,
idempotency records. Keys that must live together use one hash tag so the same code runs on cluster-mode Redis;
keys that must not (followers' timelines, a page of tweets) are written one key per command, pipelined per node.
In cluster mode the writes a failover must not lose wait for a replica (client.wait_for_replicas)."""

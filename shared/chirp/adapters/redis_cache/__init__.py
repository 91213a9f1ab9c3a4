"""ElastiCache (Redis) adapters: timelines, WebSocket connections and celebrity subscriptions, trends, rate limits,
idempotency records. Keys that must live together use one hash tag so the same code runs on cluster-mode Redis."""

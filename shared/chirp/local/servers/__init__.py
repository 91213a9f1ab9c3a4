"""The stand-in servers: real Redis, Cassandra, Gremlin Server, OpenSearch, Kafka, Kinesis and moto on loopback,
credentialed as AWS runs the real services (TLS, passwords, SigV4). A development tool of the product: the servers
backend of ``chirp run``, the benchmarks, the emulator deploy and the tests start them (``harness.py``)."""

"""Contract of the connection registry's Mastodon side (production: ElastiCache Redis): a connection's protocol, its
streams (user, user:notification, hashtags), who a push reaches by protocol and stream, and cleanup when it goes —
against the in-process registry and the Redis one on a real redis-server (TLS + AUTH)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from chirp.adapters.embedded.memory import MemoryConnectionRegistry
from chirp.adapters.redis_cache.client import connect
from chirp.adapters.redis_cache.connections import RedisConnectionRegistry
from chirp.ports import ConnectionRegistry, Listeners


@pytest.fixture
def connections(backend: str, server_set: Any) -> Iterator[ConnectionRegistry]:
    if server_set is None:
        yield MemoryConnectionRegistry()
        return
    ep = server_set.endpoint("redis")
    client = connect(ep.url, password=ep.extra["password"], ca_file=ep.extra["ca_file"])
    yield RedisConnectionRegistry(client)
    client.close()


def user() -> int:
    return random.randrange(10**17, 10**18)


def conn() -> str:
    return uuid.uuid4().hex[:14] + "A="  # API Gateway's shape


def test_a_mastodon_connection_hears_only_the_streams_it_joined(connections: ConnectionRegistry) -> None:
    u = user()
    chirp, mastodon = conn(), conn()
    connections.register(chirp, u)
    connections.register(mastodon, u, mastodon=True)
    assert connections.listeners_of([u]) == Listeners(chirp=[chirp])
    assert connections.connections_of([u]) == {u: [chirp]}
    assert connections.subscribe_stream(mastodon, "user") is True
    assert connections.subscribe_stream(mastodon, "user") is True  # again: no change
    assert connections.subscribe_stream(mastodon, "user:notification") is True
    assert connections.listeners_of([u, user()]) == Listeners(
        chirp=[chirp], mastodon={"user": [mastodon], "user:notification": [mastodon]}
    )
    assert connections.connections_of([u]) == {u: sorted([chirp, mastodon])}  # home updates: "user" only
    connections.unsubscribe_stream(mastodon, "user")
    assert connections.listeners_of([u]) == Listeners(chirp=[chirp], mastodon={"user:notification": [mastodon]})
    assert connections.connections_of([u]) == {u: [chirp]}


def test_only_known_mastodon_connections_join_streams(connections: ConnectionRegistry) -> None:
    chirp = conn()
    connections.register(chirp, user())
    assert connections.subscribe_stream(chirp, "user") is False
    assert connections.subscribe_stream("ghost", "hashtag", "python") is False
    assert connections.tag_listeners(["python"]) == {}


def test_hashtag_streams_are_found_by_tag(connections: ConnectionRegistry) -> None:
    a, b = conn(), conn()
    connections.register(a, user(), mastodon=True)
    connections.register(b, user(), mastodon=True)
    tag, other = f"t{uuid.uuid4().hex[:8]}", f"o{uuid.uuid4().hex[:8]}"
    connections.subscribe_stream(a, "hashtag", tag)
    connections.subscribe_stream(b, "hashtag:local", tag)
    connections.subscribe_stream(b, "hashtag", other)
    found = connections.tag_listeners([tag, other, "nobody"])
    assert found == {
        tag: Listeners(mastodon={"hashtag": [a], "hashtag:local": [b]}),
        other: Listeners(mastodon={"hashtag": [b]}),
    }
    connections.unsubscribe_stream(b, "hashtag:local", tag)
    assert connections.tag_listeners([tag]) == {tag: Listeners(mastodon={"hashtag": [a]})}


def test_celebrity_subscriptions_keep_the_protocol(connections: ConnectionRegistry) -> None:
    fan, celeb = user(), user()
    chirp, mastodon = conn(), conn()
    connections.register(chirp, fan)
    connections.register(mastodon, fan, mastodon=True)
    connections.subscribe_stream(mastodon, "user")
    connections.subscribe(chirp, [celeb])
    connections.subscribe(mastodon, [celeb])
    assert connections.celebrity_listeners(celeb) == Listeners(chirp=[chirp], mastodon={"user": [mastodon]})
    assert connections.subscribers(celeb) == sorted([chirp, mastodon])
    connections.unsubscribe(mastodon, [celeb])
    assert connections.celebrity_listeners(celeb) == Listeners(chirp=[chirp])


def test_unregister_removes_every_stream_and_subscription(connections: ConnectionRegistry) -> None:
    owner, celeb = user(), user()
    mastodon = conn()
    tag = f"t{uuid.uuid4().hex[:8]}"
    connections.register(mastodon, owner, mastodon=True)
    connections.subscribe_stream(mastodon, "user")
    connections.subscribe_stream(mastodon, "user:notification")
    connections.subscribe_stream(mastodon, "hashtag", tag)
    connections.subscribe(mastodon, [celeb])
    assert connections.unregister(mastodon) == owner
    assert connections.listeners_of([owner]) == Listeners()
    assert connections.tag_listeners([tag]) == {}
    assert connections.celebrity_listeners(celeb) == Listeners()
    assert connections.subscribe_stream(mastodon, "user") is False

"""The Redis stand-in demands what ElastiCache with in-transit encryption and an AUTH token demands (TLS only, the
token as the default user's password), and the production client (``chirp.adapters.redis_cache.client.connect``)
meets it: verified TLS plus the password work; no password, a wrong one, plain TCP or an untrusted certificate are
refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException

from chirp.adapters.redis_cache.client import available, connect
from chirp.local.servers import harness
from chirp.local.servers.harness import Endpoint, ServerSet
from chirp.local.servers.tls import server_tls
from chirp.ports import StoreUnavailable


@pytest.fixture
def ep(servers: ServerSet) -> Endpoint:
    return servers["redis"]


def test_tls_with_the_password_is_let_in(ep: Endpoint) -> None:
    assert ep.url.startswith("rediss://") and ep.extra["password"] not in ep.url
    client = connect(ep.url, password=ep.extra["password"], ca_file=ep.extra["ca_file"])
    try:
        assert client.ping() is True
        assert client.acl_whoami() == "default"  # ElastiCache's AUTH token is the default user's password
        assert client.config_get("port") == {"port": "0"}  # no plain-text listener at all
        kwargs = client.connection_pool.connection_kwargs
        assert client.connection_pool.connection_class is redis.SSLConnection
        assert (kwargs["ssl_cert_reqs"], kwargs["ssl_check_hostname"]) == ("required", True)
    finally:
        client.close()


def test_tls_without_the_password_gets_noauth(ep: Endpoint) -> None:
    client = connect(ep.url, ca_file=ep.extra["ca_file"])
    try:
        # The server's "-NOAUTH Authentication required." (redis-py maps the NOAUTH code to this class).
        with pytest.raises(redis.AuthenticationError, match="Authentication required"):
            client.set("chirp:auth-test", "x")
        # Through the adapters' error mapping it is an outage (503 + Retry-After), not a 500.
        with pytest.raises(StoreUnavailable, match="Authentication required"), available():
            client.get("chirp:auth-test")
    finally:
        client.close()


def test_a_wrong_password_is_refused(ep: Endpoint) -> None:
    client = connect(ep.url, password=ep.extra["password"] + "x", ca_file=ep.extra["ca_file"])
    try:
        with pytest.raises(redis.AuthenticationError, match=r"WRONGPASS|invalid username-password"):
            client.ping()
    finally:
        client.close()


def test_plain_tcp_is_refused(ep: Endpoint) -> None:
    # The raw library: chirp's connect() will not even send a password over plain TCP.
    client = redis.Redis(host=ep.host, port=ep.port, password=ep.extra["password"], socket_timeout=3)
    try:
        with pytest.raises(redis.ConnectionError):
            client.ping()
    finally:
        client.close()
    with pytest.raises(ValueError, match="only sent over TLS"):
        connect(f"redis://{ep.host}:{ep.port}/0", password=ep.extra["password"])
    with pytest.raises(ValueError, match="not in the URL"):
        connect(f"redis://:{ep.extra['password']}@{ep.host}:{ep.port}/0")


@pytest.mark.parametrize("trust", ["default trust store", "another CA"])
def test_a_certificate_from_an_untrusted_ca_is_refused(ep: Endpoint, trust: str, tmp_path: Path) -> None:
    ca_file = None if trust == "default trust store" else str(server_tls(tmp_path).ca_file)
    client = connect(ep.url, password=ep.extra["password"], ca_file=ca_file)
    try:
        with pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            client.ping()
    finally:
        client.close()


def test_cluster_mode_uses_the_same_tls_and_auth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A one-node cluster (all slots on one primary), launched exactly like the stand-in plus cluster mode with TLS on
    the cluster bus: the client discovers the node through CLUSTER SLOTS and reconnects to it with TLS + AUTH."""
    launch_standalone = harness._LAUNCHERS["redis"]

    def launch_cluster(work: Path) -> harness._Launch:
        launch = launch_standalone(work)
        (bus,) = harness._free_ports(1)  # the default (port + 10000) may not be a valid port
        launch.argv += ["--cluster-enabled", "yes", "--tls-cluster", "yes", "--cluster-port", str(bus)]
        launch.argv += ["--cluster-config-file", str(work / "nodes.conf")]
        return launch

    monkeypatch.setitem(harness._LAUNCHERS, "redis", launch_cluster)
    with ServerSet(base_dir=tmp_path) as own:
        ep = own.start(["redis"])["redis"]
        password, ca_file = ep.extra["password"], ep.extra["ca_file"]
        node = connect(ep.url, password=password, ca_file=ca_file)
        try:
            node.execute_command("CLUSTER ADDSLOTSRANGE", 0, 16383)
            deadline = time.monotonic() + 20
            while node.cluster("info")["cluster_state"] != "ok":
                assert time.monotonic() < deadline, "the one-node cluster did not come up"
                time.sleep(0.1)
        finally:
            node.close()

        for replica_reads in (False, True):
            client = connect(ep.url, cluster=True, password=password, ca_file=ca_file, replica_reads=replica_reads)
            try:
                assert isinstance(client, RedisCluster)
                client.set("{u1}:a", "1")
                assert client.get("{u1}:a") == "1"
                (found,) = client.get_nodes()  # type: ignore[no-untyped-call]
                assert found.redis_connection.connection_pool.connection_class is redis.SSLConnection
            finally:
                client.close()
        # Discovery itself is refused (the client connects to the configuration endpoint when it is built).
        with pytest.raises(RedisClusterException, match="cannot be connected") as refused:
            connect(ep.url, cluster=True, ca_file=ca_file)
        assert isinstance(refused.value.__cause__, redis.AuthenticationError)
        with pytest.raises(StoreUnavailable), available():
            raise refused.value

"""The Keyspaces connection is always TLS (chain and host name verified) and always authenticated — SigV4 with the
IAM role or a username/password — and, without a CA bundle, trusts only the Amazon roots shipped with the adapter.
Checked without a server (tests/servers/test_cassandra_auth.py checks the same against the Cassandra stand-in)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from cassandra import ConsistencyLevel  # type: ignore[import-untyped]
from cassandra.auth import PlainTextAuthProvider  # type: ignore[import-untyped]
from cassandra.cluster import EXEC_PROFILE_DEFAULT  # type: ignore[import-untyped]
from cassandra_sigv4.auth import SigV4AuthProvider  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from chirp.adapters.keyspaces import connection
from chirp.config import Settings

# The roots Amazon Keyspaces' certificates chain to (AWS's Keyspaces TLS docs: Amazon Trust Services roots, and the
# Starfield roots of the older chain and of the ATS cross-signatures), with their well-known SHA-256 fingerprints.
EXPECTED_ROOTS = {
    "CN=Amazon Root CA 1,O=Amazon,C=US": "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e",
    "CN=Amazon Root CA 2,O=Amazon,C=US": "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4",
    "CN=Amazon Root CA 3,O=Amazon,C=US": "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4",
    "CN=Amazon Root CA 4,O=Amazon,C=US": "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092",
    "CN=Starfield Services Root Certificate Authority - G2,O=Starfield Technologies\\, Inc.,L=Scottsdale,"
    "ST=Arizona,C=US": "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5",
    "OU=Starfield Class 2 Certification Authority,O=Starfield Technologies\\, Inc.,C=US": (
        "1465fa205397b876faa6f0a9958e5590e40fcc7faa4fb7c2c8677521fb5fb658"
    ),
}


# The Starfield Class 2 root (2004) has serial number 0, which RFC 5280 has since disallowed; cryptography warns.
pytestmark = pytest.mark.filterwarnings("ignore:Parsed a serial number which wasn't positive")


def _credentials() -> dict[str, Any]:
    return {"username": "chirp_app", "password": "s3cret"}


def _shipped_roots() -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(connection.AMAZON_TRUST_STORE.read_bytes())


def test_the_shipped_trust_store_holds_exactly_the_amazon_and_starfield_roots() -> None:
    certs = _shipped_roots()
    assert {c.subject.rfc4514_string(): c.fingerprint(hashes.SHA256()).hex() for c in certs} == EXPECTED_ROOTS
    for cert in certs:
        assert cert.subject == cert.issuer  # self-signed roots
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    # OpenSSL (the driver's TLS) loads every one of them as a trust anchor.
    context = ssl.create_default_context(cafile=str(connection.AMAZON_TRUST_STORE))
    assert context.cert_store_stats()["x509_ca"] == len(EXPECTED_ROOTS)


def test_the_roots_carry_the_names_aws_documents() -> None:
    names = set()
    for cert in _shipped_roots():
        attributes = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME) or cert.subject.get_attributes_for_oid(
            NameOID.ORGANIZATIONAL_UNIT_NAME
        )
        names.add(str(attributes[0].value))
    assert names == {
        "Amazon Root CA 1",
        "Amazon Root CA 2",
        "Amazon Root CA 3",
        "Amazon Root CA 4",
        "Starfield Services Root Certificate Authority - G2",
        "Starfield Class 2 Certification Authority",
    }


def test_without_a_ca_bundle_only_the_shipped_roots_are_trusted() -> None:
    settings = Settings(cassandra_sigv4=True, aws_region="eu-west-1", tls_ca_bundle="")
    assert connection.ca_bundle_path(settings) == str(connection.AMAZON_TRUST_STORE)
    context = connection.cluster_options(settings)["ssl_context"]
    assert context.cert_store_stats()["x509_ca"] == len(EXPECTED_ROOTS)  # not the system store


def test_keyspaces_sigv4_is_tls_with_host_name_checking() -> None:
    options = connection.cluster_options(Settings(cassandra_sigv4=True, aws_region="eu-west-1"))
    assert options["contact_points"] == ["cassandra.eu-west-1.amazonaws.com"]
    assert options["port"] == 9142
    assert isinstance(options["auth_provider"], SigV4AuthProvider)
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    # Every connection (also to the peers Keyspaces advertises by IP address) is checked against the endpoint name.
    assert options["ssl_options"] == {"server_hostname": "cassandra.eu-west-1.amazonaws.com"}


def test_service_specific_credentials_use_the_plain_text_provider_inside_tls() -> None:
    bundle = str(connection.AMAZON_TRUST_STORE)
    settings = Settings(cassandra_hosts="cassandra.us-east-1.amazonaws.com", cassandra_port=9142, tls_ca_bundle=bundle)
    options = connection.cluster_options(settings, **_credentials())
    auth = options["auth_provider"]
    assert isinstance(auth, PlainTextAuthProvider)
    assert (auth.username, auth.password) == ("chirp_app", "s3cret")
    assert options["ssl_context"].check_hostname is True
    assert options["ssl_options"] == {"server_hostname": "cassandra.us-east-1.amazonaws.com"}
    # Still Keyspaces: the only write consistency it accepts, and the region as the data center.
    profile = options["execution_profiles"][EXEC_PROFILE_DEFAULT]
    assert profile.consistency_level == ConsistencyLevel.LOCAL_QUORUM
    assert profile.load_balancing_policy._child_policy.local_dc == "us-east-1"


def test_service_specific_credentials_default_to_the_keyspaces_port() -> None:
    settings = Settings(cassandra_hosts="cassandra.eu-west-1.amazonaws.com", aws_region="eu-west-1")
    options = connection.cluster_options(settings, **_credentials())
    assert options["port"] == 9142
    assert options["execution_profiles"][EXEC_PROFILE_DEFAULT].load_balancing_policy._child_policy.local_dc == (
        "eu-west-1"
    )


def test_several_contact_points_are_each_checked_against_their_own_name() -> None:
    options = connection.cluster_options(Settings(cassandra_hosts="node1.example,node2.example"), **_credentials())
    assert "ssl_options" not in options  # the driver then checks each node against its own address
    assert options["ssl_context"].check_hostname is True


def test_there_is_no_anonymous_or_plaintext_mode() -> None:
    with pytest.raises(ValueError, match="needs credentials"):
        connection.cluster_options(Settings(cassandra_hosts="127.0.0.1"))
    with pytest.raises(ValueError, match="needs credentials"):
        connection.cluster_options(Settings(cassandra_hosts="127.0.0.1"), username="chirp_app")


def test_sigv4_and_a_password_are_not_mixed() -> None:
    with pytest.raises(ValueError, match="no username/password"):
        connection.cluster_options(Settings(cassandra_sigv4=True), **_credentials())


def test_a_missing_ca_bundle_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        connection.cluster_options(Settings(cassandra_sigv4=True, tls_ca_bundle=str(tmp_path / "missing.pem")))

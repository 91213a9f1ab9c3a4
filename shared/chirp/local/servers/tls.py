"""TLS material for the stand-in servers: one private CA per server set, and a server certificate it signs for
localhost / 127.0.0.1 (clients verify the chain and the host name, as they do against AWS endpoints)."""

from __future__ import annotations

import datetime
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST_NAMES = ("localhost",)
# 127.0.0.2 and .3: the Cassandra ring's other nodes (cassandra_ring.py), whose clients check each node's address.
HOST_IPS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path  # PEM: the CA certificate clients trust
    cert_file: Path  # PEM: the server certificate (SAN localhost, HOST_IPS)
    key_file: Path  # PEM: its private key (PKCS#8, unencrypted)
    pkcs12_file: Path  # the key and chain as a PKCS#12 keystore (JVM servers)
    pkcs12_password: str
    truststore_file: Path  # the CA alone as a PKCS#12 truststore (JVM servers)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Chirp stand-ins"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def server_tls(directory: Path) -> TlsFiles:
    """Create (or reuse) the CA and server certificate under ``directory``/tls."""
    tls = directory / "tls"
    files = TlsFiles(
        ca_file=tls / "ca.pem",
        cert_file=tls / "server.pem",
        key_file=tls / "server-key.pem",
        pkcs12_file=tls / "server.p12",
        pkcs12_password=(tls / "p12-password").read_text() if (tls / "p12-password").exists() else "",
        truststore_file=tls / "truststore.p12",
    )
    if files.pkcs12_password and all(
        p.exists() for p in (files.ca_file, files.cert_file, files.key_file, files.pkcs12_file, files.truststore_file)
    ):
        return files
    tls.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    valid = (now - datetime.timedelta(days=1), now + datetime.timedelta(days=825))

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Chirp stand-in CA"))
        .issuer_name(_name("Chirp stand-in CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    san = [x509.DNSName(n) for n in HOST_NAMES] + [x509.IPAddress(ipaddress.ip_address(i)) for i in HOST_IPS]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    password = secrets.token_hex(16)
    pem = serialization.Encoding.PEM
    files.ca_file.write_bytes(ca_cert.public_bytes(pem))
    files.cert_file.write_bytes(cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    files.key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    files.key_file.chmod(0o600)
    from cryptography.hazmat.primitives.serialization import pkcs12

    files.pkcs12_file.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"server", key, cert, [ca_cert], serialization.BestAvailableEncryption(password.encode())
        )
    )
    files.truststore_file.write_bytes(
        pkcs12.serialize_java_truststore(
            [pkcs12.PKCS12Certificate(ca_cert, b"chirp-ca")], serialization.BestAvailableEncryption(password.encode())
        )
    )
    (tls / "p12-password").write_text(password)
    return TlsFiles(**{**files.__dict__, "pkcs12_password": password})


def random_password() -> str:
    """A password for a stand-in's user (URL-safe, so it may sit in a redis:// URL)."""
    return secrets.token_urlsafe(24)

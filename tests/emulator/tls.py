"""A self-signed certificate for the emulator's HTTPS site."""

from __future__ import annotations

import datetime
import functools
import ipaddress
from pathlib import Path
import ssl
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .hosts import CLOUDS, CONVAI_HOST, CUSTOM_DOMAIN_SUFFIX

# Names the certificate covers, for clients that do check it (the test
# session does not verify TLS at all).
_DNS_NAMES = [
    "localhost",
    CONVAI_HOST,
    f"*{CUSTOM_DOMAIN_SUFFIX}",
    *(
        f"*{suffix}"
        for speech, token, _ in CLOUDS.values()
        for suffix in (speech, token)
    ),
]


@functools.cache
def self_signed_pem() -> tuple[bytes, bytes]:
    """(certificate, private key) in PEM, made once per process."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Cloud Speech emulator")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    *(x509.DNSName(dns_name) for dns_name in _DNS_NAMES),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return (
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def server_ssl_context() -> ssl.SSLContext:
    """An SSL context for the HTTPS site."""
    certificate, key = self_signed_pem()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # load_cert_chain only reads files; the directory is gone right after.
    with tempfile.TemporaryDirectory() as directory:
        certificate_path = Path(directory, "emulator.crt")
        key_path = Path(directory, "emulator.key")
        certificate_path.write_bytes(certificate)
        key_path.write_bytes(key)
        context.load_cert_chain(certificate_path, key_path)
    return context

"""Self-managed TLS: a CA and a serving certificate, kept in a Secret, rotated before expiry.

Knative's webhook does the same (knative.dev/pkg/webhook/certificates): the Secret holds
`ca-cert.pem`, `server-cert.pem`, `server-key.pem`; the CA goes into the webhook
configurations' caBundle so the API server trusts the serving certificate.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertBundle", "generate"]

CA_CERT, SERVER_CERT, SERVER_KEY = "ca-cert.pem", "server-cert.pem", "server-key.pem"


@dataclass(frozen=True)
class CertBundle:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    @property
    def not_after(self) -> dt.datetime:
        return x509.load_pem_x509_certificate(self.cert_pem).not_valid_after_utc

    def sans(self) -> set[str]:
        cert = x509.load_pem_x509_certificate(self.cert_pem)
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return {*ext.get_values_for_type(x509.DNSName),
                *(str(i) for i in ext.get_values_for_type(x509.IPAddress))}

    def needs_renewal(self, sans: list[str], margin: dt.timedelta = dt.timedelta(days=7)
                      ) -> bool:
        try:
            return (self.not_after - dt.datetime.now(dt.UTC) < margin
                    or not set(sans) <= self.sans())
        except (ValueError, x509.ExtensionNotFound):
            return True

    def to_secret_data(self) -> dict[str, str]:
        import base64
        return {k: base64.b64encode(v).decode() for k, v in
                ((CA_CERT, self.ca_pem), (SERVER_CERT, self.cert_pem),
                 (SERVER_KEY, self.key_pem))}

    @classmethod
    def from_secret_data(cls, data: dict[str, str]) -> CertBundle | None:
        import base64
        try:
            return cls(*(base64.b64decode(data[k]) for k in (CA_CERT, SERVER_CERT, SERVER_KEY)))
        except (KeyError, ValueError):
            return None


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "knpy"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def generate(sans: list[str], days: int = 365) -> CertBundle:
    """A fresh CA and a serving cert for `sans` (DNS names and IP addresses)."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    until = now + dt.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("knpy-webhook-ca"))
          .issuer_name(_name("knpy-webhook-ca")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now)
          .not_valid_after(until)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for s in sans:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(s)))
        except ValueError:
            alt.append(x509.DNSName(s))
    cert = (x509.CertificateBuilder().subject_name(_name(sans[0] if sans else "knpy-webhook"))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(until)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return CertBundle(
        ca.public_bytes(serialization.Encoding.PEM),
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()))

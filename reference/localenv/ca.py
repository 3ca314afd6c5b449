"""A local CA and the ingress certificates it signs: a valid one and deliberately faulty ones."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LEAF_DAYS = 90
RENEW_BEFORE_DAYS = 30
# cert-expiring-soon: below the gate's default 21-day threshold, reissued to stay near a week.
EXPIRING_DAYS = 7
# not-yet-valid-cert: notBefore this far ahead, reissued before it comes close.
NOT_YET_VALID_DAYS = 30
# untrusted-cert: the issuer of a leaf the profile's CA bundle (ca.pem alone) does not vouch for.
UNTRUSTED_CA = "untrusted-ca"


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))


def _load(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return cert, key


def ensure_ca(directory: Path, stem: str = "ca", common_name: str = "vvgate local CA",
              ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    if cert_path.is_file() and key_path.is_file():
        return _load(cert_path, key_path)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vinylvault-gate")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def wrong_host(host: str) -> str:
    """The one name the wrong-host-cert leaf is valid for: a sibling of `host`, never `host`."""
    return "wrong-host." + host.partition(".")[2]


def _issue(host: str, ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
           not_before: dt.datetime, not_after: dt.datetime, cert_path: Path,
           key_path: Path, san: str | None = None) -> None:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(san or host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(key_path, key)
    # Traefik serves the chain file as given: leaf first, then the issuing CA.
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                          + ca_cert.public_bytes(serialization.Encoding.PEM))


def _stale(cert_path: Path, key_path: Path,
           fresh: Callable[[x509.Certificate], bool]) -> bool:
    if not (cert_path.is_file() and key_path.is_file()):
        return True
    return not fresh(x509.load_pem_x509_certificate(cert_path.read_bytes()))


def ensure_certificates(directory: Path, host: str) -> None:
    """ca.pem, host.pem (valid LEAF_DAYS, renewed when near expiry), and one leaf per
    certificate fault: expired.pem, expiring.pem, future.pem, wronghost.pem and untrusted.pem
    (see FAULT_CERTIFICATES)."""
    ca = ensure_ca(directory)
    now = dt.datetime.now(dt.UTC)
    host_cert, host_key = directory / "host.pem", directory / "host.key"
    renew = True
    if host_cert.is_file() and host_key.is_file():
        current = x509.load_pem_x509_certificate(host_cert.read_bytes())
        renew = current.not_valid_after_utc - now < dt.timedelta(days=RENEW_BEFORE_DAYS)
    if renew:
        _issue(host, ca, now - dt.timedelta(minutes=5), now + dt.timedelta(days=LEAF_DAYS),
               host_cert, host_key)
    expired_cert, expired_key = directory / "expired.pem", directory / "expired.key"
    if not (expired_cert.is_file() and expired_key.is_file()):
        _issue(host, ca, now - dt.timedelta(days=120), now - dt.timedelta(days=1),
               expired_cert, expired_key)
    expiring_cert, expiring_key = directory / "expiring.pem", directory / "expiring.key"
    if _stale(expiring_cert, expiring_key,
              lambda c: 5 < (c.not_valid_after_utc - now).days <= EXPIRING_DAYS):
        _issue(host, ca, now - dt.timedelta(minutes=5), now + dt.timedelta(days=EXPIRING_DAYS),
               expiring_cert, expiring_key)
    future_cert, future_key = directory / "future.pem", directory / "future.key"
    if _stale(future_cert, future_key,
              lambda c: c.not_valid_before_utc - now > dt.timedelta(days=7)):
        start = now + dt.timedelta(days=NOT_YET_VALID_DAYS)
        _issue(host, ca, start, start + dt.timedelta(days=LEAF_DAYS), future_cert, future_key)

    # The two trust faults keep valid dates, so only trust or name is wrong about them.
    def lasting(c: x509.Certificate) -> bool:
        return c.not_valid_after_utc - now >= dt.timedelta(days=RENEW_BEFORE_DAYS)

    wrong_cert, wrong_key = directory / "wronghost.pem", directory / "wronghost.key"
    if _stale(wrong_cert, wrong_key, lasting):
        # The subject CN still names the host: Traefik picks a leaf by CN or SAN, so with
        # sniStrict it serves this one for the host. Clients match the SAN alone (RFC 6125),
        # for which the leaf names only another host.
        _issue(host, ca, now - dt.timedelta(minutes=5), now + dt.timedelta(days=LEAF_DAYS),
               wrong_cert, wrong_key, san=wrong_host(host))
    untrusted_cert, untrusted_key = directory / "untrusted.pem", directory / "untrusted.key"
    if _stale(untrusted_cert, untrusted_key, lasting):
        other_ca = ensure_ca(directory, UNTRUSTED_CA, "vvgate untrusted CA")
        _issue(host, other_ca, now - dt.timedelta(minutes=5),
               now + dt.timedelta(days=LEAF_DAYS), untrusted_cert, untrusted_key)


# Fault -> the leaf (file stem in the CA directory) Traefik serves instead of host.pem.
# Traefik serves one leaf, so at most one of these faults can be on at a time.
FAULT_CERTIFICATES = {
    "expired-cert": "expired",
    "cert-expiring-soon": "expiring",
    "not-yet-valid-cert": "future",
    "wrong-host-cert": "wronghost",
    "untrusted-cert": "untrusted",
}

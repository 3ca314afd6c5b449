"""A local CA and the ingress certificates it signs: a valid one and deliberately faulty ones."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LEAF_DAYS = 90
RENEW_BEFORE_DAYS = 30
# cert-expiring-soon: below the gate's default 21-day threshold, reissued to stay near a week.
EXPIRING_DAYS = 7
# not-yet-valid-cert: notBefore this far ahead, reissued before it comes close.
NOT_YET_VALID_DAYS = 30
# untrusted-cert: the issuer of a leaf the profile's CA bundle (ca.pem alone) does not vouch for.
UNTRUSTED_CA = "untrusted-ca"


def _write_key(path: Path, key: CertificateIssuerPrivateKeyTypes) -> None:
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
           key_path: Path, san: str | None = None,
           key: CertificateIssuerPrivateKeyTypes | None = None, sha1: bool = False) -> None:
    ca_cert, ca_key = ca
    key = key or ec.generate_private_key(ec.SECP256R1())
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
    if sha1:
        cert = _resigned_over_sha1(cert, ca_key)
    _write_key(key_path, key)
    # Traefik serves the chain file as given: leaf first, then the issuing CA.
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                          + ca_cert.public_bytes(serialization.Encoding.PEM))


# DER of the AlgorithmIdentifiers ecdsa-with-SHA256 (1.2.840.10045.4.3.2) and
# ecdsa-with-SHA1 (1.2.840.10045.4.1), neither with parameters.
_ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")
_ECDSA_SHA1 = bytes.fromhex("300906072a8648ce3d0401")


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def _der_content(element: bytes) -> bytes:
    """The content octets of one DER element (tag and length stripped)."""
    first = element[1]
    if first < 0x80:
        return element[2:2 + first]
    size = first & 0x7F
    length = int.from_bytes(element[2:2 + size], "big")
    return element[2 + size:2 + size + length]


def _resigned_over_sha1(cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey,
                        ) -> x509.Certificate:
    """Fault sha1-leaf: the same certificate signed over SHA-1, which the x509 builder no
    longer offers; an old CA's leaf, rebuilt from its to-be-signed part."""
    tbs_content = _der_content(cert.tbs_certificate_bytes)
    assert _ECDSA_SHA256 in tbs_content
    tbs = _der(0x30, tbs_content.replace(_ECDSA_SHA256, _ECDSA_SHA1, 1))
    signature = ca_key.sign(tbs, ec.ECDSA(hashes.SHA1()))
    der = _der(0x30, tbs + _ECDSA_SHA1 + _der(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)


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
    # The two leaf faults: trusted, named and dated right; only the key or the signature is weak.
    weak_cert, weak_key = directory / "weakkey.pem", directory / "weakkey.key"
    if _stale(weak_cert, weak_key, lasting):
        _issue(host, ca, now - dt.timedelta(minutes=5), now + dt.timedelta(days=LEAF_DAYS),
               weak_cert, weak_key, key=rsa.generate_private_key(65537, 1024))
    sha1_cert, sha1_key = directory / "sha1.pem", directory / "sha1.key"
    if _stale(sha1_cert, sha1_key, lasting):
        _issue(host, ca, now - dt.timedelta(minutes=5), now + dt.timedelta(days=LEAF_DAYS),
               sha1_cert, sha1_key, sha1=True)
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
    "weak-leaf-key": "weakkey",
    "sha1-leaf": "sha1",
}

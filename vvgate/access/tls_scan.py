"""One sslyze scan of the target's TLS endpoint, reduced to plain facts the tls gate judges.

sslyze is used as a library. Cipher enumeration is the slow part, so the suite runs
`scan()` once per session and every check reads the same `TlsScan`. The scan dials
`profile.connect_address()` but sends `profile.host` as SNI, like every other client of
the gate, so a target without DNS (the local one) is scanned as its real host name.

Everything sslyze-specific stays in this module; the checks see dataclasses, cryptography
certificates and verdict helpers that are pure functions (and so testable offline).
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import ssl
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.x509.oid import NameOID

# Imported from their defining modules: the package's re-exports are implicit for mypy.
from sslyze.errors import ServerHostnameCouldNotBeResolved
from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
from sslyze.plugins.scan_commands import ScanCommand
from sslyze.scanner.models import (
    ScanCommandsExtraArguments,
    ServerConnectivityStatusEnum,
    ServerScanRequest,
)
from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum
from sslyze.scanner.scanner import Scanner
from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

from vvgate.access.tls_context import verifying_context
from vvgate.targets.profile import Profile

# (label, sslyze command, whether a compliant target may accept it)
PROTOCOLS: tuple[tuple[str, ScanCommand, bool], ...] = (
    ("SSL 2.0", ScanCommand.SSL_2_0_CIPHER_SUITES, False),
    ("SSL 3.0", ScanCommand.SSL_3_0_CIPHER_SUITES, False),
    ("TLS 1.0", ScanCommand.TLS_1_0_CIPHER_SUITES, False),
    ("TLS 1.1", ScanCommand.TLS_1_1_CIPHER_SUITES, False),
    ("TLS 1.2", ScanCommand.TLS_1_2_CIPHER_SUITES, True),
    ("TLS 1.3", ScanCommand.TLS_1_3_CIPHER_SUITES, True),
)
LEGACY_PROTOCOLS = tuple(label for label, _, allowed in PROTOCOLS if not allowed)
MODERN_PROTOCOLS = tuple(label for label, _, allowed in PROTOCOLS if allowed)

# A slow or flaky cluster ingress should not turn into a "protocol rejected" verdict:
# sslyze reports a command it could not finish as an error, which the checks refuse to read.
NETWORK_TIMEOUT_S = 10
NETWORK_RETRIES = 2
# Two shared cores: a few parallel handshakes are plenty for one server.
CONCURRENT_CONNECTIONS = 4
# The name sslyze gives the trust store built from CertificateInfoExtraArgument.custom_ca_file.
CUSTOM_STORE = "Supplied CA file"


# --------------------------------------------------------------------------- scan results


@dataclass(frozen=True)
class AcceptedCipher:
    protocol: str
    name: str  # IANA/RFC name, e.g. TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    openssl_name: str
    key_size: int
    anonymous: bool
    ephemeral_key: str | None  # e.g. "ECDH X25519 253 bits"; None for a static key exchange


@dataclass(frozen=True)
class ProtocolProbe:
    protocol: str
    accepted: tuple[AcceptedCipher, ...] = ()
    # Set when sslyze could not finish this protocol's enumeration: the verdict is unknown.
    error: str | None = None


@dataclass(frozen=True)
class CertificateProbe:
    """One certificate deployment the server presented (servers may have RSA and ECDSA ones)."""

    chain: tuple[x509.Certificate, ...]  # as received; index 0 is the leaf
    # sslyze's own path validation, at the current time: trust store name -> error (None = ok).
    sslyze_trust: dict[str, str | None]

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]


@dataclass
class TlsScan:
    """What the scan found. A part not scanned yet (or not reachable) says so in its error."""

    host: str
    address: str  # "ip:port" actually dialled
    durations_s: dict[str, float] = field(default_factory=dict)  # part -> seconds
    protocols: dict[str, ProtocolProbe] = field(default_factory=dict)
    protocols_error: str | None = "not scanned"
    certificates: tuple[CertificateProbe, ...] = ()
    certificates_error: str | None = "not scanned"
    sni_used: str | None = None

    def __repr__(self) -> str:
        # Shown in pytest tracebacks; the full scan goes to the evidence instead.
        return f"TlsScan({self.host} at {self.address})"

    def leaf_sha256(self) -> tuple[str, ...]:
        """The fingerprint of each leaf scanned (none when the certificates were not fetched):
        what the other gates may pin to (vvgate/access/peer_trust.py)."""
        return tuple(p.leaf.fingerprint(hashes.SHA256()).hex() for p in self.certificates)

    def accepted_ciphers(self) -> list[AcceptedCipher]:
        return [c for probe in self.protocols.values() for c in probe.accepted]

    def summary(self) -> dict[str, Any]:
        """The scan as evidence: accepted protocols and ciphers, and every certificate."""
        return {
            "target": f"{self.host} at {self.address}",
            "sni": self.sni_used,
            "scan_seconds": {k: round(v, 2) for k, v in self.durations_s.items()},
            "protocols_error": self.protocols_error,
            "protocols": {
                label: {"error": probe.error} if probe.error else
                {"accepted": bool(probe.accepted),
                 "ciphers": [c.name + (f" ({c.ephemeral_key})" if c.ephemeral_key else "")
                             for c in probe.accepted]}
                for label, probe in self.protocols.items()
            },
            "certificates_error": self.certificates_error,
            "certificates": [
                {"chain": [describe(c) for c in probe.chain],
                 "sslyze_path_validation": {k: v or "ok" for k, v in probe.sslyze_trust.items()}}
                for probe in self.certificates
            ],
        }


class SessionScan:
    """The run's one scan, done lazily in at most two parts.

    Cipher enumeration is slow on a real ingress, while the certificate checks are smoke
    checks: a `-m smoke` run fetches only the certificates. A full run asks for the
    protocols first and gets both parts from a single sslyze run.
    """

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        ip, port = profile.connect_address()
        self.result = TlsScan(host=profile.host, address=f"{ip}:{port}")
        self._done: set[str] = set()

    def protocols(self) -> TlsScan:
        parts = {"protocols"} | ({"certificates"} if not self._done else set())
        return self._ensure(parts)

    def certificates(self) -> TlsScan:
        return self._ensure({"certificates"})

    def _ensure(self, parts: set[str]) -> TlsScan:
        missing = parts - self._done
        if missing:
            self._done |= missing
            scan(self.profile, self.result, protocols="protocols" in missing,
                 certificates="certificates" in missing)
        return self.result


# --------------------------------------------------------------------------- running sslyze


def _one_line(trace: Any) -> str:
    """The last line of a TracebackException: the exception type and message."""
    if trace is None:
        return "unknown error"
    lines = [line.strip() for line in trace.format_exception_only() if line.strip()]
    return lines[-1] if lines else "unknown error"


def _ephemeral(key: Any) -> str | None:
    """nassl's EphemeralKeyInfo as text; its presence is what forward secrecy means."""
    if key is None:
        return None
    curve = getattr(key, "curve_name", "")
    return " ".join(p for p in (str(key.type_name), str(curve or ""), f"{key.size} bits") if p)


def _protocol_probe(label: str, attempt: Any) -> ProtocolProbe:
    if attempt.status is not ScanCommandAttemptStatusEnum.COMPLETED or attempt.result is None:
        reason = getattr(attempt.error_reason, "value", attempt.error_reason)
        return ProtocolProbe(label, error=f"{reason}: {_one_line(attempt.error_trace)}")
    accepted = tuple(
        AcceptedCipher(
            protocol=label,
            name=c.cipher_suite.name,
            openssl_name=c.cipher_suite.openssl_name,
            key_size=c.cipher_suite.key_size,
            anonymous=c.cipher_suite.is_anonymous,
            ephemeral_key=_ephemeral(c.ephemeral_key),
        )
        for c in attempt.result.accepted_cipher_suites
    )
    return ProtocolProbe(label, accepted)


def scan(profile: Profile, out: TlsScan, *, protocols: bool, certificates: bool) -> None:
    """Run sslyze for the requested parts and fill them into `out`."""
    label = "+".join(p for p, on in (("protocols", protocols), ("certificates", certificates))
                     if on)
    started = time.monotonic()
    try:
        _run(profile, out, protocols, certificates)
    finally:
        out.durations_s[label] = time.monotonic() - started


def _location(profile: Profile) -> ServerNetworkLocation:
    ip, port = profile.connect_address()
    # Without an address override connect_address() returns the host itself: let sslyze
    # resolve it rather than pass a name where an IP address belongs.
    return ServerNetworkLocation(hostname=profile.host, port=port,
                                 ip_address=None if ip == profile.host else ip)


def _run(profile: Profile, out: TlsScan, protocols: bool, certificates: bool) -> None:
    def unreachable(why: str) -> None:
        if protocols:
            out.protocols_error = why
        if certificates:
            out.certificates_error = why

    try:
        location = _location(profile)
    except ServerHostnameCouldNotBeResolved as exc:
        unreachable(f"cannot resolve {profile.host}: {exc}")
        return
    commands = {cmd for _, cmd, _ in PROTOCOLS} if protocols else set()
    if certificates:
        commands.add(ScanCommand.CERTIFICATE_INFO)
    extra = ScanCommandsExtraArguments(
        certificate_info=CertificateInfoExtraArgument(custom_ca_file=profile.ca_bundle)
        if certificates and profile.ca_bundle else None
    )
    request = ServerScanRequest(
        server_location=location,
        network_configuration=ServerNetworkConfiguration(
            tls_server_name_indication=profile.host,
            network_timeout=NETWORK_TIMEOUT_S,
            network_max_retries=NETWORK_RETRIES,
        ),
        scan_commands=commands,
        scan_commands_extra_arguments=extra,
    )
    scanner = Scanner(per_server_concurrent_connections_limit=CONCURRENT_CONNECTIONS,
                      concurrent_server_scans_limit=1)
    with warnings.catch_warnings():
        # sslyze's bundled public trust stores hold a root with a negative serial number;
        # cryptography warns about it on every load. Noise about our tool, not the target.
        warnings.simplefilter("ignore")
        scanner.queue_scans([request])
        # Exhaust the generator: sslyze joins its worker threads only at its end.
        results = list(scanner.get_results())
    server = results[0]
    if server.connectivity_status is not ServerConnectivityStatusEnum.COMPLETED:
        unreachable(f"no TLS connection to {out.address} (SNI {profile.host}): "
                    f"{_one_line(server.connectivity_error_trace)}")
        return
    if server.scan_result is None:
        unreachable(f"sslyze scan status {server.scan_status}")
        return
    if protocols:
        out.protocols_error = None
        for label, command, _ in PROTOCOLS:
            attempt = getattr(server.scan_result, command.value)
            out.protocols[label] = _protocol_probe(label, attempt)
    if certificates:
        _certificates(server.scan_result.certificate_info, out, profile.ca_bundle is not None)


def _certificates(attempt: Any, out: TlsScan, private_ca: bool) -> None:
    if attempt.status is not ScanCommandAttemptStatusEnum.COMPLETED or attempt.result is None:
        reason = getattr(attempt.error_reason, "value", attempt.error_reason)
        out.certificates_error = f"{reason}: {_one_line(attempt.error_trace)}"
        return
    out.certificates_error = None
    info = attempt.result
    out.sni_used = info.hostname_used_for_server_name_indication
    out.certificates = tuple(
        CertificateProbe(
            chain=tuple(d.received_certificate_chain),
            # With a private CA the public stores' verdicts are noise; without one they count.
            sslyze_trust={p.trust_store.name: p.validation_error
                          for p in d.path_validation_results
                          if (p.trust_store.name == CUSTOM_STORE) == private_ca},
        )
        for d in info.certificate_deployments
    )


# --------------------------------------------------------------------------- verdict helpers

# Each pattern is matched against the IANA name of an accepted suite.
_WEAK_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("NULL encryption", re.compile(r"^TLS_NULL_|_WITH_NULL_")),
    ("anonymous (no authentication)", re.compile(r"_anon_")),
    ("EXPORT-grade", re.compile(r"EXPORT")),
    ("RC4", re.compile(r"RC4")),
    ("RC2", re.compile(r"RC2")),
    ("DES/3DES", re.compile(r"_DES_|_DES40_|3DES")),
    ("MD5 MAC", re.compile(r"MD5")),
    # Pre-1.3 suites with a static key exchange (the server's long-term key decrypts every
    # recorded session) have no forward secrecy; TLS 1.3 names (TLS_AES_...) never match.
    # SSL 2.0 suites (SSL_CK_...) are all RSA key transport.
    ("no forward secrecy (static key exchange)",
     re.compile(r"^(TLS|SSL)_(RSA|DH|ECDH|PSK|SRP_SHA|KRB5)_(?!anon_)|^SSL_CK_")),
)
MIN_SYMMETRIC_BITS = 128


def weak_reasons(cipher: AcceptedCipher) -> list[str]:
    """Why an accepted suite is weak; empty when it is acceptable."""
    reasons = [why for why, pattern in _WEAK_PATTERNS if pattern.search(cipher.name)]
    if cipher.anonymous and not any(r.startswith("anonymous") for r in reasons):
        reasons.append("anonymous (no authentication)")
    if 0 < cipher.key_size < MIN_SYMMETRIC_BITS:
        reasons.append(f"{cipher.key_size}-bit symmetric key")
    return reasons


# Key sizes below these are refused by the CA/Browser Forum baseline (RSA) or give less than
# 128-bit security (EC); signatures over SHA-1 or MD5 can be forged.
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
WEAK_SIGNATURE_HASHES = frozenset({"md5", "sha1"})


def leaf_key_problem(cert: x509.Certificate) -> str | None:
    """Why the certificate's public key is too weak, or None."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        return f"RSA key of {key.key_size} bits (at least {MIN_RSA_BITS})"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size < MIN_EC_BITS:
        return f"EC key on {key.curve.name} ({key.curve.key_size} bits, at least {MIN_EC_BITS})"
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA key ({key.key_size} bits): no current client accepts DSA for TLS"
    return None


def signature_problem(cert: x509.Certificate) -> str | None:
    """Why the certificate's signature algorithm is weak, or None (Ed25519 has no hash)."""
    algorithm = cert.signature_hash_algorithm
    if algorithm is not None and algorithm.name.lower() in WEAK_SIGNATURE_HASHES:
        return f"signed over {algorithm.name.upper()}"
    return None


# TLS 1.2 suites the contract's SHOULD allows: AEAD ciphers with an ephemeral key exchange.
_AEAD = re.compile(r"_WITH_(AES_128_GCM|AES_256_GCM|CHACHA20_POLY1305)_")
_EPHEMERAL = re.compile(r"^TLS_(ECDHE|DHE)_")


def not_aead_reasons(cipher: AcceptedCipher) -> list[str]:
    """Why a TLS 1.2 suite is not AEAD with forward secrecy; empty when it is."""
    reasons = []
    if not _AEAD.search(cipher.name):
        reasons.append("CBC or another non-AEAD cipher" if "_CBC_" in cipher.name
                       else "not AES-GCM or ChaCha20-Poly1305")
    if not _EPHEMERAL.search(cipher.name):
        reasons.append("no forward secrecy")
    return reasons


def dns_names(cert: x509.Certificate) -> list[str]:
    """The subjectAltName DNS names; the CN is ignored, as browsers have ignored it since 2017."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(n) for n in san.get_values_for_type(x509.DNSName)]


def name_matches(pattern: str, host: str) -> bool:
    """RFC 6125 matching: case-insensitive, a wildcard only as the whole left-most label."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if not pattern.startswith("*."):
        return pattern == host
    suffix = pattern[1:]  # ".example.org"
    first, dot, rest = host.partition(".")
    return bool(dot) and bool(first) and "." + rest == suffix and suffix.count(".") >= 2


def covers_host(cert: x509.Certificate, host: str) -> bool:
    return any(name_matches(n, host) for n in dns_names(cert))


def trust_without_dates(profile: Profile) -> str | None:
    """Whether the served chain is trusted, dates and names aside: None, or the reason not.

    sslyze validates paths at the current time only, so an expired leaf would fail trust
    and dates alike. The date checks own dates and the name check owns the host name, so
    this performs one real handshake with the gate's own verifying context, which checks the
    chain against the profile's CA (or the system's public roots), with OpenSSL's time and
    host-name checks turned off: a leaf for another host fails the name check alone.
    """
    ip, port = profile.connect_address()
    context = verifying_context(profile.ca_bundle, check_time=False)
    context.check_hostname = False
    try:
        with socket.create_connection((ip, port), timeout=NETWORK_TIMEOUT_S) as raw, \
                context.wrap_socket(raw, server_hostname=profile.host):
            return None
    except ssl.SSLCertVerificationError as exc:
        return str(exc.verify_message or exc)
    except (OSError, ssl.SSLError) as exc:
        return f"TLS handshake with {ip}:{port} failed before verification: {exc}"


def served_chain(chain: Iterable[x509.Certificate]) -> list[x509.Certificate]:
    """The leaf and intermediates: a self-signed root a server sends along is never used."""
    certs = list(chain)
    return certs[:1] + [c for c in certs[1:] if c.issuer != c.subject]


def days_left(cert: x509.Certificate, now: dt.datetime | None = None) -> float:
    at = now or dt.datetime.now(dt.UTC)
    return (cert.not_valid_after_utc - at).total_seconds() / 86400


def _cn(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else name.rfc4514_string()


def describe(cert: x509.Certificate) -> dict[str, Any]:
    """What a reviewer needs to recognise a certificate, for evidence and messages."""
    return {
        "subject": cert.subject.rfc4514_string(),
        "subject_cn": _cn(cert.subject),
        "san_dns": dns_names(cert),
        "issuer": cert.issuer.rfc4514_string(),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "serial": format(cert.serial_number, "x"),
        "sha256": cert.fingerprint(hashes.SHA256()).hex(),
    }

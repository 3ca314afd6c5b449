"""tls gate (issue 4; contract §7: Traefik websecure with a cert-manager certificate).

Modern protocols only, no weak cipher suites, a certificate valid for the host, its CA and
today, and plain HTTP redirected permanently to HTTPS. One sslyze scan per run
(vvgate/access/tls_scan.py) feeds every check; each check attaches the scan as evidence.
HSTS is the headers gate's business (§6), not this one's.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse

import httpx
import pytest
from cryptography import x509

from vvgate.access.https_client import TargetHttp
from vvgate.access.tls_scan import (
    LEGACY_PROTOCOLS,
    MODERN_PROTOCOLS,
    CertificateProbe,
    SessionScan,
    TlsScan,
    covers_host,
    days_left,
    describe,
    dns_names,
    leaf_key_problem,
    served_chain,
    signature_problem,
    trust_without_dates,
    weak_reasons,
)
from vvgate.gates.inconclusive import inconclusive
from vvgate.report.evidence import Evidence
from vvgate.targets.profile import Profile

pytestmark = [pytest.mark.gate("tls"), pytest.mark.plan("4.6")]


@pytest.fixture
def protocol_scan(tls_session_scan: SessionScan, evidence: Evidence) -> TlsScan:
    result = tls_session_scan.protocols()
    evidence.json("sslyze scan", result.summary())
    return result


@pytest.fixture
def certificate_scan(tls_session_scan: SessionScan, evidence: Evidence) -> TlsScan:
    result = tls_session_scan.certificates()
    evidence.json("sslyze scan", result.summary())
    return result


def _protocols(scan: TlsScan) -> TlsScan:
    # A scan that could not run proves nothing either way: inconclusive, never a pass.
    if scan.protocols_error:
        inconclusive(f"could not enumerate TLS protocols on {scan.host} at {scan.address}: "
                     f"{scan.protocols_error}")
    return scan


def _certificates(scan: TlsScan) -> tuple[CertificateProbe, ...]:
    if scan.certificates_error or not scan.certificates:
        why = scan.certificates_error or "the server presented no certificate"
        inconclusive(f"could not fetch the certificate of {scan.host} at {scan.address}: {why}")
    return scan.certificates


def _who(probe: CertificateProbe) -> str:
    leaf = describe(probe.leaf)
    return f"subject {leaf['subject']}, issuer {leaf['issuer']}, serial {leaf['serial']}"


# --------------------------------------------------------------------------- protocols


@pytest.mark.parametrize("protocol", LEGACY_PROTOCOLS)
def test_legacy_protocol_rejected(protocol: str, protocol_scan: TlsScan) -> None:
    probe = _protocols(protocol_scan).protocols[protocol]
    if probe.error:
        inconclusive(f"{protocol}: sslyze could not finish its probe, so whether the server "
                     f"accepts it is unknown: {probe.error}")
    names = [c.name for c in probe.accepted]
    assert not names, (
        f"{protocol_scan.host} accepts {protocol} ({len(names)} cipher suite(s), e.g. "
        f"{', '.join(names[:3])}); only TLS 1.2 and 1.3 may be offered "
        f"(Traefik: tls.options minVersion VersionTLS12)"
    )


def test_modern_protocol_accepted(protocol_scan: TlsScan) -> None:
    scan = _protocols(protocol_scan)
    failed = {p: scan.protocols[p].error for p in MODERN_PROTOCOLS if scan.protocols[p].error}
    accepted = [p for p in MODERN_PROTOCOLS if scan.protocols[p].accepted]
    assert accepted, (
        f"{scan.host} accepts neither TLS 1.2 nor TLS 1.3"
        + (f" (probe errors: {failed})" if failed else "")
    )


def test_no_weak_cipher_suites(protocol_scan: TlsScan, evidence: Evidence) -> None:
    scan = _protocols(protocol_scan)
    unknown = {p: probe.error for p, probe in scan.protocols.items() if probe.error}
    weak = {f"{c.protocol} {c.name}": reasons
            for c in scan.accepted_ciphers() if (reasons := weak_reasons(c))}
    evidence.json("weak cipher suites", weak)
    assert not weak, (
        f"{scan.host} accepts {len(weak)} weak cipher suite(s): "
        + "; ".join(f"{name} [{', '.join(why)}]" for name, why in weak.items())
    )
    # Checked after the weak list so a real finding is reported even when a probe failed.
    if unknown:
        inconclusive(f"cipher suites of {', '.join(unknown)} could not be enumerated, so weak "
                     f"ones may be accepted: {unknown}")


# --------------------------------------------------------------------------- certificate


@pytest.mark.smoke
@pytest.mark.plan("9.4")
def test_certificate_names_host(certificate_scan: TlsScan, profile: Profile) -> None:
    for probe in _certificates(certificate_scan):
        assert covers_host(probe.leaf, profile.host), (
            f"the certificate served for SNI {profile.host} does not name it: subjectAltName "
            f"DNS names {dns_names(probe.leaf) or 'none'} ({_who(probe)})"
        )


@pytest.mark.smoke
@pytest.mark.plan("9.4")
def test_certificate_chains_to_trusted_ca(certificate_scan: TlsScan, profile: Profile) -> None:
    _certificates(certificate_scan)
    trusted_by = (f"the profile's CA {profile.ca_bundle}" if profile.ca_bundle
                  else "the public roots")
    # Dates and the name are set aside here: the checks above and below own them.
    problem = trust_without_dates(profile)
    assert problem is None, (
        f"the certificate served for {profile.host} does not chain to {trusted_by}: "
        f"{problem} (served: "
        + "; ".join(_who(p) for p in certificate_scan.certificates) + ")"
    )


@pytest.mark.smoke
@pytest.mark.plan("9.4")
def test_leaf_key_is_strong(certificate_scan: TlsScan) -> None:
    weak = [f"{_who(p)}: {problem}" for p in _certificates(certificate_scan)
            if (problem := leaf_key_problem(p.leaf))]
    assert not weak, "the served leaf's key is too weak: " + "; ".join(weak)


@pytest.mark.smoke
@pytest.mark.plan("9.4")
def test_leaf_signature_is_modern(certificate_scan: TlsScan) -> None:
    # The leaf's own signature: a root's self-signature is never checked by clients.
    weak = [f"{_who(p)}: {problem}" for p in _certificates(certificate_scan)
            if (problem := signature_problem(p.leaf))]
    assert not weak, "the served leaf's signature is weak: " + "; ".join(weak)


def _chain_with_roles(probe: CertificateProbe) -> list[tuple[str, x509.Certificate]]:
    chain = served_chain(probe.chain)
    return [("leaf" if i == 0 else "intermediate", c) for i, c in enumerate(chain)]


@pytest.mark.smoke
@pytest.mark.plan("9.4")
def test_certificate_not_expiring(certificate_scan: TlsScan, profile: Profile) -> None:
    minimum = profile.tls.min_days_to_expiry
    now = dt.datetime.now(dt.UTC)
    short = []
    for probe in _certificates(certificate_scan):
        for role, cert in _chain_with_roles(probe):
            left = days_left(cert, now)
            if left < minimum:
                state = "EXPIRED" if left < 0 else "expires soon"
                short.append(f"{role} {cert.subject.rfc4514_string()} {state}: notAfter "
                             f"{cert.not_valid_after_utc.isoformat()} ({left:.1f} days left)")
    assert not short, (
        f"the certificate chain of {profile.host} must stay valid >= {minimum} days "
        f"(tls.min_days_to_expiry): " + "; ".join(short)
    )


@pytest.mark.smoke
@pytest.mark.plan("9.4")
def test_certificate_already_valid(certificate_scan: TlsScan, profile: Profile) -> None:
    now = dt.datetime.now(dt.UTC)
    early = [f"{role} {cert.subject.rfc4514_string()}: notBefore "
             f"{cert.not_valid_before_utc.isoformat()}"
             for probe in _certificates(certificate_scan)
             for role, cert in _chain_with_roles(probe)
             if cert.not_valid_before_utc > now]
    assert not early, (
        f"the certificate chain of {profile.host} is not valid yet at "
        f"{now.isoformat(timespec='seconds')}: " + "; ".join(early)
    )


# --------------------------------------------------------------------------- redirect

# A deep path with a query shows the redirect keeps where the user was going.
REDIRECT_PATHS = ("/", "/browse?vvgate=redirect-probe")


def _plain_get(http: TargetHttp, path: str) -> httpx.Response:
    try:
        return http.get(path, scheme="http")
    except httpx.TransportError as exc:
        problem = f"{type(exc).__name__}: {exc}"
    # Failed outside the except block, so the report shows no chained traceback.
    pytest.fail(f"plain HTTP GET {path} to {http.url(path, scheme='http')} got no answer "
                f"({problem}); the plain-HTTP entrypoint must answer with a redirect",
                pytrace=False)


@pytest.mark.smoke
@pytest.mark.parametrize("path", REDIRECT_PATHS)
def test_http_redirects_permanently_to_https(path: str, http: TargetHttp,
                                             profile: Profile) -> None:
    response = _plain_get(http, path)
    location = response.headers.get("location", "")
    assert response.status_code in (301, 308), (
        f"plain HTTP GET {path} answered {response.status_code}"
        + (f" -> {location}" if location else "")
        + "; it must redirect permanently (301 or 308) to HTTPS"
    )
    target = urllib.parse.urlsplit(location)
    # A target reached through an address override on a high port (the local
    # target) publishes HTTPS there, which the redirect rightly keeps.
    ports = {None, 443} | ({profile.connect_address()[1]} if profile.address_override
                           else set())
    expected = f"https://{profile.host}{path}"
    assert (target.scheme, target.hostname, target.port) in {
        ("https", profile.host, p) for p in ports
    }, f"plain HTTP GET {path} redirects to {location!r}, not to {expected}"
    kept = target.path + (f"?{target.query}" if target.query else "")
    assert kept == path, (
        f"plain HTTP GET {path} redirects to {location!r}, losing the path or query "
        f"(expected {expected})"
    )

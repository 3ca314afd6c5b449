"""The tls gate: its verdict helpers offline, and its checks against the local target's faults.

The fault matrix starts its own local target in a temporary VVGATE_STATE_DIR, so a
developer's running target is never touched, and always takes it down again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vvgate.access.tls_scan import (
    AcceptedCipher,
    days_left,
    leaf_key_problem,
    name_matches,
    not_aead_reasons,
    served_chain,
    signature_problem,
    weak_reasons,
)

PROJECT = Path(__file__).resolve().parents[1]
SUITE = "suites/staging/test_tls.py"
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def cipher(name: str, *, key_size: int = 128, anonymous: bool = False) -> AcceptedCipher:
    return AcceptedCipher("TLS 1.2", name, name, key_size, anonymous, None)


@pytest.mark.parametrize(("name", "expected"), [
    ("TLS_AES_128_GCM_SHA256", []),
    ("TLS_CHACHA20_POLY1305_SHA256", []),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", []),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", []),
    ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", []),
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", ["no forward secrecy"]),
    ("TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA", ["no forward secrecy"]),
    ("TLS_DH_RSA_WITH_AES_128_CBC_SHA", ["no forward secrecy"]),
    ("TLS_RSA_WITH_RC4_128_MD5", ["RC4", "MD5", "no forward secrecy"]),
    ("TLS_ECDHE_RSA_WITH_RC4_128_SHA", ["RC4"]),
    ("TLS_ECDHE_RSA_WITH_NULL_SHA", ["NULL"]),
    ("TLS_DH_anon_WITH_AES_128_CBC_SHA", ["anonymous"]),
    ("TLS_ECDH_anon_WITH_AES_128_CBC_SHA", ["anonymous"]),
    ("TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", ["EXPORT", "DES", "no forward secrecy"]),
    ("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", ["DES"]),
    ("TLS_DHE_RSA_WITH_DES_CBC_SHA", ["DES"]),
    ("SSL_CK_RC4_128_WITH_MD5", ["RC4", "MD5", "no forward secrecy"]),
])
def test_weak_reasons(name: str, expected: list[str]) -> None:
    reasons = weak_reasons(cipher(name))
    assert len(reasons) == len(expected), reasons
    for want, got in zip(expected, reasons, strict=True):
        assert got.startswith(want) or want in got, (want, got)


def test_weak_reasons_from_attributes() -> None:
    assert weak_reasons(cipher("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", anonymous=True))
    assert weak_reasons(cipher("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", key_size=56))


@pytest.mark.parametrize(("pattern", "host", "ok"), [
    ("vinylvault.example.org", "vinylvault.example.org", True),
    ("VinylVault.Example.org", "vinylvault.example.org", True),
    ("*.example.org", "vinylvault.example.org", True),
    ("*.example.org", "example.org", False),
    ("*.example.org", "a.b.example.org", False),
    ("*.org", "example.org", False),
    ("vinylvault.example.org", "other.example.org", False),
    ("v*.example.org", "vinylvault.example.org", False),
])
def test_name_matches(pattern: str, host: str, ok: bool) -> None:
    assert name_matches(pattern, host) is ok


def _cert(subject: str, issuer: str, not_after: dt.datetime) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=30)).not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )


def test_served_chain_ignores_a_root_sent_along() -> None:
    far = NOW + dt.timedelta(days=3650)
    leaf, inter, root = (_cert("leaf", "inter", far), _cert("inter", "root", far),
                         _cert("root", "root", NOW - dt.timedelta(days=1)))
    assert served_chain([leaf, inter, root]) == [leaf, inter]
    assert served_chain([leaf]) == [leaf]


def test_days_left() -> None:
    cert = _cert("leaf", "ca", NOW + dt.timedelta(days=10, hours=12))
    assert days_left(cert, NOW) == pytest.approx(10.5)
    assert days_left(cert, NOW + dt.timedelta(days=11)) < 0


# --------------------------------------------------------------------------- fault matrix


class LocalTarget:
    def __init__(self, state: Path, reports: Path) -> None:
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("VVGATE_", "GITHUB_"))}
        self.env["VVGATE_STATE_DIR"] = str(state)
        self.reports = reports

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "vvgate", "local", *args],
                              cwd=PROJECT, env=self.env, capture_output=True, text=True,
                              timeout=180)

    def up(self, fault: str | None) -> None:
        proc = self.cli("up", *(("--fault", fault) if fault else ()))
        assert proc.returncode == 0, proc.stdout + proc.stderr

    def failed_checks(self, name: str) -> tuple[int, set[str], str]:
        out = self.reports / name
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", SUITE, "--target", "local", "--report-dir",
             str(out)], cwd=PROJECT, env=self.env, capture_output=True, text=True, timeout=300,
        )
        document = json.loads((out / "latest" / "gates.json").read_text())
        (tls,) = [g for g in document["gates"] if g["name"] == "tls"]
        failed = {f["test"].split("::", 1)[1] for f in tls["failures"]}
        return proc.returncode, failed, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def local_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTarget]:
    root = tmp_path_factory.mktemp("tls-gate")
    target = LocalTarget(root / "state", root / "reports")
    try:
        yield target
    finally:
        target.cli("down", "--purge")


@pytest.mark.slow
@pytest.mark.parametrize(("fault", "expected"), [
    (None, set()),
    ("tls10", {"test_legacy_protocol_rejected[TLS 1.0]",
               "test_legacy_protocol_rejected[TLS 1.1]"}),
    ("expired-cert", {"test_certificate_not_expiring"}),
    ("cert-expiring-soon", {"test_certificate_not_expiring"}),
    ("not-yet-valid-cert", {"test_certificate_already_valid"}),
    ("wrong-host-cert", {"test_certificate_names_host"}),
    ("untrusted-cert", {"test_certificate_chains_to_trusted_ca"}),
    ("weak-ciphers", {"test_no_weak_cipher_suites"}),
    ("no-https-redirect", {"test_http_redirects_permanently_to_https[/]",
                           "test_http_redirects_permanently_to_https"
                           "[/browse?vvgate=redirect-probe]"}),
])
def test_fault_fails_exactly_its_checks(local_target: LocalTarget, fault: str | None,
                                        expected: set[str]) -> None:
    local_target.up(fault)
    code, failed, output = local_target.failed_checks(fault or "healthy")
    assert failed == expected, output[-3000:]
    assert code == (1 if expected else 0), output[-3000:]


# ---- the leaf's key and signature, and the AEAD-only SHOULD -------------------------------


@pytest.fixture(scope="module")
def local_leaves(tmp_path_factory: pytest.TempPathFactory) -> dict[str, x509.Certificate]:
    """The local CA's leaves: the valid one and the weak-key and SHA-1 faults' (real
    certificates: cryptography itself no longer signs over SHA-1)."""
    from reference.localenv import ca

    directory = tmp_path_factory.mktemp("ca")
    ca.ensure_certificates(directory, "vinylvault.local.test")
    return {stem: x509.load_pem_x509_certificate((directory / f"{stem}.pem").read_bytes())
            for stem in ("host", "weakkey", "sha1")}


def test_leaf_key_and_signature_rules(local_leaves: dict[str, x509.Certificate]) -> None:
    host, weak, sha1 = local_leaves["host"], local_leaves["weakkey"], local_leaves["sha1"]
    assert leaf_key_problem(host) is None and signature_problem(host) is None
    assert leaf_key_problem(weak) == "RSA key of 1024 bits (at least 2048)"
    assert signature_problem(weak) is None
    assert leaf_key_problem(sha1) is None
    assert signature_problem(sha1) == "signed over SHA1"


@pytest.mark.parametrize(("name", "reasons"), [
    ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", []),
    ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", []),
    ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", []),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", ["CBC or another non-AEAD cipher"]),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CCM", ["not AES-GCM or ChaCha20-Poly1305"]),
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", ["no forward secrecy"]),
])
def test_aead_with_forward_secrecy(name: str, reasons: list[str]) -> None:
    assert not_aead_reasons(cipher(name)) == reasons

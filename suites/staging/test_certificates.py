"""Phase 9: cert-manager issued the host's certificate and the ingress serves it.

Only where cert-manager's CRDs are installed; elsewhere (the local cluster) the checks
skip with that reason.
"""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes

from vvgate.access.served_certificate import secret_leaf, served_leaf
from vvgate.kube.objects import Kube
from vvgate.report.evidence import Evidence
from vvgate.targets.profile import Profile

pytestmark = [pytest.mark.gate("tls"), pytest.mark.plan("9.4")]

CERTIFICATE = ("cert-manager.io/v1", "Certificate")


@pytest.fixture
def host_tls(kube: Kube, profile: Profile,
             expected_objects: list[dict[str, Any]]) -> tuple[str, str]:
    """(namespace, secretName) the manifests' Ingress uses for the profile's host."""
    if not kube.served(*CERTIFICATE):
        pytest.skip("cert-manager CRDs are not installed on this cluster (no "
                    "cert-manager.io/v1 Certificate)")
    for ing in (o for o in expected_objects if o["kind"] == "Ingress"):
        for tls in ing["spec"].get("tls") or []:
            if profile.host in (tls.get("hosts") or []):
                return ing["metadata"]["namespace"], tls["secretName"]
    pytest.fail(f"no Ingress in the manifests serves TLS for {profile.host}")


def _ready(cert: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (cert.get("status") or {}).get("conditions") or [])


def test_certificate_for_host_is_ready(kube: Kube, host_tls: tuple[str, str],
                                       evidence: Evidence) -> None:
    namespace, secret_name = host_tls
    certs = [c for c in kube.list(*CERTIFICATE, namespace)
             if c["spec"].get("secretName") == secret_name]
    evidence.json("certificates", [{"name": c["metadata"]["name"], "spec": c["spec"],
                                    "status": c.get("status")} for c in certs])
    assert certs, f"no Certificate in {namespace} writes Secret {secret_name}"
    assert any(_ready(c) for c in certs), f"the Certificate for {secret_name} is not Ready"


@pytest.mark.plan("5.6", "9.4")
def test_ingress_serves_the_issued_certificate(kube: Kube, profile: Profile,
                                               host_tls: tuple[str, str],
                                               evidence: Evidence) -> None:
    namespace, secret_name = host_tls
    secret = kube.get("v1", "Secret", secret_name, namespace)
    assert secret is not None, f"Secret {namespace}/{secret_name} is missing"
    issued = secret_leaf(secret)
    served = served_leaf(profile)
    fingerprints = {"issued": issued.fingerprint(hashes.SHA256()).hex(),
                    "served": served.fingerprint(hashes.SHA256()).hex()}
    evidence.json("fingerprints", fingerprints)
    assert fingerprints["issued"] == fingerprints["served"], (
        f"the ingress serves {served.subject.rfc4514_string()} (serial {served.serial_number}),"
        f" not the issued {issued.subject.rfc4514_string()} (serial {issued.serial_number})")

"""TLS 1.2 offers only AEAD suites with forward secrecy (contract §6, a SHOULD): AES-GCM or
ChaCha20-Poly1305 over ECDHE or DHE, no CBC. Advisory unless the profile's
`gates: {tls-suites: blocking}` makes it block. The suites come from the tls gate's scan
(one sslyze run serves both); TLS 1.3 offers only AEAD suites by design."""

from __future__ import annotations

import pytest

from vvgate.access.tls_scan import SessionScan, not_aead_reasons, weak_reasons
from vvgate.gates.inconclusive import inconclusive
from vvgate.report.evidence import Evidence

pytestmark = [pytest.mark.gate("tls-suites"), pytest.mark.plan("4.6")]


def test_tls12_offers_only_aead_suites_with_forward_secrecy(tls_session_scan: SessionScan,
                                                            evidence: Evidence) -> None:
    scan = tls_session_scan.protocols()
    if scan.protocols_error:
        inconclusive(f"could not enumerate TLS protocols on {scan.host}: {scan.protocols_error}")
    probe = scan.protocols.get("TLS 1.2")
    if probe is None or probe.error:
        inconclusive(f"the TLS 1.2 suites of {scan.host} could not be enumerated: "
                     f"{probe.error if probe else 'not scanned'}")
    # A weak suite (RC4, no forward secrecy, ...) is the tls gate's finding, not this one's.
    offered = {c.name: not_aead_reasons(c) for c in probe.accepted if not weak_reasons(c)}
    evidence.json("TLS 1.2 suites (weak ones are the tls gate's)", offered)
    other = {name: why for name, why in offered.items() if why}
    assert not other, (
        f"{scan.host} offers {len(other)} TLS 1.2 suite(s) that are not AEAD with forward "
        "secrecy: " + "; ".join(f"{n} [{', '.join(w)}]" for n, w in other.items()))

"""TLS settings for the checks that are not about TLS.

The tls gate owns certificate validity. Every other gate still verifies the
chain and the host name, but not the validity dates, so an expired
certificate fails the tls gate alone instead of masking every other result.
When chain or name fails, vvgate/access/peer_trust.py decides what they may reach.
"""

from __future__ import annotations

import ssl
from pathlib import Path

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME: verify the chain, ignore notBefore/notAfter.
NO_CHECK_TIME = 0x200000


def verifying_context(ca_bundle: Path | None, check_time: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not check_time:
        context.verify_flags |= NO_CHECK_TIME
    return context

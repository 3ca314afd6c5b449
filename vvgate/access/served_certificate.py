"""The certificate the target's ingress serves for its host, fetched without verifying it
(the TLS gate judges validity; phase 9 only compares it with the cluster's Secret)."""

from __future__ import annotations

import base64
import socket
import ssl

from cryptography import x509

from vvgate.targets.profile import Profile

TIMEOUT_S = 10.0


def served_leaf(profile: Profile) -> x509.Certificate:
    host, port = profile.connect_address()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (socket.create_connection((host, port), timeout=TIMEOUT_S) as raw,
          ctx.wrap_socket(raw, server_hostname=profile.host) as tls):
        der = tls.getpeercert(binary_form=True)
    if der is None:
        raise AssertionError(f"{profile.host}: the server sent no certificate")
    return x509.load_der_x509_certificate(der)


def secret_leaf(secret: dict[str, object]) -> x509.Certificate:
    """The first certificate of a kubernetes.io/tls Secret's tls.crt (never the key)."""
    data = secret.get("data")
    if not isinstance(data, dict) or "tls.crt" not in data:
        raise AssertionError("the Secret has no tls.crt")
    return x509.load_pem_x509_certificate(base64.b64decode(str(data["tls.crt"])))

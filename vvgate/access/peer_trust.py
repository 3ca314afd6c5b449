"""Which HTTPS peer the checks that are not about TLS may talk to.

The tls gate owns the certificate: its trust, its host name and its dates. Every other gate
verifies chain and host name (dates aside, vvgate/access/tls_context.py), so a certificate for the
wrong host or from an untrusted CA would fail them all and hide what is wrong. When that
verification fails, those gates may still reach the target, but only the very leaf the tls
gate's scan recorded in this run: each connection's leaf must have a scanned SHA-256
fingerprint, checked in the handshake, before a byte of a request (a cookie, a token) is sent.
The run records that it did so. A production target is never pinned.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from vvgate.access.tls_context import verifying_context
from vvgate.targets.profile import Profile

PROBE_TIMEOUT_S = 10.0


class UntrustedPeerError(ssl.SSLError):
    """The peer neither verifies nor serves a scanned leaf: nothing may be sent to it."""

    def __str__(self) -> str:
        return str(self.args[0])


def leaf_sha256(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def check_leaf(der: bytes | None, pins: Collection[str]) -> None:
    """Raise UntrustedPeerError unless the leaf (DER) is one of `pins` (SHA-256, hex)."""
    seen = leaf_sha256(der) if der else None
    if seen is None or seen not in pins:
        raise UntrustedPeerError(
            f"the served leaf (sha256 {seen or 'none: no certificate'}) is not the one the tls "
            f"scan recorded (sha256 {', '.join(sorted(pins)) or 'none'}); refusing to send "
            "anything to it")


class _PinnedSocket(ssl.SSLSocket):
    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        context = self.context
        assert isinstance(context, PinnedContext)
        try:
            check_leaf(self.getpeercert(binary_form=True), context.pins)
        except UntrustedPeerError:
            self.close()
            raise


class PinnedContext(ssl.SSLContext):
    """Accepts exactly the leaves in `pins`, whatever their chain or names."""

    pins: frozenset[str]
    sslsocket_class = _PinnedSocket


def pinned_context(pins: Collection[str]) -> PinnedContext:
    context = PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # The pin replaces chain and name verification; _PinnedSocket enforces it per connection.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.pins = frozenset(p.lower() for p in pins)
    return context


@dataclass(frozen=True)
class PeerTrust:
    context: ssl.SSLContext
    pinned: str | None = None  # SHA-256 of the leaf pinned to; None when verified
    reason: str | None = None  # why verification failed, when pinned

    def describe(self) -> str:
        if self.pinned is None:
            return "verified (chain and host name)"
        return (f"pinned to scanned leaf sha256 {self.pinned} because verification failed: "
                f"{self.reason}")

    def summary(self) -> dict[str, Any]:
        return {"mode": "pinned" if self.pinned else "verified", "leaf_sha256": self.pinned,
                "reason": self.reason, "note": self.describe()}


def _handshake(profile: Profile, context: ssl.SSLContext) -> bytes | None:
    ip, port = profile.connect_address()
    with socket.create_connection((ip, port), timeout=PROBE_TIMEOUT_S) as raw, \
            context.wrap_socket(raw, server_hostname=profile.host) as tls:
        return tls.getpeercert(binary_form=True)


def decide(profile: Profile, scanned_leaves: Callable[[], Collection[str]]) -> PeerTrust:
    """How this run's non-tls checks trust the target, from one verifying handshake.

    `scanned_leaves` gives the SHA-256 of each leaf the tls gate's scan saw; it is asked only
    when verification fails. Raises UntrustedPeerError when the target may not be reached.
    """
    verifying = verifying_context(profile.ca_bundle)
    try:
        _handshake(profile, verifying)
        return PeerTrust(verifying)
    except ssl.SSLCertVerificationError as exc:
        reason = str(exc.verify_message or exc)
    except OSError:
        # Not a verdict on the certificate: the checks meet the same failure and report it.
        return PeerTrust(verifying)
    if profile.production:
        raise UntrustedPeerError(
            f"{profile.host}: certificate verification failed ({reason}); a production target "
            "is never pinned, so no check sends anything to it (the tls gate reports why)")
    pins = frozenset(scanned_leaves())
    if not pins:
        raise UntrustedPeerError(
            f"{profile.host}: certificate verification failed ({reason}) and the tls scan "
            "recorded no leaf to pin to; refusing to send anything to it")
    pinned = pinned_context(pins)
    der = _handshake(profile, pinned)
    assert der is not None  # _PinnedSocket refused a handshake without a certificate
    return PeerTrust(pinned, leaf_sha256(der), reason)

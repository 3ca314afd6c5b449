"""How the non-tls checks trust the target: verified, pinned to the scanned leaf, or refused.

Real TLS servers on loopback serve the local CA's leaves (reference/localenv/ca.py): the
valid one, one for another host name, and one from a CA the profile does not trust. Each
server records the requests that reached it, so a refusal is shown to send nothing.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from reference.localenv import ca
from vvgate.access.https_client import TargetHttp
from vvgate.access.peer_trust import PeerTrust, UntrustedPeerError, decide
from vvgate.targets.profile import Kind, Profile

HOST = "vinylvault.local.test"
COOKIE = "vinylvault.sid=s%3Aunit-session.signature"
# Leaf file stems of ca.ensure_certificates, and why each fails verification.
UNVERIFIED = {"wronghost": "Hostname mismatch",
              "untrusted": "self-signed certificate in certificate chain"}
# A server that never finishes a connection would hang the test; this only bounds that.
SETTLE_LIMIT_S = 30.0


class TlsServer:
    """HTTPS on loopback, one connection at a time, with a leaf that can be swapped."""

    def __init__(self, certs: Path, stem: str) -> None:
        self.certs = certs
        self.requests: list[bytes] = []
        self._open = 0
        self._idle = threading.Condition()
        self.serve(stem)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._loop, daemon=True).start()

    def serve(self, stem: str) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certs / f"{stem}.pem", self.certs / f"{stem}.key")
        self._context = context

    def _loop(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._idle:
                self._open += 1
            try:
                self._answer(conn)
            finally:
                with self._idle:
                    self._open -= 1
                    self._idle.notify_all()

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(SETTLE_LIMIT_S)
        try:
            with self._context.wrap_socket(conn, server_side=True) as tls:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                if data:
                    self.requests.append(data)
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                b"Connection: close\r\n\r\nok")
        except (ssl.SSLError, OSError):
            pass  # a client that refused the handshake or hung up
        finally:
            conn.close()

    def settled(self) -> list[bytes]:
        """The requests received, once every accepted connection has been handled."""
        with self._idle:
            assert self._idle.wait_for(lambda: self._open == 0, SETTLE_LIMIT_S)
            return list(self.requests)

    def close(self) -> None:
        self._listener.close()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("ca")
    ca.ensure_certificates(directory, HOST)
    return directory


def leaf_sha256(certs: Path, stem: str) -> str:
    leaf = x509.load_pem_x509_certificate((certs / f"{stem}.pem").read_bytes())
    return leaf.fingerprint(hashes.SHA256()).hex()


@pytest.fixture
def server(certs: Path) -> Iterator[TlsServer]:
    tls = TlsServer(certs, "host")
    yield tls
    tls.close()


def profile_for(server: TlsServer, kind: Kind = Kind.STAGING) -> Profile:
    return Profile(name="unit", kind=kind, host=HOST, base_url=f"https://{HOST}",
                   address_override=f"127.0.0.1:{server.port}",
                   ca_bundle=server.certs / "ca.pem")


class ScannedLeaves:
    """A pin source like the tls scan's, counting how often it is asked."""

    def __init__(self, *sha256: str) -> None:
        self.sha256 = sha256
        self.asked = 0

    def __call__(self) -> tuple[str, ...]:
        self.asked += 1
        return self.sha256


def get_with_cookie(profile: Profile, trust: PeerTrust) -> httpx.Response:
    client = TargetHttp(profile, trust.context)
    try:
        return client.get("/auth/me", headers={"Cookie": COOKIE})
    finally:
        client.close()


def test_a_verified_peer_is_trusted_without_asking_for_a_pin(server: TlsServer) -> None:
    profile = profile_for(server)
    scanned = ScannedLeaves(leaf_sha256(server.certs, "host"))
    trust = decide(profile, scanned)
    assert (trust.pinned, trust.reason, scanned.asked) == (None, None, 0)
    assert trust.summary()["mode"] == "verified"
    assert get_with_cookie(profile, trust).status_code == 200
    assert any(COOKIE.encode() in r for r in server.settled())


@pytest.mark.parametrize("stem", sorted(UNVERIFIED))
def test_an_unverified_peer_serving_the_scanned_leaf_is_pinned_and_recorded(
        server: TlsServer, stem: str) -> None:
    server.serve(stem)
    profile = profile_for(server)
    pin = leaf_sha256(server.certs, stem)
    # The scan may have seen more than one leaf (an RSA and an ECDSA deployment).
    scanned = ScannedLeaves(leaf_sha256(server.certs, "host"), pin)
    trust = decide(profile, scanned)
    assert trust.pinned == pin and scanned.asked == 1
    assert trust.reason is not None and UNVERIFIED[stem] in trust.reason
    note = trust.describe()
    assert note == f"pinned to scanned leaf sha256 {pin} because verification failed: " \
                   f"{trust.reason}"
    assert trust.summary() == {"mode": "pinned", "leaf_sha256": pin, "reason": trust.reason,
                               "note": note}
    assert get_with_cookie(profile, trust).status_code == 200
    assert any(COOKIE.encode() in r for r in server.settled())


def test_an_unverified_peer_serving_another_leaf_is_refused(server: TlsServer) -> None:
    server.serve("untrusted")
    scanned = ScannedLeaves(leaf_sha256(server.certs, "wronghost"))
    with pytest.raises(UntrustedPeerError) as refused:
        decide(profile_for(server), scanned)
    served = leaf_sha256(server.certs, "untrusted")
    assert str(refused.value) == (
        f"the served leaf (sha256 {served}) is not the one the tls scan recorded (sha256 "
        f"{scanned.sha256[0]}); refusing to send anything to it")
    assert server.settled() == []


def test_a_leaf_swapped_after_pinning_gets_no_request(server: TlsServer) -> None:
    server.serve("wronghost")
    profile = profile_for(server)
    trust = decide(profile, ScannedLeaves(leaf_sha256(server.certs, "wronghost")))
    assert trust.pinned is not None
    server.serve("untrusted")
    with pytest.raises(httpx.ConnectError, match="is not the one the tls scan recorded"):
        get_with_cookie(profile, trust)
    assert server.settled() == []


def test_without_a_scanned_leaf_nothing_is_pinned(server: TlsServer) -> None:
    server.serve("untrusted")
    with pytest.raises(UntrustedPeerError, match="the tls scan recorded no leaf to pin to"):
        decide(profile_for(server), ScannedLeaves())
    assert server.settled() == []


def test_production_is_never_pinned(server: TlsServer) -> None:
    server.serve("wronghost")
    scanned = ScannedLeaves(leaf_sha256(server.certs, "wronghost"))
    with pytest.raises(UntrustedPeerError, match="a production target is never pinned"):
        decide(profile_for(server, Kind.PRODUCTION), scanned)
    assert scanned.asked == 0
    assert server.settled() == []

"""Cookie signatures as cookie-signature/express-session make them, and HS256 JWTs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import quote, unquote


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_sid(sid: str, secret: str) -> str:
    """`s:<sid>.<base64 HMAC-SHA256 without padding>`, URL-encoded like the cookie value."""
    mac = hmac.new(secret.encode(), sid.encode(), hashlib.sha256).digest()
    return quote(f"s:{sid}.{_b64(mac)}", safe="")


def cookie_sid(value: str) -> str | None:
    """The session id a cookie value names, without checking its signature (a fault uses it)."""
    raw = unquote(value)
    if not raw.startswith("s:") or "." not in raw:
        return None
    return raw[2:].rpartition(".")[0] or None


def unsign_cookie(value: str, secret: str) -> str | None:
    """The session id from a cookie value, or None when it is not validly signed."""
    raw = unquote(value)
    if not raw.startswith("s:") or "." not in raw:
        return None
    sid, _, _ = raw[2:].rpartition(".")
    expected = f"s:{sid}.{_b64(hmac.new(secret.encode(), sid.encode(), hashlib.sha256).digest())}"
    return sid if hmac.compare_digest(expected.encode(), raw.encode()) else None


def jwt_encode(claims: dict[str, Any], secret: str, ttl_s: int = 900) -> str:
    now = int(time.time())
    payload = {**claims, "iat": now, "exp": now + ttl_s}
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64url(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64url(mac)}"


class InvalidTokenError(Exception):
    pass


def jwt_decode(token: str, secret: str) -> dict[str, Any]:
    """Verified claims; raises InvalidTokenError for any other algorithm, bad MAC or expiry."""
    try:
        header_b64, body_b64, mac_b64 = token.split(".")
        header = json.loads(_b64url_decode(header_b64))
        mac = _b64url_decode(mac_b64)
        claims = json.loads(_b64url_decode(body_b64))
    except ValueError as exc:
        raise InvalidTokenError("malformed token") from exc
    # Pinning the algorithm refuses `alg: none` and key-confusion tricks.
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise InvalidTokenError("unexpected algorithm")
    expected = hmac.new(secret.encode(), f"{header_b64}.{body_b64}".encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.digest(), mac):
        raise InvalidTokenError("bad signature")
    if not isinstance(claims, dict) or int(claims.get("exp", 0)) < time.time():
        raise InvalidTokenError("expired")
    return claims

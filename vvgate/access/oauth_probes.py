"""What the OAuth start and callback show about the `state` (contract §6), read off redirects.

The state is judged as the callback sees it: its entropy across several starts, and whatever
a start put into it (some BFFs pack `return_to` into the state, base64-encoded JSON).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import urllib.parse

import httpx

MIN_STATE_BITS = 128
_HEX = frozenset("0123456789abcdefABCDEF")
_BASE64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=")

# return_to values a browser would follow off-site: absolute, protocol-relative, backslash and
# encoded-scheme tricks. Each names the same foreign host, which must appear nowhere after.
FOREIGN_HOST = "vvgate-evil.invalid"
FOREIGN_RETURN_TO = (
    f"https://{FOREIGN_HOST}/phish",
    f"//{FOREIGN_HOST}/phish",
    f"/\\{FOREIGN_HOST}/phish",
    f"https:%2F%2F{FOREIGN_HOST}%2Fphish",
)


def location(response: httpx.Response) -> str:
    return str(response.headers.get("location", ""))


def state_of(response: httpx.Response) -> str | None:
    """The `state` of the authorize URL an OAuth start redirects to."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location(response)).query)
    values = query.get("state")
    return values[0] if values else None


def estimated_bits(state: str) -> float:
    """Bits of randomness the state's alphabet and length could carry (an upper bound)."""
    alphabet = 16 if set(state) <= _HEX else 64 if set(state) <= _BASE64 else 95
    return len(state) * math.log2(alphabet)


def decoded(state: str) -> str:
    """The state's text, base64 (either alphabet, padding optional) decoded where it decodes to
    text; the state itself otherwise. What a callback could read out of it."""
    padded = state + "=" * (-len(state) % 4)
    for decode in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            text = decode(padded).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            continue
        if text.isprintable():
            return text
    return state


def names_foreign_host(text: str) -> bool:
    """Whether `text` (a Location, a decoded state), URL-decoded as often as it takes, names
    the foreign host."""
    for _ in range(3):
        if FOREIGN_HOST in text.lower():
            return True
        text = urllib.parse.unquote(text)
    try:
        return FOREIGN_HOST in json.dumps(json.loads(text)).lower()
    except ValueError:
        return False


def error_of(response: httpx.Response) -> str:
    """The callback's answer as a browser sees it: status, and where it sends the browser
    (the path and query, hosts aside: a frontend URL may differ from the base URL)."""
    target = urllib.parse.urlsplit(location(response))
    return f"HTTP {response.status_code} -> {target.path or '/'}?{target.query}"

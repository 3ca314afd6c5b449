"""The OAuth flow, as far as it can be judged without GitHub (contract §6): the `state` is
unguessable, bound to the browser that started the flow, used once and checked before the
code exchange; `return_to` never sends the browser off-site.

The callback is judged by where it sends the browser. A valid state with a made-up code makes
the BFF try the exchange, which GitHub refuses; a state the browser was not issued, or one
already used, must be refused before that, so it must answer differently.
"""

from __future__ import annotations

import secrets
import urllib.parse

import httpx
import pytest

from vvgate.access import oauth_probes as oauth
from vvgate.access.browser import Browser
from vvgate.access.https_client import TargetHttp
from vvgate.gates.inconclusive import inconclusive

pytestmark = [pytest.mark.gate("auth"), pytest.mark.plan("1.6", "8.4")]

STARTS = 4
BAD_CODE = "vvgate-not-a-code"


def _start(http: TargetHttp, browser: Browser, return_to: str | None = None) -> httpx.Response:
    params = {"return_to": return_to} if return_to is not None else None
    response = http.get("/auth/github", params=params, headers=browser.header())
    browser.keep(response)
    return _started(response)


def _started(response: httpx.Response) -> httpx.Response:
    if response.status_code not in (301, 302, 303, 307, 308) or oauth.state_of(response) is None:
        inconclusive(f"GET /auth/github did not redirect with a state (HTTP "
                     f"{response.status_code}, Location {oauth.location(response)[:120]!r}); "
                     "the OAuth checks need the start to work")
    return response


def _callback(http: TargetHttp, browser: Browser, state: str) -> httpx.Response:
    response = http.get("/auth/github/callback", params={"code": BAD_CODE, "state": state},
                        headers=browser.header())
    browser.keep(response)
    return response


def test_the_state_is_unguessable(http: TargetHttp) -> None:
    states = [oauth.state_of(_start(http, Browser())) or "" for _ in range(STARTS)]
    assert len(set(states)) == STARTS, f"{STARTS} OAuth starts gave repeated states: {states}"
    weak = [s for s in states if oauth.estimated_bits(s) < oauth.MIN_STATE_BITS]
    assert not weak, (
        f"OAuth states too short to carry {oauth.MIN_STATE_BITS} random bits: "
        + ", ".join(f"{s!r} (at most {oauth.estimated_bits(s):.0f} bits)" for s in weak))


def test_the_callback_refuses_a_state_this_browser_was_not_issued(http: TargetHttp) -> None:
    honest = Browser()
    state = oauth.state_of(_start(http, honest)) or ""
    exchanged = oauth.error_of(_callback(http, honest, state))
    other = Browser()
    _start(http, other)
    forged = oauth.error_of(_callback(http, other, secrets.token_urlsafe(16)))
    assert forged != exchanged, (
        f"a state this browser was not issued is answered like a valid state with a bad code "
        f"({forged}): the state is not checked before the code exchange")


def test_a_used_state_is_refused(http: TargetHttp) -> None:
    browser = Browser()
    state = oauth.state_of(_start(http, browser)) or ""
    first = oauth.error_of(_callback(http, browser, state))
    again = oauth.error_of(_callback(http, browser, state))
    assert again != first, (
        f"the same state, sent again by the same browser, is answered as the first time "
        f"({again}): a state must be used once")


@pytest.mark.parametrize("return_to", oauth.FOREIGN_RETURN_TO)
def test_return_to_never_sends_the_browser_off_site(http: TargetHttp, return_to: str) -> None:
    browser = Browser()
    start = http.get("/auth/github", params={"return_to": return_to})
    if 400 <= start.status_code < 500:
        return  # refused up front: a foreign return_to sends nobody anywhere
    _started(start)
    browser.keep(start)
    state = oauth.state_of(start) or ""
    where = urllib.parse.urlsplit(oauth.location(start))
    assert not oauth.names_foreign_host(f"{where.netloc}{where.path}"), (
        f"GET /auth/github?return_to={return_to} redirects off-site: {oauth.location(start)}")
    assert not oauth.names_foreign_host(oauth.decoded(state)), (
        f"return_to={return_to} is carried in the OAuth state ({oauth.decoded(state)[:160]!r}),"
        " where the callback will follow it after login")
    callback = _callback(http, browser, state)
    assert not oauth.names_foreign_host(oauth.location(callback)), (
        f"after return_to={return_to}, the callback sends the browser to "
        f"{oauth.location(callback)}")

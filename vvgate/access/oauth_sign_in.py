"""The whole OAuth sign-in, taken as a browser takes it, at a provider that is a stand-in.

Against GitHub itself a verifier cannot sign in: that needs a person at a consent page. A
target whose profile names a stand-in (`oauth.stand_in`) signs in whichever account the
browser names in `login`, GitHub's account hint, so the flow can be followed: the BFF's
redirect to the provider, the provider's redirect back with a code, and the callback.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

import httpx

from vvgate.access.browser import Browser
from vvgate.access.https_client import TargetHttp
from vvgate.access.oauth_probes import location

REDIRECTS = (301, 302, 303, 307, 308)


@dataclass
class SignIn:
    login: str
    start: httpx.Response
    provider: httpx.Response | None = None  # the stand-in's answer to the authorize URL
    callback: httpx.Response | None = None

    @property
    def problem(self) -> str | None:
        """Why the browser never got back to the callback, if it did not."""
        if self.provider is None:
            return (f"GET /auth/github answered HTTP {self.start.status_code} with Location "
                    f"{location(self.start)[:160]!r}, not the provider's authorize URL")
        if self.callback is None:
            return (f"the provider refused the authorize request: HTTP "
                    f"{self.provider.status_code} {self.provider.text[:160]!r}")
        return None

    @property
    def landing(self) -> urllib.parse.SplitResult:
        """Where the callback sends the browser once signed in."""
        return urllib.parse.urlsplit(location(self.callback) if self.callback else "")


def with_login(url: str, login: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = [*urllib.parse.parse_qsl(parts.query), ("login", login)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def sign_in(http: TargetHttp, browser: Browser, authorize_url: str, login: str,
            return_to: str | None = None) -> SignIn:
    params = {"return_to": return_to} if return_to is not None else None
    start = http.get("/auth/github", params=params, headers=browser.header())
    browser.keep(start)
    result = SignIn(login, start)
    if start.status_code not in REDIRECTS or not location(start).startswith(authorize_url):
        return result
    # The stand-in is on loopback or the target's own network, never the public internet.
    with httpx.Client(timeout=10.0, trust_env=False) as provider:
        result.provider = provider.get(with_login(location(start), login))
    back = urllib.parse.urlsplit(location(result.provider))
    if result.provider.status_code not in REDIRECTS or not back.path:
        return result
    callback = http.get(f"{back.path}?{back.query}", headers=browser.header())
    browser.keep(callback)
    result.callback = callback
    return result

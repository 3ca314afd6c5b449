"""HTTPS to the target as a browser would see it, with every exchange kept as evidence.

With an address override the client dials the given IP:port but sends the
profile's host as SNI and Host header, so a deployment can be checked before
its DNS record exists (and the local target, which has none). Whom it trusts
is the run's decision (vvgate/access/peer_trust.py), passed in as its TLS context.
"""

from __future__ import annotations

import json
import ssl
import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx

from vvgate.report.evidence import Evidence
from vvgate.targets.profile import Profile

CONNECT_RETRIES = 2
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
MAX_BODY_SHOWN = 4000


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is anything else (a contract answer that is
    not JSON is a defect to report, not a crash of the check)."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def render_request(request: httpx.Request) -> str:
    head = [f"{request.method} {request.url.raw_path.decode()} HTTP/1.1"]
    head += [f"{k}: {v}" for k, v in request.headers.items()]
    body = request.content.decode("utf-8", "replace") if request.content else ""
    return "\n".join(head) + ("\n\n" + body[:MAX_BODY_SHOWN] if body else "")


def render_response(response: httpx.Response) -> str:
    head = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
    head += [f"{k}: {v}" for k, v in response.headers.multi_items()]
    try:
        body = response.text
    except httpx.ResponseNotRead:
        body = "(body not read)"
    if len(body) > MAX_BODY_SHOWN:
        body = body[:MAX_BODY_SHOWN] + f"\n... ({len(body)} characters)"
    return "\n".join(head) + ("\n\n" + body if body else "")


class TargetHttp:
    """The target's public HTTPS (and plain HTTP) surface."""

    def __init__(self, profile: Profile, tls: ssl.SSLContext,
                 evidence: Callable[[], Evidence | None] = lambda: None) -> None:
        """`evidence` gives the evidence of the check running now: every exchange lands in
        it, set-up ones included, so a check that could not be carried out shows why."""
        self.profile = profile
        self._evidence = evidence
        self.host = profile.host
        ip, port = profile.connect_address()
        self._dial_host = f"[{ip}]" if ":" in ip else ip
        self._https_port = port
        self._http_port = profile.http_port or 80
        self.round_trips = 0
        # every Set-Cookie the target sent this run, for the stray-session clean-up
        self.set_cookies: list[str] = []
        self._client = httpx.Client(
            verify=tls,
            timeout=TIMEOUT,
            follow_redirects=False,
            transport=httpx.HTTPTransport(verify=tls, retries=CONNECT_RETRIES),
            event_hooks={"response": [self._hook]},
        )

    def _hook(self, response: httpx.Response) -> None:
        self.round_trips += 1
        response.read()
        self.set_cookies.extend(v for k, v in response.headers.multi_items() if k == "set-cookie")
        evidence = self._evidence()
        if evidence is not None:
            request = response.request
            evidence.exchange(f"{request.method} {request.url.path} -> {response.status_code}",
                              render_request(request), render_response(response))
            if response.status_code == 429:
                evidence.rate_limited.append(f"{request.method} {request.url.path}")
        # Each check chooses its own cookies; a jar would carry one check's session into the next.
        self._client.cookies.clear()

    def url(self, path: str, scheme: str = "https") -> str:
        port = self._https_port if scheme == "https" else self._http_port
        default = 443 if scheme == "https" else 80
        netloc = self._dial_host if port == default else f"{self._dial_host}:{port}"
        return urllib.parse.urlunsplit((scheme, netloc, path, "", ""))

    def request(self, method: str, path: str, *, scheme: str = "https",
                headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        all_headers = {"Host": self.host, **(headers or {})}
        extensions = {"sni_hostname": self.host} if scheme == "https" else {}
        return self._client.request(method, self.url(path, scheme), headers=all_headers,
                                    extensions=extensions, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def graphql(self, query: str, variables: dict[str, Any] | None = None, *,
                cookie: str | None = None, headers: dict[str, str] | None = None,
                ) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables:
            body["variables"] = variables
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if cookie:
            all_headers["Cookie"] = cookie
        return self.post("/graphql", content=json.dumps(body), headers=all_headers)

    def close(self) -> None:
        self._client.close()

"""The classes of response the headers gate judges, and which rules each must meet.

One table: a row names how to elicit one class of response (a BFF success, error answer or
redirect; the SPA's HTML, a fallback route, a hashed asset, the missing-asset 404; the plain
HTTP entrypoint). The checks are the cross product of rows and the rules that apply to them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from vvgate.headers import header_rules as rules
from vvgate.headers.csp import CSP_RULES, FRAME_DENY, FRAME_SAME_ORIGIN, FrameRule


class Side(StrEnum):
    BFF = "bff"
    SPA = "spa"
    PLAIN_HTTP = "http"


@dataclass(frozen=True)
class ResponseClass:
    name: str
    side: Side
    method: str
    path: str
    what: str
    statuses: tuple[int, ...]  # what this class of response answers; anything else is not it
    body: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    html: bool = False  # the SPA's HTML: CSP and the strict frame rule of §6

    @property
    def scheme(self) -> str:
        return "http" if self.side is Side.PLAIN_HTTP else "https"

    @property
    def frame_rule(self) -> FrameRule:
        return FRAME_DENY if self.html else FRAME_SAME_ORIGIN


# The path of a hashed asset comes from the SPA's own index (see asset_path).
ASSET = "<asset named in the SPA's index>"
_UNSIGNED = '{"action":"vvgate-probe"}'

RESPONSE_CLASSES: dict[str, ResponseClass] = {c.name: c for c in (
    ResponseClass("bff.health", Side.BFF, "GET", "/health", "BFF health", (200,)),
    ResponseClass("bff.auth-me", Side.BFF, "GET", "/auth/me", "who am I, signed out", (200,)),
    ResponseClass("bff.graphql", Side.BFF, "POST", "/graphql", "a GraphQL answer", (200,),
                  body='{"query":"{ __typename }"}',
                  headers=(("Content-Type", "application/json"),)),
    ResponseClass("bff.graphql-get-refused", Side.BFF, "GET", "/graphql?query=%7B__typename%7D",
                  "a GET without a preflight header, refused (400)", (400,)),
    ResponseClass("bff.webhook-401", Side.BFF, "POST", "/webhook/github",
                  "an unsigned webhook, refused (401)", (401,), body=_UNSIGNED,
                  headers=(("Content-Type", "application/json"),
                           ("X-GitHub-Event", "ping"))),
    ResponseClass("bff.not-found", Side.BFF, "GET", "/auth/vvgate-no-such-route",
                  "an unknown BFF route (404)", (404,)),
    ResponseClass("bff.redirect", Side.BFF, "GET", "/auth/github",
                  "the OAuth start, a redirect", (301, 302, 303, 307, 308)),
    ResponseClass("spa.index", Side.SPA, "GET", "/", "the SPA's HTML", (200,), html=True),
    ResponseClass("spa.fallback", Side.SPA, "GET", "/browse",
                  "an app route, answered with the SPA's HTML", (200,), html=True),
    ResponseClass("spa.asset", Side.SPA, "GET", ASSET, "a hashed asset", (200,)),
    ResponseClass("spa.asset-404", Side.SPA, "GET", "/assets/vvgate-missing-{token}.js",
                  "a missing asset (404, not the SPA)", (404,)),
    ResponseClass("http.redirect", Side.PLAIN_HTTP, "GET", "/",
                  "the plain-HTTP entrypoint's redirect", (301, 302, 307, 308)),
)}


def _https(rc: ResponseClass) -> bool:
    # Browsers ignore HSTS over plain HTTP, and its redirect carries no page to protect.
    return rc.side is not Side.PLAIN_HTTP


def _bff(rc: ResponseClass) -> bool:
    return rc.side is Side.BFF


def _with_csp(rc: ResponseClass) -> bool:
    return rc.side is Side.BFF or rc.html


def _every(rc: ResponseClass) -> bool:
    return True


@dataclass(frozen=True)
class HeaderRule:
    name: str
    what: str
    applies_to: Callable[[ResponseClass], bool]
    # the rule as this class of response owes it (frame protection differs by class)
    check: Callable[[ResponseClass], rules.Rule]


def _same(rule: rules.Rule) -> Callable[[ResponseClass], rules.Rule]:
    return lambda rc: rule


HEADER_RULES: dict[str, HeaderRule] = {r.name: r for r in (
    HeaderRule("hsts", "Strict-Transport-Security, max-age >= 1 year, includeSubDomains",
               _https, _same(rules.hsts)),
    HeaderRule("nosniff", "X-Content-Type-Options: nosniff", _https,
               _same(rules.exact("X-Content-Type-Options", "nosniff"))),
    HeaderRule("frame", "X-Frame-Options or CSP frame-ancestors", _https,
               lambda rc: rules.frame(rc.frame_rule)),
    HeaderRule("server-version", "no Server header naming a version", _every,
               _same(rules.no_versioned_server)),
    HeaderRule("x-powered-by", "no X-Powered-By", _every, _same(rules.no_powered_by)),
    HeaderRule("helmet.referrer-policy", "Referrer-Policy: no-referrer", _bff,
               _same(rules.exact("Referrer-Policy", "no-referrer"))),
    HeaderRule("helmet.coop", "Cross-Origin-Opener-Policy: same-origin", _bff,
               _same(rules.exact("Cross-Origin-Opener-Policy", "same-origin"))),
    HeaderRule("helmet.corp", "Cross-Origin-Resource-Policy: same-origin", _bff,
               _same(rules.exact("Cross-Origin-Resource-Policy", "same-origin"))),
    *(HeaderRule(f"csp.{name}", f"CSP rule {name}", _with_csp, _same(rules.csp(name)))
      for name in CSP_RULES),
)}


def matrix() -> list[tuple[ResponseClass, HeaderRule]]:
    """Every (response class, rule) pair a check judges."""
    return [(rc, rule) for rc in RESPONSE_CLASSES.values() for rule in HEADER_RULES.values()
            if rule.applies_to(rc)]


# Vite writes `/assets/…` (or `./assets/…` with a relative base) into the index it builds.
_ASSET_REF = re.compile(r"""(?:src|href)\s*=\s*["']\.?(/assets/[^"'?#\s>]+)""", re.IGNORECASE)


def asset_path(index_html: str) -> str | None:
    """The first hashed asset the SPA's index loads, or None."""
    found = _ASSET_REF.search(index_html)
    return found.group(1) if found else None


def concrete_path(rc: ResponseClass) -> str:
    """The row's path with its per-run token (a missing asset no cache can have seen)."""
    return rc.path.replace("{token}", secrets.token_hex(6))

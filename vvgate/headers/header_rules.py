"""Header rules of contract §6, each a function of one response: None, or what is wrong."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from vvgate.headers.csp import CSP_RULES, FrameRule, policies

ONE_YEAR = 31_536_000
Rule = Callable[[httpx.Response], str | None]
# `nginx` names the software; `nginx/1.25.3`, `Apache/2.4 (Debian)` or `Jetty(9.4)` its version.
VERSIONED = re.compile(r"[/(\s]v?\d|\d+\.\d+")


def hsts(response: httpx.Response) -> str | None:
    value = response.headers.get("strict-transport-security")
    if value is None:
        return "no Strict-Transport-Security header"
    age = re.search(r"max-age=\"?(\d+)", value, re.IGNORECASE)
    if age is None or int(age.group(1)) < ONE_YEAR:
        return f"Strict-Transport-Security {value!r} has max-age below {ONE_YEAR}"
    if "includesubdomains" not in value.lower():
        return f"Strict-Transport-Security {value!r} lacks includeSubDomains"
    return None


def exact(name: str, expected: str) -> Rule:
    def check(response: httpx.Response) -> str | None:
        value = response.headers.get(name)
        if value is None or value.strip().lower() != expected.lower():
            return f"{name} is {value!r}, expected {expected!r}"
        return None
    return check


def no_versioned_server(response: httpx.Response) -> str | None:
    value = response.headers.get("server")
    if value is not None and VERSIONED.search(value):
        return f"Server {value!r} names its software's version"
    return None


def no_powered_by(response: httpx.Response) -> str | None:
    value = response.headers.get("x-powered-by")
    return None if value is None else f"X-Powered-By {value!r} announces the stack"


def csp_values(response: httpx.Response) -> list[str]:
    return response.headers.get_list("content-security-policy")


def frame(rule: FrameRule) -> Rule:
    def check(response: httpx.Response) -> str | None:
        return rule.problem(policies(csp_values(response)),
                            response.headers.get("x-frame-options"))
    return check


def csp(name: str) -> Rule:
    """One §6 CSP rule; a response without any enforced policy fails every one."""
    judge = CSP_RULES[name]

    def check(response: httpx.Response) -> str | None:
        found = policies(csp_values(response))
        if not found:
            only_report = "content-security-policy-report-only" in response.headers
            return "no Content-Security-Policy" + (
                " (only a Report-Only one, which enforces nothing)" if only_report else "")
        return judge(found)
    return check

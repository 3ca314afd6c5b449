"""Security headers, CORS and session cookie flags (contract §3, §6)."""

from __future__ import annotations

import re

import httpx
import pytest

from vvgate.access.https_client import TargetHttp
from vvgate.identity.session_forge import COOKIE_NAME
from vvgate.targets.profile import Profile

pytestmark = [pytest.mark.gate("headers"), pytest.mark.phase1]

BFF_PATHS = ["/health", "/auth/me"]
ONE_YEAR = 31_536_000
FOREIGN_ORIGIN = "https://vvgate-foreign-origin.invalid"


def _csp_frame_ancestors(response: httpx.Response) -> bool:
    return "frame-ancestors" in response.headers.get("content-security-policy", "")


def _hsts(response: httpx.Response) -> str | None:
    value = response.headers.get("strict-transport-security")
    if value is None:
        return "no Strict-Transport-Security header"
    age = re.search(r"max-age=(\d+)", value)
    if age is None or int(age.group(1)) < ONE_YEAR:
        return f"Strict-Transport-Security {value!r} has max-age below {ONE_YEAR}"
    if "includesubdomains" not in value.lower():
        return f"Strict-Transport-Security {value!r} lacks includeSubDomains"
    return None


def _exact(name: str, expected: str) -> object:
    def check(response: httpx.Response) -> str | None:
        value = response.headers.get(name)
        if value is None or value.strip().lower() != expected.lower():
            return f"{name} is {value!r}, expected {expected!r}"
        return None
    return check


def _frame_options(response: httpx.Response) -> str | None:
    value = (response.headers.get("x-frame-options") or "").upper()
    if value in {"SAMEORIGIN", "DENY"} or _csp_frame_ancestors(response):
        return None
    return f"X-Frame-Options is {value or None!r} and CSP has no frame-ancestors"


def _csp(response: httpx.Response) -> str | None:
    value = response.headers.get("content-security-policy")
    if not value or "default-src" not in value:
        return f"Content-Security-Policy is {value!r}; expected a policy with default-src"
    return None


HELMET = {
    "content-security-policy": _csp,
    "strict-transport-security": _hsts,
    "x-content-type-options": _exact("X-Content-Type-Options", "nosniff"),
    "x-frame-options": _frame_options,
    "referrer-policy": _exact("Referrer-Policy", "no-referrer"),
    "cross-origin-opener-policy": _exact("Cross-Origin-Opener-Policy", "same-origin"),
    "cross-origin-resource-policy": _exact("Cross-Origin-Resource-Policy", "same-origin"),
}


@pytest.mark.smoke
@pytest.mark.parametrize("header", list(HELMET))
@pytest.mark.parametrize("path", BFF_PATHS)
def test_bff_sends_helmet_header(http: TargetHttp, path: str, header: str) -> None:
    response = http.get(path)
    problem = HELMET[header](response)  # type: ignore[operator]
    assert problem is None, f"GET {path}: {problem}"


@pytest.mark.smoke
@pytest.mark.parametrize("path", ["/health", "/auth/me", "/", "/graphql"])
def test_no_x_powered_by(http: TargetHttp, path: str) -> None:
    response = (http.post(path, json={"query": "{ __typename }"}) if path == "/graphql"
                else http.get(path))
    assert "x-powered-by" not in response.headers, (
        f"{path} announces X-Powered-By: {response.headers['x-powered-by']}")


@pytest.mark.parametrize("path", ["/", "/browse"])
@pytest.mark.parametrize(("header", "expected"),
                         [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY")])
def test_spa_html_headers(http: TargetHttp, header: str, expected: str, path: str) -> None:
    response = http.get(path)
    if path != "/" and '<div id="root">' not in response.text:
        # Whether app routes fall back to the SPA is the health gate's to judge.
        pytest.skip(f"GET {path} is not the SPA shell (HTTP {response.status_code}); "
                    "its headers are checked where it is")
    value = response.headers.get(header)
    assert value is not None and value.upper() == expected.upper(), (
        f"SPA HTML has {header}: {value!r}, expected {expected!r}")


@pytest.mark.smoke
@pytest.mark.parametrize("path", ["/auth/me", "/graphql", "/health"])
def test_cors_never_echoes_a_foreign_origin(http: TargetHttp, path: str) -> None:
    response = http.request("OPTIONS", path, headers={
        "Origin": FOREIGN_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    simple = http.get(path, headers={"Origin": FOREIGN_ORIGIN})
    for kind, r in (("preflight", response), ("simple request", simple)):
        allowed = r.headers.get("access-control-allow-origin")
        assert allowed not in (FOREIGN_ORIGIN, "*"), (
            f"{kind} to {path} from a foreign Origin got Access-Control-Allow-Origin: {allowed}")


def test_cors_allows_exactly_the_frontend(http: TargetHttp, profile: Profile) -> None:
    expected = profile.frontend_url or profile.base_url
    response = http.get("/auth/me", headers={"Origin": expected})
    assert response.headers.get("access-control-allow-origin") == expected, (
        f"Access-Control-Allow-Origin is {response.headers.get('access-control-allow-origin')!r},"
        f" expected the frontend {expected!r}")
    assert response.headers.get("access-control-allow-credentials") == "true", (
        "credentials are not allowed for the frontend origin")


@pytest.fixture
def oauth_cookie(http: TargetHttp) -> str:
    """The Set-Cookie of a session the BFF creates itself (the OAuth start stores state).

    The `http` fixture removes that session from the store afterwards.
    """
    response = http.get("/auth/github")
    cookies = [v for k, v in response.headers.multi_items()
               if k == "set-cookie" and v.startswith(f"{COOKIE_NAME}=")]
    if not cookies:
        pytest.fail(f"GET /auth/github set no {COOKIE_NAME} cookie, so its flags cannot be "
                    "checked")
    return cookies[0]


@pytest.mark.smoke
@pytest.mark.parametrize("flag", ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"])
def test_session_cookie_flags(oauth_cookie: str, flag: str) -> None:
    attributes = {a.strip().lower() for a in oauth_cookie.split(";")[1:]}
    assert flag.lower() in attributes, (
        f"session cookie lacks {flag}; its attributes are {sorted(attributes)}")

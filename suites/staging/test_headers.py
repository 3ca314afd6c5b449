"""Security headers, CORS and session cookie flags (contract §3, §6)."""

from __future__ import annotations

import random
import re

import httpx
import pytest

from vvgate.access.graphql_client import Gql
from vvgate.access.https_client import TargetHttp
from vvgate.gates.inconclusive import Inconclusive, inconclusive
from vvgate.identity.session_forge import COOKIE_NAME
from vvgate.identity.synthetic_users import SyntheticUser, SyntheticWorld
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


def _session_cookies(response: httpx.Response) -> list[str]:
    """Set-Cookie values that set (not clear) the session cookie."""
    return [v for k, v in response.headers.multi_items()
            if k == "set-cookie" and v.startswith(f"{COOKIE_NAME}=")
            and v.split(";")[0].partition("=")[2].strip()]


def _from_a_session_change(request: pytest.FixtureRequest, gql: Gql) -> tuple[str | None, str]:
    """A signed-in user switches tenants: contract §4 keeps the active tenant only in the
    session, so the changed session's cookie is sent again, with the flags of §3."""
    world: SyntheticWorld = request.getfixturevalue("world")
    user: SyntheticUser = request.getfixturevalue("user_a")
    other = world.create_org_tenant(user, random.randint(10**11, 10**12),
                                    random.randint(10**8, 10**9))
    cookie = world.cookie_for(world.new_session(user.user, user.tenant_id))
    try:
        response = gql.call("switchTenant", {"tenantId": other}, cookie=cookie)
    except Inconclusive as exc:
        return None, f"switchTenant by a signed-in user: {exc.reason}"
    found = _session_cookies(response)
    return (found[0] if found else None,
            f"switchTenant by a signed-in user (HTTP {response.status_code}, no cookie set)")


@pytest.fixture
def session_cookie(request: pytest.FixtureRequest, http: TargetHttp, gql: Gql,
                   profile: Profile) -> str:
    """The session cookie as the target sets it. A signed-in session change is asked first;
    the OAuth start may set one too, where a deployment keeps its OAuth state in a session,
    but the contract does not promise that."""
    tried = []
    if profile.allow_synthetic_users and profile.mongodb is not None:
        try:
            cookie, why = _from_a_session_change(request, gql)
        except Inconclusive as exc:
            cookie, why = None, f"a signed-in session change: {exc.reason}"
        if cookie is not None:
            return cookie
        tried.append(why)
    response = http.get("/auth/github")
    found = _session_cookies(response)
    if found:
        return found[0]
    tried.append(f"GET /auth/github (HTTP {response.status_code}, no cookie set)")
    inconclusive(f"no response of the {profile.kind} target set the {COOKIE_NAME} cookie, so "
                 f"its flags cannot be checked; tried: {'; '.join(tried)}")


@pytest.mark.smoke
@pytest.mark.parametrize("flag", ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"])
def test_session_cookie_flags(session_cookie: str, flag: str) -> None:
    attributes = {a.strip().lower() for a in session_cookie.split(";")[1:]}
    assert flag.lower() in attributes, (
        f"session cookie lacks {flag}; its attributes are {sorted(attributes)}")

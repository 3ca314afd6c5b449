"""Security headers on every class of response, the CSP judged by its rules, CORS and session
cookie flags (contract §3, §6). Which rules each class of response meets is one table:
vvgate/headers/response_classes.py."""

from __future__ import annotations

import random

import httpx
import pytest

from vvgate.access.graphql_client import Gql
from vvgate.access.https_client import TargetHttp, render_request, render_response
from vvgate.gates.inconclusive import Inconclusive, inconclusive
from vvgate.headers.response_classes import (
    ASSET,
    RESPONSE_CLASSES,
    HeaderRule,
    ResponseClass,
    asset_path,
    concrete_path,
    matrix,
)
from vvgate.identity.session_forge import COOKIE_NAME
from vvgate.identity.synthetic_users import SyntheticUser, SyntheticWorld
from vvgate.report.evidence import Evidence
from vvgate.targets.profile import Profile

pytestmark = [pytest.mark.gate("headers"), pytest.mark.plan("1.3")]

FOREIGN_ORIGIN = "https://vvgate-foreign-origin.invalid"
MATRIX = matrix()


class Responses:
    """One answer per response class, elicited when a check first needs it: a class costs
    one request per run however many rules judge it."""

    def __init__(self, http: TargetHttp) -> None:
        self.http = http
        self._got: dict[str, httpx.Response | str] = {}

    def _path(self, rc: ResponseClass) -> str | None:
        if rc.path != ASSET:
            return concrete_path(rc)
        index = self.get(RESPONSE_CLASSES["spa.index"])
        return asset_path(index.text) if isinstance(index, httpx.Response) else None

    def get(self, rc: ResponseClass) -> httpx.Response | str:
        """The response, or why it could not be had."""
        if rc.name not in self._got:
            path = self._path(rc)
            if path is None:
                self._got[rc.name] = "the SPA's index names no /assets/ file to fetch"
                return self._got[rc.name]
            try:
                self._got[rc.name] = self.http.request(
                    rc.method, path, scheme=rc.scheme, headers=dict(rc.headers),
                    content=rc.body)
            except httpx.HTTPError as exc:
                self._got[rc.name] = f"{rc.method} {rc.scheme}://…{path} failed: {exc!r}"
        return self._got[rc.name]


@pytest.fixture(scope="module")
def responses(target_http: TargetHttp) -> Responses:
    return Responses(target_http)


def _is_its_class(rc: ResponseClass, response: httpx.Response) -> bool:
    if response.status_code not in rc.statuses:
        return False
    return not rc.html or '<div id="root">' in response.text


@pytest.mark.smoke
@pytest.mark.parametrize(("rc", "rule"), MATRIX,
                         ids=[f"{rc.name}:{rule.name}" for rc, rule in MATRIX])
def test_every_response_class_meets_its_header_rules(responses: Responses, rc: ResponseClass,
                                                     rule: HeaderRule,
                                                     evidence: Evidence) -> None:
    got = responses.get(rc)
    if isinstance(got, str):
        inconclusive(f"{rc.what}: {got}")
    evidence.exchange(f"{rc.name}: {got.request.method} {got.request.url.path} -> "
                      f"{got.status_code}", render_request(got.request), render_response(got))
    where = f"{got.request.method} {got.request.url.path} ({rc.what}, HTTP {got.status_code})"
    if not _is_its_class(rc, got) and (rc.html or rc.path == ASSET):
        # The SPA's own rules need the SPA's answer; what came instead is the health gate's.
        inconclusive(f"{where} is not {rc.what}, so {rule.what} is judged where it is")
    problem = rule.check(rc)(got)
    assert problem is None, f"{where}: {problem}"


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

"""The headers gate's rules offline: the CSP judged rule by rule, the Server banner, and the
matrix of response classes and rules (the live side is the fault matrix's headers faults)."""

from __future__ import annotations

import httpx
import pytest

from vvgate.headers import header_rules
from vvgate.headers.csp import CSP_RULES, FRAME_DENY, FRAME_SAME_ORIGIN, policies
from vvgate.headers.response_classes import RESPONSE_CLASSES, Side, asset_path, matrix

# helmet 8's default policy, as an Express BFF sends it
HELMET = ("default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';"
          "frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';"
          "script-src-attr 'none';style-src 'self' https: 'unsafe-inline';"
          "upgrade-insecure-requests")
STRICT_SPA = ("default-src 'none'; script-src 'self' 'sha256-abc='; connect-src 'self'; "
              "base-uri 'none'; frame-ancestors 'none'")


def _problems(*values: str) -> dict[str, str | None]:
    found = policies(list(values))
    return {name: judge(found) for name, judge in CSP_RULES.items()}


@pytest.mark.parametrize("policy", [HELMET, STRICT_SPA], ids=["helmet", "strict-spa"])
def test_protective_policies_meet_every_rule(policy: str) -> None:
    assert _problems(policy) == dict.fromkeys(CSP_RULES)


@pytest.mark.parametrize(("policy", "rule", "says"), [
    ("default-src * 'unsafe-inline' 'unsafe-eval'", "no-wildcard", "default-src allows any"),
    ("default-src * 'unsafe-inline' 'unsafe-eval'", "script-src", "'unsafe-eval'"),
    ("default-src 'self'; img-src *; object-src 'none'; base-uri 'self'", "no-wildcard",
     "img-src"),
    ("default-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'", "script-src",
     "'unsafe-inline'"),
    # script-src replaces default-src for scripts: its own unsafe-eval counts
    ("default-src 'self'; script-src 'self' 'unsafe-eval'; object-src 'none'", "script-src",
     "'unsafe-eval'"),
    ("img-src 'self'; object-src 'none'; base-uri 'self'", "script-src", "nothing restricts"),
    ("default-src 'self'; base-uri 'self'", "object-src", "not 'none'"),
    ("default-src 'self'; object-src 'self'; base-uri 'self'", "object-src", "not 'none'"),
    ("default-src 'self'; object-src 'none'", "base-uri", "not 'self' or 'none'"),
    # base-uri does not fall back to default-src
    ("default-src 'none'", "base-uri", "not 'self' or 'none'"),
    ("default-src 'self'; object-src 'none'; base-uri https://cdn.example", "base-uri",
     "not 'self'"),
], ids=lambda v: v if len(v) < 20 else None)
def test_each_rule_names_its_own_breach(policy: str, rule: str, says: str) -> None:
    problems = _problems(policy)
    assert problems[rule] is not None and says in problems[rule], problems


def test_fallbacks_duplicates_and_several_policies() -> None:
    # object-src falls back to default-src 'none'
    assert _problems("default-src 'none'; base-uri 'self'")["object-src"] is None
    # a repeated directive counts once, the first time, as browsers read it
    assert _problems("script-src 'self'; script-src 'unsafe-inline'")["script-src"] is None
    assert _problems("script-src 'unsafe-inline'; script-src 'self'")["script-src"] is not None
    # every enforced policy applies: a second one that narrows scripts and the wildcard wins
    assert _problems("default-src *", "default-src 'self'")["no-wildcard"] is None
    assert _problems("default-src *, script-src 'self'")["script-src"] is None
    assert _problems("default-src *, script-src 'self'")["no-wildcard"] is not None
    # names and keywords are case-insensitive
    assert _problems("DEFAULT-SRC 'SELF'; OBJECT-SRC 'NONE'; BASE-URI 'SELF'") == dict.fromkeys(
        CSP_RULES)


def _response(**headers: str) -> httpx.Response:
    return httpx.Response(200, headers=headers)


def test_report_only_enforces_nothing() -> None:
    check = header_rules.csp("object-src")
    problem = check(_response(**{"Content-Security-Policy-Report-Only": STRICT_SPA}))
    assert problem is not None and "Report-Only" in problem
    assert check(_response(**{"Content-Security-Policy": STRICT_SPA})) is None


def test_frame_rules_for_the_spa_and_the_bff() -> None:
    helmet = policies([HELMET])
    assert FRAME_SAME_ORIGIN.problem(helmet, None) is None
    assert FRAME_SAME_ORIGIN.problem([], "SAMEORIGIN") is None
    # the SPA's HTML needs DENY or frame-ancestors 'none'; helmet's 'self' is not enough
    assert FRAME_DENY.problem(helmet, "SAMEORIGIN") is not None
    assert FRAME_DENY.problem(policies(["frame-ancestors 'none'"]), None) is None
    assert FRAME_DENY.problem([], "deny") is None
    assert FRAME_SAME_ORIGIN.problem(policies(["frame-ancestors *"]), None) is not None


@pytest.mark.parametrize(("server", "versioned"), [
    ("nginx", False), ("Traefik", False), ("cloudflare", False), ("nginx/1.25.3", True),
    ("Apache/2.4.62 (Debian)", True), ("Jetty(9.4.z-SNAPSHOT)", True), ("Microsoft-IIS/10.0", True),
    ("uvicorn", False), ("Express 4.18", True),
])
def test_a_server_banner_fails_only_with_a_version(server: str, versioned: bool) -> None:
    assert (header_rules.no_versioned_server(_response(Server=server)) is not None) is versioned


def test_hsts_needs_a_year_and_subdomains() -> None:
    assert header_rules.hsts(_response(**{
        "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload"})) is None
    for weak in ("max-age=86400; includeSubDomains", "max-age=31536000"):
        assert header_rules.hsts(_response(**{"Strict-Transport-Security": weak})) is not None


def test_the_matrix_covers_every_class_with_the_rules_it_owes() -> None:
    pairs = {(rc.name, rule.name) for rc, rule in matrix()}
    for rc in RESPONSE_CLASSES.values():
        names = {rule for name, rule in pairs if name == rc.name}
        assert {"server-version", "x-powered-by"} <= names, rc.name
        if rc.side is Side.PLAIN_HTTP:
            assert "hsts" not in names
            continue
        assert {"hsts", "nosniff", "frame"} <= names, rc.name
        assert any(n.startswith("csp.") for n in names) is (rc.side is Side.BFF or rc.html)
    assert {rc.side for rc in RESPONSE_CLASSES.values()} == set(Side)


def test_the_hashed_asset_comes_from_the_index() -> None:
    page = '<script type="module" crossorigin src="/assets/index-e38.js"></script>'
    assert asset_path(page) == "/assets/index-e38.js"
    assert asset_path("<link rel=stylesheet href='/assets/app-1.css?v=2'>") == "/assets/app-1.css"
    assert asset_path("<p>no assets</p>") is None

"""Authentication is enforced everywhere it must be (contract §2, §3, §5)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import urllib.parse

import jwt
import pytest

from vvgate.access.graphql_client import Gql
from vvgate.access.graphql_ops import (
    CONTRACT_KINDS,
    PUBLIC,
    error_messages,
    field_value,
    parse,
    refusal_reason,
)
from vvgate.access.https_client import TargetHttp, json_object
from vvgate.gates.inconclusive import Inconclusive, inconclusive
from vvgate.gates.run import RUN
from vvgate.identity.session_forge import COOKIE_NAME
from vvgate.identity.synthetic_users import SyntheticUser, SyntheticWorld
from vvgate.report.redaction import REDACTOR
from vvgate.targets.profile import Profile
from vvgate.targets.secret_store import SecretStore

pytestmark = [pytest.mark.gate("auth"), pytest.mark.plan("1.6", "8.6")]


def protected_operations(config: pytest.Config) -> list[tuple[str, str]]:
    """Deny by default: every operation the contract names, and every one the target's schema
    adds (a new mutation in a release is covered without a change here), but the public two."""
    run = config.stash.get(RUN, None)
    named = dict(CONTRACT_KINDS)
    if run is not None:
        named.update({field: kind for kind, field in run.schema.operations()
                      if field not in named})
    return [(kind, field) for field, kind in named.items() if field not in PUBLIC]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "protected" in metafunc.fixturenames:
        ops = protected_operations(metafunc.config)
        metafunc.parametrize("protected", ops, ids=[field for _, field in ops])


def _me(http: TargetHttp, cookie: str | None = None, **headers: str) -> dict[str, object]:
    all_headers = dict(headers)
    if cookie:
        all_headers["Cookie"] = cookie
    response = http.get("/auth/me", headers=all_headers)
    assert response.status_code == 200, f"/auth/me answered {response.status_code}"
    body = json_object(response)
    assert body is not None, f"/auth/me did not answer a JSON object: {response.text[:120]!r}"
    return body


@pytest.mark.smoke
def test_anonymous_me_is_null_and_sets_no_cookie(http: TargetHttp) -> None:
    assert _me(http).get("user") is None, "anonymous /auth/me returned a user"
    response = http.get("/auth/me")
    assert "set-cookie" not in response.headers, (
        "anonymous /auth/me set a cookie: sessions are created for every visitor")


@pytest.mark.smoke
@pytest.mark.plan("8.4")
def test_a_signed_session_is_recognised(http: TargetHttp, user_a: SyntheticUser) -> None:
    # Control: without this the anonymous checks below could pass on a broken forge.
    body = _me(http, user_a.cookie)
    user = body.get("user")
    assert isinstance(user, dict) and user.get("githubLogin") == user_a.login, (
        "/auth/me does not recognise a session signed per contract §3; the session checks "
        "cannot be trusted")
    active = body.get("activeTenant")
    assert isinstance(active, dict) and active.get("id") == user_a.tenant_id


def _with_real_ids(request: pytest.FixtureRequest, gql: Gql, field: str) -> str:
    """What the unrefused call hands out for real ids: the made-up ones of the probe may only
    find nothing, which hides what an anonymous caller can read. Redacted like any message."""
    profile: Profile = request.getfixturevalue("profile")
    if not (profile.allow_synthetic_users and profile.mongodb is not None):
        return " (no synthetic user to repeat it with real ids: allow_synthetic_users is off)"
    user: SyntheticUser = request.getfixturevalue("user_a")
    values = {"id": user.id, "userId": user.id, "tenantId": user.tenant_id,
              "githubLogin": user.login, "query": user.login, "friendId": user.id}
    try:
        again = gql.call(field, values)
    except Inconclusive as exc:
        return f" (repeated with real ids: {exc.reason})"
    data = json.dumps(parse(again).get("data"))[:300]
    return f"; with synthetic user A's real ids it answered data={REDACTOR.redact(data)}"


@pytest.mark.smoke
def test_anonymous_caller_is_refused(gql: Gql, protected: tuple[str, str],
                                     request: pytest.FixtureRequest) -> None:
    kind, field = protected
    response = gql.call(field)
    body = parse(response)
    reason = refusal_reason(response, field)
    if reason is None:
        pytest.fail(f"anonymous {kind} {field} was not refused: HTTP {response.status_code}, "
                    f"data={json.dumps(body.get('data'))[:200]}, "
                    f"errors={error_messages(response)[:2]}"
                    + _with_real_ids(request, gql, field), pytrace=False)


@pytest.mark.parametrize(("field", "expected"), [("viewer", None), ("notificationCount", 0)])
@pytest.mark.plan("8.6")
def test_public_operations_answer_anonymous(gql: Gql, field: str, expected: object) -> None:
    response = gql.call(field)
    assert field_value(response, field) == expected, (
        f"anonymous {field} returned {field_value(response, field)!r}, expected {expected!r}; "
        f"errors={error_messages(response)[:2]}")


def _backend_jwt(secrets: SecretStore, who: SyntheticUser) -> str:
    now = dt.datetime.now(dt.UTC)
    token = jwt.encode({"sub": who.id, "username": who.login, "githubLogin": who.login,
                        "tenantId": who.tenant_id, "tenantRole": "ADMIN",
                        "iat": now, "exp": now + dt.timedelta(minutes=15)},
                       secrets.get("JWT_SECRET"), algorithm="HS256")
    REDACTOR.register(token)
    return token


@pytest.mark.plan("1.6", "8.4")
def test_a_forged_bearer_stays_anonymous(
    http: TargetHttp, gql: Gql, secrets: SecretStore, user_a: SyntheticUser
) -> None:
    # Signed with the real JWT_SECRET: only a BFF that forwards the client's own
    # Authorization header (or routes /graphql to the backend) would accept it.
    bearer = {"Authorization": f"Bearer {_backend_jwt(secrets, user_a)}"}
    assert _me(http, **bearer).get("user") is None, "/auth/me accepted a bearer token"
    response = gql.call("records", headers=bearer)
    assert refusal_reason(response, "records") is not None, (
        "records answered a caller with only a bearer token: the BFF forwards client "
        f"Authorization headers; errors={error_messages(response)[:2]}")


@pytest.mark.plan("1.6", "8.4")
def test_a_tampered_cookie_signature_is_anonymous(http: TargetHttp, user_a: SyntheticUser) -> None:
    name, _, value = user_a.cookie.partition("=")
    sid, _, signature = urllib.parse.unquote(value).rpartition(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    forged = f"{name}={urllib.parse.quote(f'{sid}.{flipped}', safe='')}"
    assert _me(http, forged).get("user") is None, "a cookie with a wrong signature was accepted"
    unsigned = f"{name}={urllib.parse.quote(sid.removeprefix('s:'), safe='')}"
    assert _me(http, unsigned).get("user") is None, "an unsigned session id was accepted"


@pytest.mark.plan("1.6", "8.4")
def test_an_expired_session_is_anonymous(
    http: TargetHttp, world: SyntheticWorld, user_a: SyntheticUser
) -> None:
    # The store's TTL monitor may remove the expired document before it is used; a probe
    # whose document is gone proves nothing, so it is tried again before giving up.
    for _ in range(3):
        sid = world.new_session(user_a.user, user_a.tenant_id, ttl=dt.timedelta(seconds=-60))
        user = _me(http, world.cookie_for(sid)).get("user")
        if world.mongo.sessions.find_one({"_id": sid}) is not None:
            break
    else:
        inconclusive("the store's TTL monitor removed each expired session before it was "
                     "used, three times; the probe proved nothing")
    assert user is None, "a session document whose `expires` is in the past was honoured"


@pytest.mark.plan("1.6", "8.4")
def test_logout_ends_the_session(
    http: TargetHttp, world: SyntheticWorld, user_a: SyntheticUser
) -> None:
    cookie = world.cookie_for(world.new_session(user_a.user, user_a.tenant_id))
    assert _me(http, cookie).get("user") is not None, "control: the new session is not valid"
    response = http.post("/auth/logout", headers={"Cookie": cookie})
    assert response.status_code == 200 and (json_object(response) or {}).get("success") is True, (
        f"POST /auth/logout answered {response.status_code}")
    cleared = [v for k, v in response.headers.multi_items()
               if k == "set-cookie" and v.startswith(f"{COOKIE_NAME}=")]
    assert cleared, "logout did not clear the session cookie"
    assert _me(http, cookie).get("user") is None, "the session still works after logout"


def _webhook(http: TargetHttp, signature: str | None) -> tuple[int, dict[str, object]]:
    body = json.dumps({"zen": "vvgate probe", "hook_id": 0}).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "ping",
               "X-GitHub-Delivery": "vvgate-probe"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    response = http.post("/webhook/github", content=body, headers=headers)
    return response.status_code, json_object(response) or {}


def _signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=deadbeef"],
                         ids=["missing", "wrong", "wrong-algorithm"])
@pytest.mark.plan("1.6")
def test_webhook_refuses_a_bad_signature(http: TargetHttp, signature: str | None) -> None:
    status, payload = _webhook(http, signature)
    assert status == 401, f"webhook with signature {signature!r} got HTTP {status}"
    assert payload.get("error") == "Invalid signature"


@pytest.mark.plan("1.6")
def test_webhook_accepts_a_valid_signature(http: TargetHttp, secrets: SecretStore) -> None:
    body = json.dumps({"zen": "vvgate probe", "hook_id": 0}).encode()
    signature = _signature(secrets.get("GITHUB_APP_WEBHOOK_SECRET"), body)
    response = http.post("/webhook/github", content=body, headers={
        "Content-Type": "application/json", "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": "vvgate-probe", "X-Hub-Signature-256": signature})
    assert response.status_code == 200, (
        f"a correctly signed webhook got {response.status_code}: the secret differs or the "
        "raw body is not what is verified")
    assert (json_object(response) or {}).get("ok") is True, (
        f"a correctly signed webhook answered {response.text[:120]!r}, not ok: true")


BACKEND_PROBES = [f"{prefix}{leaf}" for prefix in ("/backend", "/api", "/api/backend", "/be")
                  for leaf in ("/health", "/graphql")]


@pytest.mark.smoke
@pytest.mark.parametrize("path", BACKEND_PROBES)
@pytest.mark.plan("4.5", "4.6")
def test_backend_is_not_reachable_through_the_ingress(http: TargetHttp, path: str) -> None:
    if path.endswith("/graphql"):
        response = http.post(path, json={"query": "{ __typename }"})
        exposed = "data" in response.text and response.headers.get(
            "content-type", "").startswith("application/json")
    else:
        response = http.get(path)
        exposed = response.headers.get("content-type", "").startswith("application/json")
    assert not exposed, (
        f"{path} answers JSON ({response.status_code}) from outside the cluster: the backend "
        "(contract §1) must have no ingress route")


@pytest.mark.parametrize(("path", "limit"), [("/auth/me", 1000), ("/graphql", 400),
                                             ("/auth/github", 100)])
@pytest.mark.plan("1.6")
def test_rate_limits_follow_the_contract(http: TargetHttp, path: str, limit: int) -> None:
    response = (http.post(path, json={"query": "{ notificationCount }"}) if path == "/graphql"
                else http.get(path))
    policy = response.headers.get("ratelimit-policy")
    state = response.headers.get("ratelimit")
    assert policy and state, (
        f"{path} has no draft-7 RateLimit/RateLimit-Policy headers (got {policy!r}, {state!r})")
    assert policy.replace(" ", "") == f"{limit};w=900", (
        f"{path} has RateLimit-Policy {policy!r}; contract §6 sets {limit} per 15 minutes")


@pytest.mark.plan("8.4")
def test_oauth_start_redirects_to_github(http: TargetHttp, profile: Profile) -> None:
    response = http.get("/auth/github")
    location = response.headers.get("location", "")
    assert response.status_code == 302, f"/auth/github answered {response.status_code}"
    url = urllib.parse.urlsplit(location)
    assert f"{url.scheme}://{url.netloc}{url.path}" == profile.oauth.authorize_url, (
        f"/auth/github sends the browser to {url.scheme}://{url.netloc}{url.path}, not the "
        f"provider's authorize URL {profile.oauth.authorize_url}")
    query = urllib.parse.parse_qs(url.query)
    assert {"client_id", "redirect_uri", "scope", "state"} <= set(query), (
        f"authorize URL lacks parameters: has {sorted(query)}")
    assert query["redirect_uri"] == [f"https://{profile.host}/auth/github/callback"]


@pytest.mark.plan("8.4")
def test_oauth_callback_without_code_is_refused(http: TargetHttp, profile: Profile) -> None:
    response = http.get("/auth/github/callback")
    assert response.status_code == 302, f"/auth/github/callback answered {response.status_code}"
    location = response.headers.get("location", "")
    url = urllib.parse.urlsplit(urllib.parse.urljoin(profile.base_url, location))
    frontend = urllib.parse.urlsplit(profile.frontend_url or profile.base_url)
    # The error lands on the frontend: anywhere else (a developer's localhost, a foreign
    # site) takes the browser off the deployment mid-login.
    assert (url.scheme, url.netloc) == (frontend.scheme, frontend.netloc), (
        f"the callback redirects to {url.scheme}://{url.netloc}, not the frontend "
        f"{frontend.scheme}://{frontend.netloc}")
    assert urllib.parse.parse_qs(url.query).get("error") == ["missing_code"], (
        f"the callback redirects with {url.query!r}, not error=missing_code")


@pytest.mark.plan("1.6", "8.4")
def test_setup_without_session_goes_to_login(http: TargetHttp, profile: Profile) -> None:
    response = http.get("/auth/setup", params={"installation_id": "1"})
    assert response.status_code == 302, f"/auth/setup answered {response.status_code}"
    location = response.headers.get("location", "")
    # Relative (as contract §2 shows it) or absolute on the target's own origin.
    url = urllib.parse.urlsplit(urllib.parse.urljoin(profile.base_url + "/", location))
    own = urllib.parse.urlsplit(profile.base_url)
    assert ((url.scheme, url.netloc, url.path) == (own.scheme, own.netloc, "/auth/github")
            and "return_to" in urllib.parse.parse_qs(url.query)), (
        f"/auth/setup without a session redirects to {location!r}, not to sign-in")

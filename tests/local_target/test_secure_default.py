"""With no fault switched on, the reference target keeps every contract property."""

from __future__ import annotations

import datetime as dt
import re
import socket
import ssl
from collections.abc import Iterator

import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from reference.tenancy import tenant_database

from .conftest import start
from .helpers import Cli, Target, codes, refused


@pytest.fixture(scope="module")
def target(cli: Cli) -> Iterator[Target]:
    yield from start(cli)


def test_health_and_spa(target: Target) -> None:
    health = target.request("GET", "/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    dt.datetime.fromisoformat(health.json()["timestamp"].replace("Z", "+00:00"))
    for path in ("/", "/browse"):
        page = target.request("GET", path)
        assert page.status_code == 200
        assert "<title>Vinyl Vault</title>" in page.text and '<div id="root">' in page.text
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
    asset = re.search(r'src="(/assets/[^"]+)"', target.request("GET", "/").text)
    assert asset is not None
    hashed = target.request("GET", asset.group(1))
    assert hashed.status_code == 200
    assert "immutable" in hashed.headers["cache-control"]
    assert "public" in hashed.headers["cache-control"]
    assert target.request("GET", "/assets/missing-0000.js").status_code == 404


def test_http_redirects_permanently_to_https(target: Target) -> None:
    assert target.profile.http_port is not None
    resp = target.http.get(f"http://127.0.0.1:{target.profile.http_port}/browse",
                           headers={"Host": target.host})
    assert resp.status_code == 301
    assert resp.headers["location"].startswith(f"https://{target.host}")


def test_tls_is_modern_with_a_valid_certificate(target: Target) -> None:
    ctx = ssl.create_default_context(cafile=target.ca)
    with socket.create_connection(("127.0.0.1", target.https_port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname=target.host) as tls:
        cert = tls.getpeercert()
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    assert cert is not None and isinstance(cert["notAfter"], str)
    not_after = dt.datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), dt.UTC)
    assert not_after - dt.datetime.now(dt.UTC) > dt.timedelta(days=21)
    assert not _handshakes_tls10(target)
    # sniStrict: an unknown server name gets no certificate at all.
    with pytest.raises(ssl.SSLError), \
            socket.create_connection(("127.0.0.1", target.https_port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="other.local.test"):
        pass


def _handshakes_tls10(target: Target) -> bool:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    try:
        with socket.create_connection(("127.0.0.1", target.https_port), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname=target.host):
            return True
    except (ssl.SSLError, OSError):
        return False


def test_helmet_headers_cors_and_rate_limits(target: Target) -> None:
    resp = target.request("GET", "/auth/me", headers={"Origin": "https://evil.example"})
    h = resp.headers
    assert resp.status_code == 200 and resp.json()["user"] is None
    assert "set-cookie" not in h
    assert h["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "SAMEORIGIN"
    assert h["referrer-policy"] == "no-referrer"
    assert h["cross-origin-opener-policy"] == "same-origin"
    assert h["cross-origin-resource-policy"] == "same-origin"
    assert "content-security-policy" in h and "x-powered-by" not in h
    assert h["access-control-allow-origin"] == f"https://{target.host}"
    assert h["access-control-allow-credentials"] == "true"
    assert h["ratelimit-policy"] == "1000;w=900"
    assert re.fullmatch(r"limit=1000, remaining=\d+, reset=\d+", h["ratelimit"])
    assert target.request("GET", "/health").headers.get("ratelimit") is None


def test_auth_routes(target: Target) -> None:
    gh = target.request("GET", "/auth/github")
    assert gh.status_code == 302
    assert gh.headers["location"].startswith(target.profile.oauth.authorize_url + "?")
    assert "redirect_uri=https%3A%2F%2Fvinylvault.local.test%2Fauth%2Fgithub%2Fcallback" in \
        gh.headers["location"]
    cookie = gh.headers["set-cookie"]
    assert cookie.startswith("vinylvault.sid=s%3A")
    for flag in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
        assert flag in cookie
    cb = target.request("GET", "/auth/github/callback")
    assert cb.status_code == 302
    assert cb.headers["location"] == f"https://{target.host}?error=missing_code"
    setup = target.request("GET", "/auth/setup?installation_id=7")
    assert setup.status_code == 302
    assert setup.headers["location"].startswith("/auth/github?return_to=")
    out = target.request("POST", "/auth/logout")
    assert out.status_code == 200 and out.json() == {"success": True}


def test_signing_in_at_the_github_stand_in(target: Target) -> None:
    before = target.request("GET", "/auth/github").headers["set-cookie"].split(";")[0]
    planted = before.partition("=")[2]
    callback, cookie = target.sign_in("selftest-sign-in", planted, return_to="/records?x=1")
    assert callback.status_code == 302
    assert callback.headers["location"] == f"https://{target.host}/records?x=1"
    assert cookie and cookie != planted  # a new session id (no fixation)
    me = target.request("GET", "/auth/me", headers={"Cookie": f"vinylvault.sid={cookie}"})
    user = me.json()["user"]
    assert user["githubLogin"] == "selftest-sign-in"
    assert me.json()["activeTenant"]["id"] == f"user_{user['id']}"
    assert target.request("GET", "/auth/me", headers={"Cookie": before}).json()["user"] is None
    # the same account signs in as the same user
    _, again = target.sign_in("selftest-sign-in")
    assert target.request("GET", "/auth/me", headers={"Cookie": f"vinylvault.sid={again}"}
                          ).json()["user"]["id"] == user["id"]
    # a code is exchanged once
    replay = target.request("GET", "/auth/github/callback",
                            params={"code": "reused", "state": "x"})
    assert "error=" in replay.headers["location"]


def test_webhook_requires_a_valid_signature(target: Target) -> None:
    body = b'{"zen":"Keep it logically awesome."}'
    assert target.webhook(body, None).status_code == 401
    assert target.webhook(body, None).json() == {"error": "Invalid signature"}
    assert target.webhook(body, "sha256=" + "0" * 64).status_code == 401
    ok = target.webhook(body, target.sign(body))
    assert ok.status_code == 200 and ok.json()["ok"] is True


def test_graphql_http_rules(target: Target) -> None:
    intro = target.gql("{ __schema { types { name } } }")
    assert intro.status_code == 400 and codes(intro.json()) == {"GRAPHQL_VALIDATION_FAILED"}
    batch = target.request("POST", "/graphql", json=[{"query": "{ viewer { id } }"}])
    assert batch.status_code == 400
    get = target.request("GET", "/graphql", params={"query": "{ viewer { id } }"})
    assert get.status_code == 400 and "CSRF" in get.text
    plain = target.request("POST", "/graphql", content=b'{"query":"{ viewer { id } }"}',
                           headers={"Content-Type": "text/plain"})
    assert plain.status_code == 400
    preflighted = target.request("GET", "/graphql", params={"query": "{ viewer { id } }"},
                                 headers={"apollo-require-preflight": "true"})
    assert preflighted.status_code == 200 and preflighted.json() == {"data": {"viewer": None}}
    public = target.gql("{ viewer { id } notificationCount }")
    assert public.json() == {"data": {"viewer": None, "notificationCount": 0}}


ANONYMOUS_REFUSED = {
    "records": "{ records { totalCount } }",
    "user": '{ user(id: "000000000000000000000000") { id } }',
    "friends": "{ friends { id } }",
    "upsertUser": 'mutation { upsertUser(input: {githubId: "1", githubLogin: "x"}) { id } }',
    "createRecord": 'mutation { createRecord(input: {releaseId: "x"}) { record { id } } }',
    "addUserToTenant": 'mutation { addUserToTenant(userId: "a", tenantId: "b", role: ADMIN) '
                       "{ id } }",
    "switchTenant": 'mutation { switchTenant(tenantId: "x") { id } }',
}


@pytest.mark.parametrize("field", sorted(ANONYMOUS_REFUSED))
def test_anonymous_callers_are_refused(target: Target, field: str) -> None:
    resp = target.gql(ANONYMOUS_REFUSED[field])
    assert resp.status_code == 200
    assert refused(resp.json(), field), resp.text


def test_a_forged_bearer_is_anonymous(target: Target) -> None:
    resp = target.request("POST", "/graphql", json={"query": "{ records { totalCount } }"},
                          headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."})
    assert refused(resp.json(), "records")


def test_backend_is_not_routed(target: Target) -> None:
    resp = target.request("GET", "/backend/health")
    assert "backend" not in resp.text


def test_tenancy_and_revocation(target: Target) -> None:
    alice, bob = target.user("alice-sec"), target.user("bob-sec")
    record_id = alice.seed_record("alice's secret pressing")
    # Bob cannot read Alice's record, nor grant himself a role in her tenant.
    leak = bob.gql("query($id: ID!) { record(id: $id) { notes } }", {"id": record_id})
    assert (leak.get("data") or {}).get("record") is None
    grab = bob.gql("mutation($u: ID!, $t: ID!) { addUserToTenant(userId: $u, tenantId: $t, "
                   "role: ADMIN) { id } }", {"u": str(bob.id), "t": alice.tenant})
    assert refused(grab, "addUserToTenant")
    assert target.registry.user_tenant_roles.find_one(
        {"userId": bob.id, "tenantId": alice.tenant}) is None
    switch = bob.gql("mutation($t: ID!) { switchTenant(tenantId: $t) { id } }",
                     {"t": alice.tenant})
    assert refused(switch, "switchTenant")
    # Friendship grants VIEWER; removing the friend revokes it for the existing session.
    request = bob.gql("mutation($l: String!) { sendFriendRequest(githubLogin: $l) { id } }",
                      {"l": alice.login})["data"]["sendFriendRequest"]["id"]
    assert alice.gql("{ notificationCount }")["data"]["notificationCount"] == 1
    accepted = alice.gql("mutation($r: ID!) { respondToFriendRequest(requestId: $r, "
                         "accept: true) { status } }", {"r": request})
    assert accepted["data"]["respondToFriendRequest"]["status"] == "ACCEPTED"
    resp = target.gql("mutation($t: ID!) { switchTenant(tenantId: $t) { id role } }",
                      {"t": alice.tenant}, bob.cookie)
    assert resp.json()["data"]["switchTenant"] == {"id": alice.tenant, "role": "VIEWER"}, resp.text
    assert "HttpOnly" in resp.headers["set-cookie"]
    query = "{ records { totalCount edges { node { id notes release { title } } } } }"
    seen = bob.gql(query)["data"]["records"]
    assert seen["totalCount"] == 1
    assert seen["edges"][0]["node"]["release"]["title"] == "Tago Mago"
    viewer_write = bob.gql("mutation($id: ID!) { deleteRecord(input: {id: $id}) "
                           "{ deletedRecordId } }", {"id": record_id})
    assert codes(viewer_write) == {"FORBIDDEN"}
    assert "Member or Admin role required" in viewer_write["errors"][0]["message"]
    alice.gql("mutation($f: ID!) { removeFriend(friendId: $f) }", {"f": str(bob.id)})
    assert refused(bob.gql(query), "records")


def test_other_users_are_seen_without_private_fields(target: Target) -> None:
    erin, frank = target.user("erin-sec"), target.user("frank-sec")
    query = "query($id: ID!) { user(id: $id) { githubLogin email settings { spotifyPreview } } }"
    other = frank.gql(query, {"id": str(erin.id)})["data"]["user"]
    assert other == {"githubLogin": "erin-sec", "email": None, "settings": None}
    own = erin.gql(query, {"id": str(erin.id)})["data"]["user"]
    assert own["email"] == "erin-sec@example.test" and own["settings"] is not None


def test_records_go_to_the_hashed_tenant_database(target: Target) -> None:
    carol = target.user("carol-sec")
    carol.seed_record("seed")
    release = target.backend[tenant_database(carol.tenant)].releases.find_one({})
    assert release is not None
    made = carol.gql("mutation($r: ID!) { createRecord(input: {releaseId: $r, notes: \"n\"}) "
                     "{ record { id } errors { message } } }", {"r": str(release["_id"])})
    assert made["data"]["createRecord"]["errors"] == []
    assert re.fullmatch(r"vv_[0-9a-f]{12}", tenant_database(carol.tenant))
    assert tenant_database(carol.tenant) in target.backend.list_database_names()
    assert carol.gql("{ records { totalCount } }")["data"]["records"]["totalCount"] == 2


def test_database_requires_auth_and_has_the_layout(target: Target) -> None:
    for key in ("MONGODB_BFF_URI", "MONGODB_BACKEND_URI"):
        uri = target.secrets[key]
        port = int(uri.split("@127.0.0.1:")[1].split("/")[0])
        anon: MongoClient[dict[str, object]] = MongoClient(
            f"mongodb://127.0.0.1:{port}/?directConnection=true", serverSelectionTimeoutMS=3000)
        with pytest.raises(OperationFailure) as err:
            anon.list_database_names()
        assert err.value.code == 13
        anon.close()
        user = uri.split("//")[1].split(":")[0]
        wrong: MongoClient[dict[str, object]] = MongoClient(
            f"mongodb://{user}:wrong@127.0.0.1:{port}/?authSource=admin&directConnection=true",
            serverSelectionTimeoutMS=3000)
        with pytest.raises(OperationFailure) as err:
            wrong.admin.command("ping")
        assert err.value.code == 18
        wrong.close()
    ttl = {i["name"]: i for i in target.bff_db["vinylvault_bff"].sessions.list_indexes()}
    assert any(i.get("expireAfterSeconds") == 0 and "expires" in i["key"] for i in ttl.values())
    unique = {(c, tuple(i["key"])) for c in ("users", "installations", "user_installation_roles",
                                             "friend_requests", "tenants", "user_tenant_roles")
              for i in target.registry[c].list_indexes() if i.get("unique")}
    assert ("users", ("githubLogin",)) in unique
    assert ("installations", ("installation_id",)) in unique
    assert ("friend_requests", ("requesterId", "recipientId")) in unique
    assert ("user_installation_roles", ("user_id", "installation_id")) in unique


def test_auth_me_with_a_forged_session(target: Target) -> None:
    dave = target.user("dave-sec")
    me = target.request("GET", "/auth/me", headers={"Cookie": f"vinylvault.sid={dave.cookie}"})
    body = me.json()
    assert body["user"]["githubLogin"] == "dave-sec"
    assert body["activeTenant"] == {"id": dave.tenant, "name": "dave-sec personal",
                                    "type": "USER", "role": "ADMIN"}
    tampered = dave.cookie[:-3] + ("AAA" if not dave.cookie.endswith("AAA") else "BBB")
    anon = target.request("GET", "/auth/me", headers={"Cookie": f"vinylvault.sid={tampered}"})
    assert anon.json()["user"] is None


def test_rate_limit_answers_429_with_draft7_headers(target: Target) -> None:
    # Runs late in the module: it spends the auth routes' 15-minute budget for this client.
    last = None
    for _ in range(101):
        last = target.request("GET", "/auth/github/callback")
        if last.status_code == 429:
            break
    assert last is not None and last.status_code == 429
    assert last.headers["ratelimit-policy"] == "100;w=900"
    assert last.headers["ratelimit"].startswith("limit=100, remaining=0, reset=")
    assert int(last.headers["retry-after"]) > 0
    # Other budgets are separate, and health is never limited.
    assert target.request("GET", "/auth/me").status_code == 200
    assert target.request("GET", "/health").status_code == 200


def test_sigterm_is_graceful(cli: Cli, target: Target) -> None:
    target.close()  # before the databases go away, or the driver waits to end its sessions
    proc = cli.run("down")
    assert proc.returncode == 0
    for name in ("bff", "backend", "frontend"):
        log = (cli.local / "logs" / f"{name}.log").read_text()
        assert "Application shutdown complete." in log, name
        assert "Finished server process" in log, name
